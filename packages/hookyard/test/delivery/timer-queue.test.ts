import { describe, expect, it } from "vitest";
import { TimerQueue } from "../../src/delivery/timer-queue.js";
import { FakeClock } from "../helpers/fake-clock.js";

describe("the retry timer queue", () => {
  it("releases items in due order, each not before its time", async () => {
    const clock = new FakeClock(0);
    const released: string[] = [];
    const queue = new TimerQueue<string>({ clock, onDue: (items) => released.push(...items) });
    queue.add(300, "c");
    queue.add(100, "a");
    queue.add(200, "b");
    await clock.advance(99);
    expect(released).toEqual([]);
    await clock.advance(1);
    expect(released).toEqual(["a"]);
    await clock.advance(200);
    expect(released).toEqual(["a", "b", "c"]);
    expect(queue.size).toBe(0);
  });

  it("removes an item before it is due and keeps one clock timer", async () => {
    const clock = new FakeClock(0);
    const released: number[] = [];
    const queue = new TimerQueue<number>({ clock, onDue: (items) => released.push(...items) });
    for (let i = 0; i < 100; i++) queue.add(1_000 + i, i);
    expect(clock.pendingTimers, "one armed timer for 100 items").toBe(1);
    expect(queue.remove((n) => n === 0)).toBe(0);
    await clock.advance(2_000);
    expect(released).toHaveLength(99);
    expect(released[0]).toBe(1);
  });

  it("releases nothing after close", async () => {
    const clock = new FakeClock(0);
    const released: number[] = [];
    const queue = new TimerQueue<number>({ clock, onDue: (items) => released.push(...items) });
    queue.add(10, 1);
    queue.close();
    await clock.advance(100);
    expect(released).toEqual([]);
  });
});
