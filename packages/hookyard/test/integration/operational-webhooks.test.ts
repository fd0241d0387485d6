import { Webhook } from "standardwebhooks";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { api } from "../helpers/api.js";
import { apiError } from "../helpers/api-error.js";
import { startReceiver, type RecordedRequest } from "../helpers/receiver.js";
import { startTestServer } from "../helpers/server.js";

// Operational webhooks through the real server on both stores, managed with the svix SDK 2's
// `operationalWebhook.endpoint` and verified with the standardwebhooks library.

interface OperationalEvent {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** The events `receiver` got, each verified with `secret`. */
function eventsOf(requests: readonly RecordedRequest[], secret: string): OperationalEvent[] {
  const verifier = new Webhook(secret);
  return requests.map((r) => verifier.verify(r.body, r.headers) as OperationalEvent);
}

describe("operational webhooks", () => {
  it("are managed with the svix SDK's operationalWebhook.endpoint, apart from applications", async () => {
    const ops = await startReceiver();
    onTestFinished(() => ops.close());
    const { svix, ...server } = await startTestServer();
    const endpoints = svix.operationalWebhook.endpoint;
    const created = await endpoints.create({
      url: ops.url,
      description: "ops",
      uid: "pager",
      eventTypes: ["endpoint.disabled", "message.attempt.exhausted"],
      metadata: { team: "sre" },
    });
    expect(created).toMatchObject({
      id: expect.stringMatching(/^ep_/),
      url: ops.url,
      description: "ops",
      uid: "pager",
      eventTypes: ["endpoint.disabled", "message.attempt.exhausted"],
      disabled: false,
      metadata: { team: "sre" },
    });
    expect(created.createdAt).toBeInstanceOf(Date);
    expect((await endpoints.list()).data.map((e) => e.id)).toEqual([created.id]);
    expect((await endpoints.get("pager")).id).toBe(created.id);
    const updated = await endpoints.upsert(created.id, {
      url: `${ops.url}v2`,
      eventTypes: null,
      throttleRate: 5,
    });
    expect(updated).toMatchObject({ url: `${ops.url}v2`, throttleRate: 5 });
    expect(updated.eventTypes ?? null).toBeNull();
    const { key } = await endpoints.getSecret(created.id);
    expect(key).toMatch(/^whsec_/);
    await endpoints.rotateSecret(created.id, {});
    expect((await endpoints.getSecret(created.id)).key).not.toBe(key);
    await endpoints.setHeaders(created.id, { headers: { "x-team": "sre" } });
    expect((await endpoints.getHeaders(created.id)).headers).toEqual({ "x-team": "sre" });

    // The operational application is Hookyard's: not listed, not to be changed or deleted.
    await svix.application.create({ name: "Customer", uid: "customer" });
    expect((await svix.application.list()).data.map((a) => a.uid)).toEqual(["customer"]);
    const deleting = await apiError(svix.application.delete("hookyard-operational"));
    expect(deleting.code).toBe(403);
    const taking = await apiError(
      svix.application.create({ name: "Mine", uid: "hookyard-operational" }),
    );
    expect(taking.code).toBe(403);

    // Bad input is a 422 naming the field, never a 500.
    const bad = await api(server, "POST", "/api/v1/operational-webhook/endpoint", {
      url: "ftp://example.com",
    });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.json)).toContain("url");
    const missing = await apiError(endpoints.get("ep_nope"));
    expect(missing.code).toBe(404);

    await endpoints.delete(created.id);
    expect((await endpoints.list()).data).toEqual([]);
  });

