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
 * What a received request's credential header holds once its source has verified it (a
 * `bearer` or `basic` source's `authorization`): the secret itself is never stored, shown or
 * forwarded. A destination that needs credentials gets its own through its endpoint headers.
 */
export const VERIFIED_CREDENTIAL = "[verified by the source; not stored]";

/** The sender's cookies and its proxies' view of the connection are not the destination's. */
function isForwarded(name: string, value: string): boolean {
  return (
    !NOT_FORWARDED.has(name) &&
    name !== "cookie" &&
    !name.startsWith("x-forwarded-") &&
    name !== "forwarded" &&
    value !== VERIFIED_CREDENTIAL
  );
}

/**
 * What the delivery engine sends for a request received at an ingest URL: its method, its
 * headers (but the connection's own, cookies and credentials) and its body, byte for byte, to the destination's URL with
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
    if (isForwarded(name, value)) headers[name] = value;
  }
  const bodiless = received.method === "GET" || received.method === "HEAD";
  return {
    url: forwardedUrl(destinationUrl, received.path, received.query),
    method: received.method,
    headers,
    body: bodiless ? "" : received.body,
  };
}

/**
 * The destination's URL with the sender's path suffix below the destination's path and the
 * sender's query after its own. The suffix (as the router decoded it) never leaves that path
 * (issue 18): `.` and `..` segments are dropped, and `%`, `\`, tab, CR and LF are escaped, so
 * the URL parser can neither read a segment as `%2e%2e` (or `.<tab>.`, as it drops tabs and
 * newlines) nor a `\` as `/`. Ingest refuses such paths; this also covers requests stored before
 * it did, and replays of them.
 */
function forwardedUrl(destination: string, path: string, query: string): string {
  if (path === "" && query === "") return destination;
  let url: URL;
  try {
    url = new URL(destination);
  } catch {
    return destination; // the sender reports an invalid URL as it would anyway
  }
  if (path !== "") {
    const segments = path
      .split("/")
      .filter((segment) => segment !== "." && segment !== "..")
      .map((segment) => segment.replace(/[%\\\t\n\r]/g, (c) => encodeURIComponent(c)));
    url.pathname = `${url.pathname.replace(/\/$/, "")}/${segments.join("/")}`;
  }
  if (query !== "") url.search = url.search === "" ? query : `${url.search.slice(1)}&${query}`;
  return url.toString();
}
