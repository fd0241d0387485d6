/**
 * Time is injected so retry schedules, leases and rate limits are tested with a fake clock
 * instead of sleeps (STYLE 2.6). Only `main.ts` builds a `SystemClock`.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once, `ms` from now. The timer must not keep the process alive. */
  setTimer(ms: number, fn: () => void): Timer;
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(ms: number, fn: () => void): Timer {
    // eslint-disable-next-line no-restricted-globals -- the one place real timers are created
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  }
}
