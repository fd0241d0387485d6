import { once } from "node:events";
import { describe, expect, it, onTestFinished } from "vitest";
import type { DeliveryEngine } from "../../src/delivery/engine.js";
import { VERSION } from "../../src/main.js";
import type { AppId, MessageId } from "../../src/model.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startCollector, type CollectedSpan } from "../helpers/otlp-collector.js";
import { startReceiver } from "../helpers/receiver.js";
import {
  startTestServer,
  TEST_API_KEY,
  type TestServer,
  type TestServerOptions,
} from "../helpers/server.js";

// Issue 16: with a collector configured, publishing (or receiving) is a span, each delivery
// attempt a child of it — however late, and read back from the store — and the attempt's request
// carries a traceparent naming the attempt's span.

const PUBLISH = "POST /api/v1/app/:app_id/msg";
const ATTEMPT = "webhook attempt";
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const UNSET = 0;
/** A client's own trace (the W3C specification's example ids). */
const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";

async function tracedServer(opts: TestServerOptions = {}) {
  const collector = await startCollector();
  onTestFinished(() => collector.close());
  const server = await startTestServer({ ...opts, tracing: { endpoint: collector.url } });
  return { ...server, collector };
}

function nextAttempt(engine: DeliveryEngine) {
  return once(engine, "attempt", { signal: AbortSignal.timeout(5_000) });
}

