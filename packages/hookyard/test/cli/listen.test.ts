import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { request as rawRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { runListen, type ListenRequest } from "../../src/cli/listen.js";
import { runCli } from "../../src/cli/main.js";
import { api } from "../helpers/api.js";
import { recordingIo } from "../helpers/cli-io.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";
import { BIN, freePort } from "../helpers/spawn-server.js";

// `hookyard listen`: a real server, real listeners (in-process and as real CLI processes), real
// local apps on 127.0.0.1, requests sent to real ingest URLs.

async function makeBin(server: TestServer, uid: string): Promise<string> {
  const made = await api<{ ingestUrl: string }>(server, "POST", "/ingest/api/v1/source", {
    name: uid,
    uid,
    type: "request-bin",
  });
  expect(made.status).toBe(201);
  return made.json.ingestUrl;
}

/** Sends one request to an ingest URL over plain node:http (repeated headers stay repeated). */
function send(
  url: string,
  opts: { method?: string; path?: string; rawHeaders?: string[]; body?: Buffer | string } = {},
): Promise<number> {
  const target = new URL(url + (opts.path ?? ""));
  const body =
    typeof opts.body === "string" ? Buffer.from(opts.body) : (opts.body ?? Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const req = rawRequest(
      target,
      {
        method: opts.method ?? "POST",
        headers: [
          "host",
          target.host,
          ...(opts.rawHeaders ?? []),
          "content-length",
          String(body.length),
        ],
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** An in-process listener, stopped (as Ctrl-C would) when the test ends. */
function listen(server: TestServer, opts: Partial<ListenRequest> & { forwardTo: string }) {
  const recorded = recordingIo();
  const done = runListen({
    source: "bin",
    app: undefined,
    endpoint: undefined,
    name: undefined,
    json: true,
    server: server.url,
    apiKey: TEST_API_KEY,
    io: recorded.io,
    retryDelayMs: () => 50,
    ...opts,
  });
  onTestFinished(async () => {
    recorded.stop();
    await done;
  });
  const lines = () =>
    recorded
      .stdout()
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { ...recorded, done, lines };
}

describe("hookyard listen", () => {
  it("forwards byte-exact: method, path suffix, query, headers (repeated too) and body", async () => {
    const server = await startTestServer();
    const ingest = await makeBin(server, "bin");
    const app = await startReceiver();
    onTestFinished(() => app.close());
    const listener = listen(server, { forwardTo: `${app.url}webhooks` });
    await vi.waitFor(() => expect(listener.lines().some((l) => l.type === "caught-up")).toBe(true));

    const binary = randomBytes(4096);
    const sent = await send(ingest, {
      path: "/github/push?a=1&b=%20x",
      rawHeaders: ["Content-Type", "application/octet-stream", "X-Tag", "one", "X-Tag", "two"],
      body: binary,
    });
    expect(sent).toBe(200);
    await send(ingest, {
      method: "PUT",
      rawHeaders: [
        "Content-Type",
        "application/x-www-form-urlencoded",
        "X-Hub-Signature-256",
        "sha256=ab",
      ],
      body: "payload=%7B%22a%22%3A1%7D&x=%E2%9C%93",
    });
    await send(ingest, { method: "GET", path: "?ping=1", rawHeaders: ["Accept", "*/*"] });

    const [first, second, third] = await app.waitForCount(3);
    expect(first!.method).toBe("POST");
    expect(first!.url).toBe("/webhooks/github/push?a=1&b=%20x");
    expect(first!.raw.equals(binary)).toBe(true);
    expect(first!.headers["content-type"]).toBe("application/octet-stream");
    expect(first!.headers["x-tag"]).toBe("one, two");
    expect(second!.method).toBe("PUT");
    expect(second!.url).toBe("/webhooks");
    expect(second!.body).toBe("payload=%7B%22a%22%3A1%7D&x=%E2%9C%93");
    expect(second!.headers["x-hub-signature-256"]).toBe("sha256=ab");
    expect(third!.method).toBe("GET");
    expect(third!.url).toBe("/webhooks?ping=1");
    expect(third!.raw.length).toBe(0);

    await vi.waitFor(() =>
      expect(listener.lines().filter((l) => l.type === "request")).toHaveLength(3),
    );
    const line = listener.lines().find((l) => l.type === "request")!;
    expect(line).toMatchObject({ method: "POST", path: "github/push", status: 200, tries: 1 });
  });

  it("retries a local app that is not listening, then answers 503, and keeps the order", async () => {
    const server = await startTestServer();
    const ingest = await makeBin(server, "bin");
    const port = await freePort();
    const listener = listen(server, { forwardTo: `http://127.0.0.1:${port}/hook` });
    await vi.waitFor(() => expect(listener.lines().some((l) => l.type === "caught-up")).toBe(true));
    for (let n = 1; n <= 3; n++) expect(await send(ingest, { body: `{"n":${n}}` })).toBe(200);
    await vi.waitFor(() =>
      expect(listener.lines().filter((l) => l.type === "retry").length).toBeGreaterThan(2),
    );
    expect(listener.lines().find((l) => l.type === "retry")!["error"]).toMatch(/refused/);

    const app = await startReceiver({ port, replies: [503, 503] });
    onTestFinished(() => app.close());
    const received = await app.waitForCount(5);
    // The first request twice answered 503, then taken; the other two after it, in order.
    expect(received.map((r) => r.body)).toEqual([
      '{"n":1}',
      '{"n":1}',
      '{"n":1}',
      '{"n":2}',
      '{"n":3}',
    ]);
    await vi.waitFor(() =>
      expect(listener.lines().filter((l) => l.type === "request")).toHaveLength(3),
    );
  });

  it("replays what arrived while it was stopped, says so, and two listeners each get everything", async () => {
    const server = await startTestServer();
    const ingest = await makeBin(server, "bin");
    const app = await startReceiver();
    onTestFinished(() => app.close());
    const other = await startReceiver();
    onTestFinished(() => other.close());

    // A first run makes the listener "laptop" (its cursor starts now), then it is stopped.
    const first = listen(server, { forwardTo: app.url, name: "laptop" });
    await vi.waitFor(() => expect(first.lines().some((l) => l.type === "caught-up")).toBe(true));
    first.stop();
    expect(await first.done).toBe(0);
    expect(first.lines().at(-1)).toMatchObject({ type: "stopped", forwarded: 0 });

    const second = listen(server, { forwardTo: other.url, name: "desktop" });
    await vi.waitFor(() => expect(second.lines().some((l) => l.type === "caught-up")).toBe(true));
    for (let n = 1; n <= 5; n++) await send(ingest, { body: `{"n":${n}}` });
    await other.waitForCount(5);

    const again = listen(server, { forwardTo: app.url, name: "laptop", json: false });
    const received = await app.waitForCount(5);
    expect(received.map((r) => r.body)).toEqual([1, 2, 3, 4, 5].map((n) => `{"n":${n}}`));
    await vi.waitFor(() => expect(again.stdout()).toContain("caught up: 5 requests received"));
    expect(again.stdout()).toContain("(replayed)");
    expect(other.requests.map((r) => r.body)).toEqual([1, 2, 3, 4, 5].map((n) => `{"n":${n}}`));

    const state = await api<{ acknowledged: number }>(
      server,
      "GET",
      "/ingest/api/v1/source/bin/listener/laptop",
    );
    expect(state.json.acknowledged).toBe(5);
  });

  it("stops on Ctrl-C with exit 0 while the local app holds a request", async () => {
    const server = await startTestServer();
    const ingest = await makeBin(server, "bin");
    const app = await startReceiver({ replies: [{ status: 200, hang: true }] });
    onTestFinished(() => app.close());
    const listener = listen(server, { forwardTo: app.url, json: false });
    await vi.waitFor(() => expect(listener.stdout()).toContain("ready"));
    await send(ingest, { body: "held" });
    await app.waitForCount(1);
    listener.stop();
    expect(await listener.done).toBe(0);
    expect(listener.stdout()).toContain("stopped after forwarding 0 requests");
  });

  it("refuses bad input with one line: no --forward-to, unknown source, wrong key, no server", async () => {
    const server = await startTestServer();
    const env = { HOOKYARD_API_KEY: TEST_API_KEY, HOOKYARD_SERVER_URL: server.url };
    const run = async (argv: string[], extra: Record<string, string> = {}) => {
      const recorded = recordingIo();
      recorded.io.env = { ...env, ...extra };
      const code = await runCli(["listen", ...argv], recorded.io);
      return { code, err: recorded.stderr() };
    };
    const usage = await run(["--source", "bin"]);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("--forward-to <url> is needed");
    expect((await run(["--source", "bin", "--forward-to", "ftp://x"])).code).toBe(2);

    const unknown = await run(["--source", "nope", "--forward-to", "http://127.0.0.1:1/"]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe('hookyard listen: the server answered 404: Source "nope" not found\n');

    await makeBin(server, "bin");
    const wrongKey = await run(["--source", "bin", "--forward-to", "http://127.0.0.1:1/"], {
      HOOKYARD_API_KEY: "wrong_key_0123456789abcdefghijklmnop",
    });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err).toMatch(/^hookyard listen: the server answered 401/);

    const port = await freePort();
    const down = await run(["--source", "bin", "--forward-to", "http://127.0.0.1:1/"], {
      HOOKYARD_SERVER_URL: `http://127.0.0.1:${port}`,
    });
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/^hookyard listen: cannot reach http:\/\/127\.0\.0\.1:\d+/);
  });

  it("delivers 200 requests exactly once and in order across a kill -9 of the listener", async () => {
    const server = await startTestServer();
    const ingest = await makeBin(server, "bin");

    // The local app: it counts a request as delivered once it has answered it. It holds its
    // answer to request 60 until the listener process is killed, so that one is never answered
    // by the first listener and must come again from the second.
    const answered: number[] = [];
    let held: { res: ServerResponse; closed: Promise<void> } | null = null;
    let onHeld: () => void = () => undefined;
    const heldArrived = new Promise<void>((resolve) => (onHeld = resolve));
    const local = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const n = (JSON.parse(Buffer.concat(chunks).toString()) as { n: number }).n;
        if (n === 60 && held === null) {
          held = { res, closed: new Promise((resolve) => res.once("close", () => resolve())) };
          onHeld();
          return;
        }
        res.once("finish", () => answered.push(n));
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => local.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => local.close(() => resolve())));
    local.on("connection", (socket) => onTestFinished(() => void socket.destroy()));
    const forwardTo = `http://127.0.0.1:${(local.address() as AddressInfo).port}/`;

    const start = () => {
      const child = spawn(
        process.execPath,
        [BIN, "listen", "--source", "bin", "--name", "ci", "--forward-to", forwardTo, "--json"],
        {
          env: { ...process.env, HOOKYARD_API_KEY: TEST_API_KEY, HOOKYARD_SERVER_URL: server.url },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      onTestFinished(() => void child.kill("SIGKILL"));
      let output = "";
      child.stdout.on("data", (c: Buffer) => (output += c.toString()));
      child.stderr.on("data", (c: Buffer) => (output += c.toString()));
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      return { child, output: () => output, exited };
    };

    const first = start();
    await vi.waitFor(() => expect(first.output()).toContain('"caught-up"'), { timeout: 15_000 });
    // Requests keep arriving, one after another, while the listener dies and comes back.
    const sending = (async () => {
      for (let n = 1; n <= 200; n++) expect(await send(ingest, { body: `{"n":${n}}` })).toBe(200);
    })();
    await heldArrived;
    first.child.kill("SIGKILL");
    await first.exited;
    await held!.closed;
    expect(answered).toEqual(Array.from({ length: 59 }, (_, i) => i + 1));

    const second = start();
    await sending;
    await vi.waitFor(() => expect(answered.length).toBe(200), { timeout: 30_000, interval: 50 });
    expect(answered).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await vi.waitFor(() => expect(second.output()).toContain('"type":"caught-up","replayed"'));
    second.child.kill("SIGINT");
    await second.exited;
    expect(second.output()).toContain('"type":"stopped"');
  }, 60_000);
});

describe("hookyard listen --app --endpoint", () => {
  it("forwards the endpoint's messages, signed with its secret, and only those its filter takes", async () => {
    const server = await startTestServer();
    await server.svix.application.create({ name: "Acme", uid: "acme" });
    const endpoint = await server.svix.endpoint.create("acme", {
      uid: "billing",
      url: "https://billing.invalid/hooks",
      eventTypes: ["invoice.paid"],
    });
    const { key: secret } = await server.svix.endpoint.getSecret("acme", endpoint.id);
    const app = await startReceiver();
    onTestFinished(() => app.close());
    const listener = listen(server, {
      source: undefined,
      app: "acme",
      endpoint: "billing",
      forwardTo: `${app.url}local`,
    });
    await vi.waitFor(() => expect(listener.lines().some((l) => l.type === "caught-up")).toBe(true));
    const paid = await server.svix.message.create("acme", {
      eventType: "invoice.paid",
      payload: { invoice: "in_1" },
    });
    await server.svix.message.create("acme", { eventType: "user.created", payload: {} });
    await server.svix.message.create("acme", {
      eventType: "invoice.paid",
      payload: { invoice: "in_2" },
    });
    const received = await app.waitForCount(2);
    expect(received.map((r) => r.url)).toEqual(["/local", "/local"]);
    const first = new Webhook(secret).verify(received[0]!.body, received[0]!.headers);
    expect(first).toEqual({ invoice: "in_1" });
    expect(received[0]!.headers["webhook-id"]).toBe(paid.id);
    expect(JSON.parse(received[1]!.body)).toEqual({ invoice: "in_2" });
    await vi.waitFor(() =>
      expect(listener.lines().filter((l) => l.type === "request")).toHaveLength(2),
    );
    expect(app.requests).toHaveLength(2);
  });

  it("says which flags go together", async () => {
    const recorded = recordingIo();
    const code = await runCli(
      ["listen", "--app", "acme", "--forward-to", "http://127.0.0.1:1/"],
      recorded.io,
    );
    expect(code).toBe(2);
    expect(recorded.stderr()).toContain("--app <uid> and --endpoint <id|uid> go together");
  });
});
