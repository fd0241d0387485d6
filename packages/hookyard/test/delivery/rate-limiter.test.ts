import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/delivery/rate-limiter.js";

function limiterAt(start = 1_000_000): { limiter: RateLimiter; advance: (ms: number) => void } {
  let now = start;
  return {
    limiter: new RateLimiter({ now: () => now }),
    advance: (ms) => void (now += ms),
  };
}

describe("endpoint rate limiter", () => {
  it("admits a burst of 5 at 5/s, then spaces deliveries 200 ms apart", () => {
    const { limiter } = limiterAt();
    const waits = Array.from({ length: 8 }, () => limiter.reserve("ep_1", 5));
    expect(waits).toEqual([0, 0, 0, 0, 0, 200, 400, 600]);
  });

  it("spreads 20 reservations at 5/s over at least 3 seconds", () => {
    const { limiter } = limiterAt();
    const waits = Array.from({ length: 20 }, () => limiter.reserve("ep_1", 5));
    expect(Math.max(...waits)).toBeGreaterThanOrEqual(3_000);
  });

  it("gives a refunded slot to the next reservation, never below now", () => {
    const { limiter } = limiterAt();
    const waits = Array.from({ length: 8 }, () => limiter.reserve("ep_1", 5));
    expect(waits.at(-1)).toBe(600);
    limiter.refund("ep_1", 5); // the 600 ms slot goes unused
    expect(limiter.reserve("ep_1", 5), "the same slot again, not 800").toBe(600);
    for (let i = 0; i < 20; i++) limiter.refund("ep_1", 5);
    expect(limiter.reserve("ep_1", 5), "refunds never bank a burst beyond the idle one").toBe(0);
    expect(Array.from({ length: 5 }, () => limiter.reserve("ep_1", 5))).toEqual([0, 0, 0, 0, 200]);
  });

  it("keeps keys independent", () => {
    const { limiter } = limiterAt();
    for (let i = 0; i < 5; i++) limiter.reserve("ep_1", 5);
    expect(limiter.reserve("ep_1", 5)).toBe(200);
    expect(limiter.reserve("ep_2", 5), "ep_2 has its own budget").toBe(0);
  });

  it("refills the burst as time passes", () => {
    const { limiter, advance } = limiterAt();
    for (let i = 0; i < 5; i++) limiter.reserve("ep_1", 5);
    advance(200);
    expect(limiter.reserve("ep_1", 5), "one slot refilled after 200 ms").toBe(0);
    expect(limiter.reserve("ep_1", 5)).toBe(200);
    advance(5_000);
    expect(Array.from({ length: 5 }, () => limiter.reserve("ep_1", 5))).toEqual([0, 0, 0, 0, 0]);
  });

  it("allows a single slot at a time below one delivery per second", () => {
    const { limiter } = limiterAt();
    expect([limiter.reserve("ep_1", 0.5), limiter.reserve("ep_1", 0.5)]).toEqual([0, 2_000]);
  });

  it("treats a non-positive rate as unlimited", () => {
    const { limiter } = limiterAt();
    expect([limiter.reserve("ep_1", 0), limiter.reserve("ep_1", -1)]).toEqual([0, 0]);
    expect(limiter.size).toBe(0);
  });

  it("starts afresh for a forgotten key", () => {
    const { limiter } = limiterAt();
    for (let i = 0; i < 6; i++) limiter.reserve("ep_1", 5);
    limiter.forget("ep_1");
    expect(limiter.reserve("ep_1", 5)).toBe(0);
  });

  it("drops idle keys so memory stays bounded", () => {
    const { limiter, advance } = limiterAt();
    for (let i = 0; i < 5_000; i++) {
      limiter.reserve(`ep_${i}`, 10);
      advance(1);
    }
    expect(limiter.size).toBeLessThan(2_048);
  });

  it("never admits more than the rate allows in any window (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 200 }),
        (perSecond, gaps) => {
          const { limiter, advance } = limiterAt(0);
          let now = 0;
          const sendTimes: number[] = [];
          for (const gap of gaps) {
            advance(gap);
            now += gap;
            sendTimes.push(now + limiter.reserve("ep", perSecond));
          }
          sendTimes.sort((a, b) => a - b);
          // GCRA bound: a full burst plus one second of refill, so at most 2 × perSecond per second.
          for (let i = 0; i < sendTimes.length; i++) {
            const start = sendTimes[i] ?? 0;
            const inWindow = sendTimes.filter((t) => t >= start && t < start + 1000).length;
            expect(inWindow).toBeLessThanOrEqual(2 * perSecond);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
