import { describe, expect, it, onTestFinished } from "vitest";
import type { Sender } from "../../src/delivery/engine.js";
import { EndpointEgress } from "../../src/delivery/endpoint-egress.js";
import { HttpSender } from "../../src/delivery/http-sender.js";
import { ThreadedSender } from "../../src/delivery/sender-thread.js";
import { parseCidrList } from "../../src/delivery/ssrf-guard.js";
import type { Endpoint } from "../../src/model.js";
import { createTestCa } from "../helpers/certificates.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startReceiver, type Receiver, type ReceiverOptions } from "../helpers/receiver.js";
import { Seed } from "../helpers/seed.js";
import { bearerOf, startTokenServer, TokenIssuer } from "../helpers/token-server.js";

const SETTINGS = { timeoutMs: 3_000, connectionsPerOrigin: 2, maxResponseBodyBytes: 16 * 1024 };

/** Both senders the engine may use: PEMs must reach the sending thread as well. */
const SENDERS: [string, () => Sender][] = [
  ["in process", () => new HttpSender({ ...SETTINGS, allow: parseCidrList("127.0.0.1/32") })],
  [
    "on the sending thread",
    () =>
      new ThreadedSender(
        { ...SETTINGS, egressAllow: ["127.0.0.1/32"] },
        { onFailure: (err) => expect.unreachable(String(err)) },
      ),
  ],
];

const ca = createTestCa("Receiver CA");
const otherCa = createTestCa("Some other CA");
const serverCert = ca.server();
const alice = ca.client("alice");
const bob = ca.client("bob");
const seed = new Seed();

function egressOver(makeSender: () => Sender): EndpointEgress {
  const sender = makeSender();
  onTestFinished(() => sender.close());
  return new EndpointEgress({ sender, clock: new FakeClock(), userAgent: "Hookyard/test" });
}

async function receiver(opts: ReceiverOptions = {}): Promise<Receiver> {
  const r = await startReceiver(opts);
  onTestFinished(() => r.close());
  return r;
}

function endpoint(url: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return seed.endpoint("app_egress", { url, ...overrides });
}

function withClientCert(url: string, pair: { cert: string; key: string } | null): Endpoint {
  return endpoint(url, {
    tls: { clientCert: pair?.cert ?? null, ca: ca.cert },
    tlsClientKey: pair?.key ?? null,
  });
}

const request = (url: string, headers: Record<string, string> = {}) => ({
  url,
  headers: { "content-type": "application/json", ...headers },
  body: "{}",
});

