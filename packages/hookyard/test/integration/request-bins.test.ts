import { describe, expect, it } from "vitest";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// Request bins: a source of type request-bin captures anything and answers as configured.

const AUTH = { authorization: `Bearer ${TEST_API_KEY}` };

async function createBin(server: TestServer, config: Record<string, unknown>) {
  const res = await fetch(`${server.url}/ingest/api/v1/source`, {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/json" },
    body: JSON.stringify({ name: "bin", type: "request-bin", config }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; ingestUrl: string };
}

interface Captured {
  id: string;
  method: string;
  path: string;
  query: string;
  body: string;
  bodyEncoding: string;
  sourceIp: string;
  headers: Record<string, string>;
}

async function captured(server: TestServer, binId: string): Promise<Captured[]> {
  const res = await fetch(`${server.url}/ingest/api/v1/source/${binId}/request`, { headers: AUTH });
  return ((await res.json()) as { data: Captured[] }).data;
}

describe("request bins", () => {
  it("captures any method, path, query and body, answers as configured, and keeps the newest N", async () => {
    const server = await startTestServer();
    const bin = await createBin(server, {
      responseStatus: 418,
      responseHeaders: { "x-bin": "yes" },
      responseBody: "I'm a teapot",
      responseDelayMs: 200,
      maxRequests: 3,
    });
    const started = performance.now();
    const first = await fetch(`${bin.ingestUrl}/hooks/deploy?env=prod&sha=abc`);
    expect(performance.now() - started, "the configured delay").toBeGreaterThanOrEqual(150);
    expect(first.status).toBe(418);
    expect(first.headers.get("x-bin")).toBe("yes");
    expect(await first.text()).toBe("I'm a teapot");

    await fetch(bin.ingestUrl, { method: "DELETE" });
    await fetch(bin.ingestUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-trace": "t-1" },
      body: '{"a":1}',
    });
    // The same body again: a bin keeps repeats (no de-duplication).
    await fetch(bin.ingestUrl, {
      method: "PATCH",
      headers: { "content-type": "application/octet-stream" },
      body: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    });

    const kept = await captured(server, bin.id);
    expect(
      kept.map((r) => r.method),
      "the oldest (GET) was evicted",
    ).toEqual(["PATCH", "POST", "DELETE"]);
    expect(kept[0]).toMatchObject({ bodyEncoding: "base64", body: "3q2+7w==" });
    expect(kept[1]).toMatchObject({ body: '{"a":1}', headers: { "x-trace": "t-1" } });
    expect(kept[1]!.sourceIp).toMatch(/127\.0\.0\.1/);
  });

  it("keeps the path suffix and query of a captured request, and deletes one on demand", async () => {
    const server = await startTestServer();
    const bin = await createBin(server, {});
    const res = await fetch(`${bin.ingestUrl}/a/b?x=1`, { method: "PUT", body: "hello" });
    expect(res.status).toBe(200);
    const [request] = await captured(server, bin.id);
    expect(request).toMatchObject({ method: "PUT", path: "a/b", query: "x=1", body: "hello" });
    const url = `${server.url}/ingest/api/v1/source/${bin.id}/request/${request!.id}`;
    expect((await fetch(url, { method: "DELETE", headers: AUTH })).status).toBe(204);
    expect((await fetch(url, { headers: AUTH })).status).toBe(404);
  });

  it("streams captured requests live over Server-Sent Events", async () => {
    const server = await startTestServer();
    const bin = await createBin(server, {});
    const controller = new AbortController();
    const stream = await fetch(`${server.url}/ingest/api/v1/source/${bin.id}/request/stream`, {
      headers: AUTH,
      signal: controller.signal,
    });
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const readMore = async (): Promise<void> => {
      const chunk = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (chunk.done) throw new Error(`the stream ended; got ${JSON.stringify(text)}`);
      text += decoder.decode(chunk.value);
    };
    // The stream is open (its first comment arrived) before the request is sent.
    while (!text.includes(": streaming")) await readMore();

    await fetch(bin.ingestUrl, { method: "POST", body: '{"live":true}' });
    while (!text.includes("event: request")) await readMore();
    while (!text.endsWith("\n\n")) await readMore();
    const data = /data: (.*)\n/.exec(text)?.[1];
    expect(JSON.parse(data!)).toMatchObject({ method: "POST", body: '{"live":true}' });
    controller.abort();
  });

  it("refuses invalid bin settings with 422 naming the field", async () => {
    const server = await startTestServer();
    const res = await fetch(`${server.url}/ingest/api/v1/source`, {
      method: "POST",
      headers: { ...AUTH, "content-type": "application/json" },
      body: JSON.stringify({
        name: "bin",
        type: "request-bin",
        config: { responseDelayMs: 60_000 },
      }),
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({
      detail: [{ loc: ["body", "config", "responseDelayMs"] }],
    });
  });

  it("refuses response headers that could split or reframe the answer, naming the header", async () => {
    const server = await startTestServer();
    const create = async (responseHeaders: unknown) => {
      const res = await fetch(`${server.url}/ingest/api/v1/source`, {
        method: "POST",
        headers: { ...AUTH, "content-type": "application/json" },
        body: JSON.stringify({ name: "bin", type: "request-bin", config: { responseHeaders } }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const refusals: Array<[Record<string, string>, string, RegExp]> = [
      [{ "x-a": "ok\r\nset-cookie: session=evil" }, "x-a", /CR, LF/],
      [{ "x-a": "line\nbreak" }, "x-a", /CR, LF/],
      [{ "x-a": "bell\u0007" }, "x-a", /control characters/],
      [{ "x-a": "euro \u20ac" }, "x-a", /U\+00FF/],
      [{ "Content-Length": "0" }, "Content-Length", /frames the answer/],
      [{ "transfer-encoding": "chunked" }, "transfer-encoding", /frames the answer/],
      [{ connection: "close" }, "connection", /hop-by-hop/],
      [{ upgrade: "websocket" }, "upgrade", /hop-by-hop/],
      [{ host: "example.com" }, "host", /request header/],
      [{ "set-cookie": "a=b" }, "set-cookie", /cookies/],
      [{ "x-content-type-options": "sniff" }, "x-content-type-options", /nosniff/],
      [{ "x a": "v" }, "x a", /not a header name/],
      [{ "x-\r\nevil": "v" }, "x-\r\nevil", /not a header name/],
    ];
    for (const [headers, name, why] of refusals) {
      const res = await create(headers);
      expect(res, `responseHeaders ${JSON.stringify(headers)}`).toMatchObject({
        status: 422,
        body: {
          detail: [
            { loc: ["body", "config", "responseHeaders", name], msg: expect.stringMatching(why) },
          ],
        },
      });
    }
    expect((await create({ "x-a": 1 })).status, "a value that is not a string").toBe(422);

    const bin = await create({ "retry-after": "5", "x-tab": "a\tb", "x-latin": "caf\u00e9" });
    expect(bin.status, JSON.stringify(bin.body)).toBe(201);
    const answer = await fetch(bin.body["ingestUrl"] as string);
    expect(answer.headers.get("retry-after")).toBe("5");
    expect(answer.headers.get("x-tab")).toBe("a\tb");
    await answer.body?.cancel();
    expect((await captured(server, bin.body["id"] as string)).length).toBe(1);
  });

  it("replays a captured request to a destination of the bin, byte-exact", async () => {
    const server = await startTestServer();
    const receiver = await startReceiver();
    const bin = await createBin(server, {});
    const body = Buffer.from([0x01, 0xfe, 0x7b, 0x7d]);
    await fetch(`${bin.ingestUrl}?q=1`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "x-origin": "probe" },
      body,
    });
    const [request] = await captured(server, bin.id);
    // A destination added afterwards: the capture was not forwarded, the replay is.
    const dest = await server.svix.ingest.endpoint.create(bin.id, { url: receiver.url });
    const replay = (endpointId: string) =>
      fetch(`${server.url}/ingest/api/v1/source/${bin.id}/request/${request!.id}/replay`, {
        method: "POST",
        headers: { ...AUTH, "content-type": "application/json" },
        body: JSON.stringify({ endpointId }),
      });
    const res = await replay(dest.id);
    expect(res.status).toBe(202);
    const [arrived] = await receiver.waitForCount(1);
    expect(arrived!.raw.equals(body)).toBe(true);
    expect(arrived!.headers).toMatchObject({ "x-origin": "probe" });
    expect((await replay("ep_missing")).status).toBe(404);
  });

  it("replays a capture to a URL, which then gets replays only, never the bin's traffic", async () => {
    const server = await startTestServer();
    const target = await startReceiver();
    const bin = await createBin(server, {});
    await fetch(bin.ingestUrl, { method: "POST", body: '{"n":1}' });
    const [first] = await captured(server, bin.id);
    const replay = (body: unknown) =>
      fetch(`${server.url}/ingest/api/v1/source/${bin.id}/request/${first!.id}/replay`, {
        method: "POST",
        headers: { ...AUTH, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await replay({ url: target.url })).status).toBe(202);
    const [arrived] = await target.waitForCount(1);
    expect(arrived!.body).toBe('{"n":1}');

    // New traffic to the bin is not forwarded to the replay target...
    await fetch(bin.ingestUrl, { method: "POST", body: '{"n":2}' });
    // ...and a second replay to the same URL reuses its destination.
    expect((await replay({ url: target.url })).status).toBe(202);
    const [, again] = await target.waitForCount(2);
    expect(again!.body).toBe('{"n":1}');
    const destinations = await server.svix.ingest.endpoint.list(bin.id);
    expect(destinations.data).toHaveLength(1);
    expect(target.requests.map((r) => r.body)).toEqual(['{"n":1}', '{"n":1}']);

    expect((await replay({})).status, "neither endpointId nor url").toBe(422);
    expect((await replay({ url: "ftp://example.com/x" })).status).toBe(422);
  });
});
