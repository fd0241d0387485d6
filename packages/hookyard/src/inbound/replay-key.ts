import { createHash } from "node:crypto";
import type { SourceScheme } from "../signing/provider-schemes.js";

/** A received request as its replay key sees it (header names in lower case). */
export interface KeyedRequest {
  method: string;
  path: string;
  query: string;
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
}

/**
 * The second de-duplication key of a request `scheme` verified (issue 18): a SHA-256 digest of
 * what the scheme authenticated. The delivery id of GitHub, Shopify, GitLab, Twilio and generic
 * HMAC requests is a header nobody signs, so a captured request sent again with a fresh one
 * passes verification; its replay key is the same, and the window drops it as a duplicate.
 *
 * - One signature per header (GitHub, Shopify, Slack, Twilio, generic HMAC): the signature's
 *   decoded bytes. Verification made them equal to the MAC of the signed content, so every copy
 *   of one signed request has them, however the header is spelled (hex case, base64 padding).
 * - Several signatures per header (Stripe, Standard Webhooks, Svix, GitLab's signing token): the
 *   signed fields and the body, since an entry can be added to the header without breaking it.
 * - A shared secret and nothing signed (`bearer`, `basic`, GitLab's classic token): the request
 *   itself, method, path, query and body. A sender that repeats an identical request on purpose
 *   inside the window sees it dropped; `dedupWindowSeconds: 0` turns that off.
 * - Nothing verified (`generic-webhook`, request bins): null. Anyone may send them a new request
 *   anyway, and a digest would drop a sender's identical notifications (a heartbeat).
 */
export function replayKeyOf(scheme: SourceScheme, request: KeyedRequest): string | null {
  const h = request.headers;
  switch (scheme.type) {
    case "generic-webhook":
      return null;
    case "github":
      return signatureKey(h["x-hub-signature-256"]?.slice("sha256=".length), "hex");
    case "shopify":
      return signatureKey(h["x-shopify-hmac-sha256"] ?? h["shopify-hmac-sha256"], "base64");
    case "slack":
      return signatureKey(h["x-slack-signature"]?.slice("v0=".length), "hex");
    case "twilio":
      return signatureKey(h["x-twilio-signature"], "base64");
    case "generic-hmac": {
      const header = h[scheme.header.toLowerCase()];
      const signature = header?.slice(scheme.prefix?.length ?? 0).trim();
      return signatureKey(signature, scheme.encoding);
    }
    case "stripe":
      return digest("stripe", stripeTimestamp(h["stripe-signature"]), request.body);
    case "standard-webhooks":
    case "svix":
      return standardWebhooksKey(request);
    case "gitlab":
      return scheme.secret.startsWith("whsec_")
        ? standardWebhooksKey(request)
        : requestKey(request);
    case "bearer":
    case "basic":
      return requestKey(request);
  }
}

function signatureKey(signature: string | undefined, encoding: "hex" | "base64"): string | null {
  if (signature === undefined) return null;
  return digest("signature", Buffer.from(signature, encoding));
}

/** The fields the Standard Webhooks verifier reads (webhook-* first, then svix-*). */
function standardWebhooksKey({ headers: h, body }: KeyedRequest): string {
  const id = h["webhook-id"] ?? h["svix-id"] ?? "";
  const timestamp = h["webhook-timestamp"] ?? h["svix-timestamp"] ?? "";
  return digest("standard-webhooks", id, timestamp, body);
}

function requestKey({ method, path, query, body }: KeyedRequest): string {
  return digest("request", method, path, query, body);
}

/** The `t=` of a Stripe-Signature header, read as the verifier reads it (the last one wins). */
function stripeTimestamp(header: string | undefined): string {
  let timestamp = "";
  for (const part of (header ?? "").split(",")) {
    const eq = part.indexOf("=");
    if (part.slice(0, eq).trim() === "t") timestamp = part.slice(eq + 1).trim();
  }
  return timestamp;
}

/** Each part is length-prefixed, so no two different lists of parts hash the same bytes. */
function digest(kind: string, ...parts: Array<string | Buffer>): string {
  const hash = createHash("sha256").update(kind);
  for (const part of parts) {
    const bytes = typeof part === "string" ? Buffer.from(part, "utf8") : part;
    hash.update(`\n${bytes.length}:`).update(bytes);
  }
  return hash.digest("hex");
}