/** Publishes through the raw API, so that the request carries exactly `headers`. */
async function publish(
  server: Pick<TestServer, "url">,
  appId: string,
  opts: { headers?: Record<string, string>; body?: Record<string, unknown> } = {},
): Promise<{ status: number; id: MessageId }> {
  const res = await fetch(`${server.url}/api/v1/app/${appId}/msg`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${TEST_API_KEY}`,
      "content-type": "application/json",
      ...opts.headers,
    },
    body: JSON.stringify({ eventType: "invoice.paid", payload: { invoice: "in_1" }, ...opts.body }),
  });
  return { status: res.status, id: ((await res.json()) as { id: MessageId }).id };
}

function only(spans: CollectedSpan[], name: string): CollectedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, `one "${name}" span among ${spans.map((s) => s.name).join(", ")}`).toHaveLength(1);
  return found[0]!;
}

function attemptsOf(spans: CollectedSpan[]): CollectedSpan[] {
  return spans
    .filter((s) => s.name === ATTEMPT)
    .sort(
      (a, b) =>
        Number(a.attributes["hookyard.attempt.number"]) -
        Number(b.attributes["hookyard.attempt.number"]),
    );
}

const traceparentOf = (span: CollectedSpan) => `00-${span.traceId}-${span.spanId}-01`;

describe("tracing from publish to each attempt", () => {
  it("makes a failed, a retried and a resent attempt children of the publish, each sending its own traceparent", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const receiver = await startReceiver({ replies: [500, 200] });
    onTestFinished(() => receiver.close());
    // The retry waits in the store, not in memory: its message, traceparent too, is read back.
    const server = await tracedServer({
      clock,
      random: () => 0.5,
      engine: { holdInMemoryMs: 0, sweepIntervalMs: 600_000 },
    });
    const app = await server.svix.application.create({ name: "A" });
    const ep = await server.svix.endpoint.create(app.id, { url: receiver.url });
    const first = nextAttempt(server.hookyard.engine);
    const msg = await publish(server, app.id);
    expect(msg.status).toBe(202);
    await first;
    await expect
      .poll(() => server.hookyard.engine.heldCount, {
        timeout: 2_000,
        message: "in the store only",
      })
      .toBe(0);
    const second = nextAttempt(server.hookyard.engine);
    await clock.advance(5_000);
    await second;
    const resent = nextAttempt(server.hookyard.engine);
    await server.svix.messageAttempt.resend(app.id, msg.id, ep.id);
    await resent;
    const recorded = await server.svix.messageAttempt.listByMsg(app.id, msg.id);
    await server.stop(); // exports what is queued

    const spans = server.collector.spans();
    const published = only(spans, PUBLISH);
    expect(published).toMatchObject({
      kind: SERVER,
      parentSpanId: undefined,
      attributes: {
        "http.request.method": "POST",
        "http.route": "/api/v1/app/:app_id/msg",
        "http.response.status_code": 202,
        "hookyard.app.id": app.id,
        "hookyard.message.id": msg.id,
      },
      status: { code: UNSET },
      resource: { "service.name": "hookyard", "service.version": VERSION },
    });
    const attempts = attemptsOf(spans);
    const child = { traceId: published.traceId, parentSpanId: published.spanId, kind: CLIENT };
    const about = {
      "hookyard.app.id": app.id,
      "hookyard.message.id": msg.id,
      "hookyard.endpoint.id": ep.id,
      "hookyard.event_type": "invoice.paid",
      "hookyard.attempt.trigger": "scheduled",
      "server.address": "127.0.0.1",
    };
    expect(attempts).toMatchObject([
      {
        ...child,
        attributes: {
          ...about,
          "hookyard.attempt.number": 1,
          "http.response.status_code": 500,
          "error.type": "http_status",
        },
        status: { code: ERROR, message: "HTTP 500" },
      },
      {
        ...child,
        attributes: { ...about, "hookyard.attempt.number": 2, "http.response.status_code": 200 },
        status: { code: UNSET },
      },
      {
        ...child,
        attributes: {
          ...about,
          "hookyard.attempt.number": 3,
          "hookyard.attempt.trigger": "manual",
          "http.response.status_code": 200,
        },
      },
    ]);
    expect(attempts[1]!.attributes, "a success has no error type").not.toHaveProperty("error.type");
    expect(
      attempts[1]!.startMs - attempts[0]!.startMs,
      "the retry starts 5 s later on the injected clock",
    ).toBeGreaterThanOrEqual(5_000);
    expect(new Set(attempts.map((a) => a.attributes["hookyard.attempt.id"]))).toEqual(
      new Set(recorded.data.map((a) => a.id)),
    );
    expect(
      receiver.requests.map((r) => r.headers["traceparent"]),
      "each request names its own attempt's span",
    ).toEqual(attempts.map(traceparentOf));
  });

  it("continues the trace of a publishing client that sent a traceparent", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const server = await tracedServer();
    const app = await server.svix.application.create({ name: "A" });
    await server.svix.endpoint.create(app.id, { url: receiver.url });
    const attempted = nextAttempt(server.hookyard.engine);
    const msg = await publish(server, app.id, {
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
    });
    expect(msg.status).toBe(202);
    await attempted;
    const stored = await server.hookyard.store.getMessage(app.id as AppId, msg.id);
    await server.stop();

    const spans = server.collector.spans();
    const published = only(spans, PUBLISH);
    expect(published).toMatchObject({ traceId: CLIENT_TRACE, parentSpanId: CLIENT_SPAN });
    const [attempt] = attemptsOf(spans);
    expect(attempt).toMatchObject({ traceId: CLIENT_TRACE, parentSpanId: published.spanId });
    expect(receiver.requests[0]!.headers["traceparent"]).toBe(traceparentOf(attempt!));
    expect(stored?.traceparent, "the publish span's context is stored with the message").toBe(
      traceparentOf(published),
    );
  });

  it("keeps a client's choice not to sample: nothing exported, the receiver still joins its trace", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const server = await tracedServer();
    const app = await server.svix.application.create({ name: "A" });
    await server.svix.endpoint.create(app.id, { url: receiver.url });
    const attempted = nextAttempt(server.hookyard.engine);
    await publish(server, app.id, {
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-00` },
    });
    await attempted;
    // A sampled request after it: its spans prove the exporter ran, so the first had none.
    const again = nextAttempt(server.hookyard.engine);
    await publish(server, app.id);
    await again;
    await server.stop();

    const spans = server.collector.spans();
    expect(
      spans.filter((s) => s.traceId === CLIENT_TRACE),
      "unsampled: not exported",
    ).toEqual([]);
    expect(spans.map((s) => s.name).sort()).toEqual([PUBLISH, ATTEMPT].sort());
    expect(receiver.requests[0]!.headers["traceparent"]).toMatch(
      new RegExp(`^00-${CLIENT_TRACE}-[0-9a-f]{16}-00$`),
    );
  });

  it("starts a new trace for a malformed traceparent and ignores one in the body", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const server = await tracedServer();
    const app = await server.svix.application.create({ name: "A" });
    await server.svix.endpoint.create(app.id, { url: receiver.url });
    const bad = [
      "garbage",
      `00-${"0".repeat(32)}-${CLIENT_SPAN}-01`, // an all-zero trace id is invalid
      `ff-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, // version ff is invalid
      `00-${CLIENT_TRACE.toUpperCase()}-${CLIENT_SPAN}-01`, // ids are lower-case hex
      `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01-${"x".repeat(6_000)}`,
    ];
    for (const traceparent of bad) {
      const attempted = nextAttempt(server.hookyard.engine);
      const msg = await publish(server, app.id, {
        headers: { traceparent },
        body: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
      });
      expect(msg.status, traceparent.slice(0, 60)).toBe(202);
      await attempted;
    }
    await server.stop();

    const published = server.collector.spans().filter((s) => s.name === PUBLISH);
    expect(published).toHaveLength(bad.length);
    for (const span of published) {
      expect(span, "a root span of a trace of its own").toMatchObject({ parentSpanId: undefined });
      expect(span.traceId).not.toBe(CLIENT_TRACE);
    }
    expect(new Set(published.map((s) => s.traceId)).size, "one new trace each").toBe(bad.length);
    for (const request of receiver.requests) {
      expect(request.headers["traceparent"]).not.toContain(CLIENT_TRACE);
    }
  });

  it("makes a request received at an ingest URL a span, and its forward's attempt a child", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const server = await tracedServer();
    const source = await server.svix.ingest.source.create({
      name: "hooks",
      type: "generic-webhook",
    });
    const destination = await server.svix.ingest.endpoint.create(source.id, { url: receiver.url });
    const attempted = nextAttempt(server.hookyard.engine);
    const sent = await fetch(`${source.ingestUrl!}/deep/path?x=1`, {
      method: "PUT",
      headers: {
        "content-type": "application/json",
        traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`,
      },
      body: '{"order":1}',
    });
    expect(sent.status).toBe(200);
    const { id: requestId } = (await sent.json()) as { id: string };
    await attempted;
    await server.stop();

    const spans = server.collector.spans();
    const received = only(spans, "PUT /in/:token/*");
    expect(received).toMatchObject({
      kind: SERVER,
      traceId: CLIENT_TRACE,
      parentSpanId: CLIENT_SPAN,
      attributes: {
        "http.route": "/in/:token/*",
        "http.response.status_code": 200,
        "hookyard.source.id": source.id,
        "hookyard.inbound_request.id": requestId,
        "hookyard.inbound_request.status": "accepted",
      },
    });
    const [attempt] = attemptsOf(spans);
    expect(attempt).toMatchObject({
      traceId: CLIENT_TRACE,
      parentSpanId: received.spanId,
      attributes: { "hookyard.endpoint.id": destination.id, "http.response.status_code": 200 },
    });
    const [forwarded] = receiver.requests;
    expect(forwarded).toMatchObject({ method: "PUT", url: "/deep/path?x=1", body: '{"order":1}' });
    expect(forwarded!.headers["traceparent"], "the sender's replaced by the attempt's").toBe(
      traceparentOf(attempt!),
    );
    const token = new URL(source.ingestUrl!).pathname.split("/")[2]!;
    const exported = server.collector.receiver.requests.map((r) => r.body).join("");
    expect(exported, "the ingest token is a secret: never in a span").not.toContain(token);
  });
});
