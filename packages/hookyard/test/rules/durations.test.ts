import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/rules/durations.js";

// Durations as rulebooks write them (throttle windows, command timeouts).

describe("parseDuration", () => {
  const CASES: Array<[input: unknown, ms: number | null]> = [
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["1h30m", 5_400_000],
    ["1h 30m", 5_400_000],
    [" 10m ", 600_000],
    ["1.5s", 1_500],
    ["0s", 0],
    [90, 90_000],
    [0.5, 500],
    ["", null],
    ["10", null],
    ["10 minutes", null],
    ["5M", null],
    ["-5s", null],
    ["m", null],
    ["1h30", null],
    [-1, null],
    [Number.POSITIVE_INFINITY, null],
    [Number.NaN, null],
    [null, null],
    [true, null],
    [["5m"], null],
  ];

  for (const [input, ms] of CASES) {
    it(`reads ${JSON.stringify(input) ?? String(input)} as ${String(ms)}`, () => {
      expect(parseDuration(input)).toBe(ms);
    });
  }

  it("adds the parts of a compound duration in any order", () => {
    const part = fc.tuple(
      fc.integer({ min: 0, max: 1_000 }),
      fc.constantFrom("ms", "s", "m", "h", "d"),
    );
    const UNIT_MS: Record<string, number> = {
      ms: 1,
      s: 1_000,
      m: 60_000,
      h: 3_600_000,
      d: 86_400_000,
    };
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.map(([n, unit]) => `${n}${unit}`).join("");
        const expected = parts.reduce((sum, [n, unit]) => sum + n * UNIT_MS[unit]!, 0);
        expect(parseDuration(text), text).toBe(expected);
      }),
    );
  });
});
