import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** What a client's own `X-Request-Id` may look like to be kept: short, no spaces or quotes. */
const CLIENT_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Fastify's `genReqId`: a client's `X-Request-Id` when it is well-formed (a proxy or a caller
 * tracing its own requests), else this process's next id. Ids are unique across processes and
 * restarts (a random prefix per server, then a counter), so log lines of several nodes on one
 * PostgreSQL never mix two requests, and cost a counter increment, not a random draw, each.
 * A malformed client id is not echoed into logs and headers: a fresh one replaces it.
 */
export function requestIds(): (request: IncomingMessage) => string {
  const prefix = randomBytes(4).toString("hex");
  let next = 0;
  return (request) => {
    const offered = request.headers["x-request-id"];
    if (typeof offered === "string" && CLIENT_ID.test(offered)) return offered;
    next++;
    return `${prefix}-${next.toString(36)}`;
  };
}
