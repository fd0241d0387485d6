import { describe, expect, it, onTestFinished } from "vitest";
import { api } from "../helpers/api.js";
import { createTestCa } from "../helpers/certificates.js";
import { startReceiver, type Receiver, type ReceiverOptions } from "../helpers/receiver.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

/**
 * Endpoint TLS options through the real server and its default sender (the sending thread):
 * real certificates (openssl), real HTTPS receivers on loopback.
 */

const ca = createTestCa("Customer CA");
const serverCert = ca.server();
const client = ca.client("hookyard-tenant-1");

interface AttemptJson {
  responseStatusCode: number;
  errorClass: string | null;
  errorMessage: string | null;
}

async function httpsReceiver(tls: NonNullable<ReceiverOptions["tls"]>): Promise<Receiver> {
  const r = await startReceiver({ tls });
  onTestFinished(() => r.close());
  return r;
}

/** An endpoint created over HTTP (`tls` is a Hookyard extension the svix SDK cannot send). */
async function createEndpoint(server: TestServer, appId: string, body: object): Promise<string> {
  const res = await api<{ id: string }>(server, "POST", `/api/v1/app/${appId}/endpoint`, body);
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.id;
}

/** The endpoint's attempts once `count` are recorded, oldest first. */
async function attemptsOf(server: TestServer, appId: string, endpointId: string, count: number) {
  let attempts: AttemptJson[] = [];
  await expect
    .poll(
      async () => {
        const path = `/api/v1/app/${appId}/attempt/endpoint/${endpointId}`;
        attempts = (await api<{ data: AttemptJson[] }>(server, "GET", path)).json.data;
        return attempts.length;
      },
      { timeout: 10_000 },
    )
    .toBe(count);
  return attempts.reverse();
}

describe("endpoint TLS options through the real server", () => {
  it("delivers over mTLS with the endpoint's client certificate and fails as tls without", async () => {
    const receiver = await httpsReceiver({ ...serverCert, ca: ca.cert, requestCert: true });
    const server = await startTestServer({ delivery: { retrySchedule: [] } });
    const app = await server.svix.application.create({ name: "A" });
    const withCert = await createEndpoint(server, app.id, {
      url: receiver.url,
      tls: { clientCert: client.cert, clientKey: client.key, ca: ca.cert },
    });
    const withoutCert = await createEndpoint(server, app.id, {
      url: receiver.url,
      tls: { ca: ca.cert },
    });
    await server.svix.message.create(app.id, { eventType: "a.b", payload: { n: 1 } });

    const delivered = await receiver.nextRequest({ timeoutMs: 10_000 });
    expect(delivered.clientCertCommonName).toBe("hookyard-tenant-1");
    expect(await attemptsOf(server, app.id, withCert, 1)).toMatchObject([
      { responseStatusCode: 200, errorClass: null },
    ]);
    const [refused] = await attemptsOf(server, app.id, withoutCert, 1);
    expect(refused).toMatchObject({ responseStatusCode: 0, errorClass: "tls" });
    expect(refused?.errorMessage).toMatch(/certificate required; the receiver asks for a client/);
    expect(receiver.requests, "only the request with the certificate arrived").toHaveLength(1);
  });

  it("checks the receiver against the endpoint's CA bundle, which a private CA needs", async () => {
    const receiver = await httpsReceiver(serverCert);
    const server = await startTestServer({ delivery: { retrySchedule: [] } });
    const app = await server.svix.application.create({ name: "A" });
    const trusting = await createEndpoint(server, app.id, {
      url: receiver.url,
      tls: { ca: ca.cert },
    });
    const systemRoots = await createEndpoint(server, app.id, { url: receiver.url });
    await server.svix.message.create(app.id, { eventType: "a.b", payload: {} });

    expect(await attemptsOf(server, app.id, trusting, 1)).toMatchObject([
      { responseStatusCode: 200, errorClass: null },
    ]);
    const [untrusted] = await attemptsOf(server, app.id, systemRoots, 1);
    expect(untrusted).toMatchObject({ responseStatusCode: 0, errorClass: "tls" });
    expect(untrusted?.errorMessage).toMatch(/give its CA as tls\.ca$/);
    expect(receiver.requests).toHaveLength(1);
  });
});
