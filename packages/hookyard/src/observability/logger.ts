import { pino } from "pino";
import type { DestinationStream, Logger as PinoLogger } from "pino";

/** The root logger type; components receive `logger.child({ component })` (STYLE 2.7). */
export type Logger = PinoLogger;

/**
 * Paths whose values never reach a log line (STYLE 2.7: secrets, signatures and auth headers).
 * `*.` covers one level of nesting, e.g. `{ endpoint: { secret } }` or `{ request: { headers } }`.
 */
export const REDACTED_PATHS: readonly string[] = [
  "authorization",
  "headers.authorization",
  "headers.cookie",
  'headers["webhook-signature"]',
  "req.headers.authorization",
  "req.headers.cookie",
  "*.headers.authorization",
  "*.headers.cookie",
  '*.headers["webhook-signature"]',
  "secret",
  "*.secret",
  "apiKey",
  "*.apiKey",
  "password",
  "*.password",
  // An endpoint's credentials (issue 16), should an endpoint ever be logged whole.
  "authSecret",
  "*.authSecret",
  "tlsClientKey",
  "*.tlsClientKey",
  "clientSecret",
  "*.clientSecret",
];

export interface CreateLoggerOptions {
  /** A pino level name (`fatal` … `trace`) or `silent`. */
  level: string;
  /** Where JSON lines go; stdout when absent. */
  destination?: NodeJS.WritableStream | DestinationStream;
}

/** The one root logger, built by the composition root or the CLI. */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const options = {
    level: opts.level,
    base: { service: "hookyard" },
    redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" },
  };
  // pino's own default destination is a synchronous stdout, so nothing is lost on process.exit.
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
}
