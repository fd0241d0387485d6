import { describe, expect, it, onTestFinished, vi } from "vitest";
import { serverSentEvents, type ServerSentEvent } from "../../src/cli/sse.js";
import { EventEmitter } from "node:events";
import { SystemClock } from "../../src/clock.js";
import { ListenerFeeds } from "../../src/debug/listener-feeds.js";
import { Listeners } from "../../src/debug/listeners.js";
import { idTime } from "../../src/ids.js";
import type { InboundRequest, InboundRequestId, SourceId } from "../../src/model.js";
import { api } from "../helpers/api.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// Listeners (what `hookyard listen` reads), on both stores: the stream replays accepted requests
// after the cursor, sends at most a window ahead of acknowledgements, resumes after the last
// acknowledged request, and still sends a request that commits behind a later one.

const BASE = "/ingest/api/v1/source/bin/listener";

async function setUp(): Promise<{ server: TestServer; ingest: string; sourceId: SourceId }> {
  const server = await startTestServer();
  const made = await api<{ id: SourceId; ingestUrl: string }>(
    server,
    "POST",
    "/ingest/api/v1/source",
    { name: "bin", uid: "bin", type: "request-bin" },
  );
  return { server, ingest: made.json.ingestUrl, sourceId: made.json.id };
}

/** Opens a listener's stream and collects its events until the test ends. */
async function connect(server: TestServer, name: string) {
  const abort = new AbortController();
  const res = await fetch(`${server.url}${BASE}/${name}/stream`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}`, accept: "text/event-stream" },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  const events: ServerSentEvent[] = [];
  const reading = (async () => {
    for await (const event of serverSentEvents(res.body!)) events.push(event);
  })().catch(() => undefined);
  const close = async () => {
    abort.abort();
    await reading;
  };
  onTestFinished(close);
  const requests = () =>
    events
      .filter((e) => e.event === "request")
      .map((e) => JSON.parse(e.data) as { id: string; body: string });
  return { events, requests, close };
}

async function post(url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: "POST", body });
  expect(res.status).toBe(200);
}

async function ack(server: TestServer, name: string, requestId: string) {
  const res = await api<{ cursor: string; acknowledged: number }>(
    server,
    "POST",
    `${BASE}/${name}/ack`,
    { requestId },
  );
  expect(res.status).toBe(200);
  return res.json;
}

describe("listeners", () => {
  it("start at their first connection, then resume after the last acknowledged request", async () => {
    const { server, ingest } = await setUp();
    await post(ingest, "before the listener existed");
    const first = await connect(server, "a");
    await vi.waitFor(() => expect(first.events.map((e) => e.event)).toContain("caught-up"));
    for (let n = 1; n <= 4; n++) await post(ingest, `r${n}`);
    await vi.waitFor(() => expect(first.requests()).toHaveLength(4));
    expect(first.requests().map((r) => r.body)).toEqual(["r1", "r2", "r3", "r4"]);
    await ack(server, "a", first.requests()[0]!.id);
    const state = await ack(server, "a", first.requests()[1]!.id);
    expect(state).toMatchObject({ cursor: first.requests()[1]!.id, acknowledged: 2 });
    await first.close();

    await post(ingest, "r5");
    const again = await connect(server, "a");
    await vi.waitFor(() => expect(again.events.map((e) => e.event)).toContain("caught-up"));
    expect(again.requests().map((r) => r.body)).toEqual(["r3", "r4", "r5"]);
    const caughtUp = again.events.find((e) => e.event === "caught-up")!;
    expect(JSON.parse(caughtUp.data)).toEqual({ replayed: 3 });

    const listed = await api<{ name: string; acknowledged: number }>(server, "GET", `${BASE}/a`);
    expect(listed.json).toMatchObject({ name: "a", acknowledged: 2 });
    expect((await api(server, "GET", `${BASE}/nobody`)).status).toBe(404);
    const nobody = await api(server, "POST", `${BASE}/nobody/ack`, {
      requestId: first.requests()[0]!.id,
    });
    expect(nobody.status).toBe(404);
    expect((await api(server, "GET", `${BASE}/bad%20name/stream`)).status).toBe(422);
    const deleted = await fetch(`${server.url}${BASE}/a`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    expect(deleted.status).toBe(204);
    expect((await api(server, "GET", `${BASE}/a`)).status).toBe(404);
  });

  it("send at most 100 requests ahead of the acknowledgements", async () => {
    const { server, ingest } = await setUp();
    const listener = await connect(server, "slow");
    await vi.waitFor(() => expect(listener.events.map((e) => e.event)).toContain("caught-up"));
    for (let n = 1; n <= 130; n++) await post(ingest, `r${n}`);
    await vi.waitFor(() => expect(listener.requests()).toHaveLength(100));
    // Nothing more until acknowledged: a round trip through the server shows none is on its way.
    await post(ingest, "r131");
    await api(server, "GET", `${BASE}/slow`);
    expect(listener.requests()).toHaveLength(100);
    await ack(server, "slow", listener.requests()[9]!.id);
    await vi.waitFor(() => expect(listener.requests()).toHaveLength(110));
    expect(listener.requests().map((r) => r.body)).toEqual(
      Array.from({ length: 110 }, (_, i) => `r${i + 1}`),
    );
  });

  it("send a request that committed behind a later one once, and not again after a restart", async () => {
    const { server, ingest, sourceId } = await setUp();
    const listener = await connect(server, "late");
    await vi.waitFor(() => expect(listener.events.map((e) => e.event)).toContain("caught-up"));
    await post(ingest, "later");
    await vi.waitFor(() => expect(listener.requests()).toHaveLength(1));
    const later = listener.requests()[0]!.id as InboundRequestId;

    // A request whose id is older than the one sent (it got its id first, committed last).
    // (Same millisecond, smaller random part: after the listener's start, before `later`.)
    const earlier = `${later.slice(0, 4 + 9)}${"0".repeat(17)}1` as InboundRequestId;
    const stored: InboundRequest = {
      id: earlier,
      sourceId,
      status: "accepted",
      reason: null,
      method: "POST",
      path: "",
      query: "",
      headers: {},
      body: Buffer.from("earlier"),
      sourceIp: "127.0.0.1",
      dedupKey: null,
      eventType: null,
      duplicateOf: null,
      createdAt: idTime(later),
    };
    await server.hookyard.store.insertInboundRequest(stored, 0);
    await vi.waitFor(() => expect(listener.requests()).toHaveLength(2), { timeout: 5_000 });
    expect(listener.requests().map((r) => r.body)).toEqual(["later", "earlier"]);

    await ack(server, "late", later);
    await ack(server, "late", earlier);
    await listener.close();
    const again = await connect(server, "late");
    await vi.waitFor(() => expect(again.events.map((e) => e.event)).toContain("caught-up"));
    expect(again.requests()).toEqual([]);
  });

  it("refuse an acknowledgement of an id that is not the listener's, and count each once", async () => {
    const { server, ingest } = await setUp();
    const listener = await connect(server, "a");
    await vi.waitFor(() => expect(listener.events.map((e) => e.event)).toContain("caught-up"));
    await post(ingest, "r1");
    await vi.waitFor(() => expect(listener.requests()).toHaveLength(1));
    const id = listener.requests()[0]!.id;
    const ackOf = (requestId: unknown) =>
      api<{ detail: unknown }>(server, "POST", `${BASE}/a/ack`, { requestId });
    expect((await ackOf("req_x")).status).toBe(422);
    expect((await ackOf(`msg_${id.slice(4)}`)).status).toBe(422);
    expect((await ackOf("x".repeat(65))).status).toBe(422);
    expect((await ackOf(`${id.slice(0, -1)}${id.endsWith("0") ? "1" : "0"}`)).status).toBe(404);
    expect((await ackOf(id)).json).toMatchObject({ acknowledged: 1, cursor: id });
    expect((await ackOf(id)).json).toMatchObject({ acknowledged: 1 });
  });

  it("hold what passes 8 MiB unacknowledged, and take acknowledgements made through another process", async () => {
    const { server, ingest, sourceId } = await setUp();
    const listener = await connect(server, "big");
    await vi.waitFor(() => expect(listener.events.map((e) => e.event)).toContain("caught-up"));
    const big = (n: number) => `${n}`.padEnd(5 * 1024 * 1024, "x");
    for (let n = 1; n <= 3; n++) await post(ingest, big(n));
    await vi.waitFor(() => expect(listener.requests()).toHaveLength(2));
    await api(server, "GET", `${BASE}/big`);
    expect(listener.requests()).toHaveLength(2);

    // Another process of a cluster: its own Listeners on the same database.
    const elsewhere = new Listeners({ store: server.hookyard.store, clock: new SystemClock() });
    const feeds = new ListenerFeeds({
      store: server.hookyard.store,
      clock: new SystemClock(),
      received: new EventEmitter(),
      userAgent: "test",
    });
    await elsewhere.acknowledge(feeds.ofSource(sourceId), "big", listener.requests()[0]!.id);
    await vi.waitFor(() => expect(listener.requests()).toHaveLength(3), { timeout: 5_000 });
    expect(listener.requests().map((r) => r.body.slice(0, 1))).toEqual(["1", "2", "3"]);
  });

  it("end an older connection under the same name when a new one opens", async () => {
    const { server, ingest } = await setUp();
    const first = await connect(server, "same");
    await vi.waitFor(() => expect(first.events.map((e) => e.event)).toContain("caught-up"));
    const second = await connect(server, "same");
    await vi.waitFor(() => expect(first.events.map((e) => e.event)).toContain("replaced"));
    await vi.waitFor(() => expect(second.events.map((e) => e.event)).toContain("caught-up"));
    await post(ingest, "r1");
    await vi.waitFor(() => expect(second.requests()).toHaveLength(1));
    expect(first.requests()).toHaveLength(0);
  });
});
