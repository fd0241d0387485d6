import type { RateSlots } from "./engine.js";

/**
 * Per-key delivery rate limit (an endpoint's `rateLimit`, deliveries per second), using GCRA
 * (virtual scheduling): each key keeps a theoretical arrival time (TAT); slots are spaced
 * 1000 / perSecond ms apart, and a key that was idle may send a burst of `perSecond` slots
 * (at least 1) at once. A reservation never fails: it returns how long the caller must wait.
 */

/** Sweep idle keys once the table has grown past this size (and doubled since the last sweep). */
const SWEEP_MIN_KEYS = 1024;

export class RateLimiter implements RateSlots {
  readonly #now: () => number;
  /** key → theoretical arrival time (ms, the injected clock's scale). */
  readonly #tat = new Map<string, number>();
  #sweepAt = SWEEP_MIN_KEYS;

  constructor(deps: { now: () => number }) {
    this.#now = deps.now;
  }

  /**
   * Reserves the next slot of `key` at `perSecond` and returns the ms to wait before using it
   * (0 = send now). A non-positive or non-finite rate means unlimited.
   */
  reserve(key: string, perSecond: number): number {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) return 0;
    const now = this.#now();
    const intervalMs = 1000 / perSecond;
    const burstToleranceMs = (Math.max(1, Math.floor(perSecond)) - 1) * intervalMs;
    const tat = Math.max(this.#tat.get(key) ?? now, now);
    const sendAt = Math.max(now, tat - burstToleranceMs);
    this.#tat.set(key, tat + intervalMs);
    if (this.#tat.size >= this.#sweepAt) this.#sweep(now);
    return Math.ceil(sendAt - now);
  }

  /**
   * Gives back a slot reserved with `reserve` that will not be used (the delivery went back to
   * the store to wait): without this, every wait handed back and taken up again would reserve a
   * new slot further out, and a backlog would push its own slots away for ever.
   */
  refund(key: string, perSecond: number): void {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) return;
    const tat = this.#tat.get(key);
    if (tat === undefined) return;
    this.#tat.set(key, Math.max(this.#now(), tat - 1000 / perSecond));
  }

  /** Drops the state of `key` (e.g. the endpoint was deleted or its rate limit changed). */
  forget(key: string): void {
    this.#tat.delete(key);
  }

  /** Number of keys with state, for tests and metrics. */
  get size(): number {
    return this.#tat.size;
  }

  /** A key whose TAT has passed behaves exactly like an unknown key, so it can be dropped. */
  #sweep(now: number): void {
    for (const [key, tat] of this.#tat) if (tat <= now) this.#tat.delete(key);
    this.#sweepAt = Math.max(SWEEP_MIN_KEYS, 2 * this.#tat.size);
  }
}
