import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { DEFAULT_TOLERANCE_S, verifySignature } from "./standard-webhooks.js";

/**
 * How third parties sign the webhooks they send, one verifier per source type (the names are Svix
 * Ingest's `type`s, plus Hookyard's `generic-hmac`, `bearer` and `basic`). Each checks the exact
 * bytes received, compares in constant time, applies the provider's replay window, and on failure
 * says which check failed, never what was expected. The facts per provider, with test vectors,
 * are in research/inbound.md §1.
 */

/** An inbound request as a verifier sees it. */
export interface InboundRequest {
  /** The URL the sender called, as it called it (scheme, host, path, query): Twilio signs it. */
  url: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body's bytes exactly as received. */
  body: Buffer;
}

export type HmacAlgorithm = "sha1" | "sha256" | "sha512";

/** A source's verification settings: its `type` and the `config` that type takes. */
export type SourceScheme =
  | { type: "generic-webhook" }
  | { type: "github"; secret: string }
  | { type: "stripe"; secret: string; toleranceSeconds?: number }
  | { type: "slack"; secret: string; toleranceSeconds?: number }
  | { type: "shopify"; secret: string }
  | { type: "standard-webhooks" | "svix"; secret: string; toleranceSeconds?: number }
  | { type: "gitlab"; secret: string }
  | { type: "twilio"; secret: string }
  | {
      type: "generic-hmac";
      secret: string;
      /** The header carrying the signature, e.g. `x-signature`. */
      header: string;
      algorithm: HmacAlgorithm;
      encoding: "hex" | "base64";
      /** Text before the signature in the header, e.g. `sha256=`. */
      prefix?: string;
      /** What is signed: `{body}`, `{timestamp}` and `{id}` stand for the parts (default `{body}`). */
      signedContent?: string;
      timestampHeader?: string;
      idHeader?: string;
      /** With `timestampHeader`: how far (seconds) its value may be from now (default 300). */
      toleranceSeconds?: number;
    }
  | { type: "bearer"; token: string }
  | { type: "basic"; username: string; password: string };

export type SourceType = SourceScheme["type"];

export type Verdict = { ok: true } | { ok: false; reason: string };

const PASS: Verdict = { ok: true };
const fail = (reason: string): Verdict => ({ ok: false, reason });
const missing = (header: string): Verdict => fail(`missing ${header} header`);
const MISMATCH = fail("signature does not match");

/** Checks `req` against `scheme` at `nowMs` (epoch milliseconds). */
export function verifyInbound(scheme: SourceScheme, req: InboundRequest, nowMs: number): Verdict {
  const nowSeconds = Math.floor(nowMs / 1000);
  switch (scheme.type) {
    case "generic-webhook":
      return PASS;
    case "github":
      return verifyGithub(scheme.secret, req);
    case "stripe":
      return verifyStripe(scheme.secret, req, nowSeconds, scheme.toleranceSeconds);
    case "slack":
      return verifySlack(scheme.secret, req, nowSeconds, scheme.toleranceSeconds);
    case "shopify":
      return verifyShopify(scheme.secret, req);
    case "standard-webhooks":
    case "svix":
      return verifyStandardWebhooks(scheme.secret, req, nowSeconds, scheme.toleranceSeconds);
    case "gitlab":
      return verifyGitlab(scheme.secret, req, nowSeconds);
    case "twilio":
      return verifyTwilio(scheme.secret, req);
    case "generic-hmac":
      return verifyGenericHmac(scheme, req, nowSeconds);
    case "bearer":
      return verifyBearer(scheme.token, req);
    case "basic":
      return verifyBasic(scheme.username, scheme.password, req);
  }
}

// --- providers ---

function verifyGithub(secret: string, req: InboundRequest): Verdict {
  const header = req.headers["x-hub-signature-256"];
  if (header === undefined) return missing("X-Hub-Signature-256");
  if (!header.startsWith("sha256=")) return fail("X-Hub-Signature-256 does not start with sha256=");
  const expected = hmac("sha256", secret, req.body);
  return sameBytes(expected, Buffer.from(header.slice("sha256=".length), "hex")) ? PASS : MISMATCH;
}

