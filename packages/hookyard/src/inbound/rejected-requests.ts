import type { SourceId } from "../model.js";

/**
 * Bounds on what requests a source refuses cost (issue 18): anyone who knows an ingest URL can
 * send it requests that fail verification, and each one used to be stored whole. A provider
 * with a misconfigured secret is still visible (the newest rejected requests, their reason and
 * the start of their body), without an attacker filling the disk.
 */

/** A rejected request keeps this much of its body: enough to see what was sent. */
export const REJECTED_BODY_BYTES = 4096;

/** Rejected requests kept per source; older ones are deleted as new ones arrive. */
export const REJECTED_KEPT_PER_SOURCE = 1000;

/** Rejected requests a source stores per minute; beyond, it answers 429 and stores nothing. */
export const REJECTED_PER_MINUTE = 60;

/** The first `REJECTED_BODY_BYTES` of `body` (a copy: the rest can be freed), or `body`. */
export function truncatedBody(body: Buffer): { body: Buffer; bodyBytesReceived?: number } {
  if (body.length <= REJECTED_BODY_BYTES) return { body };
  return {
    body: Buffer.from(body.subarray(0, REJECTED_BODY_BYTES)),
    bodyBytesReceived: body.length,
  };
}

/**
 * Per source, a token bucket of `REJECTED_PER_MINUTE` rejected requests, refilled evenly over
 * the minute: a burst of a full minute's worth goes through, then one a second. Held in this
 * process (each process of a cluster counts its own); a source with a full bucket needs no entry.
 */
export class RejectionLimiter {
  readonly #buckets = new Map<SourceId, { tokens: number; at: number }>();

  /** Takes one token for a rejected request of `source` at `now`; null, or how long to wait. */
  take(source: SourceId, now: number): { retryAfterMs: number } | null {
    const bucket = this.#buckets.get(source);
    const tokens =
      bucket === undefined
        ? REJECTED_PER_MINUTE
        : Math.min(REJECTED_PER_MINUTE, bucket.tokens + (now - bucket.at) / MS_PER_TOKEN);
    if (tokens < 1) return { retryAfterMs: Math.ceil((1 - tokens) * MS_PER_TOKEN) };
    // Sources are few (operators create them), but a map must not grow without a bound.
    if (bucket === undefined && this.#buckets.size >= MAX_TRACKED_SOURCES) this.#buckets.clear();
    this.#buckets.set(source, { tokens: tokens - 1, at: now });
    return null;
  }
}

const MS_PER_TOKEN = 60_000 / REJECTED_PER_MINUTE;
const MAX_TRACKED_SOURCES = 10_000;
