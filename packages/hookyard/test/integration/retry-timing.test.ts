import { once } from "node:events";
import { describe, expect, it } from "vitest";
import type { DeliveryEngine } from "../../src/delivery/engine.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer } from "../helpers/server.js";

/**
 * The periodic sweep is a fallback (retries in the store arm a sweep for their due time); every
 * 2 s of a simulated week would be 300,000 store round trips on PostgreSQL.
 */
const RARE_SWEEPS = { sweepIntervalMs: 600_000 };

/** Resolves after the engine has recorded the next attempt (and scheduled what follows it). */
function nextAttempt(engine: DeliveryEngine) {
  return once(engine, "attempt", { signal: AbortSignal.timeout(5_000) });
}

describe("retry timing with an injected clock", () => {
  it("retries a 503 after 5 s with the same webhook-id", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const receiver = await startReceiver({ replies: [503, 200] });
    const { svix, hookyard } = await startTestServer({
      clock,
      engine: RARE_SWEEPS,
      random: () => 0.5,
    }); // 0.5 = no jitter
    const app = await svix.application.create({ name: "A" });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const attempted = nextAttempt(hookyard.engine);
    await svix.message.create(app.id, { eventType: "invoice.paid", payload: { invoice: "in_1" } });
    const first = await receiver.nextRequest({ timeoutMs: 5_000 });
    await attempted;
    await clock.advance(4_999);
    expect(receiver.requests, "no retry before 5 s").toHaveLength(1);
    await clock.advance(1);
    const second = await receiver.nextRequest({ timeoutMs: 5_000 });
    expect(second.headers["webhook-id"]).toBe(first.headers["webhook-id"]);
  });

  it("follows the whole default schedule with ±20 % jitter and ends failed", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const receiver = await startReceiver({ defaultReply: 500 });
    // random() = 1 → every delay is +20 %.
    const { svix, hookyard } = await startTestServer({
      clock,
      engine: RARE_SWEEPS,
      random: () => 1,
    });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    let attempted = nextAttempt(hookyard.engine);
    const msg = await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await attempted;
    for (const [i, seconds] of [5, 300, 1800, 7200, 18000, 36000, 36000].entries()) {
      const delayMs = seconds * 1000 * 1.2;
      await clock.advance(delayMs - 1);
      expect(receiver.requests, `retry ${i + 1} not before ${delayMs} ms`).toHaveLength(i + 1);
      attempted = nextAttempt(hookyard.engine);
      await clock.advance(1);
      await attempted;
      expect(receiver.requests).toHaveLength(i + 2);
      if (i === 0) {
        await expect.poll(() => hookyard.engine.heldCount, { timeout: 2_000 }).toBe(0); // the next retry is 6 min away: it waits in the store, not in memory
      }
    }
    await clock.advance(7 * 24 * 3_600_000);
    expect(receiver.requests, "8 attempts in all, then it stops").toHaveLength(8);
    const destinations = await svix.messageAttempt.listAttemptedDestinations(app.id, msg.id);
    expect(destinations.data).toMatchObject([{ id: ep.id, statusText: "fail" }]);
    expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
  });

  it("honours Retry-After on 429 when it asks for longer than the schedule", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const receiver = await startReceiver({
      replies: [{ status: 429, headers: { "retry-after": "120" } }, 200],
    });
    const { svix, hookyard } = await startTestServer({
      clock,
      engine: RARE_SWEEPS,
      random: () => 0.5,
    });
    const app = await svix.application.create({ name: "A" });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const attempted = nextAttempt(hookyard.engine);
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await attempted;
    await clock.advance(119_999);
    expect(receiver.requests, "no retry before Retry-After's 120 s").toHaveLength(1);
    await clock.advance(1);
    await receiver.nextRequest({ timeoutMs: 5_000 });
    await receiver.nextRequest({ timeoutMs: 5_000 });
  });

  it("uses HOOKYARD_RETRY_SCHEDULE: 1,1,1 means three retries one second apart", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const receiver = await startReceiver({ defaultReply: 500 });
    const { svix, hookyard } = await startTestServer({
      clock,
      engine: RARE_SWEEPS,
      random: () => 0.5,
      delivery: { retrySchedule: [1, 1, 1] },
    });
    const app = await svix.application.create({ name: "A" });
    await svix.endpoint.create(app.id, { url: receiver.url });
    let attempted = nextAttempt(hookyard.engine);
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await attempted;
    for (let i = 0; i < 3; i++) {
      attempted = nextAttempt(hookyard.engine);
      await clock.advance(1_000);
      await attempted;
    }
    await clock.advance(3_600_000);
    expect(receiver.requests).toHaveLength(4);
  });

  it("disables an endpoint that has failed continuously for 5 days", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const receiver = await startReceiver({ defaultReply: 500 });
    const { svix, hookyard } = await startTestServer({
      clock,
      engine: RARE_SWEEPS,
      random: () => 0.5,
      delivery: { retrySchedule: [86_400, 86_400, 86_400, 86_400, 86_400, 86_400] },
    });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    let attempted = nextAttempt(hookyard.engine);
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await attempted;
    for (let day = 1; day <= 5; day++) {
      expect(
        (await svix.endpoint.get(app.id, ep.id)).disabled,
        `still enabled on day ${day - 1}`,
      ).toBe(false);
      attempted = nextAttempt(hookyard.engine);
      await clock.advance(86_400_000);
      await attempted;
    }
    await expect
      .poll(async () => (await svix.endpoint.get(app.id, ep.id)).disabled, { timeout: 5_000 })
      .toBe(true);
    await clock.advance(2 * 86_400_000);
    expect(receiver.requests, "no attempt after the endpoint was disabled").toHaveLength(6);
  });

  it("stops signing with a rotated-out secret after its 24 h grace period", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const receiver = await startReceiver();
    const { svix, hookyard } = await startTestServer({
      clock,
      engine: RARE_SWEEPS,
      random: () => 0.5,
    });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    await svix.endpoint.rotateSecret(app.id, ep.id, {});
    let attempted = nextAttempt(hookyard.engine);
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await attempted;
    await clock.advance(24 * 3_600_000);
    attempted = nextAttempt(hookyard.engine);
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await attempted;
    const signatures = receiver.requests.map(
      (r) => r.headers["webhook-signature"]?.split(" ").length,
    );
    expect(signatures, "two signatures during the grace period, one after").toEqual([2, 1]);
  });

  it("removes finished messages past the retention window and keeps those still retrying", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const ok = await startReceiver();
    const failing = await startReceiver({ defaultReply: 500 });
    // 0.01 days = 14.4 min; the hourly maintenance run prunes what is older.
    const { svix, hookyard } = await startTestServer({
      clock,
      random: () => 0.5,
      engine: RARE_SWEEPS,
      retentionDays: 0.01,
    });
    const app = await svix.application.create({ name: "A" });
    const good = await svix.endpoint.create(app.id, { url: ok.url, eventTypes: ["done.event"] });
    await svix.endpoint.create(app.id, { url: failing.url, eventTypes: ["stuck.event"] });
    let attempted = nextAttempt(hookyard.engine);
    const done = await svix.message.create(app.id, { eventType: "done.event", payload: {} });
    await attempted;
    attempted = nextAttempt(hookyard.engine);
    const stuck = await svix.message.create(app.id, { eventType: "stuck.event", payload: {} });
    await attempted;
    await clock.advance(3_600_000);
    await expect(svix.message.get(app.id, done.id)).rejects.toMatchObject({ code: 404 });
    expect((await svix.messageAttempt.listByEndpoint(app.id, good.id)).data).toEqual([]);
    const kept = await svix.message.get(app.id, stuck.id);
    expect(kept.id, "its delivery still retries: kept").toBe(stuck.id);
  });
});
