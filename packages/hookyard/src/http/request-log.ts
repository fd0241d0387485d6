import { LogController } from "fastify";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * One info line per request (STYLE 2.7) instead of Fastify's two ("incoming request" and
 * "request completed"), with Hookyard's field names. Subclassing is Fastify's documented way to
 * customise its request logs (`logController` must be an instance of `LogController`).
 * `reply.log` already carries `reqId`. Failures are logged by the error handler (4xx at info, 5xx at error), not here.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {
    // Deliberately silent: the single line is written when the response is finished.
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const fields = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime),
    };
    if (error) reply.log.error({ ...fields, err: error }, "request errored");
    else reply.log.info(fields, "request finished");
  }
}
