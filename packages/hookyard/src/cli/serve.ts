import { ConfigError } from "../config/config-error.js";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { createLogger, type Logger } from "../observability/logger.js";
import type { RunningHookyard, StartOptions } from "../main.js";
import type { CliIo } from "./cli-io.js";

export interface ServeRequest {
  /** Config flags by long name without dashes, as parseArgs returns them. */
  flags: Readonly<Record<string, string | undefined>>;
  /** `--config`, when given; null reads no file (undefined: HOOKYARD_CONFIG or ./hookyard.yaml). */
  configFile: string | null | undefined;
  io: CliIo;
}

/**
 * `hookyard serve`: load the config, start the server, print where it listens (and a generated
 * admin key, once), then close cleanly on SIGINT/SIGTERM. Returns the exit code: 1 for an invalid
 * config or a failed start, 0 after a clean stop.
 */
export async function runServe(req: ServeRequest): Promise<number> {
  return runServer(req, {
    started: (running) => {
      if (running.generatedApiKey !== null) req.io.stderr.write(apiKeyBox(running.generatedApiKey));
      req.io.stderr.write(`Hookyard listening on ${running.url}\n`);
      return Promise.resolve(() => undefined);
    },
  });
}

/** What a command that runs the server (serve, dev) adds around it. */
export interface ServerMode {
  /** The command's own defaults by key path (the file, environment and flags override them). */
  defaults?: Readonly<Record<string, unknown>>;
  /** A reason not to start with this config (printed; exit 2), or null. */
  refuse?: (config: Config) => string | null;
  /** Options of the server beyond its config. */
  startOptions?: Pick<StartOptions, "allowedHostnames">;
  /** The root logger; default JSON lines on stdout. */
  logger?: (config: Config) => Logger;
  /** Runs once the server listens; what it returns runs before the server closes. */
  started(
    running: RunningHookyard,
    config: Config,
    logger: Logger,
  ): Promise<() => Promise<void> | void>;
}

/** Starts the server of `req` in `mode` and runs it until SIGINT/SIGTERM. */
export async function runServer(req: ServeRequest, mode: ServerMode): Promise<number> {
  const { io } = req;
  const config = loadConfigOrReport(req, mode.defaults);
  if (config === null) return 1;
  const refusal = mode.refuse?.(config) ?? null;
  if (refusal !== null) {
    io.stderr.write(`hookyard: ${refusal}\n`);
    return 2;
  }

  const logger = mode.logger?.(config) ?? createLogger({ level: config.log.level });
  // Loaded lazily so `help`/`version` and config errors never pay for the server's imports.
  const { startHookyard } = await import("../main.js");
  // Listen for SIGINT/SIGTERM before starting: a signal that lands while the server starts, or
  // right after "listening" is printed, must close it cleanly, not kill it with the default action.
  const shutdown = io.waitForShutdownSignal();
  let running: RunningHookyard;
  let stopMode: () => Promise<void> | void;
  try {
    running = await startHookyard(config, { logger, cwd: io.cwd, ...mode.startOptions });
  } catch (err) {
    logger.debug({ err }, "startup failed");
    // A setting found wrong only at start (a TLS file) reads like any other config error.
    const message = err instanceof ConfigError ? err.message : `cannot start: ${oneLine(err)}`;
    io.stderr.write(`hookyard: ${message}\n`);
    return 1;
  }
  try {
    stopMode = await mode.started(running, config, logger);
  } catch (err) {
    io.stderr.write(`hookyard: cannot start: ${oneLine(err)}\n`);
    await running.close().catch(() => undefined);
    return 1;
  }

  const signal = await shutdown;
  io.stderr.write(`hookyard: ${signal} received, shutting down\n`);
  let code = 0;
  try {
    await stopMode();
    await running.close();
  } catch (err) {
    logger.error({ err }, "shutdown failed");
    io.stderr.write(`hookyard: shutdown failed: ${oneLine(err)}\n`);
    code = 1;
  }
  io.exit(code);
  return code;
}

/** The config of `req`, or null after printing the config error on one line. */
export function loadConfigOrReport(
  req: ServeRequest,
  defaults?: Readonly<Record<string, unknown>>,
): Config | null {
  try {
    return loadConfig({
      env: req.io.env,
      flags: req.flags,
      ...(defaults !== undefined && { defaults }),
      ...(req.configFile !== undefined && { configFile: req.configFile }),
      cwd: req.io.cwd,
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    req.io.stderr.write(`hookyard: ${err.message}\n`);
    return null;
  }
}

/** The error and its causes on one line, e.g. `listen EADDRINUSE: address already in use …`. */
export function oneLine(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const message =
      current instanceof Error
        ? current.message
        : typeof current === "string"
          ? current
          : (JSON.stringify(current) ?? typeof current);
    if (!parts.includes(message)) parts.push(message.replace(/\s*\n\s*/g, " "));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}

function apiKeyBox(apiKey: string): string {
  const lines = [
    "Generated admin API key (shown once, only its hash is stored):",
    "",
    `    ${apiKey}`,
    "",
    "Use it as: Authorization: Bearer <key>. Set HOOKYARD_API_KEY to choose your own.",
  ];
  const width = Math.max(...lines.map((line) => line.length));
  const rule = `+${"-".repeat(width + 2)}+`;
  return [rule, ...lines.map((line) => `| ${line.padEnd(width)} |`), rule, ""].join("\n");
}
