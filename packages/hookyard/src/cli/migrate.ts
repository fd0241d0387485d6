import { createLogger } from "../observability/logger.js";
import { loadConfigOrReport, oneLine, type ServeRequest } from "./serve.js";

/**
 * `hookyard migrate`: applies the schema steps the configured database lacks (what `serve` does
 * at start) and says what it did. Exit 0, or 1 with
 * one line when the config or the database is wrong.
 */
export async function runMigrate(req: ServeRequest): Promise<number> {
  const { io } = req;
  const config = loadConfigOrReport(req);
  if (config === null) return 1;
  // The outcome is the one line below; the store's own info lines would only repeat it.
  const logger = createLogger({ level: config.log.level === "info" ? "warn" : config.log.level });
  const { migrateDatabase } = await import("../main.js");
  try {
    const { database, applied } = await migrateDatabase(config, { logger, cwd: io.cwd });
    io.stdout.write(
      applied.length > 0
        ? `${database}: applied schema version(s) ${applied.join(", ")}\n`
        : `${database}: schema already current\n`,
    );
    return 0;
  } catch (err) {
    logger.debug({ err }, "migration failed");
    io.stderr.write(`hookyard: cannot migrate: ${oneLine(err)}\n`);
    return 1;
  }
}
