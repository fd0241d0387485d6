import { once } from "node:events";
import { createRequire } from "node:module";
import { describe, expect, it, onTestFinished } from "vitest";
import type { AppId, MessageId } from "../../src/model.js";
import { startCollector } from "../helpers/otlp-collector.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

// Issue 16: tracing is off unless a collector is configured, and then Hookyard's output is what
// it was before tracing existed. The tests of this file run in order, in one process: the first
// must see no OpenTelemetry module loaded, the second that the check can see one.

const CLIENT_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/**
 * OpenTelemetry's packages loaded into this process so far (CommonJS, so in require's cache),
 * but its API: prom-client (the metrics) loads `@opentelemetry/api`, a no-op until an SDK
 * registers itself.
 */
function loadedOpenTelemetry(): string[] {
  return Object.keys(createRequire(import.meta.url).cache).filter(
    (path) => path.includes("/@opentelemetry/") && !path.includes("/@opentelemetry/api/"),
  );
}

describe("tracing off", () => {
  it("sends no traceparent of its own, stores none, exports nothing and loads no OpenTelemetry", async () => {
    const collector = await startCollector(); // running, but not configured
    onTestFinished(() => collector.close());
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const server = await startTestServer();
    const app = await server.svix.application.create({ name: "A" });
    await server.svix.endpoint.create(app.id, { url: receiver.url });
    const published = once(server.hookyard.engine, "attempt", {
      signal: AbortSignal.timeout(5_000),
    });
    const res = await fetch(`${server.url}/api/v1/app/${app.id}/msg`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${TEST_API_KEY}`,
        "content-type": "application/json",
        traceparent: CLIENT_TRACEPARENT,
      },
      body: JSON.stringify({ eventType: "a.b", payload: {} }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: MessageId };
    await published;
    const [delivered] = receiver.requests;
    expect(delivered!.headers, "a publish's traceparent is not passed on").not.toHaveProperty(
      "traceparent",
    );
    expect(await server.hookyard.store.getMessage(app.id as AppId, id)).not.toHaveProperty(
      "traceparent",
    );

    const source = await server.svix.ingest.source.create({ name: "s", type: "generic-webhook" });
    await server.svix.ingest.endpoint.create(source.id, { url: receiver.url });
    const forwardedOnce = once(server.hookyard.engine, "attempt", {
      signal: AbortSignal.timeout(5_000),
    });
    const sent = await fetch(source.ingestUrl!, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: CLIENT_TRACEPARENT },
      body: "{}",
    });
    expect(sent.status).toBe(200);
    await forwardedOnce;
    expect(
      receiver.requests[1]!.headers["traceparent"],
      "a received request's headers, the sender's traceparent too, are forwarded as they came",
    ).toBe(CLIENT_TRACEPARENT);

    await server.stop();
    expect(collector.receiver.requests, "nothing exported").toEqual([]);
    expect(loadedOpenTelemetry(), "the SDK is not even loaded").toEqual([]);
  });

  it("loads OpenTelemetry once a collector is configured (what the test above checks)", async () => {
    const collector = await startCollector();
    onTestFinished(() => collector.close());
    await startTestServer({ tracing: { endpoint: collector.url } });
    expect(loadedOpenTelemetry()).toEqual(
      expect.arrayContaining([expect.stringContaining("/@opentelemetry/sdk-trace/")]),
    );
  });
});