describe.each(SENDERS)("endpoint TLS options, sender %s", (_name, makeSender) => {
  it("presents the client certificate to a receiver that requires one", async () => {
    const r = await receiver({
      tls: { ...serverCert, ca: ca.cert, requestCert: true },
    });
    const egress = egressOver(makeSender);
    const outcome = await egress.send(withClientCert(r.url, alice), request(r.url));
    expect(outcome).toMatchObject({ statusCode: 200, errorClass: null });
    expect(r.requests[0]?.clientCertCommonName).toBe("alice");

    const without = await egress.send(withClientCert(r.url, null), request(r.url));
    expect(without).toMatchObject({ statusCode: 0, errorClass: "tls" });
    expect(without.errorMessage).toBe(
      "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: tlsv13 alert certificate required; " +
        "the receiver asks for a client certificate: set tls.clientCert and tls.clientKey",
    );
    expect(r.requests, "nothing reached the receiver without a certificate").toHaveLength(1);
  });

  it("trusts a private CA only when the endpoint names it", async () => {
    const r = await receiver({ tls: serverCert });
    const egress = egressOver(makeSender);
    const trusted = endpoint(r.url, { tls: { clientCert: null, ca: ca.cert } });
    expect(await egress.send(trusted, request(r.url))).toMatchObject({ statusCode: 200 });

    const systemRoots = await egress.send(endpoint(r.url), request(r.url));
    expect(systemRoots).toMatchObject({ statusCode: 0, errorClass: "tls" });
    expect(systemRoots.errorMessage).toMatch(
      /does not chain to a system root: give its CA as tls.ca$/,
    );

    const wrongCa = endpoint(r.url, { tls: { clientCert: null, ca: otherCa.cert } });
    const refused = await egress.send(wrongCa, request(r.url));
    expect(refused).toMatchObject({ statusCode: 0, errorClass: "tls" });
    expect(refused.errorMessage).toMatch(/does not chain to the endpoint's tls.ca$/);
    expect(r.requests).toHaveLength(1);
  });
});

describe("endpoint egress", () => {
  it("never lets two client certificates share a connection to one origin", async () => {
    const r = await receiver({ tls: { ...serverCert, ca: ca.cert, requestCert: true } });
    const egress = egressOver(SENDERS[0]![1]);
    const asAlice = withClientCert(r.url, alice);
    const asBob = withClientCert(r.url, bob);
    for (let round = 0; round < 3; round++) {
      await Promise.all([
        egress.send(asAlice, request(r.url, { "x-as": "alice" })),
        egress.send(asBob, request(r.url, { "x-as": "bob" })),
      ]);
    }
    expect(r.requests).toHaveLength(6);
    for (const req of r.requests) {
      expect(req.clientCertCommonName, `request sent as ${req.headers["x-as"]}`).toBe(
        req.headers["x-as"],
      );
    }
    const socketsOf = (name: string) =>
      new Set(r.requests.filter((q) => q.headers["x-as"] === name).map((q) => q.socketId));
    const shared = [...socketsOf("alice")].filter((id) => socketsOf("bob").has(id));
    expect(shared, "connections used by both").toEqual([]);
  });

  it("sends bearer and basic credentials as Authorization, replacing one the request had", async () => {
    const r = await receiver();
    const egress = egressOver(SENDERS[0]![1]);
    const bearer = endpoint(r.url, { auth: { type: "bearer" }, authSecret: "tok_123" });
    const basic = endpoint(r.url, {
      auth: { type: "basic", username: "ops" },
      authSecret: "pässword",
    });
    await egress.send(bearer, request(r.url, { Authorization: "Bearer forwarded" }));
    await egress.send(basic, request(r.url));
    await egress.send(endpoint(r.url), request(r.url, { authorization: "Bearer forwarded" }));
    expect(r.requests.map((q) => q.headers["authorization"])).toEqual([
      "Bearer tok_123",
      `Basic ${Buffer.from("ops:pässword", "utf8").toString("base64")}`,
      "Bearer forwarded",
    ]);
  });

  it("fetches an OAuth token once, and anew after the endpoint answers 401", async () => {
    const issuer = new TokenIssuer({ clientId: "hy", clientSecret: "cs" });
    const tokenServer = await startTokenServer(issuer);
    const r = await receiver({ respond: (req) => (issuer.accepts(bearerOf(req)) ? 200 : 401) });
    const egress = egressOver(SENDERS[0]![1]);
    const ep = endpoint(r.url, {
      auth: {
        type: "oauth2",
        tokenUrl: tokenServer.tokenUrl,
        clientId: "hy",
        scope: null,
        audience: null,
      },
      authSecret: "cs",
    });
    expect(await egress.send(ep, request(r.url))).toMatchObject({ statusCode: 200 });
    expect(await egress.send(ep, request(r.url))).toMatchObject({ statusCode: 200 });
    issuer.revoke("tok-1");
    expect(await egress.send(ep, request(r.url)), "no second request at once").toMatchObject({
      statusCode: 401,
      errorClass: null,
    });
    expect(await egress.send(ep, request(r.url))).toMatchObject({ statusCode: 200 });
    expect(r.requests.map(bearerOf)).toEqual(["tok-1", "tok-1", "tok-1", "tok-2"]);
    expect(tokenServer.requests).toHaveLength(2);
  });

  it("fails with errorClass auth, sending nothing, when no token can be had", async () => {
    const issuer = new TokenIssuer({ clientId: "hy", clientSecret: "right" });
    const tokenServer = await startTokenServer(issuer);
    const r = await receiver();
    const egress = egressOver(SENDERS[0]![1]);
    const ep = endpoint(r.url, {
      auth: {
        type: "oauth2",
        tokenUrl: tokenServer.tokenUrl,
        clientId: "hy",
        scope: null,
        audience: null,
      },
      authSecret: "wrong",
    });
    expect(await egress.send(ep, request(r.url))).toMatchObject({
      statusCode: 0,
      errorClass: "auth",
      errorMessage: `token endpoint ${tokenServer.tokenUrl} answered 401: invalid_client (bad client credentials)`,
    });
    expect(r.requests).toEqual([]);
  });
});
