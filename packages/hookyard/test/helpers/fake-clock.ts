import type { Clock, Timer } from "../../src/clock.js";

interface PendingTimer {
  dueAt: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told. `advance(ms)` fires due timers in time order (ties in
 * creation order), letting promise callbacks run between timers so async work a timer starts can
 * schedule the next one.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: PendingTimer[] = [];
  #settle: (() => Promise<void>) | null = null;

  constructor(startAt: number = Date.UTC(2025, 0, 1)) {
    this.#now = startAt;
  }

  /**
   * Also waits for `settle` (the store's `whenIdle`) between timers: a write resolves only
   * after a real disk flush, and the timer it arms must exist before the clock moves on.
   */
  settleWith(settle: () => Promise<void>): void {
    this.#settle = settle;
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const timer: PendingTimer = {
      dueAt: this.#now + Math.max(0, ms),
      seq: this.#seq++,
      fn,
      cancelled: false,
    };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Number of timers still waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await this.#flush();
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      const next = this.#timers
        .filter((t) => t.dueAt <= target)
        .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.dueAt);
      this.#timers.splice(this.#timers.indexOf(next), 1);
      next.fn();
    }
    this.#now = target;
    await this.#flush();
  }

  async #flush(): Promise<void> {
    await flushMicrotasks();
    // Work a timer starts may queue a write whose continuation queues the next: wait for the
    // store while it has something to flush (bounded), stop as soon as it was idle already.
    for (let round = 0; round < 5 && this.#settle !== null; round++) {
      const settled = this.#settle().then(() => true);
      const wasIdle = await Promise.race([settled, nextImmediate().then(() => false)]);
      if (wasIdle) return;
      await settled;
      await flushMicrotasks();
    }
  }
}

function nextImmediate(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

async function flushMicrotasks(): Promise<void> {
  // setImmediate lets I/O callbacks and group commits (which flush on setImmediate) run too.
  for (let i = 0; i < 3; i++) await nextImmediate();
}
