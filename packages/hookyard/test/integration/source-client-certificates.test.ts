import { X509Certificate } from "node:crypto";
import { Agent } from "node:https";
import { describe, expect, it, onTestFinished } from "vitest";
import { createTestCa, type KeyPair, type TestCa } from "../helpers/certificates.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { httpsRequest, serverTls, type TlsClient } from "../helpers/https-client.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// A source's clientCa (issue 16): its ingest URL takes requests only over a connection whose
// client certificate the source's CA issued, as banks and some enterprise senders require.

/** The CA of the server's own certificate; the sender's certificates come from `bank`. */
const hookyardCa = createTestCa("Hookyard Server CA");
const bank = createTestCa("Bank CA");

interface RecordedRequest {
  status: string;
  reason: string | null;
}

async function api<T>(
  server: TestServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await httpsRequest(
    `${server.url}${path}`,
    { ca: hookyardCa.cert },
    {
      method,
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    },
  );
  return { status: res.status, json: (res.body === "" ? null : JSON.parse(res.body)) as T };
}

async function httpsServer(opts: { clock?: FakeClock } = {}): Promise<TestServer> {
  return startTestServer({ server: { tls: serverTls(hookyardCa.server()) }, ...opts });
}

async function sourceWithCa(
  server: TestServer,
  ca: TestCa | string,
  config = {},
  type = "generic-webhook",
) {
  const created = await api<{ id: string; ingestUrl: string; config: Record<string, unknown> }>(
    server,
    "POST",
    "/ingest/api/v1/source",
    { name: "bank", type, config: { clientCa: typeof ca === "string" ? ca : ca.cert, ...config } },
  );
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  return created.json;
}

function sender(identity?: KeyPair): TlsClient {
  return { ca: hookyardCa.cert, ...(identity !== undefined && { identity }) };
}

async function requestsOf(server: TestServer, sourceId: string): Promise<RecordedRequest[]> {
  const listed = await api<{ data: RecordedRequest[] }>(
    server,
    "GET",
    `/ingest/api/v1/source/${sourceId}/request`,
  );
  return listed.json.data;
}

const post = { method: "POST", headers: { "content-type": "application/json" }, body: "{}" };

