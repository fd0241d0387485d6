import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { idFloor, idTime, TimeSortableIds } from "../src/ids.js";

describe("prefixed ids", () => {
  it("carries the Svix prefix and a 27-character body", () => {
    const ids = new TimeSortableIds({ now: () => 1_700_000_000_000 });
    expect(ids.next("msg")).toMatch(/^msg_[0-9A-Za-z]{27}$/);
    expect(ids.next("app")).toMatch(/^app_/);
  });

  it("sorts by creation time as plain strings", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 47 }),
        fc.integer({ min: 1, max: 2 ** 20 }),
        (t, dt) => {
          let now = t;
          const ids = new TimeSortableIds({ now: () => now });
          const a = ids.next("msg");
          now = t + dt;
          const b = ids.next("msg");
          return a < b;
        },
      ),
    );
  });

  it("never repeats within one millisecond", () => {
    const ids = new TimeSortableIds({ now: () => 5 });
    const seen = new Set(Array.from({ length: 10_000 }, () => ids.next("atmpt")));
    expect(seen.size).toBe(10_000);
  });

  it("sorts in the order made within one millisecond (a listener replays in that order)", () => {
    const ids = new TimeSortableIds({ now: () => 1_700_000_000_123 });
    const made = Array.from({ length: 5_000 }, () => ids.next("req"));
    expect([...made].sort()).toEqual(made);
  });

  it("stays in order when the clock steps back", () => {
    let now = 1_700_000_005_000;
    const ids = new TimeSortableIds({ now: () => now });
    const before = ids.next("req");
    now -= 3_000;
    const after = ids.next("req");
    expect(after > before).toBe(true);
  });

  it("reads back its creation time, and idFloor sorts below every id of that millisecond", () => {
    const ids = new TimeSortableIds({ now: () => 1_700_000_000_123 });
    const id = ids.next("req");
    expect(idTime(id)).toBe(1_700_000_000_123);
    expect(idFloor("req", 1_700_000_000_123) <= id).toBe(true);
    expect(idFloor("req", 1_700_000_000_124) > id).toBe(true);
  });
});
