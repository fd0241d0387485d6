import { describe, expect, it } from "vitest";
import { apiError } from "../helpers/api-error.js";
import { createTestCa, type TestCa } from "../helpers/certificates.js";
import { httpsRequest, serverTls, svixOverTls } from "../helpers/https-client.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

// server.tls.clientCa: the API wants a client certificate from that CA, on top of its key.

const auth = { authorization: `Bearer ${TEST_API_KEY}` };

async function serverWithClientCa(ca: TestCa) {
  return startTestServer({
    server: { tls: serverTls(ca.server(), ca.cert) },
  });
}

describe("the API with server.tls.clientCa", () => {
  it("answers a request with the CA's client certificate and the key, and refuses one without the certificate", async () => {
    const ca = createTestCa();
    const server = await serverWithClientCa(ca);
    const alice = { ca: ca.cert, identity: ca.client("alice") };

    const withCert = await httpsRequest(`${server.url}/api/v1/app`, alice, { headers: auth });
    expect(withCert.status, withCert.body).toBe(200);

    const without = await httpsRequest(
      `${server.url}/api/v1/app`,
      { ca: ca.cert },
      { headers: auth },
    );
    expect(without.status).toBe(401);
    expect(JSON.parse(without.body)).toEqual({
      code: "authentication_failed",
      detail:
        "A client certificate issued by the API's CA (server.tls.clientCa) is required: no client certificate was presented",
    });
    const ingestApi = await httpsRequest(
      `${server.url}/ingest/api/v1/source`,
      { ca: ca.cert },
      {
        headers: auth,
      },
    );
    expect(ingestApi.status, "the ingest source API is the API too").toBe(401);
  });

  it("still wants the API key from a client with a certificate", async () => {
    const ca = createTestCa();
    const server = await serverWithClientCa(ca);
    const alice = { ca: ca.cert, identity: ca.client("alice") };
    const noKey = await httpsRequest(`${server.url}/api/v1/app`, alice);
    expect(noKey.status).toBe(401);
    expect(JSON.parse(noKey.body)).toMatchObject({
      detail: expect.stringMatching(/^Missing Authorization/),
    });
    const wrongKey = await httpsRequest(`${server.url}/api/v1/app`, alice, {
      headers: { authorization: "Bearer not-the-key" },
    });
    expect(JSON.parse(wrongKey.body)).toMatchObject({ detail: "Invalid API key" });
  });

  it("refuses a certificate of another CA, naming its issuer", async () => {
    const ca = createTestCa();
    const server = await serverWithClientCa(ca);
    const mallory = { ca: ca.cert, identity: createTestCa("Other CA").client("mallory") };
    const res = await httpsRequest(`${server.url}/api/v1/app`, mallory, { headers: auth });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({
      detail: expect.stringMatching(
        /"CN=mallory" \(issued by "CN=Other CA"\) is not issued by a trusted CA$/,
      ),
    });
  });

  it("leaves health, the dashboard and ingest URLs open to clients without a certificate", async () => {
    const ca = createTestCa();
    const server = await serverWithClientCa(ca);
    const anyone = { ca: ca.cert };
    expect((await httpsRequest(`${server.url}/api/v1/health`, anyone)).status).toBe(204);
    expect((await httpsRequest(`${server.url}/`, anyone)).status).toBe(200);

    const svix = svixOverTls(server.url, TEST_API_KEY, { ca: ca.cert, identity: ca.client("ops") });
    const source = await svix.ingest.source.create({ name: "open", type: "generic-webhook" });
    const sent = await httpsRequest(source.ingestUrl!, anyone, { method: "POST", body: "{}" });
    expect(sent.status, sent.body).toBe(200);
  });

  it("works with the svix SDK given the client certificate, and refuses it without", async () => {
    const ca = createTestCa();
    const server = await serverWithClientCa(ca);
    const svix = svixOverTls(server.url, TEST_API_KEY, { ca: ca.cert, identity: ca.client("sdk") });
    const app = await svix.application.create({ name: "mTLS", uid: "mtls" });
    expect((await svix.application.get("mtls")).id).toBe(app.id);

    const bare = svixOverTls(server.url, TEST_API_KEY, { ca: ca.cert });
    const refused = await apiError(bare.application.get("mtls"));
    expect(refused.code).toBe(401);
    expect(refused.body).toMatchObject({ code: "authentication_failed" });
  });

  it("keeps the audit log's old values: its own read of the object needs no certificate", async () => {
    const ca = createTestCa();
    const server = await serverWithClientCa(ca);
    const svix = svixOverTls(server.url, TEST_API_KEY, { ca: ca.cert, identity: ca.client("a") });
    const app = await svix.application.create({ name: "Before" });
    await svix.application.patch(app.id, { name: "After" });
    const log = await httpsRequest(
      `${server.url}/api/v1/audit-log?objectId=${app.id}`,
      { ca: ca.cert, identity: ca.client("a") },
      { headers: auth },
    );
    const entries = (JSON.parse(log.body) as { data: { method: string; changes: unknown }[] }).data;
    expect(entries[0]).toMatchObject({
      method: "PATCH",
      changes: { name: { from: "Before", to: "After" } },
    });
  });
});
