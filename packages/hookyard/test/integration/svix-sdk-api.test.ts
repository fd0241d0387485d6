import { describe, expect, it } from "vitest";
import { apiError } from "../helpers/api-error.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer } from "../helpers/server.js";

describe("Svix SDK against Hookyard: applications", () => {
  it("creates, reads by id and uid, updates, patches, lists and deletes applications", async () => {
    const { svix } = await startTestServer();
    const app = await svix.application.create({
      name: "Acme",
      uid: "acme",
      metadata: { plan: "pro" },
    });
    expect(app.id).toMatch(/^app_/);
    expect(app).toMatchObject({ name: "Acme", uid: "acme", metadata: { plan: "pro" } });
    expect(app.createdAt).toBeInstanceOf(Date);
    expect((await svix.application.get("acme")).id).toBe(app.id);
    expect((await svix.application.get(app.id)).uid).toBe("acme");

    const updated = await svix.application.upsert("acme", {
      name: "Acme Inc",
      uid: "acme",
      throttleRate: 10,
    });
    expect(updated).toMatchObject({ id: app.id, name: "Acme Inc", throttleRate: 10 });
    const patched = await svix.application.patch(app.id, { metadata: { plan: "free" } });
    expect(patched).toMatchObject({ name: "Acme Inc", metadata: { plan: "free" } });

    for (let i = 0; i < 4; i++) await svix.application.create({ name: `App ${i}` });
    const first = await svix.application.list({ limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.done).toBe(false);
    const second = await svix.application.list({ limit: 2, iterator: first.iterator! });
    const third = await svix.application.list({ limit: 2, iterator: second.iterator! });
    const ids = [...first.data, ...second.data, ...third.data].map((a) => a.id);
    expect(new Set(ids).size, "pages never repeat an application").toBe(5);
    expect(third.done).toBe(true);

    await svix.application.delete("acme");
    expect((await apiError(svix.application.get("acme"))).code).toBe(404);
  });

  it("refuses a second application with the same uid but getOrCreate returns the first", async () => {
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "One", uid: "dup" });
    const conflict = await apiError(svix.application.create({ name: "Two", uid: "dup" }));
    expect(conflict.code).toBe(409);
    expect(conflict.body).toMatchObject({ code: "conflict" });
    const again = await svix.application.getOrCreate({ name: "Two", uid: "dup" });
    expect(again.id).toBe(app.id);
  });

  it("answers 422 naming the field when the name is missing", async () => {
    const { svix } = await startTestServer();
    const err = await apiError(svix.application.create({} as never));
    expect(err.code).toBe(422);
    const body = err.body as { detail: { loc: string[]; msg: string; type: string }[] };
    expect(body.detail[0]?.loc).toContain("name");
  });
});

describe("Svix SDK against Hookyard: event types", () => {
  it("manages event types and archives on delete", async () => {
    const { svix } = await startTestServer();
    const et = await svix.eventType.create({
      name: "invoice.paid",
      description: "An invoice was paid",
    });
    expect(et).toMatchObject({
      name: "invoice.paid",
      description: "An invoice was paid",
      deprecated: false,
    });
    await svix.eventType.upsert("invoice.paid", { description: "Paid", deprecated: true });
    expect(await svix.eventType.get("invoice.paid")).toMatchObject({
      description: "Paid",
      deprecated: true,
    });
    await svix.eventType.patch("invoice.paid", { description: "Paid!" });
    await svix.eventType.create({ name: "invoice.voided", description: "Voided" });
    expect((await svix.eventType.list()).data.map((e) => e.name)).toEqual([
      "invoice.paid",
      "invoice.voided",
    ]);
    await svix.eventType.delete("invoice.voided");
    expect((await svix.eventType.list()).data.map((e) => e.name)).toEqual(["invoice.paid"]);
    expect((await svix.eventType.list({ includeArchived: true })).data).toHaveLength(2);
    expect(
      (await apiError(svix.eventType.create({ name: "invoice.paid", description: "x" }))).code,
    ).toBe(409);
  });

  it("refuses a message whose payload violates its event type's JSON Schema", async () => {
    const { svix } = await startTestServer();
    await svix.eventType.create({
      name: "user.created",
      description: "A user signed up",
      schemas: {
        "1": {
          type: "object",
          required: ["email"],
          properties: { email: { type: "string" }, age: { type: "integer" } },
        },
      },
    });
    const app = await svix.application.create({ name: "A" });
    const missing = await apiError(
      svix.message.create(app.id, { eventType: "user.created", payload: { age: 3 } }),
    );
    expect(missing.code).toBe(422);
    expect(JSON.stringify(missing.body)).toContain("email");
    const wrongType = await apiError(
      svix.message.create(app.id, {
        eventType: "user.created",
        payload: { email: "a@b.c", age: "old" },
      }),
    );
    expect(wrongType.code).toBe(422);
    const ok = await svix.message.create(app.id, {
      eventType: "user.created",
      payload: { email: "a@b.c" },
    });
    expect(ok.id).toMatch(/^msg_/);
  });
});

