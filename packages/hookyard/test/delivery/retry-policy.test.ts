import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY_SCHEDULE_S,
  MAX_RETRY_AFTER_MS,
  nextRetryDelayMs,
  parseRetryAfter,
} from "../../src/delivery/retry-policy.js";

const SCHEDULE_MS = DEFAULT_RETRY_SCHEDULE_S.map((s) => s * 1000);
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

describe("retry schedule", () => {
  it("follows 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h without jitter when random() is 0.5", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((attemptsMade) =>
      nextRetryDelayMs({ attemptsMade, scheduleMs: SCHEDULE_MS, random: () => 0.5 }),
    );
    expect(delays).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
  });

  it("gives up after the eighth attempt", () => {
    expect(nextRetryDelayMs({ attemptsMade: 8, scheduleMs: SCHEDULE_MS, random: () => 0.5 })).toBe(
      null,
    );
    expect(nextRetryDelayMs({ attemptsMade: 1, scheduleMs: [], random: () => 0.5 })).toBe(null);
  });

  it("spreads each delay by at most ±20 % of the scheduled one", () => {
    expect(nextRetryDelayMs({ attemptsMade: 1, scheduleMs: SCHEDULE_MS, random: () => 0 })).toBe(
      4_000,
    );
    expect(
      nextRetryDelayMs({ attemptsMade: 1, scheduleMs: SCHEDULE_MS, random: () => 0.999999 }),
    ).toBe(6_000);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: SCHEDULE_MS.length }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attemptsMade, r) => {
          const base = SCHEDULE_MS[attemptsMade - 1] ?? 0;
          const delay = nextRetryDelayMs({
            attemptsMade,
            scheduleMs: SCHEDULE_MS,
            random: () => r,
          });
          expect(delay).not.toBeNull();
          expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
          expect(delay).toBeLessThanOrEqual(Math.ceil(base * 1.2));
        },
      ),
    );
  });

  it("never lets a jittered delay overtake the next, longer step of the schedule", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 7,
          maxLength: 7,
        }),
        (draws) => {
          for (let attemptsMade = 1; attemptsMade < 7; attemptsMade++) {
            const next = SCHEDULE_MS[attemptsMade] ?? 0;
            const delay = nextRetryDelayMs({
              attemptsMade,
              scheduleMs: SCHEDULE_MS,
              random: () => draws[attemptsMade - 1] ?? 0.5,
            });
            if (next > (SCHEDULE_MS[attemptsMade - 1] ?? 0)) {
              expect(delay).toBeLessThanOrEqual(next * 0.8);
            }
          }
        },
      ),
    );
  });

  it("waits at least as long as Retry-After asks", () => {
    const req = { attemptsMade: 1, scheduleMs: SCHEDULE_MS, random: () => 0.5 };
    expect(nextRetryDelayMs({ ...req, retryAfterMs: 60_000 })).toBe(60_000);
    expect(nextRetryDelayMs({ ...req, retryAfterMs: 1_000 }), "schedule is longer").toBe(5_000);
    expect(nextRetryDelayMs({ ...req, retryAfterMs: null })).toBe(5_000);
  });

  it("caps a huge Retry-After at 24 hours", () => {
    const delay = nextRetryDelayMs({
      attemptsMade: 1,
      scheduleMs: SCHEDULE_MS,
      random: () => 0.5,
      retryAfterMs: 30 * 24 * 3_600_000,
    });
    expect(delay).toBe(MAX_RETRY_AFTER_MS);
    expect(MAX_RETRY_AFTER_MS).toBe(86_400_000);
  });

  it("still stops retrying when the schedule is exhausted even with Retry-After", () => {
    expect(
      nextRetryDelayMs({
        attemptsMade: 8,
        scheduleMs: SCHEDULE_MS,
        random: () => 0.5,
        retryAfterMs: 1,
      }),
    ).toBe(null);
  });
});

describe("Retry-After parsing", () => {
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("120", NOW)).toBe(120_000);
    expect(parseRetryAfter(" 0 ", NOW)).toBe(0);
  });

  it("reads the preferred IMF-fixdate form relative to now", () => {
    expect(parseRetryAfter("Wed, 01 Jan 2025 12:01:30 GMT", NOW)).toBe(90_000);
  });

  it("reads the obsolete RFC 850 and asctime date forms", () => {
    expect(parseRetryAfter("Wednesday, 01-Jan-25 12:00:10 GMT", NOW)).toBe(10_000);
    expect(parseRetryAfter("Wed Jan  1 12:00:20 2025", NOW)).toBe(20_000);
  });

  it("treats a date in the past as retry now", () => {
    expect(parseRetryAfter("Tue, 31 Dec 2024 12:00:00 GMT", NOW)).toBe(0);
  });

  it("returns null for absent or malformed values", () => {
    for (const bad of [
      undefined,
      "",
      "soon",
      "-5",
      "1.5",
      "12abc",
      "Wed, 32 Jan 2025 12:00:00 GMT",
      "9".repeat(400),
    ]) {
      expect(parseRetryAfter(bad, NOW), JSON.stringify(bad)).toBe(null);
    }
  });

  it("never throws and never returns a negative delay for any string", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const ms = parseRetryAfter(text, NOW);
        return ms === null || (Number.isFinite(ms) && ms >= 0);
      }),
    );
  });
});
