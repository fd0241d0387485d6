import { once } from "node:events";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import type { Delivery, EndpointId } from "../../src/model.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startReceiver } from "../helpers/receiver.js";
import { Seed } from "../helpers/seed.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";
import { openStoreAt } from "../helpers/test-store.js";

/** How many of an endpoint's open deliveries no process holds (left in the store). */
async function unleasedOpenDeliveries(
  hookyard: TestServer["hookyard"],
  endpointId: string,
  status?: Delivery["status"],
): Promise<number> {
  const open = await hookyard.store.listOpenDeliveriesOfEndpoint(endpointId as EndpointId);
  return open.filter((d) => d.leaseOwner === null && (status === undefined || d.status === status))
    .length;
}

/** A raw API call, for Hookyard extensions the svix SDK does not carry. */
async function api(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  expect(res.status, `${method} ${path}`).toBeLessThan(300);
  return res.json();
}

describe("delivery through the real server", () => {
  it("delivers a signed request that the official standardwebhooks and svix verifiers accept", async () => {
    const receiver = await startReceiver();
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    await svix.endpoint.setHeaders(app.id, ep.id, { headers: { "X-Tenant": "acme" } });
    const msg = await svix.message.create(app.id, {
      eventType: "invoice.paid",
      payload: { invoice: "in_1" },
    });
    const req = await receiver.nextRequest({ timeoutMs: 5_000 });
    const { key } = await svix.endpoint.getSecret(app.id, ep.id);

    expect(req.method).toBe("POST");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers["user-agent"]).toMatch(/^Hookyard\//);
    expect(req.headers["x-tenant"]).toBe("acme");
    expect(req.headers["webhook-id"]).toBe(msg.id);
    expect(JSON.parse(req.body)).toEqual({ invoice: "in_1" });
    expect(new StandardWebhook(key).verify(req.body, req.headers)).toEqual({ invoice: "in_1" });
    // svix 2.x's verify returns nothing and throws when a check fails.
    expect(() => new SvixWebhook(key).verify(req.body, req.headers)).not.toThrow();
    expect(() => new SvixWebhook(key).verify(`${req.body} `, req.headers)).toThrow();
  });

  it("sends both signatures during a secret rotation, each verifiable on its own", async () => {
    const receiver = await startReceiver();
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const oldKey = (await svix.endpoint.getSecret(app.id, ep.id)).key;
    await svix.endpoint.rotateSecret(app.id, ep.id, {});
    const newKey = (await svix.endpoint.getSecret(app.id, ep.id)).key;
    await svix.message.create(app.id, { eventType: "a.b", payload: { x: 1 } });
    const req = await receiver.nextRequest({ timeoutMs: 5_000 });
    expect(req.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(new StandardWebhook(oldKey).verify(req.body, req.headers)).toEqual({ x: 1 });
    expect(new StandardWebhook(newKey).verify(req.body, req.headers)).toEqual({ x: 1 });
  });

  it("delivers only to endpoints whose event-type and channel filters match", async () => {
    const all = await startReceiver();
    const paidOnly = await startReceiver();
    const euOnly = await startReceiver();
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    await svix.endpoint.create(app.id, { url: all.url });
    await svix.endpoint.create(app.id, { url: paidOnly.url, eventTypes: ["invoice.paid"] });
    await svix.endpoint.create(app.id, { url: euOnly.url, channels: ["eu"] });
    await svix.message.create(app.id, { eventType: "invoice.voided", payload: { n: 1 } });
    await svix.message.create(app.id, {
      eventType: "invoice.paid",
      payload: { n: 2 },
      channels: ["eu"],
    });
    await all.waitForCount(2, { timeoutMs: 5_000 });
    await paidOnly.waitForCount(1, { timeoutMs: 5_000 });
    await euOnly.waitForCount(1, { timeoutMs: 5_000 });
    expect(paidOnly.requests.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ n: 2 }]);
    expect(euOnly.requests.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ n: 2 }]);
  });

  it("disables the endpoint after 410 Gone and stops delivering to it", async () => {
    const receiver = await startReceiver({ replies: [410] });
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await receiver.nextRequest({ timeoutMs: 5_000 });
    await expect
      .poll(async () => (await svix.endpoint.get(app.id, ep.id)).disabled, { timeout: 5_000 })
      .toBe(true);
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    expect(receiver.requests, "a disabled endpoint gets nothing").toHaveLength(1);
  });

  it("never follows a redirect, and counts 302 as success only when the endpoint opts in", async () => {
    const redirecting = await startReceiver({
      defaultReply: { status: 302, headers: { location: "http://127.0.0.1:1/" } },
    });
    const { svix, hookyard, url } = await startTestServer({ delivery: { retrySchedule: [] } });
    const app = await svix.application.create({ name: "A" });
    const strict = await svix.endpoint.create(app.id, { url: redirecting.url });
    const lenient = await svix.endpoint.create(app.id, { url: redirecting.url });
    // accept302 is a Hookyard extension the SDK's serializer does not send: set it over HTTP.
    await api(url, "PATCH", `/app/${app.id}/endpoint/${lenient.id}`, { accept302: true });
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await redirecting.waitForCount(2, { timeoutMs: 5_000 });
    await expect
      .poll(async () => (await svix.endpoint.getStats(app.id, strict.id)).fail, { timeout: 5_000 })
      .toBe(1);
    await expect
      .poll(async () => (await svix.endpoint.getStats(app.id, lenient.id)).success, {
        timeout: 5_000,
      })
      .toBe(1);
    const [attempt] = (await svix.messageAttempt.listByEndpoint(app.id, strict.id)).data;
    expect(attempt).toMatchObject({ responseStatusCode: 302, status: 2 });
    expect(hookyard.engine.heldCount).toBe(0);
  });

  it("refuses to send to a name that resolves to loopback unless it is allow-listed", async () => {
    const receiver = await startReceiver();
    const lookup = (_host: string) =>
      Promise.resolve([{ address: "127.0.0.1", family: 4 as const }]);
    const { svix, url } = await startTestServer({
      lookup,
      delivery: { egressAllow: [], retrySchedule: [] },
    });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, {
      url: `http://internal.example:${receiver.port}/`,
    });
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await expect
      .poll(async () => (await svix.messageAttempt.listByEndpoint(app.id, ep.id)).data.length, {
        timeout: 5_000,
      })
      .toBe(1);
    // errorClass is a Hookyard extension the SDK's deserializer drops: read it over HTTP.
    const attempts = (await api(url, "GET", `/app/${app.id}/attempt/endpoint/${ep.id}`)) as {
      data: unknown[];
    };
    expect(attempts.data[0]).toMatchObject({
      status: 2,
      responseStatusCode: 0,
      errorClass: "egress_blocked",
    });
    expect(receiver.requests, "nothing reached the loopback receiver").toHaveLength(0);
  });

  it("keeps a hanging endpoint from taking every delivery slot", async () => {
    const hanging = await startReceiver({ defaultReply: { status: 200, hang: true } });
    const fast = await startReceiver();
    // 4 attempts in flight in all, at most 2 per endpoint (its connection pool).
    const { svix } = await startTestServer({
      delivery: { concurrency: 4, connectionsPerOrigin: 2 },
    });
    const app = await svix.application.create({ name: "A" });
    await svix.endpoint.create(app.id, { url: hanging.url, eventTypes: ["slow.event"] });
    await svix.endpoint.create(app.id, { url: fast.url, eventTypes: ["fast.event"] });
    for (let i = 0; i < 6; i++)
      await svix.message.create(app.id, { eventType: "slow.event", payload: { i } });
    await hanging.waitForCount(2, { timeoutMs: 5_000 });
    await svix.message.create(app.id, { eventType: "fast.event", payload: { ok: true } });
    const req = await fast.nextRequest({ timeoutMs: 5_000 });
    expect(JSON.parse(req.body)).toEqual({ ok: true });
    expect(
      hanging.requests,
      "only the pool's 2 requests reached the hanging endpoint",
    ).toHaveLength(2);
    await hanging.close(); // ends the hanging attempts, so the server closes without waiting for them
  });

  it("loses nothing when long rate-limit waits go back to the store", async () => {
    const receiver = await startReceiver();
    // A 300 ms horizon: at 5/s, every message after the 7th waits longer and is handed back.
    const { svix, hookyard } = await startTestServer({ engine: { holdInMemoryMs: 300 } });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url, throttleRate: 5 });
    const ids = [];
    for (let i = 0; i < 12; i++)
      ids.push((await svix.message.create(app.id, { eventType: "a.b", payload: { i } })).id);
    await expect
      .poll(() => unleasedOpenDeliveries(hookyard, ep.id), { timeout: 2_000, interval: 20 })
      .toBeGreaterThan(0); // handed back: open, due later, held by nobody
    const requests = await receiver.waitForCount(12, { timeoutMs: 15_000 });
    expect(new Set(requests.map((r) => r.headers["webhook-id"]))).toEqual(new Set(ids));
    const spanMs = requests.at(-1)!.receivedAt - requests[0]!.receivedAt;
    expect(spanMs, `12 deliveries at 5/s took ${spanMs} ms`).toBeGreaterThanOrEqual(1_000);
  });

  it("holds retries in memory only up to its byte budget; the rest wait in the store", async () => {
    // Every first attempt fails; each second attempt succeeds.
    const receiver = await startReceiver({ replies: Array<number>(10).fill(500) });
    const payload = { pad: "x".repeat(1000) };
    // Room for about 3 waiting retries of this payload (each counts its payload + 1 KiB).
    const { svix, hookyard } = await startTestServer({
      delivery: { retrySchedule: [0.5, 0.5, 0.5] },
      engine: { holdInMemoryBytes: 3 * 2100 },
    });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const ids = [];
    for (let i = 0; i < 10; i++)
      ids.push((await svix.message.create(app.id, { eventType: "a.b", payload })).id);
    await expect
      .poll(() => unleasedOpenDeliveries(hookyard, ep.id, "retrying"), {
        timeout: 5_000,
        interval: 10,
      })
      .toBeGreaterThanOrEqual(7); // past the budget: open, due soon, held by nobody
    // Nothing is lost: the sweep takes each one up when it is due, and it succeeds (the
    // receiver answers 200 from its 11th request on).
    const requests = await receiver.waitForCount(20, { timeoutMs: 15_000 });
    expect(new Set(requests.slice(10).map((r) => r.headers["webhook-id"]))).toEqual(new Set(ids));
  });

  it("lets a slow endpoint's queue overflow to the store and still delivers each once", async () => {
    const receiver = await startReceiver({
      replies: Array.from({ length: 40 }, () => ({ status: 200, delayMs: 150 })),
    });
    // 2 connections and room for 5 waiting: most of a burst of 30 waits in the store.
    const { svix, hookyard } = await startTestServer({
      delivery: { connectionsPerOrigin: 2 },
      engine: { maxParkedPerEndpoint: 5 },
    });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const ids = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const msg = await svix.message.create(app.id, { eventType: "a.b", payload: { i } });
        return msg.id;
      }),
    );
    await expect
      .poll(() => unleasedOpenDeliveries(hookyard, ep.id), { timeout: 5_000, interval: 10 })
      .toBeGreaterThanOrEqual(15); // overflowed: open, due, held by nobody
    expect(hookyard.engine.heldCount, "in flight + parked, not the burst").toBeLessThanOrEqual(12);
    const requests = await receiver.waitForCount(30, { timeoutMs: 20_000 });
    const seen = requests.map((r) => r.headers["webhook-id"]);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen, "each exactly once").toHaveLength(30);
    await expect
      .poll(
        async () =>
          (await hookyard.store.listOpenDeliveriesOfEndpoint(ep.id as `ep_${string}`)).length,
      )
      .toBe(0);
  });

  it("enforces an endpoint's rateLimit in deliveries per second", async () => {
    const receiver = await startReceiver();
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    await svix.endpoint.create(app.id, { url: receiver.url, throttleRate: 10 });
    const firstPublish = Date.now();
    for (let i = 0; i < 25; i++)
      await svix.message.create(app.id, { eventType: "a.b", payload: { i } });
    const requests = await receiver.waitForCount(25, { timeoutMs: 10_000 });
    // From the first publish on, at most 10 (one second's burst) + 10 per second can go: the
    // 25th no sooner than 1.5 s later, however fast or slow the publishing was. (Measured from
    // the first delivery instead, a slow publish loop refilled the burst and made it flaky.)
    const spanMs = requests.at(-1)!.receivedAt - firstPublish;
    expect(spanMs, `25 deliveries at 10/s took ${spanMs} ms`).toBeGreaterThanOrEqual(1_400);
  });

  it("hands the deliveries it holds back to the store, unleased, when it shuts down", async () => {
    const receiver = await startReceiver({ replies: [500, 200] });
    const server = await startTestServer({ random: () => 0.5 });
    const { svix, hookyard } = server;
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const attempted = once(hookyard.engine, "attempt");
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    const [attempt] = (await attempted) as [{ createdAt: number }];
    expect(hookyard.engine.heldCount, "the 5 s retry waits in memory, leased").toBe(1);

    await server.stop();
    const store = await openStoreAt(server.config.database.url);
    const [open] = await store.listOpenDeliveriesOfEndpoint(ep.id as `ep_${string}`);
    expect(open).toMatchObject({
      status: "retrying",
      attempts: 1,
      leaseOwner: null,
      leaseUntil: null,
    });
    // Due when the retry would have run: another process takes it then, not after the lease.
    expect(open?.nextAttemptAt).toBeGreaterThanOrEqual(attempt.createdAt + 5_000);
    expect(open?.nextAttemptAt).toBeLessThan(attempt.createdAt + 6_000);
  });

  it("leaves a delivery to the process that took it over while its own attempt was stalled", async () => {
    // The receiver answers after 2 s: meanwhile "another process" finds the lease expired (its
    // clock is far ahead), takes the delivery over and delivers it.
    const receiver = await startReceiver({ replies: [{ status: 503, delayMs: 2_000 }] });
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const { svix, hookyard } = await startTestServer({ clock, random: () => 0.5 });
    const app = await svix.application.create({ name: "A" });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const attempted = once(hookyard.engine, "attempt");
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await receiver.waitForCount(1);

    const { store } = hookyard;
    const later = clock.now() + 3_600_000;
    const [taken] = await store.leaseDueDeliveries({
      now: later,
      owner: "node_other",
      limit: 10,
      leaseMs: 30_000,
    });
    expect(taken?.delivery.leaseOwner).toBe("node_other");
    const delivery = taken!.delivery;
    const theirs = new Seed().attempt(delivery);
    await store.recordAttempt(theirs, {
      id: delivery.id,
      status: "succeeded",
      attempts: 1,
      nextAttemptAt: null,
      leaseOwner: null,
      leaseUntil: null,
      updatedAt: later,
      guard: { owner: "node_other", attempts: 0 },
    });

    const [attempt, update] = (await attempted) as [{ responseStatusCode: number }, unknown];
    expect(attempt.responseStatusCode, "the stalled attempt is on record").toBe(503);
    expect(update, "but its retry is not: the delivery is the other process's").toBeNull();
    expect(hookyard.engine.heldCount).toBe(0);
    expect(await store.getDelivery(delivery.msgId, delivery.endpointId)).toMatchObject({
      status: "succeeded",
      attempts: 1,
    });
    await clock.advance(60_000);
    expect(receiver.requests, "no retry of a delivered message").toHaveLength(1);
  });
});
