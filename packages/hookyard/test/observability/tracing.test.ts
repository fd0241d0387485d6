import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { SystemClock } from "../../src/clock.js";
import { startTracing, tracesUrlOf } from "../../src/observability/start-tracing.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startCollector } from "../helpers/otlp-collector.js";
import { startReceiver } from "../helpers/receiver.js";

/** A pino logger whose lines are kept in memory. */
function recordingLogger() {
  const lines: Array<{ level: number; msg: string; component?: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
      callback();
    },
  });
  return { logger: pino({ level: "debug" }, destination), lines };
}

const settings = (tracing: { endpoint?: string | null; tracesEndpoint?: string | null }) => ({
  endpoint: null,
  tracesEndpoint: null,
  serviceName: "hookyard",
  ...tracing,
});

describe("where spans go", () => {
  it("appends v1/traces to the base endpoint and takes the traces endpoint as is", () => {
    expect(tracesUrlOf(settings({}))).toBeNull();
    expect(tracesUrlOf(settings({ endpoint: "http://c:4318" }))).toBe("http://c:4318/v1/traces");
    expect(tracesUrlOf(settings({ endpoint: "http://c:4318/otel/" }))).toBe(
      "http://c:4318/otel/v1/traces",
    );
    expect(
      tracesUrlOf(settings({ endpoint: "http://c:4318", tracesEndpoint: "http://t:9/spans" })),
    ).toBe("http://t:9/spans");
    expect(tracesUrlOf(settings({ tracesEndpoint: "http://t:9/spans" }))).toBe("http://t:9/spans");
  });

  it("loads nothing without an endpoint", async () => {
    const { logger, lines } = recordingLogger();
    const deps = { clock: new SystemClock(), logger, serviceVersion: "1", instanceId: "node_1" };
    expect(await startTracing(settings({}), deps)).toBeNull();
    expect(lines).toEqual([]);
  });

  it("posts the spans as OTLP JSON to <endpoint>/v1/traces when it closes", async () => {
    const collector = await startCollector();
    onTestFinished(() => collector.close());
    const { logger } = recordingLogger();
    const tracing = await startTracing(settings({ endpoint: `${collector.url}/base` }), {
      clock: new SystemClock(),
      logger,
      serviceVersion: "1.2.3",
      instanceId: "node_abc",
    });
    const span = tracing!.startRequest({ method: "GET", route: "/r", headers: {} });
    span.end(204, 1.5);
    await tracing!.close();
    await tracing!.close(); // idempotent
    expect(collector.receiver.requests).toMatchObject([
      { method: "POST", url: "/base/v1/traces", headers: { "content-type": "application/json" } },
    ]);
    const [exported] = collector.spans();
    expect(exported).toMatchObject({
      name: "GET /r",
      attributes: { "http.response.status_code": 204 },
      resource: {
        "service.name": "hookyard",
        "service.version": "1.2.3",
        "service.instance.id": "node_abc",
      },
    });
    expect(exported!.endMs - exported!.startMs).toBeCloseTo(1.5, 3);
  });

  it("tells the log when the collector refuses spans, and still closes", async () => {
    const collector = await startReceiver({ defaultReply: 400 });
    onTestFinished(() => collector.close());
    const { logger, lines } = recordingLogger();
    const tracing = await startTracing(settings({ endpoint: collector.url }), {
      clock: new SystemClock(),
      logger,
      serviceVersion: "1",
      instanceId: "node_1",
    });
    tracing!.startRequest({ method: "GET", route: "/r", headers: {} }).end(200, 1);
    await tracing!.close();
    expect(collector.requests, "it was tried").toHaveLength(1);
    expect(lines.filter((l) => l.level === 40)).toMatchObject([
      { component: "tracing", msg: "exporting spans failed" },
      { component: "tracing", msg: "the last spans could not be exported" },
    ]);
  });

  it("stops waiting for a collector that does not answer after 3 s, so a shutdown goes on", async () => {
    const collector = await startReceiver({ defaultReply: { status: 200, hang: true } });
    onTestFinished(() => collector.close());
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const { logger, lines } = recordingLogger();
    const tracing = await startTracing(settings({ endpoint: collector.url }), {
      clock,
      logger,
      serviceVersion: "1",
      instanceId: "node_1",
    });
    tracing!.startRequest({ method: "GET", route: "/r", headers: {} }).end(200, 1);
    let closed = false;
    const closing = tracing!.close().then(() => (closed = true));
    await collector.waitForCount(1);
    await clock.advance(2_999);
    expect(closed, "still waiting before 3 s").toBe(false);
    await clock.advance(1);
    await closing;
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      "the last spans could not be exported",
    ]);
  });
});