function verifyStripe(
  secret: string,
  req: InboundRequest,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_TOLERANCE_S,
): Verdict {
  const header = req.headers["stripe-signature"];
  if (header === undefined) return missing("Stripe-Signature");
  let timestamp: string | null = null;
  const signatures: Buffer[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    const [key, value] = [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    if (key === "t") timestamp = value;
    // Several v1 entries during a secret rotation; other schemes (v0) are ignored, as Stripe's SDKs do.
    else if (key === "v1") signatures.push(Buffer.from(value, "hex"));
  }
  if (timestamp === null || !/^\d+$/.test(timestamp)) {
    return fail("Stripe-Signature has no t=<timestamp>");
  }
  if (signatures.length === 0) return fail("Stripe-Signature has no v1 signature");
  const stale = outsideWindow(Number(timestamp), nowSeconds, toleranceSeconds);
  if (stale !== null) return stale;
  // Stripe keys the HMAC with the whole `whsec_…` text, not its decoded bytes.
  const expected = hmac("sha256", secret, `${timestamp}.`, req.body);
  return signatures.some((s) => sameBytes(expected, s)) ? PASS : MISMATCH;
}

function verifySlack(
  secret: string,
  req: InboundRequest,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_TOLERANCE_S,
): Verdict {
  const signature = req.headers["x-slack-signature"];
  const timestamp = req.headers["x-slack-request-timestamp"];
  if (signature === undefined) return missing("X-Slack-Signature");
  if (timestamp === undefined || !/^\d+$/.test(timestamp)) {
    return missing("X-Slack-Request-Timestamp");
  }
  if (!signature.startsWith("v0=")) return fail("X-Slack-Signature does not start with v0=");
  const stale = outsideWindow(Number(timestamp), nowSeconds, toleranceSeconds);
  if (stale !== null) return stale;
  const expected = hmac("sha256", secret, `v0:${timestamp}:`, req.body);
  return sameBytes(expected, Buffer.from(signature.slice(3), "hex")) ? PASS : MISMATCH;
}

function verifyShopify(secret: string, req: InboundRequest): Verdict {
  // The newer "Events" deliveries drop the X- prefix.
  const header = req.headers["x-shopify-hmac-sha256"] ?? req.headers["shopify-hmac-sha256"];
  if (header === undefined) return missing("X-Shopify-Hmac-Sha256");
  const expected = hmac("sha256", secret, req.body);
  return sameBytes(expected, Buffer.from(header, "base64")) ? PASS : MISMATCH;
}

function verifyStandardWebhooks(
  secret: string,
  req: InboundRequest,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_TOLERANCE_S,
): Verdict {
  // Svix senders use svix-*, every other Standard Webhooks sender webhook-*; both are accepted.
  const h = req.headers;
  const id = h["webhook-id"] ?? h["svix-id"];
  const timestamp = h["webhook-timestamp"] ?? h["svix-timestamp"];
  const signature = h["webhook-signature"] ?? h["svix-signature"];
  if (id === undefined) return missing("webhook-id");
  if (timestamp === undefined || !/^\d+$/.test(timestamp)) return missing("webhook-timestamp");
  if (signature === undefined) return missing("webhook-signature");
  const stale = outsideWindow(Number(timestamp), nowSeconds, toleranceSeconds);
  if (stale !== null) return stale;
  const ok = verifySignature({
    secrets: [secret],
    msgId: id,
    timestampSeconds: Number(timestamp),
    body: req.body,
    signatureHeader: signature,
    nowSeconds,
    toleranceSeconds,
  });
  return ok ? PASS : MISMATCH;
}

function verifyGitlab(secret: string, req: InboundRequest, nowSeconds: number): Verdict {
  // GitLab's newer signing token is a Standard Webhooks secret; the classic token is sent as is.
  if (secret.startsWith("whsec_")) return verifyStandardWebhooks(secret, req, nowSeconds);
  const token = req.headers["x-gitlab-token"];
  if (token === undefined) return missing("X-Gitlab-Token");
  return sameText(token, secret) ? PASS : fail("X-Gitlab-Token does not match");
}

function verifyTwilio(authToken: string, req: InboundRequest): Verdict {
  const header = req.headers["x-twilio-signature"];
  if (header === undefined) return missing("X-Twilio-Signature");
  const url = new URL(req.url);
  let signed = req.url;
  const bodyHash = url.searchParams.get("bodySHA256");
  if (bodyHash !== null) {
    // A JSON (non-form) body: the URL carries the body's SHA-256, and only the URL is signed.
    const actual = createHash("sha256").update(req.body).digest();
    if (!sameBytes(actual, Buffer.from(bodyHash, "hex"))) {
      return fail("bodySHA256 does not match the body");
    }
  } else if (isForm(req.headers["content-type"])) {
    // Form parameters sorted by name, each name followed by its value, no separators.
    const params = [...new URLSearchParams(req.body.toString("utf8"))];
    params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [name, value] of params) signed += name + value;
  }
  const expected = hmac("sha1", authToken, signed);
  return sameBytes(expected, Buffer.from(header, "base64")) ? PASS : MISMATCH;
}