  it("sends failing, recovered, exhausted, disabled, enabled and verification-failed events", async () => {
    const ops = await startReceiver();
    onTestFinished(() => ops.close());
    const enabledOnly = await startReceiver();
    onTestFinished(() => enabledOnly.close());
    const flaky = await startReceiver({ replies: [503, 503, 503, 503, 503, 200] });
    onTestFinished(() => flaky.close());
    const dead = await startReceiver({ defaultReply: 500 });
    onTestFinished(() => dead.close());
    const gone = await startReceiver({ defaultReply: 410 });
    onTestFinished(() => gone.close());
    // Five quick retries: six attempts in all, the fourth failing one raises "failing".
    const { svix, ...server } = await startTestServer({
      delivery: { retrySchedule: [0.02, 0.02, 0.02, 0.02, 0.02] },
    });
    const all = await svix.operationalWebhook.endpoint.create({ url: ops.url });
    const secret = (await svix.operationalWebhook.endpoint.getSecret(all.id)).key;
    const picky = await svix.operationalWebhook.endpoint.create({
      url: enabledOnly.url,
      eventTypes: ["endpoint.enabled"],
    });
    const pickySecret = (await svix.operationalWebhook.endpoint.getSecret(picky.id)).key;

    const app = await svix.application.create({ name: "Customer", uid: "customer" });
    const flakyEp = await svix.endpoint.create(app.id, { url: flaky.url, uid: "flaky" });
    const deadEp = await svix.endpoint.create(app.id, { url: `${dead.url}dead` });
    const msg = await svix.message.create(app.id, {
      eventType: "invoice.paid",
      eventId: "evt-1",
      payload: { n: 1 },
    });
    await flaky.waitForCount(6, { timeoutMs: 10_000 });
    await dead.waitForCount(6, { timeoutMs: 10_000 });

    const byType = async (type: string, n = 1) => {
      await vi.waitFor(
        () => {
          const found = eventsOf(ops.requests, secret).filter((e) => e.type === type);
          expect(found.length, type).toBeGreaterThanOrEqual(n);
        },
        { timeout: 10_000 },
      );
      return eventsOf(ops.requests, secret).filter((e) => e.type === type);
    };
    const failing = await byType("message.attempt.failing", 2);
    expect(failing.map((e) => e.data["endpointId"]).sort()).toEqual([flakyEp.id, deadEp.id].sort());
    expect(failing[0]!.data).toMatchObject({
      appId: app.id,
      appUid: "customer",
      msgId: msg.id,
      msgEventId: "evt-1",
      lastAttempt: { id: expect.stringMatching(/^atmpt_/), timestamp: expect.any(String) },
    });
    const [recovered] = await byType("message.attempt.recovered");
    expect(recovered!.data).toMatchObject({
      endpointId: flakyEp.id,
      endpointUid: "flaky",
      msgId: msg.id,
      lastAttempt: { responseStatusCode: 200 },
    });
    const [exhausted] = await byType("message.attempt.exhausted");
    expect(exhausted!.data).toMatchObject({
      endpointId: deadEp.id,
      msgId: msg.id,
      lastAttempt: { responseStatusCode: 500 },
    });

    // Disabled by hand, enabled again, and disabled by Hookyard on a 410.
    await svix.endpoint.patch(app.id, flakyEp.id, { disabled: true });
    const [manual] = await byType("endpoint.disabled");
    expect(manual!.data).toMatchObject({
      appId: app.id,
      endpointId: flakyEp.id,
      endpointUid: "flaky",
      trigger: "manual",
    });
    await svix.endpoint.patch(app.id, flakyEp.id, { disabled: false });
    const [enabled] = await byType("endpoint.enabled");
    expect(enabled!.data).toMatchObject({ endpointId: flakyEp.id });
    const goneEp = await svix.endpoint.create(app.id, { url: `${gone.url}gone` });
    await svix.message.create(app.id, { eventType: "invoice.paid", payload: { n: 2 } });
    const disabled = await byType("endpoint.disabled", 2);
    expect(disabled.find((e) => e.data["endpointId"] === goneEp.id)!.data).toMatchObject({
      trigger: "automatic",
    });

    // A source refusing requests raises one event a minute, not one per request.
    const gh = await api<{ id: string; ingestUrl: string }>(
      server,
      "POST",
      "/ingest/api/v1/source",
      { name: "gh", uid: "gh", type: "github", config: { secret: "s3cret" } },
    );
    for (let n = 0; n < 3; n++) {
      expect((await fetch(gh.json.ingestUrl, { method: "POST", body: "{}" })).status).toBe(401);
    }
    const [refused] = await byType("source.verification_failed");
    expect(refused!.data).toMatchObject({
      sourceId: gh.json.id,
      sourceUid: "gh",
      requestId: expect.stringMatching(/^req_/),
      reason: expect.any(String),
      failuresNotReported: 0,
    });

    // The endpoint with eventTypes got only its type, signed with its own secret.
    await vi.waitFor(() => expect(enabledOnly.requests).toHaveLength(1));
    expect(eventsOf(enabledOnly.requests, pickySecret).map((e) => e.type)).toEqual([
      "endpoint.enabled",
    ]);
    // Each event is a message of the operational application, with its attempts on record.
    const opsMessages = await svix.message.list("hookyard-operational");
    const types = opsMessages.data.map((m) => m.eventType);
    expect(types.filter((t) => t === "source.verification_failed")).toHaveLength(1);
    expect(types.length).toBe(ops.requests.length);
  });

  it("sends nothing for manual resends, whatever they give", async () => {
    const ops = await startReceiver();
    onTestFinished(() => ops.close());
    const dead = await startReceiver({ defaultReply: 500 });
    onTestFinished(() => dead.close());
    const { svix, hookyard } = await startTestServer({ delivery: { retrySchedule: [] } });
    await svix.operationalWebhook.endpoint.create({ url: ops.url });
    const app = await svix.application.create({ name: "Customer" });
    const ep = await svix.endpoint.create(app.id, { url: dead.url });
    const msg = await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    // No retries: the first attempt exhausts the delivery (one event).
    await vi.waitFor(() => expect(ops.requests).toHaveLength(1), { timeout: 10_000 });
    for (let n = 0; n < 5; n++) await svix.messageAttempt.resend(app.id, msg.id, ep.id);
    await dead.waitForCount(6);
    await hookyard.store.whenIdle();
    const list = await svix.message.list("hookyard-operational");
    expect(list.data.map((m) => m.eventType)).toEqual(["message.attempt.exhausted"]);
  });

  it("stores nothing while no operational endpoint exists", async () => {
    const dead = await startReceiver({ defaultReply: 500 });
    onTestFinished(() => dead.close());
    const { svix, hookyard } = await startTestServer({ delivery: { retrySchedule: [] } });
    const app = await svix.application.create({ name: "Customer" });
    await svix.endpoint.create(app.id, { url: dead.url });
    await svix.message.create(app.id, { eventType: "a.b", payload: {} });
    await dead.waitForCount(1);
    await hookyard.store.whenIdle();
    const apps = await hookyard.store.listApplications({ limit: 10, iterator: null }, {});
    expect(apps.data.map((a) => a.uid)).toEqual([null]);
  });
});
