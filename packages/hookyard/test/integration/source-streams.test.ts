import { connect, type Socket } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// The live stream of a source's requests (Server-Sent Events), as `hookyard tail` reads it,
// with raw sockets: a client that never reads must not make the server buffer without bound.

async function createBin(server: TestServer): Promise<{ id: string; ingestUrl: string }> {
  const res = await fetch(`${server.url}/ingest/api/v1/source`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bin", type: "request-bin" }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; ingestUrl: string };
}

interface RawStream {
  socket: Socket;
  /** The response head and whatever followed it in the first chunk. */
  head: string;
}

/** Opens the stream on a raw socket and resolves with the first bytes of the answer. */
async function openStream(server: TestServer, sourceId: string): Promise<RawStream> {
  const { port } = new URL(server.url);
  const socket = connect(Number(port), "127.0.0.1");
  onTestFinished(() => void socket.destroy());
  socket.write(
    `GET /ingest/api/v1/source/${sourceId}/request/stream HTTP/1.1\r\nhost: x\r\n` +
      `authorization: Bearer ${TEST_API_KEY}\r\naccept: text/event-stream\r\n\r\n`,
  );
  const head = await new Promise<string>((resolve, reject) => {
    socket.once("data", (chunk: Buffer) => resolve(chunk.toString("latin1")));
    socket.once("error", reject);
  });
  return { socket, head };
}

describe("request streams", () => {
  it("disconnects a client that stops reading, keeping what the server buffers for it bounded", async () => {
    const server = await startTestServer();
    const bin = await createBin(server);
    const serverSockets: Socket[] = [];
    server.hookyard.http.server.on("connection", (s: Socket) => serverSockets.push(s));
    const client = await openStream(server, bin.id);
    expect(client.head).toMatch(/^HTTP\/1\.1 200/);
    // From here on the client reads nothing: the kernel's buffers fill, then Node's.
    client.socket.pause();
    const serverSide = serverSockets.find((s) => s.remotePort === client.socket.localPort);
    expect(serverSide, "the server's end of the stream's connection").toBeDefined();

    const body = "x".repeat(512 * 1024);
    let sent = 0;
    let mostBuffered = 0;
    // 60 × 512 KiB = 30 MiB: far more than loopback's socket buffers hold (a few MiB).
    while (sent < 60 && !serverSide!.destroyed) {
      const res = await fetch(bin.ingestUrl, { method: "POST", body });
      expect(res.status).toBe(200);
      await res.body?.cancel();
      sent++;
      mostBuffered = Math.max(mostBuffered, serverSide!.writableLength);
    }
    await expect
      .poll(() => serverSide!.destroyed, {
        timeout: 5_000,
        message: `the server should close a stream its client does not read (after ${sent} requests, ${mostBuffered} bytes buffered at most)`,
      })
      .toBe(true);
    expect(sent, "closed before all 30 MiB were sent").toBeLessThan(60);
    // One event may sit in the socket's buffer above the 16 KiB mark; the rest waits in the
    // stream's own backlog (at most 1 MiB), then the stream is closed.
    expect(mostBuffered, "bytes Node buffered for the stalled client").toBeLessThan(1024 * 1024);

    // The client, reading again, gets what was sent before the close, then the end.
    const ended = new Promise<void>((resolve) => client.socket.once("close", () => resolve()));
    client.socket.resume();
    await ended;

    // A reading client is still served after that.
    const next = await openStream(server, bin.id);
    expect(next.head).toMatch(/^HTTP\/1\.1 200/);
    const event = new Promise<string>((resolve) =>
      next.socket.once("data", (c: Buffer) => resolve(c.toString())),
    );
    await (await fetch(bin.ingestUrl, { method: "POST", body: "after" })).body?.cancel();
    expect(await event).toContain("event: request");
  });

  it("answers 429 past 32 open streams of one API key, and takes one again when one closes", async () => {
    const server = await startTestServer();
    const bin = await createBin(server);
    const open: RawStream[] = [];
    for (let i = 0; i < 32; i++) open.push(await openStream(server, bin.id));
    for (const [i, stream] of open.entries()) {
      expect(stream.head, `stream ${i + 1}`).toMatch(/^HTTP\/1\.1 200/);
    }
    const refused = await fetch(`${server.url}/ingest/api/v1/source/${bin.id}/request/stream`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("15");
    expect(await refused.json()).toMatchObject({
      code: "too_many_requests",
      detail: expect.stringContaining("32 streams open"),
    });

    open[0]!.socket.destroy();
    await expect
      .poll(
        async () => {
          const again = await openStream(server, bin.id);
          const status = /^HTTP\/1\.1 (\d+)/.exec(again.head)?.[1];
          if (status !== "200") again.socket.destroy();
          return status;
        },
        { timeout: 5_000, message: "a stream is taken again once one of the 32 closed" },
      )
      .toBe("200");
  });
});
