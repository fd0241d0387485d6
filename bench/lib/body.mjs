import { createHmac, randomBytes } from "node:crypto";

/** Target size of every request body (bytes), as in research/perf.md. */
export const BODY_BYTES = 1024;

/** A JSON event envelope padded to exactly BODY_BYTES bytes (the ceiling phases' body). */
export function fixedBody() {
  const base = { type: "bench.event", id: "evt_0000000000", data: { pad: "" } };
  const overhead = Buffer.byteLength(JSON.stringify(base));
  base.data.pad = "x".repeat(BODY_BYTES - overhead);
  const text = JSON.stringify(base);
  if (Buffer.byteLength(text) !== BODY_BYTES) throw new Error("fixed body is not 1 KiB");
  return text;
}

const PAD = (() => {
  const probe = JSON.stringify({ sentAt: 1700000000000.123, seq: 1000, kind: "bench", pad: "" });
  return "x".repeat(BODY_BYTES - Buffer.byteLength(probe));
})();

/**
 * The ≈1 KiB event payload of the end-to-end phases. `sentAt` (wallNow() when the publish was
 * sent) and `seq` come first so the receiver finds them without parsing the whole body.
 */
export function makePayload(seq, sentAt) {
  return { sentAt, seq, kind: "bench", pad: PAD };
}

/** A Standard Webhooks secret (`whsec_` + base64 of 24 random bytes) and its key bytes. */
export function newSecret() {
  const key = randomBytes(24);
  return { secret: `whsec_${key.toString("base64")}`, key };
}

export function keyFromSecret(secret) {
  return Buffer.from(secret.replace(/^whsec_/, ""), "base64");
}

/** Standard Webhooks headers for one delivery: HMAC-SHA256 base64 of `${id}.${ts}.${body}`. */
export function signedHeaders(id, body, key) {
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64");
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": ts,
    "webhook-signature": `v1,${signature}`,
  };
}
