import type { BackgroundTaskOut, Svix } from "svix";
import { describe, expect, it } from "vitest";
import { apiError } from "../helpers/api-error.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer } from "../helpers/server.js";

/**
 * The svix SDK 2.x calls that answered 404 or 422 before: background tasks, replays, expunging,
 * precheck, statistics, list filters, scheduled delivery. Each goes through the real SDK against
 * the real server (both stores), with real receivers on loopback.
 */

/** Polls the task until it is no longer running; returns it. */
async function finished(svix: Svix, taskId: string): Promise<BackgroundTaskOut> {
  await expect
    .poll(async () => (await svix.backgroundTask.get(taskId)).status, { timeout: 10_000 })
    .not.toBe("running");
  return svix.backgroundTask.get(taskId);
}

/** Waits until the endpoint's deliveries reached these counts. */
async function statsReach(
  svix: Svix,
  appId: string,
  endpointId: string,
  want: { success?: number; fail?: number },
): Promise<void> {
  await expect
    .poll(async () => await svix.endpoint.getStats(appId, endpointId), { timeout: 10_000 })
    .toMatchObject(want);
}

describe("svix 2.x: with_content", () => {
  it("leaves out payloads and response bodies unless asked for, as Svix does", async () => {
    const receiver = await startReceiver({ defaultReply: { status: 200, body: "thanks" } });
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const msg = await svix.message.create(app.id, { eventType: "a.b", payload: { n: 1 } });
    await statsReach(svix, app.id, ep.id, { success: 1 });

    expect((await svix.message.get(app.id, msg.id)).payload).toEqual({});
    expect((await svix.message.get(app.id, msg.id, { withContent: true })).payload).toEqual({
      n: 1,
    });
    expect((await svix.message.list(app.id)).data[0]?.payload).toEqual({});
    const [bare] = (await svix.messageAttempt.listByEndpoint(app.id, ep.id)).data;
    expect(bare?.response, "SDK 2 asks for no content: Svix answers {}").toBe("{}");
    const [full] = (await svix.messageAttempt.listByMsg(app.id, msg.id, { withContent: true }))
      .data;
    expect(full?.response).toBe("thanks");
    const [attempted] = (await svix.messageAttempt.listAttemptedMessages(app.id, ep.id)).data;
    expect(attempted?.payload).toEqual({});
  });
});

describe("svix 2.x: health, precheck", () => {
  it("answers the ping without a key, and prechecks against endpoint filters", async () => {
    const { svix, url } = await startTestServer();
    expect((await fetch(`${url}/api/v1/health/ping`)).status).toBe(204);
    expect((await fetch(`${url}/api/v1/health/ping`, { method: "HEAD" })).status).toBe(204);
    await svix.health.get();

    const app = await svix.application.create({ name: "A" });
    expect((await svix.message.precheck(app.id, { eventType: "a.b" })).active).toBe(false);
    await svix.endpoint.create(app.id, {
      url: "https://example.com/h",
      eventTypes: ["a.b"],
      channels: ["eu"],
    });
    const check = (eventType: string, channels?: string[]) =>
      svix.message
        .precheck(app.id, { eventType, ...(channels && { channels }) })
        .then((r) => r.active);
    expect(await check("a.b", ["eu"])).toBe(true);
    expect(await check("a.b"), "the endpoint filters on channels").toBe(false);
    expect(await check("c.d", ["eu"])).toBe(false);
    expect((await svix.message.list(app.id)).data, "a precheck stores nothing").toEqual([]);
    expect((await apiError(svix.message.precheck("nope", { eventType: "a.b" }))).code).toBe(404);
  });
});

