import { performance } from "node:perf_hooks";
import { describe, expect, it, onTestFinished } from "vitest";
import { HttpSender, type HttpSenderDeps } from "../../src/delivery/http-sender.js";
import { parseCidrList, type LookupFn } from "../../src/delivery/ssrf-guard.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

const LOOPBACK = parseCidrList("127.0.0.1/32");

function newSender(overrides: Partial<HttpSenderDeps> = {}): HttpSender {
  const sender = new HttpSender({
    allow: LOOPBACK,
    timeoutMs: 5_000,
    connectionsPerOrigin: 4,
    maxResponseBodyBytes: 64 * 1024,
    ...overrides,
  });
  onTestFinished(() => sender.close());
  return sender;
}

async function receiver(opts: Parameters<typeof startReceiver>[0] = {}): Promise<Receiver> {
  const r = await startReceiver(opts);
  onTestFinished(() => r.close());
  return r;
}

/** A resolver that answers from a table and counts its calls. */
function fakeDns(
  answer: (hostname: string, call: number) => string[],
): LookupFn & { calls: number } {
  const lookup = Object.assign(
    (hostname: string) => {
      lookup.calls++;
      const addresses = answer(hostname, lookup.calls);
      if (addresses.length === 0) {
        const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
          code: "ENOTFOUND",
        });
        return Promise.reject(err);
      }
      return Promise.resolve(
        addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
      );
    },
    { calls: 0 },
  );
  return lookup;
}

const JSON_HEADERS = { "content-type": "application/json", "webhook-id": "msg_1" };

