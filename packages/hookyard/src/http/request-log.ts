import { LogController } from "fastify";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";

/**
 * One info line per request (STYLE 2.7) instead of Fastify's two ("incoming request" and
 * "request completed"), with Hookyard's field names. Subclassing is Fastify's documented way to
 * customise its request logs (`logController` must be an instance of `LogController`).
 * The line goes through the root logger with `reqId` as a field (the same JSON line the request's
 * child logger would write), so a request that logs nothing else never builds its child logger.
 * Failures are logged by the error handler (4xx at info, 5xx at error), not here. Ingest URLs are
 * logged without their token (issue 18).
 */
export class RequestLog extends LogController {
  readonly #log: Logger;

  constructor(logger: Logger) {
    super();
    this.#log = logger;
  }

  override incomingRequest(): void {
    // Deliberately silent: the single line is written when the response is finished.
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) {
      reply.log.error(
        {
          method: request.method,
          url: loggedUrl(request.url),
          status: reply.statusCode,
          durationMs: Math.round(reply.elapsedTime),
          err: error,
        },
        "request errored",
      );
      return;
    }
    // Guarded: below info (e.g. HOOKYARD_LOG_LEVEL=warn) the fields object is not even built.
    if (!this.#log.isLevelEnabled("info")) return;
    this.#log.info(
      {
        reqId: request.id,
        method: request.method,
        url: loggedUrl(request.url),
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime),
      },
      "request finished",
    );
  }
}

/** Where an ingest URL's token ends in `url` (`/in/<token>[/…][?…]`), or -1 for other URLs. */
function ingestTokenEnd(url: string): number {
  if (!url.startsWith(INGEST_PREFIX)) return -1;
  const end = url.slice(INGEST_PREFIX.length).search(/[/?]/);
  return end < 0 ? url.length : INGEST_PREFIX.length + end;
}

const INGEST_PREFIX = "/in/";

/** Characters of an ingest token kept in logs: enough to tell sources apart, useless to a sender. */
const TOKEN_CHARS_SHOWN = 4;

/**
 * `url` as logged: an ingest URL's token is its only credential (whoever reads the log could
 * post as the provider), so `/in/<token>/path` is logged as `/in/<first 4 characters>…/path`.
 */
function loggedUrl(url: string): string {
  const end = ingestTokenEnd(url);
  if (end < 0) return url;
  const shown = Math.min(end, INGEST_PREFIX.length + TOKEN_CHARS_SHOWN);
  return `${url.slice(0, shown)}…${url.slice(end)}`;
}
