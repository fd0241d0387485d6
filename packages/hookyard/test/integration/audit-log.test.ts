import { Svix } from "svix";
import { describe, expect, it } from "vitest";
import { api } from "../helpers/api.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

/** A request whose answer may have no body (204); its status. */
async function send(server: TestServer, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TEST_API_KEY}`,
      ...(body !== undefined && { "content-type": "application/json" }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  return res.status;
}

// The audit log through the real server on both stores: changes made with the svix SDK, by the
// admin key and by an API key, listed with filters.

interface Entry {
  id: string;
  actor: string;
  actorName: string | null;
  method: string;
  route: string;
  path: string;
  status: number;
  appId: string | null;
  objectId: string | null;
  changes: Record<string, { from?: unknown; to?: unknown }>;
  requestId: string;
  createdAt: string;
}
interface EntryPage {
  data: Entry[];
  iterator: string | null;
  done: boolean;
}

describe("audit log", () => {
  it("records who changed what, with the old and new values and secrets masked", async () => {
    const server = await startTestServer();
    const app = await server.svix.application.create({ name: "Acme", uid: "acme" });
    const key = await api<{ id: string; key: string }>(server, "POST", "/api/v1/api-key", {
      name: "deployer",
      appId: "acme",
    });
    const deployer = new Svix(key.json.key, { serverUrl: server.url, retryScheduleInMs: [] });
    const ep = await deployer.endpoint.create("acme", {
      url: "http://127.0.0.1:9/a",
      description: "first",
    });
    await deployer.endpoint.patch("acme", ep.id, { url: "http://127.0.0.1:9/b" });
    await deployer.endpoint.rotateSecret("acme", ep.id, {
      key: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    });
    await deployer.message.create("acme", { eventType: "a.b", payload: {} }); // not a change
    const source = await api<{ id: string; appId: string }>(
      server,
      "POST",
      "/ingest/api/v1/source",
      {
        name: "gh",
        type: "github",
        config: { secret: "s3cret-value" },
      },
    );
    await deployer.endpoint.delete("acme", ep.id);

    const all = await api<EntryPage>(server, "GET", "/api/v1/audit-log");
    expect(all.status).toBe(200);
    const text = JSON.stringify(all.json);
    expect(text).not.toContain("s3cret-value");
    expect(text).not.toContain("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    expect(text).not.toContain(key.json.key);
    // Newest first: delete, source, rotate, patch, create endpoint, create key, create app.
    expect(all.json.data.map((e) => `${e.method} ${e.route}`)).toEqual([
      "DELETE /api/v1/app/:app_id/endpoint/:endpoint_id",
      "POST /ingest/api/v1/source",
      "POST /api/v1/app/:app_id/endpoint/:endpoint_id/secret/rotate",
      "PATCH /api/v1/app/:app_id/endpoint/:endpoint_id",
      "POST /api/v1/app/:app_id/endpoint",
      "POST /api/v1/api-key",
      "POST /api/v1/app",
    ]);
    const [deleted, createdSource, rotated, patched, createdEp, createdKey, createdApp] =
      all.json.data;
    expect(createdApp).toMatchObject({
      actor: "admin",
      actorName: null,
      status: 201,
      appId: app.id,
      objectId: app.id,
      changes: { name: { to: "Acme" }, uid: { to: "acme" } },
      requestId: expect.any(String),
    });
    expect(createdKey!.changes["key"]).toEqual({ to: "********" });
    expect(createdEp).toMatchObject({
      actor: key.json.id,
      actorName: "deployer",
      appId: app.id,
      objectId: ep.id,
      changes: { url: { to: "http://127.0.0.1:9/a" }, description: { to: "first" } },
    });
    expect(patched).toMatchObject({
      actor: key.json.id,
      objectId: ep.id,
      path: `/api/v1/app/acme/endpoint/${ep.id}`,
      changes: { url: { from: "http://127.0.0.1:9/a", to: "http://127.0.0.1:9/b" } },
    });
    expect(Object.keys(patched!.changes)).toEqual(["url"]);
    expect(rotated).toMatchObject({ appId: app.id, changes: { key: { to: "********" } } });
    // A source's destinations live in an application of its own: that is its appId.
    expect(createdSource).toMatchObject({
      actor: "admin",
      objectId: source.json.id,
      appId: source.json.appId,
    });
    expect(JSON.stringify(createdSource!.changes)).not.toContain("s3cret");
    expect(deleted).toMatchObject({
      method: "DELETE",
      status: 204,
      appId: app.id,
      objectId: ep.id,
      changes: { url: { from: "http://127.0.0.1:9/b" } },
    });

    // Filters: by actor, application, object and time, and pages through the iterator.
    const byKey = await api<EntryPage>(server, "GET", `/api/v1/audit-log?actor=${key.json.id}`);
    expect(byKey.json.data).toHaveLength(4);
    const byApp = await api<EntryPage>(server, "GET", `/api/v1/audit-log?appId=${app.id}`);
    // The key made for the application is in it too.
    expect(byApp.json.data.map((e) => e.appId)).toEqual(Array(6).fill(app.id));
    const byObject = await api<EntryPage>(server, "GET", `/api/v1/audit-log?objectId=${ep.id}`);
    expect(byObject.json.data).toHaveLength(4);
    const first = await api<EntryPage>(server, "GET", "/api/v1/audit-log?limit=3");
    expect(first.json).toMatchObject({ done: false, iterator: first.json.data[2]!.id });
    const next = await api<EntryPage>(
      server,
      "GET",
      `/api/v1/audit-log?limit=3&iterator=${first.json.iterator}`,
    );
    expect(next.json.data.map((e) => e.id)).toEqual(all.json.data.slice(3, 6).map((e) => e.id));
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const since = await api<EntryPage>(server, "GET", `/api/v1/audit-log?since=${future}`);
    expect(since.json.data).toEqual([]);
    const bad = await api(server, "GET", "/api/v1/audit-log?since=yesterday");
    expect(bad.status).toBe(422);
    // Only the admin key reads it.
    const refused = await fetch(`${server.url}/api/v1/audit-log`, {
      headers: { authorization: `Bearer ${key.json.key}` },
    });
    expect(refused.status).toBe(403);
  });

  it("records a change once when its request is repeated with the same Idempotency-Key", async () => {
    const server = await startTestServer();
    for (let n = 0; n < 2; n++) {
      const app = await server.svix.application.create({ name: "Once" }, { idempotencyKey: "k-1" });
      expect(app.name).toBe("Once");
    }
    const entries = await api<EntryPage>(server, "GET", "/api/v1/audit-log");
    expect(entries.json.data.map((e) => e.route)).toEqual(["/api/v1/app"]);
  });

  it("keeps no credential or content: header values, ingest and portal tokens, deleted bodies", async () => {
    const server = await startTestServer();
    const app = await server.svix.application.create({ name: "Acme", uid: "acme" });
    const ep = await server.svix.endpoint.create("acme", { url: "http://127.0.0.1:9/" });
    await send(server, "PUT", `/api/v1/app/acme/endpoint/${ep.id}/headers`, {
      headers: { Cookie: "sid=cookie-secret", "X-Hook-Pass": "pass-secret" },
    });
    const portal = await server.svix.authentication.appPortalAccess(app.id, {});
    const source = await api<{ id: string; ingestUrl: string }>(
      server,
      "POST",
      "/ingest/api/v1/source",
      { name: "bin", type: "generic-webhook" },
    );
    const token = source.json.ingestUrl.split("/in/")[1]!;
    await api(server, "PUT", `/ingest/api/v1/source/${source.json.id}`, {
      name: "bin2",
      type: "generic-webhook",
    });
    await fetch(source.json.ingestUrl, { method: "POST", body: "body-secret" });
    const requests = await api<{ data: { id: string }[] }>(
      server,
      "GET",
      `/ingest/api/v1/source/${source.json.id}/request`,
    );
    const deleted = await send(
      server,
      "DELETE",
      `/ingest/api/v1/source/${source.json.id}/request/${requests.json.data[0]!.id}`,
    );
    expect(deleted).toBe(204);
    // A secret changed without anything else: the entry says so, masked.
    await api(server, "PATCH", `/api/v1/app/acme/endpoint/${ep.id}`, {
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    });

    const log = await api<EntryPage>(server, "GET", "/api/v1/audit-log");
    const text = JSON.stringify(log.json);
    for (const secret of ["cookie-secret", "pass-secret", portal.token, token, "body-secret"]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    const [secretPatch, requestDelete, sourcePut] = log.json.data;
    expect(secretPatch!.changes).toEqual({ secret: { to: "********" } });
    expect(requestDelete!.changes["body"]).toBeUndefined();
    expect(requestDelete!.changes["headers"]).toBeUndefined();
    // The GET before the PUT runs as the PUT's own request: the ingest URL did not "change".
    expect(sourcePut!.changes).toMatchObject({ name: { from: "bin", to: "bin2" } });
    expect(sourcePut!.changes["ingestUrl"]).toBeUndefined();
    const headers = log.json.data.find((e) => e.route.endsWith("/headers"))!;
    expect(headers.changes).toEqual({
      headers: { to: { Cookie: "********", "X-Hook-Pass": "********" } },
    });
  });

  it("reads no other route before a change: a DELETE of a request named stream answers", async () => {
    const server = await startTestServer();
    const source = await api<{ id: string }>(server, "POST", "/ingest/api/v1/source", {
      name: "bin",
      type: "generic-webhook",
    });
    // GET …/request/stream is the live stream (it never ends); the DELETE is of a request id.
    const status = await send(
      server,
      "DELETE",
      `/ingest/api/v1/source/${source.json.id}/request/stream`,
    );
    expect(status).toBe(404);
  });

  it("never records a new API key or portal token for an Idempotency-Key replay", async () => {
    const server = await startTestServer();
    const post = () =>
      fetch(`${server.url}/api/v1/api-key`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${TEST_API_KEY}`,
          "content-type": "application/json",
          "idempotency-key": "same",
        },
        body: JSON.stringify({ name: "ci" }),
      }).then((res) => res.json() as Promise<{ key: string }>);
    const [first, second] = [await post(), await post()];
    // Not replayed (the record would keep the key in the clear): a second key is made.
    expect(second.key).not.toBe(first.key);
  });

  it("prunes entries past the retention", async () => {
    const server = await startTestServer();
    await server.svix.application.create({ name: "Acme" });
    const { store } = server.hookyard;
    expect(await store.pruneAuditEntries(Date.now() - 60_000)).toBe(0);
    expect(await store.pruneAuditEntries(Date.now() + 60_000)).toBe(1);
    const after = await api<EntryPage>(server, "GET", "/api/v1/audit-log");
    expect(after.json.data).toEqual([]);
  });
});
