import { createHmac } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startTestServer, type TestServer, type TestServerOptions } from "../helpers/server.js";
import { TEST_STORE, testDatabaseUrl } from "../helpers/test-store.js";

/** Two Hookyard processes' worth of server (each its own caches and engine) on one database. */
async function twoNodes(
  opts: Omit<TestServerOptions, "databaseUrl" | "dir"> = {},
): Promise<[TestServer, TestServer]> {
  const dir = await mkdtemp(join(tmpdir(), "hookyard-cluster-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const databaseUrl = await testDatabaseUrl(dir);
  const a = await startTestServer({ ...opts, databaseUrl });
  const b = await startTestServer({ ...opts, databaseUrl });
  return [a, b];
}

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  onTestFinished(() => r.close());
  return r;
}

// Several processes share a database only on PostgreSQL (SQLite is one process per file).
describe.skipIf(TEST_STORE !== "postgres")("several nodes on one PostgreSQL database", () => {
  it("never sends again a message another node expunged while this one held its retry", async () => {
    const [a, b] = await twoNodes({ delivery: { retrySchedule: [2] } });
    const r = await startReceiver({ defaultReply: 503 });
    onTestFinished(() => r.close());
    const app = await a.svix.application.create({ name: "shared" });
    await a.svix.endpoint.create(app.id, { url: r.url });
    // Node a accepted it, so node a sends it and holds its retry (due in 2 s) in memory.
    const msg = await a.svix.message.create(app.id, { eventType: "a.b", payload: { pin: 1234 } });
    await r.nextRequest({ timeoutMs: 5_000 });
    await b.svix.message.expungeContent(app.id, msg.id);
    await expect
      .poll(
        async () =>
          (await b.svix.messageAttempt.listAttemptedDestinations(app.id, msg.id)).data[0]
            ?.statusText,
        { timeout: 8_000 },
      )
      .toBe("canceled");
    // Node a lets go of the delivery only when its retry falls due (2 s): dropped, not sent.
    await expect.poll(() => a.hookyard.engine.heldCount, { timeout: 8_000 }).toBe(0);
    expect((await a.svix.messageAttempt.listByMsg(app.id, msg.id)).data).toHaveLength(1);
    expect(r.requests, "the expunged payload went out once, before the expunge").toHaveLength(1);
  });

  it("delivers a message published on one node with the endpoint another node changed", async () => {
    const [a, b] = await twoNodes();
    const [r1, r2] = [await receiver(), await receiver()];
    const app = await a.svix.application.create({ name: "shared" });
    const ep = await a.svix.endpoint.create(app.id, { url: r1.url });
    const first = await b.svix.message.create(app.id, { eventType: "a.b", payload: { n: 1 } });
    expect((await r1.nextRequest()).headers["webhook-id"]).toBe(first.id);

    await a.svix.endpoint.upsert(app.id, ep.id, { url: r2.url });
    // Node b hears of the change over LISTEN/NOTIFY within milliseconds; publish until it shows.
    await expect
      .poll(
        async () => {
          await b.svix.message.create(app.id, { eventType: "a.b", payload: { n: 2 } });
          return r2.requests.length;
        },
        { timeout: 5_000, interval: 50 },
      )
      .toBeGreaterThan(0);
    const [r1Before, r2Before] = [r1.requests.length, r2.requests.length];
    await b.svix.message.create(app.id, { eventType: "a.b", payload: { n: 3 } });
    await r2.waitForCount(r2Before + 1);
    expect(r1.requests.length, "nothing more to the old URL").toBe(r1Before);
  });

  it("enforces on one node an event-type schema created on another", async () => {
    const [a, b] = await twoNodes();
    const app = await a.svix.application.create({ name: "shared" });
    // b looks the event type up (and caches that there is none) before a creates it.
    await b.svix.message.create(app.id, { eventType: "user.created", payload: {} });
    await a.svix.eventType.create({
      name: "user.created",
      description: "",
      schemas: {
        "1": { type: "object", required: ["email"], properties: { email: { type: "string" } } },
      },
    });
    await expect
      .poll(
        () =>
          b.svix.message.create(app.id, { eventType: "user.created", payload: {} }).then(
            () => "accepted",
            (err: { code?: number }) => `refused ${err.code}`,
          ),
        { timeout: 5_000, interval: 50 },
      )
      .toBe("refused 422");
  });

  it("stops delivering on every node once one node deletes the endpoint", async () => {
    const [a, b] = await twoNodes();
    const r = await receiver();
    const app = await a.svix.application.create({ name: "shared" });
    const ep = await a.svix.endpoint.create(app.id, { url: r.url });
    await b.svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await r.waitForCount(1);
    await a.svix.endpoint.delete(app.id, ep.id);
    // Once b has heard of the deletion, its publishes create no delivery at all.
    await expect
      .poll(
        async () => {
          const msg = await b.svix.message.create(app.id, { eventType: "a.b", payload: {} });
          // A stale cache on b would still create (and send) a delivery to the deleted endpoint.
          return (await b.hookyard.store.listDeliveriesOfMessage(msg.id as `msg_${string}`)).length;
        },
        { timeout: 5_000, interval: 50 },
      )
      .toBe(0);
  });

  it("holds an endpoint's rateLimit across both nodes together", async () => {
    const [a, b] = await twoNodes();
    const r = await receiver();
    const app = await a.svix.application.create({ name: "shared" });
    await a.svix.endpoint.create(app.id, { url: r.url, throttleRate: 5 });
    // 10 publishes on each node: 5 may go at once (one second's burst), the other 15 at 5/s.
    await Promise.all(
      [a, b].flatMap((node) =>
        Array.from({ length: 10 }, (_, i) =>
          node.svix.message.create(app.id, { eventType: "a.b", payload: { i } }),
        ),
      ),
    );
    const requests = await r.waitForCount(20, { timeoutMs: 15_000 });
    const spanMs = requests.at(-1)!.receivedAt - requests[0]!.receivedAt;
    // Each node on its own budget would finish in about 1 s.
    expect(spanMs, `20 deliveries at 5/s over two nodes took ${spanMs} ms`).toBeGreaterThanOrEqual(
      2_700,
    );
  });

  it("takes up on time the deliveries a node hands back when it shuts down", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    // Periodic sweeps 10 min apart: only the hand-back's notification can bring the retry on time.
    const [a] = await twoNodes({
      clock,
      random: () => 0.5,
      engine: { sweepIntervalMs: 600_000 },
    });
    const r = await startReceiver({ replies: [503, 200] });
    onTestFinished(() => r.close());
    const app = await a.svix.application.create({ name: "shared" });
    await a.svix.endpoint.create(app.id, { url: r.url });
    const attempted = once(a.hookyard.engine, "attempt");
    await a.svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await attempted; // a holds the retry, due in 5 s
    await a.stop(); // hands it back, unleased, due in 5 s
    await clock.advance(5_000);
    // a is gone: only b can send the retry.
    const [first, second] = await r.waitForCount(2);
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
  });

  it("keeps the leases of a backlog waiting in memory, so no other node sends it too", async () => {
    // Leases of 400 ms, a receiver that takes 100 ms per request and one connection: 10 messages
    // wait in a's memory for ~1 s, longer than a lease, while b sweeps every 100 ms.
    const [a, b] = await twoNodes({
      delivery: { leaseMs: 400, connectionsPerOrigin: 1 },
      engine: { sweepIntervalMs: 100 },
    });
    const r = await startReceiver({ defaultReply: { status: 200, delayMs: 100 } });
    onTestFinished(() => r.close());
    const app = await a.svix.application.create({ name: "shared" });
    const ep = await a.svix.endpoint.create(app.id, { url: r.url });
    const ids = new Set<string>();
    for (let i = 0; i < 10; i++) {
      ids.add((await a.svix.message.create(app.id, { eventType: "a.b", payload: { i } })).id);
    }
    const requests = await r.waitForCount(10, { timeoutMs: 10_000 });
    expect(new Set(requests.map((q) => q.headers["webhook-id"]))).toEqual(ids);
    // Settled: nothing open, nothing held by either node; a second copy would have been sent.
    await expect
      .poll(
        async () =>
          a.hookyard.engine.heldCount +
          b.hookyard.engine.heldCount +
          (await a.svix.endpoint.getStats(app.id, ep.id)).pending,
        { timeout: 10_000 },
      )
      .toBe(0);
    expect(r.requests, "each message once: renewed leases kept b away").toHaveLength(10);
  });

  it("verifies on one node with a source secret changed on the other", async () => {
    const [a, b] = await twoNodes();
    const created = await a.svix.ingest.source.create({
      name: "GitHub",
      type: "github",
      config: { secret: "old secret" },
    });
    // The same ingest URL, on node b.
    const onB = created.ingestUrl!.replace(a.url, b.url);
    const body = '{"zen":"Approachable is better than simple."}';
    const send = async (secret: string) =>
      (
        await fetch(onB, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
          },
          body,
        })
      ).status;
    expect(await send("old secret")).toBe(200); // b caches the source
    await a.svix.ingest.source.upsert(created.id, {
      name: "GitHub",
      type: "github",
      config: { secret: "new secret" },
    });
    // b hears of the change over LISTEN/NOTIFY within milliseconds.
    await expect.poll(() => send("new secret"), { timeout: 5_000, interval: 50 }).toBe(200);
    expect(await send("old secret")).toBe(401);
  });
});
