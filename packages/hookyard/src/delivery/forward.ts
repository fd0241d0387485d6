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
 * headers (but the connection's own) and its body, byte for byte, to the destination's URL with
 * the path the sender added after the token and the sender's query string appended (as Hookdeck
 * forwards paths). A GET or HEAD goes on as it came, without a body: its payload is its query.
 */
export function forwardedParts(
  received: InboundRequest,
  destinationUrl: string,
): {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | string;
} {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(received.headers)) {
    if (!NOT_FORWARDED.has(name)) headers[name] = value;
  }
  const bodiless = received.method === "GET" || received.method === "HEAD";
  return {
    url: forwardedUrl(destinationUrl, received.path, received.query),
    method: received.method,
    headers,
    body: bodiless ? "" : received.body,
  };
}

function forwardedUrl(destination: string, path: string, query: string): string {
  if (path === "" && query === "") return destination;
  let url: URL;
  try {
    url = new URL(destination);
  } catch {
    return destination; // the sender reports an invalid URL as it would anyway
  }
  if (path !== "") url.pathname = `${url.pathname.replace(/\/$/, "")}/${path}`;
  if (query !== "") url.search = url.search === "" ? query : `${url.search.slice(1)}&${query}`;
  return url.toString();
}