describe("HTTP sender", () => {
  it("delivers the body and headers and captures the response", async () => {
    const r = await receiver({
      replies: [{ status: 201, headers: { "X-Receiver": "yes" }, body: "thanks" }],
    });
    const sender = newSender();
    const outcome = await sender.send({
      url: `${r.url}hooks?x=1`,
      headers: JSON_HEADERS,
      body: '{"a":1}',
    });
    expect(outcome).toMatchObject({
      statusCode: 201,
      body: "thanks",
      errorClass: null,
      errorMessage: null,
      headers: expect.objectContaining({ "x-receiver": "yes", "content-length": "6" }),
    });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
    const request = await r.nextRequest();
    expect(request).toMatchObject({
      method: "POST",
      url: "/hooks?x=1",
      body: '{"a":1}',
      headers: expect.objectContaining({ ...JSON_HEADERS, host: `127.0.0.1:${r.port}` }),
    });
  });

  it("truncates the response body to the limit without splitting a UTF-8 character", async () => {
    const r = await receiver({
      replies: [
        { status: 200, body: "héllo wörld" },
        { status: 200, body: "ok" },
      ],
    });
    const sender = newSender({ maxResponseBodyBytes: 2 });
    const first = await sender.send({ url: r.url, headers: {}, body: "" });
    expect(first.body, "'h' fits, the 2-byte 'é' does not").toBe("h");
    expect((await sender.send({ url: r.url, headers: {}, body: "" })).body).toBe("ok");
  });

  it("discards a large response body beyond the limit without hanging", async () => {
    const big = "x".repeat(2 * 1024 * 1024);
    const r = await receiver({ replies: [{ status: 200, body: big }, { status: 204 }] });
    const sender = newSender({ maxResponseBodyBytes: 1024 });
    const first = await sender.send({ url: r.url, headers: {}, body: "" });
    expect(first).toMatchObject({ statusCode: 200, errorClass: null });
    expect(first.body).toHaveLength(1024);
    const second = await sender.send({ url: r.url, headers: {}, body: "" });
    expect(second).toMatchObject({ statusCode: 204, errorClass: null });
  });

  it("reuses one keep-alive connection for sequential requests to an origin", async () => {
    const r = await receiver();
    const sender = newSender({ connectionsPerOrigin: 1 });
    for (let i = 0; i < 5; i++) {
      const outcome = await sender.send({ url: r.url, headers: {}, body: `{"n":${i}}` });
      expect(outcome.statusCode, `request ${i}`).toBe(200);
    }
    const sockets = new Set(r.requests.map((req) => req.socketId));
    expect(sockets.size, `socket ids ${[...sockets].join(",")}`).toBe(1);
  });

  it("never opens more connections to an origin than configured", async () => {
    const r = await receiver({ defaultReply: { status: 200, delayMs: 20 } });
    const sender = newSender({ connectionsPerOrigin: 3 });
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => sender.send({ url: r.url, headers: {}, body: `${i}` })),
    );
    expect(outcomes.map((o) => o.statusCode)).toEqual(Array.from({ length: 12 }, () => 200));
    for (let i = 0; i < 12; i++) {
      await sender.send({ url: r.url, headers: {}, body: "sequential" });
    }
    const sockets = new Set(r.requests.map((req) => req.socketId));
    expect(sockets.size, `socket ids ${[...sockets].join(",")}`).toBeLessThanOrEqual(3);
  });

  it("returns a 302 as a response and does not follow it", async () => {
    const r = await receiver({ replies: [{ status: 302, headers: { location: "/elsewhere" } }] });
    const sender = newSender();
    const outcome = await sender.send({ url: r.url, headers: {}, body: "" });
    expect(outcome).toMatchObject({
      statusCode: 302,
      errorClass: null,
      headers: expect.objectContaining({ location: "/elsewhere" }),
    });
    expect(r.requests.map((req) => req.url)).toEqual(["/"]);
  });

  it("reports a refused connection as connect", async () => {
    const r = await startReceiver();
    const url = r.url;
    await r.close();
    const sender = newSender();
    const outcome = await sender.send({ url, headers: {}, body: "" });
    expect(outcome).toMatchObject({ statusCode: 0, headers: null, errorClass: "connect" });
    expect(outcome.errorMessage).toContain("ECONNREFUSED");
  });

  it("times out a receiver that never answers", async () => {
    const r = await receiver({ replies: [{ status: 200, hang: true }] });
    const sender = newSender({ timeoutMs: 300 });
    const outcome = await sender.send({ url: r.url, headers: {}, body: "" });
    expect(outcome).toMatchObject({ statusCode: 0, errorClass: "timeout" });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(250);
    expect(outcome.durationMs).toBeLessThan(3_000);
    expect(outcome.errorMessage).toContain("300 ms");
  });

  it("times out a receiver whose headers arrive too late", async () => {
    const r = await receiver({ replies: [{ status: 200, delayMs: 2_000 }] });
    const sender = newSender({ timeoutMs: 300 });
    const outcome = await sender.send({ url: r.url, headers: {}, body: "" });
    expect(outcome).toMatchObject({ statusCode: 0, errorClass: "timeout" });
  });

  it("refuses a hostname that resolves to loopback unless loopback is allow-listed", async () => {
    const r = await receiver();
    const lookup = fakeDns(() => ["127.0.0.1"]);
    const strict = newSender({ allow: [], lookup });
    const refused = await strict.send({
      url: `http://evil.example:${r.port}/`,
      headers: {},
      body: "",
    });
    expect(refused).toMatchObject({
      statusCode: 0,
      errorClass: "egress_blocked",
      errorMessage:
        "evil.example resolves to a refused address: loopback address 127.0.0.1 is not allowed",
    });
    expect(r.requests, "the request is never made").toHaveLength(0);

    const open = newSender({ allow: LOOPBACK, lookup });
    const allowed = await open.send({
      url: `http://evil.example:${r.port}/`,
      headers: {},
      body: "",
    });
    expect(allowed).toMatchObject({ statusCode: 200, errorClass: null });
    expect((await r.nextRequest()).headers.host, "Host keeps the name").toBe(
      `evil.example:${r.port}`,
    );
  });

  it("refuses the cloud metadata address given as an IP literal", async () => {
    const lookup = fakeDns(() => {
      throw new Error("an IP literal must not be resolved");
    });
    const sender = newSender({ allow: [], lookup });
    const outcome = await sender.send({
      url: "http://169.254.169.254/latest/meta-data/",
      headers: {},
      body: "",
    });
    expect(outcome).toMatchObject({ statusCode: 0, errorClass: "egress_blocked" });
    expect(outcome.errorMessage).toContain("169.254.169.254");
  });

  it("pins the checked address so a rebinding answer is only seen after the TTL, and refused", async () => {
    // 127.0.0.2 plays the public address (allow-listed); 127.0.0.1 is the rebinding target.
    const r = await receiver({ host: "127.0.0.2" });
    const lookup = fakeDns((_host, call) => (call === 1 ? ["127.0.0.2"] : ["127.0.0.1"]));
    let skewMs = 0;
    const sender = newSender({
      allow: parseCidrList("127.0.0.2/32"),
      lookup,
      dnsTtlMs: 60_000,
      now: () => performance.now() + skewMs,
    });
    const url = `http://rebind.example:${r.port}/`;
    for (let i = 0; i < 3; i++) {
      const outcome = await sender.send({ url, headers: {}, body: "" });
      expect(outcome, `request ${i} within the TTL`).toMatchObject({
        statusCode: 200,
        errorClass: null,
      });
    }
    expect(lookup.calls, "resolved once within the TTL").toBe(1);
    expect(r.requests).toHaveLength(3);

    skewMs += 61_000;
    const after = await sender.send({ url, headers: {}, body: "" });
    expect(after).toMatchObject({ statusCode: 0, errorClass: "egress_blocked" });
    expect(after.errorMessage).toContain("127.0.0.1");
    expect(lookup.calls).toBe(2);
    expect(r.requests, "nothing more reached any receiver").toHaveLength(3);
  });

  it("reports an unresolvable name as dns", async () => {
    const sender = newSender({ lookup: fakeDns(() => []) });
    const outcome = await sender.send({ url: "https://nowhere.example/", headers: {}, body: "" });
    expect(outcome).toMatchObject({
      statusCode: 0,
      errorClass: "dns",
      errorMessage: expect.stringContaining("ENOTFOUND"),
    });
  });

  it("reports a URL the guard rejects as invalid_url", async () => {
    const sender = newSender();
    for (const url of ["ftp://example.com/", "not a url", "http://user:pw@127.0.0.1/"]) {
      const outcome = await sender.send({ url, headers: {}, body: "" });
      expect(outcome, url).toMatchObject({ statusCode: 0, errorClass: "invalid_url" });
    }
  });

  it("reports a failed TLS handshake as tls", async () => {
    const r = await receiver(); // plain HTTP: the TLS client cannot parse its answer
    const sender = newSender();
    const outcome = await sender.send({
      url: `https://127.0.0.1:${r.port}/`,
      headers: {},
      body: "",
    });
    expect(outcome).toMatchObject({ statusCode: 0, errorClass: "tls" });
  });

  it("answers sends after close with a failure and closes idempotently", async () => {
    const r = await receiver();
    const sender = newSender();
    expect((await sender.send({ url: r.url, headers: {}, body: "" })).statusCode).toBe(200);
    await sender.close();
    await sender.close();
    const outcome = await sender.send({ url: r.url, headers: {}, body: "" });
    expect(outcome).toMatchObject({
      statusCode: 0,
      errorClass: "network",
      errorMessage: "the sender is closed",
    });
  });
});
