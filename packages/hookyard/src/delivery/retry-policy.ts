/**
 * When to try a failed delivery again (DESIGN "Default policy"). Pure: time and randomness come in
 * as arguments, so a ±20 % schedule is exactly testable (STYLE 2.6).
 */

/** Seconds to wait after attempt 1, 2, …: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts). */
export const DEFAULT_RETRY_SCHEDULE_S = [5, 300, 1800, 7200, 18000, 36000, 36000] as const;

/** A receiver's `Retry-After` never pushes a retry further out than this. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

const JITTER = 0.2;

export interface RetryDelayRequest {
  /** Attempts already made (≥ 1). */
  attemptsMade: number;
  /** Delay after attempt n at index n − 1, in ms. */
  scheduleMs: readonly number[];
  /** Uniform in [0, 1); 0.5 means no jitter. */
  random: () => number;
  /** From a 429/503 response's `Retry-After`; the delay is at least this long (capped at 24 h). */
  retryAfterMs?: number | null;
}

/** Ms to wait before the next attempt, or null when the schedule is exhausted. */
export function nextRetryDelayMs(req: RetryDelayRequest): number | null {
  const base = req.scheduleMs[req.attemptsMade - 1];
  if (base === undefined) return null;
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * req.random()));
  if (req.retryAfterMs === undefined || req.retryAfterMs === null) return jittered;
  return Math.max(jittered, Math.min(Math.max(0, req.retryAfterMs), MAX_RETRY_AFTER_MS));
}

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
// The three HTTP-date forms recipients must accept (RFC 9110 §5.6.7).
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`);
const DELTA_SECONDS = /^\d+$/;

/**
 * A `Retry-After` value (delta-seconds or HTTP-date) as ms from `nowMs`, never negative; null when
 * absent or not one of those forms.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (DELTA_SECONDS.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : null;
  }
  const at = parseHttpDate(text);
  return at === null ? null : Math.max(0, at - nowMs);
}

function parseHttpDate(text: string): number | null {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) return utc(m[3], m[2], m[1], m[4], m[5], m[6]);
  m = RFC850_DATE.exec(text);
  if (m !== null) {
    // Two-digit years: RFC 9110 says a year that looks more than 50 years ahead is in the past.
    const yy = Number(m[3]);
    return utc(String(yy < 50 ? 2000 + yy : 1900 + yy), m[2], m[1], m[4], m[5], m[6]);
  }
  m = ASCTIME_DATE.exec(text);
  if (m !== null) return utc(m[6], m[1], m[2], m[3], m[4], m[5]);
  return null;
}

function utc(
  year: string | undefined,
  month: string | undefined,
  day: string | undefined,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): number | null {
  const monthIndex = MONTHS.indexOf(month ?? "");
  const d = Number(day);
  const h = Number(hour);
  const min = Number(minute);
  const s = Number(second);
  if (monthIndex < 0 || d < 1 || d > 31 || h > 23 || min > 59 || s > 60) return null;
  const ms = Date.UTC(Number(year), monthIndex, d, h, min, Math.min(s, 59));
  return Number.isFinite(ms) ? ms : null;
}