describe("Svix SDK against Hookyard: endpoints", () => {
  it("creates, updates, patches and deletes endpoints with filters, channels and metadata", async () => {
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, {
      url: "https://example.com/hook",
      uid: "main",
      eventTypes: ["invoice.paid"],
      channels: ["eu"],
      throttleRate: 5,
      metadata: { team: "billing" },
      description: "Billing hook",
    });
    expect(ep).toMatchObject({
      url: "https://example.com/hook",
      uid: "main",
      eventTypes: ["invoice.paid"],
      channels: ["eu"],
      throttleRate: 5,
      metadata: { team: "billing" },
      disabled: false,
    });
    expect((await svix.endpoint.get(app.id, "main")).id).toBe(ep.id);
    const updated = await svix.endpoint.upsert(app.id, ep.id, {
      url: "https://example.com/v2",
      disabled: true,
    });
    expect(updated).toMatchObject({ url: "https://example.com/v2", disabled: true });
    expect(
      updated.eventTypes ?? null,
      "a full update clears filters it does not repeat",
    ).toBeNull();
    const patched = await svix.endpoint.patch(app.id, ep.id, {
      disabled: false,
      description: "patched",
    });
    expect(patched).toMatchObject({
      url: "https://example.com/v2",
      disabled: false,
      description: "patched",
    });
    expect((await svix.endpoint.list(app.id)).data).toHaveLength(1);
    await svix.endpoint.delete(app.id, ep.id);
    expect((await apiError(svix.endpoint.get(app.id, ep.id))).code).toBe(404);
  });

  it("refuses an endpoint URL that is not http(s), naming the url field", async () => {
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const err = await apiError(svix.endpoint.create(app.id, { url: "ftp://example.com/x" }));
    expect(err.code).toBe(422);
    expect((err.body as { detail: { loc: string[] }[] }).detail[0]?.loc).toEqual(["body", "url"]);
  });

  it("gets and rotates the secret, and manages custom headers", async () => {
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: "https://example.com/hook" });
    const { key } = await svix.endpoint.getSecret(app.id, ep.id);
    expect(key).toMatch(/^whsec_/);
    await svix.endpoint.rotateSecret(app.id, ep.id, {});
    const rotated = (await svix.endpoint.getSecret(app.id, ep.id)).key;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(key);
    await svix.endpoint.setHeaders(app.id, ep.id, {
      headers: { "X-Tenant": "t1", Authorization: "Bearer s" },
    });
    expect(await svix.endpoint.getHeaders(app.id, ep.id)).toMatchObject({
      headers: { "x-tenant": "t1" },
      sensitive: ["authorization"],
    });
    await svix.endpoint.patchHeaders(app.id, ep.id, {
      headers: { "X-Other": "o" },
      deleteHeaders: ["x-tenant"],
    });
    expect((await svix.endpoint.getHeaders(app.id, ep.id)).headers).toEqual({ "x-other": "o" });
    const bad = await apiError(
      svix.endpoint.setHeaders(app.id, ep.id, { headers: { "User-Agent": "x" } }),
    );
    expect(bad.code).toBe(422);
  });
});