function verifyGenericHmac(
  scheme: Extract<SourceScheme, { type: "generic-hmac" }>,
  req: InboundRequest,
  nowSeconds: number,
): Verdict {
  const header = req.headers[scheme.header.toLowerCase()];
  if (header === undefined) return missing(scheme.header);
  const prefix = scheme.prefix ?? "";
  if (!header.startsWith(prefix)) return fail(`${scheme.header} does not start with ${prefix}`);
  let timestamp = "";
  if (scheme.timestampHeader !== undefined) {
    timestamp = req.headers[scheme.timestampHeader.toLowerCase()] ?? "";
    if (!/^\d+$/.test(timestamp)) return missing(scheme.timestampHeader);
    const tolerance = scheme.toleranceSeconds ?? DEFAULT_TOLERANCE_S;
    const stale = outsideWindow(Number(timestamp), nowSeconds, tolerance);
    if (stale !== null) return stale;
  }
  let id = "";
  if (scheme.idHeader !== undefined) {
    id = req.headers[scheme.idHeader.toLowerCase()] ?? "";
    if (id === "") return missing(scheme.idHeader);
  }
  const mac = createHmac(scheme.algorithm, scheme.secret);
  // The template around {body} is text; the body goes in as its bytes.
  const template = scheme.signedContent ?? "{body}";
  const fill = (text: string) => text.replaceAll("{timestamp}", timestamp).replaceAll("{id}", id);
  const parts = template.split("{body}");
  parts.forEach((part, i) => {
    if (i > 0) mac.update(req.body);
    mac.update(fill(part));
  });
  const received = Buffer.from(header.slice(prefix.length).trim(), scheme.encoding);
  return sameBytes(mac.digest(), received) ? PASS : MISMATCH;
}

function verifyBearer(token: string, req: InboundRequest): Verdict {
  const header = req.headers.authorization;
  if (header === undefined) return missing("Authorization");
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (match === null) return fail("Authorization is not a Bearer token");
  return sameText(match[1]!.trim(), token) ? PASS : fail("bearer token does not match");
}

function verifyBasic(username: string, password: string, req: InboundRequest): Verdict {
  const header = req.headers.authorization;
  if (header === undefined) return missing("Authorization");
  const match = /^Basic\s+(.+)$/i.exec(header);
  if (match === null) return fail("Authorization is not Basic credentials");
  const given = Buffer.from(match[1]!.trim(), "base64").toString("utf8");
  return sameText(given, `${username}:${password}`) ? PASS : fail("credentials do not match");
}

// --- helpers ---

function hmac(algorithm: HmacAlgorithm, key: string, ...parts: Array<string | Buffer>): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Constant-time equality of two digests (a length mismatch fails at once: lengths are public). */
function sameBytes(expected: Buffer, received: Buffer): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

/** Constant-time equality of two secrets of any length: their SHA-256 digests are compared. */
function sameText(given: string, secret: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(secret));
}

function outsideWindow(timestamp: number, nowSeconds: number, toleranceSeconds: number) {
  const skew = nowSeconds - timestamp;
  if (Math.abs(skew) <= toleranceSeconds) return null;
  const when = skew > 0 ? `${skew} s old` : `${-skew} s in the future`;
  return fail(`timestamp is ${when}, outside the ${toleranceSeconds} s tolerance`);
}

function isForm(contentType: string | undefined): boolean {
  return contentType?.toLowerCase().startsWith("application/x-www-form-urlencoded") ?? false;
}
