import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Receiver } from "../../inbound/receiver.js";
import { publicBaseUrl } from "../public-url.js";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * The ingest URLs third parties call: `/in/<token>` (and `/in/<token>/<anything>`), any method,
 * any content type. No API key: the token in the URL and the source's signature check stand for
 * it. The body is kept as bytes (no parsing before verification: signatures cover the exact
 * bytes); a GET's payload is its query string.
 */
export function registerIngestRoutes(
  app: FastifyInstance,
  deps: { receiver: Receiver; publicUrl: string | null; maxBodyBytes: number },
): void {
  // Only in this plugin's scope: the API's JSON parser stays as it is elsewhere.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
    done(null, body);
  });

  const handler = async (request: FastifyRequest<{ Params: { token: string; "*"?: string } }>) => {
    const queryAt = request.url.indexOf("?");
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    return deps.receiver.receive(request.params.token, {
      method: request.method,
      url: publicBaseUrl(request, deps.publicUrl) + request.url,
      path: request.params["*"] ?? "",
      query: queryAt < 0 ? "" : request.url.slice(queryAt + 1),
      headers,
      body,
      sourceIp: request.ip,
    });
  };

  for (const url of ["/in/:token", "/in/:token/*"]) {
    app.route<{ Params: { token: string; "*"?: string } }>({
      method: [...METHODS],
      url,
      bodyLimit: deps.maxBodyBytes,
      schema: { hide: true },
      handler: async (request, reply) => {
        const outcome = await handler(request);
        if (outcome.delayMs !== undefined && outcome.delayMs > 0) await sleep(outcome.delayMs);
        if (outcome.headers !== undefined) void reply.headers(outcome.headers);
        if (outcome.contentType !== undefined) void reply.type(outcome.contentType);
        return reply.code(outcome.status).send(outcome.body);
      },
    });
  }
}
