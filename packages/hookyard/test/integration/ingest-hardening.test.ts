import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_SECRETS_KEY } from "../helpers/secrets.js";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { configDefaults } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { startHookyard } from "../../src/main.js";
import { createLogger } from "../../src/observability/logger.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";
import { testDatabaseUrl } from "../helpers/test-store.js";

// The ingest edge under hostile senders (issue 18): nothing is read before the token is known,
// bodies are metered against the source's limit and a process-wide budget, paths cannot climb
// out of a destination's path, and NULs and deep JSON are 4xx (or "not JSON"), never 5xx.

const AUTH = { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" };
const MiB = 1024 * 1024;
/** Longest wait for an answer on a raw socket before the test fails naming what it sent. */
const ANSWER_WAIT_MS = 5_000;

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface RawUpload {
  /** Resolves with the complete answer, whether or not the body was all sent. */
  answer: Promise<RawAnswer>;
  write(bytes: string | Buffer): void;
  socket: Socket;
}

/**
 * An HTTP/1.1 request written by hand on its own socket, so the body can stop part way (fetch
 * would send it all, and normalizes `%2e%2e` in paths away). `firstBytes` follows the head; the
 * socket stays open for `write` until the server closes it or the test ends.
 */
function rawUpload(
  base: string,
  head: { method?: string; path: string; headers?: Record<string, string> },
  firstBytes: string | Buffer = "",
): RawUpload {
  const { port, hostname } = new URL(base);
  const socket = connect(Number(port), hostname);
  onTestFinished(() => {
    socket.destroy();
  });
  const lines = [`${head.method ?? "POST"} ${head.path} HTTP/1.1`, `host: ${hostname}:${port}`];
  for (const [name, value] of Object.entries(head.headers ?? {})) lines.push(`${name}: ${value}`);
  socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  if (firstBytes.length > 0) socket.write(firstBytes);
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    const parsed = (): RawAnswer | null => {
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return null;
      const [statusLine = "", ...fields] = received
        .subarray(0, end)
        .toString("latin1")
        .split("\r\n");
      const headers: Record<string, string> = {};
      for (const field of fields) {
        const colon = field.indexOf(":");
        headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
      }
      const body = received.subarray(end + 4);
      const length = Number(headers["content-length"] ?? NaN);
      if (!Number.isNaN(length) && body.length < length) return null;
      return { status: Number(statusLine.split(" ")[1]), headers, body: body.toString("utf8") };
    };
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const done = parsed();
      if (done !== null) resolve(done);
    });
    socket.on("close", () => {
      reject(new Error(`${head.path}: socket closed before a whole answer: ${String(received)}`));
    });
    socket.on("error", () => {
      // A server closing on a sender still writing resets the socket; the answer came first.
    });
    socket.setTimeout(ANSWER_WAIT_MS, () => {
      reject(new Error(`${head.path}: no answer within ${ANSWER_WAIT_MS} ms`));
      socket.destroy();
    });
  });
  // Handled here too: a test that never awaits an upload it hung up on is not a failure.
  answer.catch(() => undefined);
  return { answer, write: (bytes) => socket.write(bytes), socket };
}

/** Resolves once the server has closed the socket (bounded by the socket's idle timeout). */
async function closedByServer(upload: RawUpload): Promise<void> {
  if (!upload.socket.destroyed) await once(upload.socket, "close");
}

