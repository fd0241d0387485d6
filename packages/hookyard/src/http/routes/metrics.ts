import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { AuthenticationError, ForbiddenError } from "../../errors.js";
import type { Metrics } from "../../observability/metrics.js";
import { bearerTokenOf } from "../auth.js";

/**
 * `GET /metrics`: Prometheus' exposition format (text 0.0.4), for a scraper. Not under
 * `/api/v1`, where the admin key rules: a scraper gets its own token (`metrics.token`), or none.
 */
export function registerMetricsRoutes(
  app: FastifyInstance,
  deps: { metrics: Metrics; token: string | null },
): void {
  const expected = deps.token === null ? null : digest(deps.token);
  app.get(
    "/metrics",
    {
      schema: {
        tags: ["Operations"],
        summary: "Prometheus metrics",
        description:
          "This process's metrics in Prometheus' text format: HTTP requests by route and status, publish and ingest latency, delivery attempts by outcome and error class, attempt duration, open deliveries and the oldest one's age per application, received requests by source and verdict, rule runs, group commits, and Node's own (event-loop lag, memory, CPU). With `metrics.token` set, send `Authorization: Bearer <token>`; without one, only clients on this host (loopback) are answered.",
        security: [],
        produces: ["text/plain"],
        response: { 200: { type: "string", description: "Prometheus text format 0.0.4." } },
      },
    },
    async (request, reply) => {
      // A proxy on this host would make every client look local: a forwarded request needs the
      // token too.
      const forwarded =
        request.headers["x-forwarded-for"] !== undefined || request.headers.forwarded !== undefined;
      if (expected === null && (!isLoopback(request.ip) || forwarded)) {
        throw new ForbiddenError(
          "Without metrics.token, GET /metrics answers this host only: set metrics.token to scrape it from elsewhere",
        );
      }
      if (expected !== null) {
        const token = bearerTokenOf(request.headers.authorization);
        if (token === null) {
          throw new AuthenticationError(
            "GET /metrics needs `Authorization: Bearer <metrics token>`",
          );
        }
        if (!timingSafeEqual(digest(token), expected)) {
          throw new AuthenticationError("Invalid metrics token");
        }
      }
      const { contentType, body } = await deps.metrics.render();
      return reply.type(contentType).send(body);
    },
  );
}

/** Equal-length inputs for the constant-time compare, whatever the tokens' lengths. */
function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** A client on this host: 127.0.0.0/8 or ::1, also as an IPv4-mapped IPv6 address. */
function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  return v4.startsWith("127.") || ip === "::1";
}
