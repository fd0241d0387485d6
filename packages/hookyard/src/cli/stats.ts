import { createLogger } from "../observability/logger.js";
import { loadConfigOrReport, oneLine, type ServeRequest } from "./serve.js";

/**
 * `hookyard stats`: rows and size on disk of each table of the configured database, e.g. to see
 * what `HOOKYARD_RETENTION_DAYS` keeps. Safe while servers run. Exit 0, or 1 with one line.
 */
export async function runStats(req: ServeRequest): Promise<number> {
  const { io } = req;
  const config = loadConfigOrReport(req);
  if (config === null) return 1;
  const logger = createLogger({ level: config.log.level === "info" ? "warn" : config.log.level });
  const { databaseStats } = await import("../main.js");
  try {
    const { database, tables } = await databaseStats(config, { logger, cwd: io.cwd });
    const rows = tables.map((t) => [t.table, t.rows.toLocaleString("en-US"), size(t.bytes)]);
    const head = ["table", "rows", "size"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    io.stdout.write([database, "", line(head), ...rows.map(line), ""].join("\n"));
    return 0;
  } catch (err) {
    logger.debug({ err }, "stats failed");
    io.stderr.write(`hookyard: cannot read stats: ${oneLine(err)}\n`);
    return 1;
  }
}

function size(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