/** A request through node:http, which sends `path` exactly as written (dots and escapes kept). */
function sendPath(
  base: string,
  path: string,
  body = "{}",
): Promise<{ status: number; body: string }> {
  const { port, hostname } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        path,
        method: "POST",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function createSource(
  url: string,
  type: string,
  config: Record<string, unknown> = {},
): Promise<{ id: string; ingestUrl: string; path: string; token: string }> {
  const res = await fetch(`${url}/ingest/api/v1/source`, {
    method: "POST",
    headers: AUTH,
    body: JSON.stringify({ name: type, type, config }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const { id, ingestUrl } = (await res.json()) as { id: string; ingestUrl: string };
  const path = new URL(ingestUrl).pathname;
  return { id, ingestUrl, path, token: path.split("/")[2]! };
}

async function storedRequests(url: string, sourceId: string) {
  const res = await fetch(`${url}/ingest/api/v1/source/${sourceId}/request`, { headers: AUTH });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Array<Record<string, unknown>> }).data;
}

async function addDestination(url: string, sourceId: string, destination: string) {
  const res = await fetch(`${url}/ingest/api/v1/source/${sourceId}/endpoint`, {
    method: "POST",
    headers: AUTH,
    body: JSON.stringify({ url: destination }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

/**
 * A real Hookyard like startTestServer's, with `inbound` settings of its own (the helper takes
 * none): the bytes-in-flight budget.
 */
async function startServerWith(
  inbound: Partial<Config["inbound"]>,
  server: Partial<Config["server"]> = {},
): Promise<{ url: string }> {
  const dir = await mkdtemp(join(tmpdir(), "hookyard-test-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const defaults = configDefaults();
  const hookyard = await startHookyard(
    {
      ...defaults,
      server: { ...defaults.server, host: "127.0.0.1", port: 0, ...server },
      database: { ...defaults.database, url: await testDatabaseUrl(dir) },
      auth: { apiKey: TEST_API_KEY },
      secrets: { ...defaults.secrets, key: TEST_SECRETS_KEY },
      delivery: { ...defaults.delivery, egressAllow: ["127.0.0.1/32"] },
      inbound: { ...defaults.inbound, ...inbound },
      log: { level: "silent" },
    },
    { logger: pino({ level: "silent" }) },
  );
  onTestFinished(() => hookyard.close());
  return { url: hookyard.url };
}

/**
 * Two uploads of the same size sent at once when only one fits the budget: which one the server
 * reads first is up to it. Resolves with the answer of the refused one and the other, held.
 */
async function oneRefused(a: RawUpload, b: RawUpload) {
  return Promise.race([
    a.answer.then((refused) => ({ refused, held: b })),
    b.answer.then((refused) => ({ refused, held: a })),
  ]);
}

describe("ingest: nothing is read before the token is known", () => {
  it("answers an unknown token with 404 while the sender is still uploading", async () => {
    const { url } = await startTestServer();
    const upload = rawUpload(
      url,
      { path: "/in/no-such-token", headers: { "content-length": String(20 * MiB) } },
      "x".repeat(1024),
    );
    const answer = await upload.answer;
    expect(answer).toMatchObject({
      status: 404,
      headers: { connection: "close", "x-content-type-options": "nosniff" },
    });
    expect(JSON.parse(answer.body)).toEqual({
      code: "not_found",
      detail: "No source has this ingest URL",
    });
    await closedByServer(upload); // the other 20 MiB are never waited for
  });

  it("answers 413 at once when the declared length passes the source's own limit", async () => {
    const { url } = await startTestServer();
    const source = await createSource(url, "generic-webhook", { maxBodyBytes: 1024 });
    const upload = rawUpload(
      url,
      { path: source.path, headers: { "content-length": String(20 * MiB) } },
      "x".repeat(1024),
    );
    const answer = await upload.answer;
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "payload_too_large" });
    await closedByServer(upload);
    expect(await storedRequests(url, source.id), "nothing stored").toEqual([]);
  });

  it("answers 413 as soon as a chunked body passes the source's limit, without its end", async () => {
    const { url } = await startTestServer();
    const source = await createSource(url, "generic-webhook", { maxBodyBytes: 1024 });
    const chunk = (n: number) => `${n.toString(16)}\r\n${"x".repeat(n)}\r\n`;
    const upload = rawUpload(
      url,
      { path: source.path, headers: { "transfer-encoding": "chunked" } },
      chunk(800),
    );
    upload.write(chunk(800)); // 1600 bytes: past the limit; the final chunk never comes
    const answer = await upload.answer;
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({
      code: "payload_too_large",
      detail: expect.stringContaining("at most 1024"),
    });
    await closedByServer(upload);

    const small = rawUpload(
      url,
      { path: source.path, headers: { "transfer-encoding": "chunked" } },
      `${chunk(1000)}0\r\n\r\n`,
    );
    expect((await small.answer).status, "a chunked body within the limit").toBe(200);
    expect(await storedRequests(url, source.id)).toHaveLength(1);
  });
});

describe("ingest: bytes in flight", () => {
  it("answers 503 with Retry-After past the budget, and frees it when an upload ends", async () => {
    const { url } = await startServerWith({ maxBytesInFlight: 100_000 });
    const source = await createSource(url, "generic-webhook");
    const declared = (n: number) => ({
      path: source.path,
      headers: { "content-length": String(n), "content-type": "application/octet-stream" },
    });

    const [a, b] = ["a", "b"].map((c) => rawUpload(url, declared(60_000), c.repeat(1024)));
    const { refused, held } = await oneRefused(a!, b!);
    expect(refused).toMatchObject({
      status: 503,
      headers: { "retry-after": "5", connection: "close", "x-content-type-options": "nosniff" },
    });
    expect(JSON.parse(refused.body)).toMatchObject({ code: "service_unavailable" });

    // A body of undeclared length is counted as it arrives: 50 000 more bytes do not fit.
    const chunked = rawUpload(
      url,
      { path: source.path, headers: { "transfer-encoding": "chunked" } },
      `${(50_000).toString(16)}\r\n${"c".repeat(50_000)}\r\n`,
    );
    expect((await chunked.answer).status, "chunked body past the budget").toBe(503);

    held.write("h".repeat(60_000 - 1024));
    expect((await held.answer).status, "the held upload completes").toBe(200);

    const third = rawUpload(url, declared(60_000), "b".repeat(60_000));
    expect((await third.answer).status, "the budget is free again").toBe(200);
    const stored = await storedRequests(url, source.id);
    expect(stored.map((r) => r["status"])).toEqual(["accepted", "accepted"]);
  });

  it("frees the budget of an upload that hangs up or times out", async () => {
    const { url } = await startServerWith({ maxBytesInFlight: 100_000 }, { requestTimeoutMs: 500 });
    const source = await createSource(url, "generic-webhook");
    const head = { path: source.path, headers: { "content-length": "60000" } };

    const slow = rawUpload(url, head, "s".repeat(100));
    const timedOut = await slow.answer;
    expect(timedOut.status, "the slow upload gets 408 Request Timeout").toBe(408);
    await closedByServer(slow);

    const { refused, held: quitter } = await oneRefused(
      rawUpload(url, head, "q".repeat(100)),
      rawUpload(url, head, "q".repeat(100)),
    );
    expect(refused.status, "one of two uploads while the other holds the budget").toBe(503);
    quitter.socket.destroy();

    await expect
      .poll(async () => (await rawUpload(url, head, "d".repeat(60_000)).answer).status, {
        timeout: 5_000,
        message: "an upload once the quitter's bytes are released",
      })
      .toBe(200);
  });
});

describe("ingest: the path after the token", () => {
  it("refuses dot segments and encoded slashes with 400, storing and forwarding nothing", async () => {
    const { url } = await startTestServer();
    const destination = await startReceiver();
    const source = await createSource(url, "generic-webhook");
    await addDestination(url, source.id, `${destination.url}hooks/github`);

    for (const suffix of [
      "/%2e%2e/%2e%2e/admin",
      "/%2E%2e/admin",
      "/../admin",
      "/a/./b",
      "/.%09./admin",
      "/..%2Fadmin",
      "/a%2fb",
      "/a%5Cb",
      "/a\\b",
    ]) {
      const res = await sendPath(url, `${source.path}${suffix}`);
      expect(res.status, suffix).toBe(400);
      expect(JSON.parse(res.body), suffix).toMatchObject({
        code: "bad_request",
        detail: expect.stringMatching(/^The path after the ingest token contains /),
      });
    }
    expect(await storedRequests(url, source.id), "refused paths are not stored").toEqual([]);

    // Escaped once more, `%252e%252e` passes (it is no dot segment) and is stored as the router
    // decoded it, `%2e%2e`: the forward must not let the destination's URL parser climb on it.
    expect((await sendPath(url, `${source.path}/%252e%252e/%252E%252e/admin`)).status).toBe(200);
    expect((await sendPath(url, `${source.path}/deploy/prod`)).status).toBe(200);
    const got = await destination.waitForCount(2);
    expect(got.map((r) => r.url).sort()).toEqual([
      "/hooks/github/%252e%252e/%252E%252e/admin",
      "/hooks/github/deploy/prod",
    ]);
  });
});

describe("ingest and the API: NULs and deep JSON are 4xx, never 5xx", () => {
  it("takes a JSON body with \\u0000 or nested 100,000 deep as not JSON, and forwards it as is", async () => {
    const { url } = await startTestServer();
    const destination = await startReceiver();
    const source = await createSource(url, "generic-webhook");
    await addDestination(url, source.id, destination.url);
    const nul = JSON.stringify({ type: "push\u0000", id: "evt\u0000" });
    const deep = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    for (const body of [nul, deep]) {
      const res = await fetch(source.ingestUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(res.status, body.slice(0, 40)).toBe(200);
    }
    const stored = await storedRequests(url, source.id);
    expect(stored).toHaveLength(2);
    for (const request of stored) {
      expect(request, "no event type read from an unsafe body").toMatchObject({
        status: "accepted",
        eventType: null,
      });
    }
    const forwarded = await destination.waitForCount(2);
    expect(forwarded.map((r) => r.body).sort()).toEqual([deep, nul].sort());
  });

  it("refuses %00 in an ingest path or query with 400", async () => {
    const { url } = await startTestServer();
    const source = await createSource(url, "generic-webhook", { eventTypeField: "event" });
    for (const path of [`${source.path}/a%00b`, `${source.path}?event=a%00b`, "/in/a%00b"]) {
      const res = await sendPath(url, path);
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body), path).toMatchObject({ code: "bad_request" });
    }
    expect(await storedRequests(url, source.id)).toEqual([]);
  });

  it("answers NULs and deep JSON on the management API with 4xx naming the field", async () => {
    const { url, svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const post = async (path: string, body: string | Buffer) => {
      const res = await fetch(`${url}${path}`, { method: "POST", headers: AUTH, body });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

    expect(await post("/api/v1/app", JSON.stringify({ name: "a\u0000b" }))).toEqual({
      status: 422,
      body: {
        detail: [
          {
            loc: ["body", "name"],
            msg: "contains a NUL character (\\u0000), which Hookyard does not store",
            type: "value_error.nul",
          },
        ],
      },
    });
    expect(
      await post("/api/v1/app", JSON.stringify({ name: "A", metadata: { "k\u0000": "v" } })),
    ).toMatchObject({ status: 422, body: { detail: [{ loc: ["body", "metadata", "k\u0000"] }] } });
    expect(await post("/api/v1/app", Buffer.from('{"name":"a\u0000b"}')), "a raw NUL byte").toEqual(
      {
        status: 400,
        body: { code: "bad_request", detail: expect.stringContaining("not valid JSON") },
      },
    );
    expect(await post("/api/v1/app", deep(100_000))).toMatchObject({
      status: 422,
      body: { detail: [{ loc: ["body", "0"], type: "value_error.too_deep" }] },
    });
    expect(
      await post(`/api/v1/app/${app.id}/msg`, `{"eventType":"a","payload":{"d":${deep(100_000)}}}`),
    ).toMatchObject({
      status: 422,
      body: { detail: [{ loc: ["body", "payload"], msg: "is nested deeper than 128 levels" }] },
    });

    // A payload is kept as JSON text: its NULs stay escaped, on both stores.
    const kept = await post(
      `/api/v1/app/${app.id}/msg`,
      JSON.stringify({ eventType: "a", payload: { text: "x\u0000y" } }),
    );
    expect(kept.status).toBe(202);
    const read = await fetch(`${url}/api/v1/app/${app.id}/msg/${kept.body["id"] as string}`, {
      headers: AUTH,
    });
    expect(((await read.json()) as { payload: unknown }).payload).toEqual({ text: "x\u0000y" });
    // The body, its payload and 126 arrays: 128 levels pass, 129 do not.
    const nested = (n: number) => `{"eventType":"a","payload":{"d":${deep(n)}}}`;
    expect((await post(`/api/v1/app/${app.id}/msg`, nested(126))).status, "128 levels").toBe(202);
    expect((await post(`/api/v1/app/${app.id}/msg`, nested(127))).status, "129 levels").toBe(422);

    for (const path of ["/api/v1/app/a%00b", "/api/v1/app?iterator=a%00b"]) {
      const res = await fetch(`${url}${path}`, { headers: AUTH });
      expect(res.status, path).toBe(400);
      expect(await res.json(), path).toMatchObject({ code: "bad_request" });
    }
  });
});

describe("ingest: what the sender and the logs see", () => {
  it("never logs an ingest token, only its first 4 characters", async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: "info",
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString());
          callback();
        },
      }),
    });
    const { url } = await startTestServer({ logger });
    const source = await createSource(url, "generic-webhook", { maxBodyBytes: 10 });
    expect((await sendPath(url, `${source.path}/deploy?x=1`)).status).toBe(200);
    expect((await sendPath(url, `${source.path}/deploy`, "x".repeat(11))).status).toBe(413);
    // Fastify answers a bad escape itself (no request line); its message quotes the URL.
    expect((await sendPath(url, `${source.path}/%zz`)).status, "a bad escape").toBe(400);

    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const leaking = lines.filter((line) => line.includes(source.token));
    expect(leaking, "log lines with the token").toEqual([]);
    const shown = `/in/${source.token.slice(0, 4)}…`;
    expect(records.filter((r) => r["msg"] === "request finished").map((r) => r["url"])).toEqual(
      expect.arrayContaining([`${shown}/deploy?x=1`, `${shown}/deploy`]),
    );
  });

  it("answers with nosniff, also when a bin answers with its own content type", async () => {
    const { url } = await startTestServer();
    const bin = await createSource(url, "request-bin", {
      responseStatus: 200,
      responseContentType: "text/html",
      responseBody: "<script>alert(1)</script>",
    });
    const res = await fetch(bin.ingestUrl, { method: "POST", body: "{}" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
