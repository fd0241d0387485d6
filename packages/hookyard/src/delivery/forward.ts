import type { InboundRequest } from "../model.js";

/**
 * Headers of a received request that are not passed on: they describe the connection it came on
 * (RFC 9110 §7.6.1 hop-by-hop fields, Host, Content-Length), or are the sender's Standard Webhooks
 * signature, which the forward replaces with its own.
 */
const NOT_FORWARDED = new Set([
  "host",
  "content-length",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-connection",
  "expect",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
]);

/**
 * What the delivery engine sends for a request received at an ingest URL: its method, its
 * headers (but the connection's own) and its body, byte for byte. A GET or HEAD goes on as it
 * came, without a body (its payload is in the query, which the record keeps).
 */
export function forwardedParts(received: InboundRequest): {
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | string;
} {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(received.headers)) {
    if (!NOT_FORWARDED.has(name)) headers[name] = value;
  }
  const bodiless = received.method === "GET" || received.method === "HEAD";
  return { method: received.method, headers, body: bodiless ? "" : received.body };
}
