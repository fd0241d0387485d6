import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, the scheme Svix uses):
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "<msg id>.<timestamp s>.<body>")>`, where the key
 * is the base64 part of a `whsec_…` secret. Several space-separated signatures may be sent (one per
 * still-valid secret during a rotation); a verifier accepts any `v1` match and skips other versions.
 */

const SECRET_PREFIX = "whsec_";
/** Svix generates 24 random bytes; it accepts 24–75 bytes, and so do we. */
const SECRET_BYTES = 24;
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 75;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** The spec's default tolerance for `webhook-timestamp` in both directions. */
export const DEFAULT_TOLERANCE_S = 300;

/** A fresh endpoint secret: `whsec_` + base64 of 24 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString("base64");
}

/** True for `whsec_` + canonical base64 of 24–75 bytes. */
export function isValidSecret(secret: string): boolean {
  return secretProblem(secret, { prefix: "required" }) === null;
}

/**
 * Why `secret` cannot be a Standard Webhooks key, or null when it can: canonical base64 of 24–75
 * bytes, after `whsec_` (required for secrets Hookyard signs with; optional for a source's, as
 * Svix's verifiers take both). A key that decodes to nothing, or to a few bytes, would let anyone
 * forge a signature: `whsec_` alone is an HMAC keyed with zero bytes.
 */
export function secretProblem(
  secret: string,
  opts: { prefix: "required" | "optional" },
): string | null {
  const prefixed = secret.startsWith(SECRET_PREFIX);
  if (!prefixed && opts.prefix === "required") {
    return `must be ${SECRET_PREFIX} followed by base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`;
  }
  const encoded = prefixed ? secret.slice(SECRET_PREFIX.length) : secret;
  const bytes = Buffer.from(encoded, "base64");
  // Round-tripping rejects lengths that are not valid base64 (e.g. a dangling character).
  const canonical =
    encoded === "" ||
    (BASE64.test(encoded) &&
      bytes.toString("base64").replace(/=+$/, "") === encoded.replace(/=+$/, ""));
  if (!canonical) {
    return opts.prefix === "required"
      ? `must be ${SECRET_PREFIX} followed by base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`
      : `must be base64, after an optional ${SECRET_PREFIX}: the signing secret as the sender shows it`;
  }
  if (bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) {
    return `decodes to ${bytes.length} byte(s); a Standard Webhooks key is ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes (a shorter key can be guessed, an empty one lets anyone sign)`;
  }
  return null;
}

/** The HMAC key of a secret: the base64 part decoded (the `whsec_` prefix is optional, as in Svix). */
export function secretBytes(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(encoded, "base64");
}

/** Past this many secrets the cache starts over (a few re-decodes, nothing else). */
const MAX_CACHED_KEYS = 1024;

/**
 * Decoded HMAC keys by secret string, bounded. The engine signs every attempt with one of a few
 * endpoint secrets; decoding the base64 each time was pure per-attempt garbage.
 */
export class SigningKeys {
  readonly #keys = new Map<string, Buffer>();

  /** The key bytes of `secret`, as `secretBytes` returns them. */
  readonly keyOf = (secret: string): Buffer => {
    let key = this.#keys.get(secret);
    if (key === undefined) {
      key = secretBytes(secret);
      if (this.#keys.size >= MAX_CACHED_KEYS) this.#keys.clear();
      this.#keys.set(secret, key);
    }
    return key;
  };
}

function sign(
  key: Buffer,
  msgId: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  const hmac = createHmac("sha256", key);
  // One update for a text body: a single string is cheaper to hash than two.
  if (typeof body === "string") {
    hmac.update(`${msgId}.${timestampSeconds}.${body}`);
  } else {
    hmac.update(`${msgId}.${timestampSeconds}.`);
    hmac.update(body);
  }
  return hmac.digest("base64");
}

/** One `v1,<base64>` signature of `body` for `msgId` at `timestampSeconds`. */
export function signPayload(
  secret: string,
  msgId: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  return "v1," + sign(secretBytes(secret), msgId, timestampSeconds, body);
}

/**
 * The `webhook-signature` header value: one `v1,…` per secret, space-separated, in the order given
 * (current secret first, then rotated-out ones that are still valid). `keyOf` decodes a secret;
 * pass a `SigningKeys` cache's `keyOf` to decode each secret once.
 */
export function signatureHeader(
  secrets: readonly string[],
  msgId: string,
  timestampSeconds: number,
  body: string | Uint8Array,
  keyOf: (secret: string) => Buffer = secretBytes,
): string {
  if (secrets.length === 1) {
    return "v1," + sign(keyOf(secrets[0] as string), msgId, timestampSeconds, body);
  }
  let header = "";
  for (const secret of secrets) {
    if (header !== "") header += " ";
    header += "v1," + sign(keyOf(secret), msgId, timestampSeconds, body);
  }
  return header;
}

export interface VerifyRequest {
  /** One secret, or several (any match passes), e.g. during a rotation. */
  secrets: readonly string[];
  msgId: string;
  timestampSeconds: number;
  body: string | Uint8Array;
  /** The `webhook-signature` header as received. */
  signatureHeader: string;
  /** The verifier's current time in epoch seconds. */
  nowSeconds: number;
  /** Default 300 s; the timestamp may be off by this much in either direction. */
  toleranceSeconds?: number;
}

/**
 * True when the timestamp is within tolerance of `nowSeconds` and any `v1` signature in the header
 * matches any of the secrets. Unknown versions are skipped; comparisons are constant-time.
 */
export function verifySignature(req: VerifyRequest): boolean {
  const tolerance = req.toleranceSeconds ?? DEFAULT_TOLERANCE_S;
  if (!Number.isFinite(req.timestampSeconds)) return false;
  if (Math.abs(req.nowSeconds - req.timestampSeconds) > tolerance) return false;
  const received: Buffer[] = [];
  for (const part of req.signatureHeader.split(" ")) {
    const comma = part.indexOf(",");
    if (comma < 0 || part.slice(0, comma) !== "v1") continue;
    received.push(Buffer.from(part.slice(comma + 1)));
  }
  if (received.length === 0) return false;
  for (const secret of req.secrets) {
    const expected = Buffer.from(
      sign(secretBytes(secret), req.msgId, req.timestampSeconds, req.body),
    );
    for (const candidate of received) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return true;
    }
  }
  return false;
}