describe("svix 2.x: expunging content", () => {
  it("expunges a message's payload and an attempt's response; the records stay", async () => {
    const receiver = await startReceiver({
      defaultReply: { status: 200, body: "echo: card 4242" },
    });
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const msg = await svix.message.create(app.id, {
      eventType: "card.added",
      payload: { card: "4242" },
    });
    await statsReach(svix, app.id, ep.id, { success: 1 });
    const [attempt] = (await svix.messageAttempt.listByMsg(app.id, msg.id)).data;

    await svix.messageAttempt.expungeContent(app.id, msg.id, attempt!.id);
    const after = await svix.messageAttempt.listByMsg(app.id, msg.id, { withContent: true });
    expect(after.data.map((a) => [a.id, a.response])).toEqual([[attempt!.id, "EXPUNGED"]]);
    expect(
      (await svix.messageAttempt.get(app.id, msg.id, attempt!.id)).responseStatusCode,
      "the attempt record stays",
    ).toBe(200);

    await svix.message.expungeContent(app.id, msg.id);
    const read = await svix.message.get(app.id, msg.id, { withContent: true });
    expect(read).toMatchObject({ id: msg.id, eventType: "card.added", payload: { expired: true } });
    const resend = await apiError(svix.messageAttempt.resend(app.id, msg.id, ep.id));
    expect(resend.code).toBe(400);
    expect(resend.body).toMatchObject({ code: "missing_payload" });
    expect((await apiError(svix.message.expungeContent(app.id, "msg_nope"))).code).toBe(404);
    expect(receiver.requests, "nothing was sent again").toHaveLength(1);
  });

  it("cancels the open deliveries of an expunged message", async () => {
    const receiver = await startReceiver({ defaultReply: 503 });
    const { svix } = await startTestServer({ delivery: { retrySchedule: [1] } });
    const app = await svix.application.create({ name: "A" });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const msg = await svix.message.create(app.id, { eventType: "a.b", payload: { s: 1 } });
    await receiver.nextRequest({ timeoutMs: 5_000 });
    await svix.message.expungeContent(app.id, msg.id);
    // An attempt in flight at the expunge may still record its retry; that retry is then
    // dropped (nothing left to send) and the delivery ends cancelled.
    await expect
      .poll(
        async () =>
          (await svix.messageAttempt.listAttemptedDestinations(app.id, msg.id)).data[0]?.statusText,
        { timeout: 5_000 },
      )
      .toBe("canceled");
    expect(receiver.requests, "the retry after the expunge was never sent").toHaveLength(1);
  });
});

describe("svix 2.x: recover and replays as background tasks", () => {
  it("recovers failed messages in a task that reports what it sent", async () => {
    const receiver = await startReceiver({ replies: [500, 500] });
    const { svix } = await startTestServer({ delivery: { retrySchedule: [] } });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const since = new Date(Date.now() - 60_000);
    await svix.message.create(app.id, { eventType: "a.b", payload: { n: 1 } });
    await svix.message.create(app.id, { eventType: "a.b", payload: { n: 2 } });
    await statsReach(svix, app.id, ep.id, { fail: 2 });

    const started = await svix.endpoint.recover(app.id, ep.id, { since });
    expect(started).toMatchObject({ task: "endpoint.recover" });
    expect(started.id).toMatch(/^qtask_/);
    const task = await finished(svix, started.id);
    expect(task).toMatchObject({ status: "finished", data: { messagesSent: 2 } });
    await statsReach(svix, app.id, ep.id, { success: 2, fail: 0 });
    const listed = await svix.backgroundTask.list({ task: "endpoint.recover" as never });
    expect(listed.data.map((t) => t.id)).toEqual([started.id]);
    expect((await svix.backgroundTask.list({ status: "running" as never })).data).toEqual([]);
    expect((await apiError(svix.backgroundTask.get("qtask_nope"))).code).toBe(404);
  });

  it("replays to a new endpoint the messages it missed, within its filters", async () => {
    const receiver = await startReceiver();
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const since = new Date(Date.now() - 60_000);
    const wanted = await svix.message.create(app.id, { eventType: "a.b", payload: { n: 1 } });
    await svix.message.create(app.id, { eventType: "other", payload: { n: 2 } });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url, eventTypes: ["a.b"] });
    const later = await svix.message.create(app.id, { eventType: "a.b", payload: { n: 3 } });
    await receiver.nextRequest({ timeoutMs: 5_000 });

    const started = await svix.endpoint.replayMissing(app.id, ep.id, { since });
    expect(started.task).toBe("endpoint.replay");
    expect(await finished(svix, started.id)).toMatchObject({ data: { messagesSent: 1 } });
    const replayed = await receiver.nextRequest({ timeoutMs: 5_000 });
    expect(replayed.headers["webhook-id"]).toBe(wanted.id);
    expect(receiver.requests.map((r) => r.headers["webhook-id"])).toEqual([later.id, wanted.id]);
    const again = await svix.endpoint.replayMissing(app.id, ep.id, { since });
    expect(await finished(svix, again.id), "nothing is missing now").toMatchObject({
      data: { messagesSent: 0 },
    });
    const bad = await apiError(
      svix.endpoint.replayMissing(app.id, ep.id, { since, until: new Date(since.getTime() - 1) }),
    );
    expect(bad.code).toBe(422);
  });

  it("bulk-replays the endpoint's failed messages only, as manual attempts", async () => {
    const receiver = await startReceiver({ replies: [200, 500] });
    const { svix } = await startTestServer({ delivery: { retrySchedule: [] } });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const since = new Date(Date.now() - 60_000);
    await svix.message.create(app.id, { eventType: "a.b", payload: { n: 1 } });
    await statsReach(svix, app.id, ep.id, { success: 1 });
    const failed = await svix.message.create(app.id, { eventType: "a.b", payload: { n: 2 } });
    await statsReach(svix, app.id, ep.id, { success: 1, fail: 1 });

    const started = await svix.endpoint.bulkReplay(app.id, ep.id, { since, status: 2 });
    expect(started.task).toBe("endpoint.bulk-replay");
    expect(await finished(svix, started.id)).toMatchObject({ data: { messagesSent: 1 } });
    const replay = await receiver.waitForCount(3, { timeoutMs: 5_000 });
    expect(replay[2]?.headers["webhook-id"]).toBe(failed.id);
    await expect
      .poll(async () => (await svix.messageAttempt.listByMsg(app.id, failed.id)).data.length)
      .toBe(2);
    const [manual] = (await svix.messageAttempt.listByMsg(app.id, failed.id)).data;
    expect(manual).toMatchObject({ triggerType: 1, responseStatusCode: 200 });

    const all = await svix.endpoint.bulkReplay(app.id, ep.id, { since });
    expect(await finished(svix, all.id)).toMatchObject({ data: { messagesSent: 2 } });
  });
});

