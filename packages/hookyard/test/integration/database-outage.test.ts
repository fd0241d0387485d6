import { describe, expect, it } from "vitest";
import { cuttableProxy } from "../helpers/pg-proxy.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";
import { pgUrlWithSchema, tempPgSchema } from "../helpers/temp-postgres.js";
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
    const messages = await svix.message.list(app.id);
    expect(
      messages.data.filter((m) => (m.payload as { n: number }).n === 2),
      "exactly the publish answered 202 after the outage; the refused one left nothing",
    ).toHaveLength(1);
    expect(messages.data.map((m) => m.id)).toContain(before.id);
    await receiver.waitForCount(2);
  });
});
