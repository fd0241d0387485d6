import { once } from "node:events";
import { Writable } from "node:stream";
import { connect } from "node:tls";
import pino from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { createTestCa } from "../helpers/certificates.js";
import { httpsRequest, serverTls, svixOverTls } from "../helpers/https-client.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

// Hookyard's own HTTPS listener (server.tls, issue 16), with certificates the test issues.

/** A pino logger whose JSON lines are kept, to read the "hookyard listening" line. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

describe("the HTTPS listener (server.tls)", () => {
  it("serves over HTTPS: its URL and log line say https, node:https and the svix SDK reach it", async () => {
    const ca = createTestCa();
    const { logger, lines } = recordingLogger();
    const server = await startTestServer({
      logger,
      server: { tls: serverTls(ca.server()) },
    });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(lines.find((line) => line["msg"] === "hookyard listening")).toMatchObject({
      url: server.url,
    });

    const health = await httpsRequest(`${server.url}/api/v1/health`, { ca: ca.cert });
    expect(health.status).toBe(204);

    const svix = svixOverTls(server.url, TEST_API_KEY, { ca: ca.cert });
    const app = await svix.application.create({ name: "Over TLS", uid: "over-tls" });
    expect((await svix.application.get("over-tls")).id).toBe(app.id);
    const source = await svix.ingest.source.create({ name: "bin", type: "generic-webhook" });
    expect(source.ingestUrl, "an ingest URL handed out over HTTPS is https").toMatch(
      new RegExp(`^${server.url}/in/`),
    );
    const received = await httpsRequest(
      source.ingestUrl!,
      { ca: ca.cert },
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"over":"tls"}',
      },
    );
    expect(received.status, received.body).toBe(200);
  });

  it("presents the configured certificate and speaks nothing but TLS", async () => {
    const ca = createTestCa();
    const server = await startTestServer({ server: { tls: serverTls(ca.server()) } });
    const otherCa = createTestCa("Another CA");
    await expect(
      httpsRequest(`${server.url}/api/v1/health`, { ca: otherCa.cert }),
      "a client trusting another CA refuses the server's certificate",
    ).rejects.toThrow(/certificate/);
    const plain = server.url.replace(/^https:/, "http:");
    await expect(fetch(`${plain}/api/v1/health`), "plain HTTP to the TLS port").rejects.toThrow();
  });

  it(
    "keeps the request timeout over TLS: headers that never end get 408",
    { timeout: 10_000 },
    async () => {
      const ca = createTestCa();
      const server = await startTestServer({
        server: { tls: serverTls(ca.server()), requestTimeoutMs: 300 },
      });
      const socket = connect({
        host: "127.0.0.1",
        port: Number(new URL(server.url).port),
        ca: ca.cert,
      });
      onTestFinished(() => void socket.destroy());
      await once(socket, "secureConnect");
      let answer = "";
      socket.on("data", (chunk: Buffer) => (answer += chunk.toString("utf8")));
      socket.write("GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      await once(socket, "close");
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    },
  );
});