describe("svix 2.x: statistics", () => {
  it("counts message destinations per application and aggregates subscribed event types", async () => {
    const receiver = await startReceiver();
    const { svix } = await startTestServer();
    const a = await svix.application.create({ name: "A", uid: "a" });
    const b = await svix.application.create({ name: "B" });
    await svix.endpoint.create(a.id, { url: receiver.url, eventTypes: ["x.y", "p.q"] });
    await svix.endpoint.create(a.id, { url: receiver.url, eventTypes: ["x.y"] });
    await svix.endpoint.create(b.id, { url: receiver.url });
    const since = new Date(Date.now() - 60_000);
    await svix.message.create(a.id, { eventType: "x.y", payload: {} });
    await svix.message.create(b.id, { eventType: "x.y", payload: {} });
    await receiver.waitForCount(3, { timeoutMs: 5_000 });
    const until = new Date(Date.now() + 60_000);

    const stats = await svix.statistics.aggregateAppStats({ since, until, appIds: ["a", "nope"] });
    expect(stats.unresolvedAppIds).toEqual(["nope"]);
    expect(await finished(svix, stats.id)).toMatchObject({
      task: "application.stats",
      data: { appStats: [{ appId: a.id, appUid: "a", messageDestinations: 2 }] },
    });
    const everyApp = await svix.statistics.aggregateAppStats({ since, until });
    const rows = ((await finished(svix, everyApp.id)).data as { appStats: unknown[] }).appStats;
    expect(rows).toEqual(
      expect.arrayContaining([
        { appId: a.id, appUid: "a", messageDestinations: 2 },
        { appId: b.id, appUid: null, messageDestinations: 1 },
      ]),
    );
    const none = await apiError(svix.statistics.aggregateAppStats({ since, until, appIds: ["x"] }));
    expect(none.code).toBe(422);

    const types = await svix.statistics.aggregateEventTypes();
    expect(await finished(svix, types.id)).toMatchObject({
      task: "event-type.aggregate",
      data: {
        event_types: expect.arrayContaining([
          {
            appId: a.id,
            explicitlySubscribedEventTypes: ["p.q", "x.y"],
            hasCatchAllEndpoint: false,
          },
          { appId: b.id, explicitlySubscribedEventTypes: [], hasCatchAllEndpoint: true },
        ]) as unknown,
      },
    });
  });
});