describe("Svix SDK against Hookyard: messages and attempts", () => {
  it("publishes, lists with filters, gets, and de-duplicates by eventId", async () => {
    const receiver = await startReceiver();
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const m1 = await svix.message.create(
      app.id,
      { eventType: "a.b", payload: { n: 1 }, eventId: "evt-1", channels: ["eu"] },
      { withContent: true },
    );
    const m2 = await svix.message.create(app.id, { eventType: "c.d", payload: { n: 2 } });
    expect(m2.payload, "SDK 2 asks for no content by default, as Svix answers then").toEqual({});
    const again = await svix.message.create(app.id, {
      eventType: "a.b",
      payload: { n: 99 },
      eventId: "evt-1",
    });
    expect(again.id, "the same eventId returns the first message").toBe(m1.id);
    expect((await svix.message.get(app.id, again.id, { withContent: true })).payload).toEqual({
      n: 1,
    });
    expect(m1).toMatchObject({
      eventType: "a.b",
      eventId: "evt-1",
      channels: ["eu"],
      payload: { n: 1 },
    });
    const all = await svix.message.list(app.id);
    expect(all.data.map((m) => m.id)).toEqual([m2.id, m1.id]);
    expect(
      (await svix.message.list(app.id, { eventTypes: ["a.b"] })).data.map((m) => m.id),
    ).toEqual([m1.id]);
    expect((await svix.message.list(app.id, { channel: "eu" })).data.map((m) => m.id)).toEqual([
      m1.id,
    ]);
    expect((await svix.message.get(app.id, m2.id, { withContent: true })).payload).toEqual({
      n: 2,
    });
    await receiver.waitForCount(2, { timeoutMs: 5_000 });
  });

  it("returns the same response for a repeated Idempotency-Key", async () => {
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const first = await svix.message.create(
      app.id,
      { eventType: "x.y", payload: { a: 1 } },
      { idempotencyKey: "k1" },
    );
    const second = await svix.message.create(
      app.id,
      { eventType: "x.y", payload: { a: 2 } },
      { idempotencyKey: "k1" },
    );
    expect(second.id).toBe(first.id);
    expect((await svix.message.get(app.id, second.id, { withContent: true })).payload).toEqual({
      a: 1,
    });
    expect((await svix.message.list(app.id)).data).toHaveLength(1);
  });

  it("lists attempts by message and by endpoint, gets one, lists destinations and resends", async () => {
    const receiver = await startReceiver({ replies: [500] });
    const { svix } = await startTestServer({ delivery: { retrySchedule: [] } });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const msg = await svix.message.create(app.id, { eventType: "x.y", payload: { a: 1 } });
    await receiver.nextRequest({ timeoutMs: 5_000 });
    await expect
      .poll(async () => (await svix.messageAttempt.listByMsg(app.id, msg.id)).data.length, {
        timeout: 5_000,
      })
      .toBe(1);
    const [failed] = (await svix.messageAttempt.listByMsg(app.id, msg.id)).data;
    expect(failed).toMatchObject({
      msgId: msg.id,
      endpointId: ep.id,
      responseStatusCode: 500,
      status: 2,
      triggerType: 0,
    });
    expect((await svix.messageAttempt.get(app.id, msg.id, failed!.id)).id).toBe(failed!.id);
    const destinations = await svix.messageAttempt.listAttemptedDestinations(app.id, msg.id);
    expect(destinations.data).toMatchObject([{ id: ep.id, status: 2, statusText: "fail" }]);

    await svix.messageAttempt.resend(app.id, msg.id, ep.id);
    await receiver.nextRequest({ timeoutMs: 5_000 });
    await expect
      .poll(async () => (await svix.messageAttempt.listByEndpoint(app.id, ep.id)).data.length, {
        timeout: 5_000,
      })
      .toBe(2);
    const [latest] = (await svix.messageAttempt.listByEndpoint(app.id, ep.id)).data;
    expect(latest).toMatchObject({ status: 0, triggerType: 1, responseStatusCode: 200 });
    const stats = await svix.endpoint.getStats(app.id, ep.id);
    expect(stats).toMatchObject({ success: 1, fail: 0 });
  });

  it("recovers every failed message since a time and sends examples", async () => {
    const receiver = await startReceiver({ replies: [500, 500] });
    const { svix } = await startTestServer({ delivery: { retrySchedule: [] } });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const since = new Date(Date.now() - 60_000);
    await svix.message.create(app.id, { eventType: "x.y", payload: { a: 1 } });
    await svix.message.create(app.id, { eventType: "x.y", payload: { a: 2 } });
    await receiver.waitForCount(2, { timeoutMs: 5_000 });
    await expect
      .poll(async () => (await svix.endpoint.getStats(app.id, ep.id)).fail, { timeout: 5_000 })
      .toBe(2);
    await svix.endpoint.recover(app.id, ep.id, { since });
    await receiver.waitForCount(4, { timeoutMs: 5_000 });
    await expect
      .poll(async () => (await svix.endpoint.getStats(app.id, ep.id)).success, { timeout: 5_000 })
      .toBe(2);

    await svix.eventType.create({
      name: "order.shipped",
      description: "Shipped",
      schemas: { "1": { type: "object", examples: [{ orderId: "o_1" }] } },
    });
    await svix.endpoint.sendExample(app.id, ep.id, { eventType: "order.shipped" });
    const [example] = await receiver.waitForCount(5, { timeoutMs: 5_000 }).then((r) => r.slice(4));
    expect(JSON.parse(example!.body)).toEqual({ orderId: "o_1" });
  });

  it("filters messages by time and lists an endpoint's messages and attempts by status", async () => {
    const receiver = await startReceiver({ replies: [500] });
    const { svix } = await startTestServer({ delivery: { retrySchedule: [] } });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const failed = await svix.message.create(app.id, { eventType: "x.y", payload: { n: 1 } });
    await receiver.nextRequest({ timeoutMs: 5_000 });
    const ok = await svix.message.create(app.id, { eventType: "x.y", payload: { n: 2 } });
    await receiver.nextRequest({ timeoutMs: 5_000 });
    await expect
      .poll(async () => (await svix.endpoint.getStats(app.id, ep.id)).success, { timeout: 5_000 })
      .toBe(1);

    const before = await svix.message.list(app.id, { before: new Date(ok.timestamp.getTime()) });
    expect(
      before.data.map((m) => m.id),
      "strictly before the second message",
    ).toEqual([failed.id]);
    const after = await svix.message.list(app.id, { after: new Date(failed.timestamp.getTime()) });
    expect(
      after.data.map((m) => m.id),
      "strictly after the first message",
    ).toEqual([ok.id]);

    const attempted = await svix.messageAttempt.listAttemptedMessages(app.id, ep.id);
    expect(attempted.data.map((m) => [m.id, m.statusText])).toEqual([
      [ok.id, "success"],
      [failed.id, "fail"],
    ]);
    const failures = await svix.messageAttempt.listByEndpoint(app.id, ep.id, { status: 2 });
    expect(failures.data.map((a) => a.msgId)).toEqual([failed.id]);
    const successes = await svix.messageAttempt.listByMsg(app.id, ok.id, { status: 0 });
    expect(successes.data).toHaveLength(1);
    const withSchemas = await svix.eventType.list({ withContent: true });
    expect(withSchemas.data).toEqual([]);
  });

  it("creates the application on the fly when a message carries one, and answers health", async () => {
    const { svix } = await startTestServer();
    await svix.health.get();
    const msg = await svix.message.create("tenant-42", {
      eventType: "user.signup",
      payload: { user: "u_1" },
      application: { name: "Tenant 42", uid: "tenant-42" },
    });
    expect(msg.id).toMatch(/^msg_/);
    expect(await svix.application.get("tenant-42")).toMatchObject({
      name: "Tenant 42",
      uid: "tenant-42",
    });
    const again = await svix.message.create("tenant-42", {
      eventType: "user.signup",
      payload: { user: "u_2" },
      application: { name: "Tenant 42", uid: "tenant-42" },
    });
    expect(again.id).not.toBe(msg.id);
    expect((await svix.application.list()).data).toHaveLength(1);
  });
});
