import { randomBytes } from "node:crypto";
import { once } from "node:events";
import pg from "pg";
import { describe, expect, it, onTestFinished } from "vitest";
import { expectAllDelivered } from "../helpers/delivered.js";
import { cuttableProxy } from "../helpers/pg-proxy.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";
import { pgUrlWithSchema, tempPgSchema, TEST_PG_URL } from "../helpers/temp-postgres.js";
import { TEST_STORE } from "../helpers/test-store.js";

// The database going away mid-service only happens to a server database (SQLite is a file).
describe.skipIf(TEST_STORE !== "postgres")("PostgreSQL going away while serving", () => {
  it("answers 503 while the database is away, acknowledges nothing, and recovers by itself", async () => {
    const proxy = await cuttableProxy();
    const databaseUrl = proxy.urlOf(pgUrlWithSchema(await tempPgSchema()));
    const receiver = await startReceiver();
    const { svix, url } = await startTestServer({ databaseUrl });
    const app = await svix.application.create({ name: "outage" });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const before = await svix.message.create(app.id, { eventType: "a.b", payload: { n: 1 } });
    await receiver.waitForCount(1);

    await proxy.cut();
    const publish = () =>
      fetch(`${url}/api/v1/app/${app.id}/msg`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ eventType: "a.b", payload: { n: 2 } }),
      });
    const refused = await publish();
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({
      code: "service_unavailable",
      detail: "the database is not available",
    });
    const list = await fetch(`${url}/api/v1/app/${app.id}/msg`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    expect(list.status).toBe(503);

    await proxy.restore();
    await expect.poll(async () => (await publish()).status, { timeout: 10_000 }).toBe(202);
    const messages = await svix.message.list(app.id, { withContent: true });
    expect(
      messages.data.filter((m) => (m.payload as { n: number }).n === 2),
      "exactly the publish answered 202 after the outage; the refused one left nothing",
    ).toHaveLength(1);
    expect(messages.data.map((m) => m.id)).toContain(before.id);
    await receiver.waitForCount(2);
  });

  it("loses no acknowledged message when pg_terminate_backend kills its connections mid-stream", async () => {
    const schema = await tempPgSchema();
    // The application name singles out this server's sessions among the other tests'.
    const appName = `hy_kill_${randomBytes(4).toString("hex")}`;
    const databaseUrl = new URL(pgUrlWithSchema(schema));
    databaseUrl.searchParams.set("application_name", appName);
    const receiver = await startReceiver();
    const { svix, url } = await startTestServer({ databaseUrl: databaseUrl.toString() });
    const app = await svix.application.create({ name: "terminated" });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    onTestFinished(() => admin.end());
    const terminate = async (): Promise<number> => {
      const { rows } = await admin.query<{ killed: boolean }>(
        "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1",
        [appName],
      );
      return rows.filter((r) => r.killed).length;
    };

    const acked = new Set<string>();
    const statuses = new Map<number, number>();
    let killed = 0;
    let next = 0;
    const TOTAL = 400;
    const lane = async (): Promise<void> => {
      while (next < TOTAL) {
        const n = next++;
        if (n === 100 || n === 250) killed += await terminate();
        const res = await fetch(`${url}/api/v1/app/${app.id}/msg`, {
          method: "POST",
          headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ eventType: "a.b", payload: { n } }),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const body = (await res.json()) as { id?: string };
        if (res.status === 202) acked.add(body.id!);
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));

    expect(killed, "the server's sessions were there to kill").toBeGreaterThan(0);
    expect(
      [...statuses.keys()].filter((s) => s !== 202 && s !== 503),
      "refused with 503, never a 500",
    ).toEqual([]);
    expect(acked.size, `answers: ${JSON.stringify([...statuses])}`).toBeGreaterThan(TOTAL / 2);
    // Every acknowledged message arrives. (An attempt whose record was cut off is sent again
    // once its lease runs out, 30 s later: at-least-once, after this test.)
    await expectAllDelivered(receiver, acked);
  });

  it("records an attempt answered while the database was away once it is back, and sends it once", async () => {
    const proxy = await cuttableProxy();
    const databaseUrl = proxy.urlOf(pgUrlWithSchema(await tempPgSchema()));
    // The endpoint answers after 300 ms: by then the database is away.
    const receiver = await startReceiver({ replies: [{ status: 200, delayMs: 300 }] });
    const { svix, hookyard } = await startTestServer({ databaseUrl });
    const app = await svix.application.create({ name: "outage" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const unrecorded = once(hookyard.engine, "unrecorded");
    const msg = await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await receiver.waitForCount(1);
    await proxy.cut();
    await unrecorded;
    await proxy.restore();

    await expect
      .poll(async () => (await svix.messageAttempt.listByMsg(app.id, msg.id)).data.length, {
        timeout: 10_000,
      })
      .toBe(1);
    const stats = await svix.endpoint.getStats(app.id, ep.id);
    expect(stats, "delivered, not waiting for its lease to run out").toMatchObject({
      success: 1,
      pending: 0,
    });
    expect(receiver.requests).toHaveLength(1);
  });
});
