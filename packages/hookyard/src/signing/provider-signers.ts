import { createHmac } from "node:crypto";
import { signPayload } from "./standard-webhooks.js";

/**
 * How third parties sign the webhooks they send: the sending side of provider-schemes.ts, which
 * verifies each of these exactly (research/inbound.md §1). Pure: the time and the secret are
 * inputs, so a signature made here can be checked against the providers' published vectors.
 */

/** The schemes `hookyard trigger` signs with (Alertmanager signs nothing: a bearer token). */
export type SigningScheme =
  | { type: "github" | "stripe" | "slack" | "shopify" | "standard-webhooks"; secret: string }
  | { type: "bearer"; token: string };

export interface SigningInput {
  /** The body's bytes exactly as they will be sent. */
  body: Buffer;
  /** Unix seconds the signature claims (Stripe's `t`, Slack's and Standard Webhooks' timestamp). */
  timestampSeconds: number;
  /** Standard Webhooks' `webhook-id`, which its signature covers. */
  msgId: string;
}

/** GitHub's `X-Hub-Signature-256` (`sha256=` + hex HMAC of the body). */
export function githubSignature256(secret: string, body: Buffer): string {
  return `sha256=${hex("sha256", secret, body)}`;
}

/** GitHub's legacy `X-Hub-Signature` (`sha1=` + hex), still sent beside the SHA-256 one. */
export function githubSignature1(secret: string, body: Buffer): string {
  return `sha1=${hex("sha1", secret, body)}`;
}

/** Stripe's `Stripe-Signature`; the key is the whole `whsec_…` text, not its decoded bytes. */
export function stripeSignature(secret: string, body: Buffer, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${hex("sha256", secret, `${timestampSeconds}.`, body)}`;
}

/** Slack's `X-Slack-Signature` over `v0:<timestamp>:<body>`. */
export function slackSignature(secret: string, body: Buffer, timestampSeconds: number): string {
  return `v0=${hex("sha256", secret, `v0:${timestampSeconds}:`, body)}`;
}

/** Shopify's `X-Shopify-Hmac-Sha256`: base64, not hex. */
export function shopifySignature(secret: string, body: Buffer): string {
  return createHmac("sha256", secret).update(body).digest("base64");
}

/**
 * The headers (lower-case names) that carry `scheme`'s signature of `input.body`, with the
 * timestamp and id headers the signature covers: they must travel with it.
 */
export function signatureHeaders(
  scheme: SigningScheme,
  input: SigningInput,
): Record<string, string> {
  const { body, timestampSeconds } = input;
  switch (scheme.type) {
    case "github":
      return {
        "x-hub-signature-256": githubSignature256(scheme.secret, body),
        "x-hub-signature": githubSignature1(scheme.secret, body),
      };
    case "stripe":
      return { "stripe-signature": stripeSignature(scheme.secret, body, timestampSeconds) };
    case "slack":
      return {
        "x-slack-request-timestamp": String(timestampSeconds),
        "x-slack-signature": slackSignature(scheme.secret, body, timestampSeconds),
      };
    case "shopify":
      return { "x-shopify-hmac-sha256": shopifySignature(scheme.secret, body) };
    case "standard-webhooks":
      return {
        "webhook-id": input.msgId,
        "webhook-timestamp": String(timestampSeconds),
        "webhook-signature": signPayload(scheme.secret, input.msgId, timestampSeconds, body),
      };
    case "bearer":
      return { authorization: `Bearer ${scheme.token}` };
    default: {
      const unhandled: never = scheme;
      throw new Error(`no signer for ${JSON.stringify(unhandled)}`);
    }
  }
}

function hex(algorithm: "sha1" | "sha256", key: string, ...parts: Array<string | Buffer>): string {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest("hex");
}