describe("a source that requires a client certificate (clientCa)", () => {
  it("accepts a request with a certificate its CA issued and refuses one without, recording why", async () => {
    const server = await httpsServer();
    const source = await sourceWithCa(server, bank);
    expect(source.config["clientCa"], "the CA is shown back: it is no secret").toBe(bank.cert);

    const accepted = await httpsRequest(source.ingestUrl, sender(bank.client("payments")), post);
    expect(accepted.status, accepted.body).toBe(200);
    const refused = await httpsRequest(source.ingestUrl, sender(), post);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toEqual({
      code: "verification_failed",
      detail: "no client certificate was presented",
    });
    expect(await requestsOf(server, source.id)).toEqual([
      expect.objectContaining({
        status: "rejected",
        reason: "no client certificate was presented",
      }),
      expect.objectContaining({ status: "accepted", reason: null }),
    ]);
  });

  it("refuses a certificate of another CA, even the server's own, naming the issuer", async () => {
    const server = await httpsServer();
    const source = await sourceWithCa(server, bank);
    for (const identity of [createTestCa("Other CA").client("mallory"), hookyardCa.client("ops")]) {
      const issuer = new X509Certificate(identity.cert).issuer;
      const res = await httpsRequest(source.ingestUrl, sender(identity), post);
      expect(res.status, `a certificate issued by ${issuer}`).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({
        code: "verification_failed",
        detail: expect.stringContaining(`(issued by "${issuer}") is not issued by a trusted CA`),
      });
    }
    const statuses = (await requestsOf(server, source.id)).map((r) => r.status);
    expect(statuses).toEqual(["rejected", "rejected"]);
  });

  it("refuses a certificate that has expired by the server's clock", async () => {
    const identity = bank.client("late");
    const validTo = Date.parse(new X509Certificate(identity.cert).validTo);
    const server = await httpsServer({ clock: new FakeClock(validTo + 60_000) });
    const source = await sourceWithCa(server, bank);
    const res = await httpsRequest(source.ingestUrl, sender(identity), post);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({
      detail: `the client certificate "CN=late" expired at ${new Date(validTo).toISOString()}`,
    });
  });

  it("accepts a chain through an intermediate the sender presents, on a resumed TLS session too", async () => {
    const server = await httpsServer();
    const source = await sourceWithCa(server, bank);
    const issuing = bank.intermediate("Bank Issuing CA");
    const leaf = issuing.client("batch");
    const agent = new Agent({ keepAlive: false, maxCachedSessions: 10 });
    onTestFinished(() => agent.destroy());
    const chain = { cert: `${leaf.cert}${issuing.cert}`, key: leaf.key };
    const first = await httpsRequest(source.ingestUrl, sender(chain), { ...post, agent });
    expect(first.status, first.body).toBe(200);
    const second = await httpsRequest(source.ingestUrl, sender(chain), { ...post, agent });
    expect(second.resumed, "the second connection resumed the TLS session").toBe(true);
    expect(second.status, second.body).toBe(200);

    const withoutIntermediate = await httpsRequest(source.ingestUrl, sender(leaf), post);
    expect(withoutIntermediate.status).toBe(401);
  });

  it("comes on top of the source's own check: a bearer source needs the token and the certificate", async () => {
    const server = await httpsServer();
    const source = await sourceWithCa(server, bank, { token: "bank-token-0123456789" }, "bearer");
    const token = { authorization: "Bearer bank-token-0123456789" };
    const both = await httpsRequest(source.ingestUrl, sender(bank.client("a")), {
      ...post,
      headers: { ...post.headers, ...token },
    });
    expect(both.status, both.body).toBe(200);
    const noCertificate = await httpsRequest(source.ingestUrl, sender(), {
      ...post,
      headers: { ...post.headers, ...token },
    });
    expect(JSON.parse(noCertificate.body)).toMatchObject({
      detail: "no client certificate was presented",
    });
    const noToken = await httpsRequest(source.ingestUrl, sender(bank.client("a")), post);
    expect(noToken.status).toBe(401);
    const { detail } = JSON.parse(noToken.body) as { detail: string };
    expect(detail, "the token check failed, not the certificate's").not.toMatch(/certificate/);
  });
});

describe("setting a source's clientCa", () => {
  it("refuses what is not a PEM bundle of certificates with 422 naming the field", async () => {
    const server = await httpsServer();
    for (const [clientCa, msg] of [
      ["not a certificate", "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"],
      [`${bank.cert}${bank.key}`, "holds a private key; give the CA's certificates only"],
      [42, "must be a PEM bundle of CA certificates"],
    ] as const) {
      const res = await api<unknown>(server, "POST", "/ingest/api/v1/source", {
        name: "bad",
        type: "generic-webhook",
        config: { clientCa },
      });
      expect(res.status, `clientCa ${JSON.stringify(clientCa).slice(0, 30)}`).toBe(422);
      expect(res.json).toEqual({
        detail: [{ loc: ["body", "config", "clientCa"], msg, type: "value_error" }],
      });
    }
  });

  it("refuses it on a server without HTTPS, at creation and update", async () => {
    const server = await startTestServer();
    const call = (method: string, path: string, config: Record<string, unknown>) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "bank", type: "generic-webhook", config }),
      });
    const created = await call("POST", "/ingest/api/v1/source", { clientCa: bank.cert });
    expect(created.status).toBe(422);
    expect(await created.json()).toMatchObject({
      detail: [
        {
          loc: ["body", "config", "clientCa"],
          msg: expect.stringMatching(/^needs HTTPS: this server has no server\.tls\.cert/),
        },
      ],
    });
    const plain = await call("POST", "/ingest/api/v1/source", {});
    const { id } = (await plain.json()) as { id: string };
    const updated = await call("PUT", `/ingest/api/v1/source/${id}`, { clientCa: bank.cert });
    expect(updated.status).toBe(422);
  });
});