describe("svix 2.x: list filters", () => {
  it("filters messages by tag and attempts by status code class, channel, tag and event type", async () => {
    const receiver = await startReceiver({ replies: [503, 200, 200] });
    const { svix } = await startTestServer({ delivery: { retrySchedule: [] } });
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url });
    const m1 = await svix.message.create(app.id, {
      eventType: "a.x",
      payload: {},
      tags: ["vip"],
      channels: ["eu"],
    });
    await statsReach(svix, app.id, ep.id, { fail: 1 });
    const m2 = await svix.message.create(app.id, { eventType: "b.x", payload: {}, tags: ["std"] });
    await statsReach(svix, app.id, ep.id, { fail: 1, success: 1 });

    const msgIds = async (tag: string) =>
      (await svix.message.list(app.id, { tag })).data.map((m) => m.id);
    expect(await msgIds("vip")).toEqual([m1.id]);
    expect(await msgIds("std")).toEqual([m2.id]);
    expect(await msgIds("none")).toEqual([]);

    const attemptMsgs = async (opts: Parameters<Svix["messageAttempt"]["listByEndpoint"]>[2]) =>
      (await svix.messageAttempt.listByEndpoint(app.id, ep.id, opts)).data.map((a) => a.msgId);
    expect(await attemptMsgs({ statusCodeClass: 500 })).toEqual([m1.id]);
    expect(await attemptMsgs({ statusCodeClass: 200 })).toEqual([m2.id]);
    expect(await attemptMsgs({ statusCodeClass: 400 })).toEqual([]);
    expect(await attemptMsgs({ channel: "eu" })).toEqual([m1.id]);
    expect(await attemptMsgs({ tag: "std" })).toEqual([m2.id]);
    expect(await attemptMsgs({ eventTypes: ["a.x", "b.x"] })).toEqual([m2.id, m1.id]);
    const byMsg = await svix.messageAttempt.listByMsg(app.id, m1.id, { statusCodeClass: 200 });
    expect(byMsg.data).toEqual([]);

    const endpointMsgs = async (
      opts: Parameters<Svix["messageAttempt"]["listAttemptedMessages"]>[2],
    ) =>
      (await svix.messageAttempt.listAttemptedMessages(app.id, ep.id, opts)).data.map((m) => m.id);
    expect(await endpointMsgs({ tag: "vip" })).toEqual([m1.id]);
    expect(await endpointMsgs({ channel: "eu" })).toEqual([m1.id]);
    expect(await endpointMsgs({ eventTypes: ["b.x"] })).toEqual([m2.id]);

    const badTag = await apiError(
      svix.message.create(app.id, { eventType: "a.x", payload: {}, tags: ["has space"] }),
    );
    expect((badTag.body as { detail: { loc: string[] }[] }).detail[0]?.loc).toEqual([
      "body",
      "tags",
      "0",
    ]);
  });
});

describe("svix 2.x: scheduled delivery", () => {
  it("delivers a message with deliverAt at that time and not before", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const receiver = await startReceiver();
    const { svix } = await startTestServer({ clock, engine: { sweepIntervalMs: 600_000 } });
    const app = await svix.application.create({ name: "A" });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const deliverAt = new Date(clock.now() + 60_000);
    const msg = await svix.message.create(app.id, { eventType: "a.b", payload: {}, deliverAt });
    expect(msg.deliverAt?.toISOString()).toBe(deliverAt.toISOString());
    expect((await svix.message.get(app.id, msg.id)).deliverAt?.toISOString()).toBe(
      deliverAt.toISOString(),
    );
    await clock.advance(59_000);
    expect(receiver.requests, "nothing before deliverAt").toHaveLength(0);
    const [destination] = (await svix.messageAttempt.listAttemptedDestinations(app.id, msg.id))
      .data;
    expect(destination?.nextAttempt?.toISOString()).toBe(deliverAt.toISOString());
    await clock.advance(1_000);
    const delivered = await receiver.nextRequest({ timeoutMs: 5_000 });
    expect(delivered.headers["webhook-id"]).toBe(msg.id);

    const tooFar = await apiError(
      svix.message.create(app.id, {
        eventType: "a.b",
        payload: {},
        deliverAt: new Date(clock.now() + 25 * 3_600_000),
      }),
    );
    expect(tooFar.code).toBe(422);
    expect((tooFar.body as { detail: { loc: string[] }[] }).detail[0]?.loc).toEqual([
      "body",
      "deliverAt",
    ]);
  });
});
