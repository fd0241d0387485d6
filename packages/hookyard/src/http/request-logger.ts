import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, Level, LevelWithSilentOrString, Logger } from "pino";

/**
 * `request.log` / `reply.log`: the request's child logger (`reqId` bound), built only when a line
 * is actually written at an enabled level. With redaction configured, pino's `child()` costs
 * several µs and ≈ 3 KB of garbage per request (it runs the wildcard redactor over the bindings),
 * and almost no request writes through it: the one line per request is written by `RequestLog`
 * through the root logger, and below info (the benchmark's `warn`) nothing is written at all.
 * Once built, every call goes to that child, so lines are exactly what an eager child would write.
 */
export class LazyRequestLogger implements FastifyBaseLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  #child: Logger | null = null;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  get level(): LevelWithSilentOrString {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#materialize().level = level;
  }

  // Each method takes pino's arguments as they are and forwards them unchanged (same arity, so
  // pino's argument handling sees exactly what the caller passed).
  fatal(...args: unknown[]): void {
    this.#write("fatal", args);
  }

  error(...args: unknown[]): void {
    this.#write("error", args);
  }

  warn(...args: unknown[]): void {
    this.#write("warn", args);
  }

  info(...args: unknown[]): void {
    this.#write("info", args);
  }

  debug(...args: unknown[]): void {
    this.#write("debug", args);
  }

  trace(...args: unknown[]): void {
    this.#write("trace", args);
  }

  silent(): void {
    // pino's `silent` level method: writes nothing by definition.
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#materialize().child(bindings, options);
  }

  #write(level: Level, args: unknown[]): void {
    if (!(this.#child ?? this.#parent).isLevelEnabled(level)) return;
    const child = this.#materialize();
    Reflect.apply(child[level], child, args);
  }

  #materialize(): Logger {
    this.#child ??= this.#parent.child(this.#bindings);
    return this.#child;
  }
}

/** Whether Fastify's parent logger is a pino logger (the lazy child needs `isLevelEnabled`). */
export function isPinoLogger(logger: FastifyBaseLogger): logger is Logger {
  return typeof (logger as Partial<Logger>).isLevelEnabled === "function";
}
