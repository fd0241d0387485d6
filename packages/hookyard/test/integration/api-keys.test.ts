import { Svix } from "svix";
import { describe, expect, it, onTestFinished } from "vitest";
import { api } from "../helpers/api.js";
import { apiError } from "../helpers/api-error.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

// API keys beside the admin key, through the real server on both stores and the svix SDK.

interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  appId: string | null;
  readOnly: boolean;
  revokedAt: string | null;
}

async function createKey(server: TestServer, body: Record<string, unknown>): Promise<CreatedKey> {
  const res = await api<CreatedKey>(server, "POST", "/api/v1/api-key", body);
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json;
}

function sdk(server: TestServer, key: string): Svix {
  return new Svix(key, { serverUrl: server.url, retryScheduleInMs: [] });
}

/** The status a raw request with `key` gets. */
async function statusOf(
  server: TestServer,
  key: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { "content-type": "application/json" }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => null)) as { code?: string } | null;
  return { status: res.status, code: json?.code };
}

describe("API keys", () => {
  it("scope one application: the SDK works on it and gets 403 on every other route family", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const server = await startTestServer();
    const admin = server.svix;
    const mine = await admin.application.create({ name: "Mine", uid: "mine" });
    const other = await admin.application.create({ name: "Other", uid: "other" });
    const otherEp = await admin.endpoint.create(other.id, { url: receiver.url });
    const otherMsg = await admin.message.create(other.id, { eventType: "a.b", payload: {} });
    await admin.eventType.create({ name: "a.b", description: "A" });
    const created = await createKey(server, { name: "mine-ci", appId: "mine" });
    expect(created).toMatchObject({ appId: mine.id, readOnly: false, revokedAt: null });
    expect(created.key).toMatch(/^hk_/);
    expect(created.prefix).toBe(created.key.slice(0, 10));

    // On its own application, by id and by uid.
    const svix = sdk(server, created.key);
    expect((await svix.application.get("mine")).id).toBe(mine.id);
    const ep = await svix.endpoint.create(mine.id, { url: receiver.url });
    expect((await svix.endpoint.list("mine")).data.map((e) => e.id)).toEqual([ep.id]);
    await svix.endpoint.patch(mine.id, ep.id, { url: `${receiver.url}v2` });
    expect((await svix.endpoint.getSecret(mine.id, ep.id)).key).toMatch(/^whsec_/);
    const msg = await svix.message.create("mine", { eventType: "a.b", payload: { n: 1 } });
    await receiver.waitForCount(2);
    expect((await svix.message.get(mine.id, msg.id)).id).toBe(msg.id);
    await expect
      .poll(async () => (await svix.messageAttempt.listByMsg(mine.id, msg.id)).data.length)
      .toBe(1);
    expect((await svix.eventType.list()).data.map((t) => t.name)).toEqual(["a.b"]);
    expect((await svix.authentication.appPortalAccess(mine.id, {})).url).toContain("token");

    // Another application's routes: 403 with a JSON error, never its data.
    const refused = [
      () => svix.application.get(other.id),
      () => svix.application.get("other"),
      () => svix.endpoint.list(other.id),
      () => svix.endpoint.get(other.id, otherEp.id),
      () => svix.endpoint.getSecret(other.id, otherEp.id),
      () => svix.message.create(other.id, { eventType: "a.b", payload: {} }),
      () => svix.message.list(other.id),
      () => svix.messageAttempt.listByMsg(other.id, otherMsg.id),
      () => svix.authentication.appPortalAccess(other.id, {}),
      // An application that does not exist is not its own either.
      () =>
        svix.message.create("new-app", {
          eventType: "a.b",
          payload: {},
          application: { name: "New" },
        }),
      // Routes of no application: the catalog, sources, tasks, keys, the audit log.
      () => svix.application.list(),
      () => svix.application.create({ name: "Another" }),
      () => svix.eventType.create({ name: "c.d", description: "C" }),
      () => svix.ingest.source.list(),
      () => svix.backgroundTask.list(),
      () => svix.operationalWebhook.endpoint.list(),
    ];
    for (const call of refused) {
      const err = await apiError(call());
      expect(err.code).toBe(403);
      expect(err.body).toMatchObject({ code: "forbidden", detail: expect.any(String) });
    }
    for (const [method, path] of [
      ["GET", "/api/v1/api-key"],
      ["POST", "/api/v1/api-key"],
      ["GET", "/api/v1/audit-log"],
      ["GET", "/api/v1/stats/activity"],
      ["GET", "/api/v1/rules"],
      ["GET", "/api/v1/rule-run"],
    ] as const) {
      expect(
        await statusOf(server, created.key, method, path, method === "POST" ? {} : undefined),
      ).toEqual({ status: 403, code: "forbidden" });
    }
    expect((await admin.message.list(other.id)).data).toHaveLength(1); // nothing was published
  });

  it("read-only keys read without secrets; all-application keys reach all but keys and audit", async () => {
    const server = await startTestServer();
    const app = await server.svix.application.create({ name: "A", uid: "a" });
    const ep = await server.svix.endpoint.create(app.id, { url: "http://127.0.0.1:9/" });
    const reader = sdk(
      server,
      (await createKey(server, { name: "r", appId: "a", readOnly: true })).key,
    );
    expect((await reader.endpoint.get(app.id, ep.id)).id).toBe(ep.id);
    expect((await apiError(reader.endpoint.getSecret(app.id, ep.id))).code).toBe(403);
    expect((await apiError(reader.endpoint.delete(app.id, ep.id))).code).toBe(403);
    expect(
      (await apiError(reader.message.create(app.id, { eventType: "x", payload: {} }))).code,
    ).toBe(403);

    const ops = sdk(server, (await createKey(server, { name: "ops" })).key);
    const made = await ops.application.create({ name: "B" });
    expect((await ops.application.list()).data.map((a) => a.id).sort()).toEqual(
      [app.id, made.id].sort(),
    );
    await ops.eventType.create({ name: "b.c", description: "B" });
    expect((await ops.ingest.source.list()).data).toEqual([]);
    expect((await ops.operationalWebhook.endpoint.list()).data).toEqual([]);
    expect(
      await statusOf(
        server,
        (await createKey(server, { name: "ops2" })).key,
        "GET",
        "/api/v1/api-key",
      ),
    ).toEqual({ status: 403, code: "forbidden" });
    const opsKey = (await createKey(server, { name: "ops3" })).key;
    expect(await statusOf(server, opsKey, "PUT", "/api/v1/rules", { rules: [] })).toEqual({
      status: 403,
      code: "forbidden",
    });
    const readerKey = (await createKey(server, { name: "r2", appId: "a", readOnly: true })).key;
    expect(
      await statusOf(server, readerKey, "GET", `/api/v1/app/a/endpoint/${ep.id}/listener/x/stream`),
    ).toEqual({ status: 403, code: "forbidden" });
    const globalReader = (await createKey(server, { name: "auditor", readOnly: true })).key;
    expect((await sdk(server, globalReader).application.list()).data).toHaveLength(2);
    expect((await apiError(sdk(server, globalReader).application.create({ name: "C" }))).code).toBe(
      403,
    );
  });

  it("are shown once, stored hashed, listed and revoked for good", async () => {
    const server = await startTestServer();
    const created = await createKey(server, { name: "ci" });
    const listed = await api<{ data: Record<string, unknown>[] }>(server, "GET", "/api/v1/api-key");
    expect(listed.json.data).toEqual([
      expect.objectContaining({ id: created.id, name: "ci", prefix: created.prefix }),
    ]);
    expect(JSON.stringify(listed.json)).not.toContain(created.key);
    const stored = await server.hookyard.store.listApiKeys();
    expect(JSON.stringify(stored)).not.toContain(created.key);
    expect(stored[0]!.hash).toMatch(/^[0-9a-f]{64}$/);

    expect((await sdk(server, created.key).application.list()).data).toEqual([]);
    const revoked = await api<CreatedKey>(server, "POST", `/api/v1/api-key/${created.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.json.revokedAt).not.toBeNull();
    const again = await api<CreatedKey>(server, "POST", `/api/v1/api-key/${created.id}/revoke`);
    expect(again.json.revokedAt).toBe(revoked.json.revokedAt);
    expect(await statusOf(server, created.key, "GET", "/api/v1/app")).toEqual({
      status: 401,
      code: "authentication_failed",
    });
    // A restarted server reads the keys back: the revoked one stays refused.
    await server.stop();
    const restarted = await startTestServer({
      dir: server.dir,
      databaseUrl: server.config.database.url,
    });
    expect((await statusOf(restarted, created.key, "GET", "/api/v1/app")).status).toBe(401);
    const fresh = await createKey(restarted, { name: "fresh" });
    expect((await statusOf(restarted, fresh.key, "GET", "/api/v1/app")).status).toBe(200);
    expect((await statusOf(restarted, `${fresh.key}x`, "GET", "/api/v1/app")).status).toBe(401);

    // Bad input names the field.
    const noApp = await api(restarted, "POST", "/api/v1/api-key", { name: "x", appId: "nope" });
    expect(noApp.status).toBe(422);
    expect(JSON.stringify(noApp.json)).toContain("appId");
    const blank = await api(restarted, "POST", "/api/v1/api-key", { name: "  " });
    expect(blank.status).toBe(422);
    expect(JSON.stringify(blank.json)).toContain("name");
    expect((await api(restarted, "POST", "/api/v1/api-key/key_nope/revoke")).status).toBe(404);
  });
});
