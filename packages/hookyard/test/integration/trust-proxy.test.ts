import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// inbound.trustProxy: X-Forwarded-For names the client only on a connection from a trusted
// proxy. Loopback has the whole 127.0.0.0/8: a request from 127.0.0.2 is another peer than one
// from 127.0.0.1, so the test plays both the load balancer and a client that bypasses it.

const PROXY = "127.0.0.2";
const CLIENT = "203.0.113.7";

function send(
  url: string,
  opts: { from: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? "POST",
        headers: { "content-type": "application/json", ...opts.headers },
        localAddress: opts.from,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(opts.body ?? "{}");
  });
}

async function allowListedSource(server: TestServer, from = "127.0.0.1", headers = {}) {
  const res = await send(`${server.url}/ingest/api/v1/source`, {
    from,
    headers: { authorization: `Bearer ${TEST_API_KEY}`, ...headers },
    body: JSON.stringify({
      name: "behind the LB",
      type: "generic-webhook",
      config: { allowedIps: [`${CLIENT}/32`] },
    }),
  });
  expect(res.status, res.body).toBe(201);
  return JSON.parse(res.body) as { id: string; ingestUrl: string };
}

async function sourceIps(server: TestServer, sourceId: string): Promise<string[]> {
  const res = await fetch(`${server.url}/ingest/api/v1/source/${sourceId}/request`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
  const { data } = (await res.json()) as { data: { sourceIp: string }[] };
  return data.map((r) => r.sourceIp);
}

describe("inbound.trustProxy", () => {
  it("takes the client from X-Forwarded-For on a connection from a trusted proxy only", async () => {
    const server = await startTestServer({ inbound: { trustProxy: [`${PROXY}/32`] } });
    const source = await allowListedSource(server);
    const forwarded = { "x-forwarded-for": CLIENT };

    const viaProxy = await send(source.ingestUrl, { from: PROXY, headers: forwarded });
    expect(viaProxy.status, `from the proxy for ${CLIENT}: ${viaProxy.body}`).toBe(200);
    const bypassing = await send(source.ingestUrl, { from: "127.0.0.1", headers: forwarded });
    expect(bypassing.status, "the same header from an untrusted peer").toBe(403);
    expect(JSON.parse(bypassing.body)).toMatchObject({
      detail: "source IP 127.0.0.1 is not in the source's allowedIps",
    });
    expect(await sourceIps(server, source.id)).toEqual(["127.0.0.1", CLIENT]);
  });

  it("reads the address the proxy appended, not one the client put before it", async () => {
    const server = await startTestServer({ inbound: { trustProxy: [PROXY] } });
    const source = await allowListedSource(server);
    // The client sent X-Forwarded-For: 203.0.113.7 itself; the proxy appended its real address.
    const res = await send(source.ingestUrl, {
      from: PROXY,
      headers: { "x-forwarded-for": `${CLIENT}, 198.51.100.9` },
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({
      detail: "source IP 198.51.100.9 is not in the source's allowedIps",
    });
  });

  it("ignores X-Forwarded-For from everyone by default", async () => {
    const server = await startTestServer();
    const source = await allowListedSource(server);
    const res = await send(source.ingestUrl, {
      from: PROXY,
      headers: { "x-forwarded-for": CLIENT },
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({
      detail: `source IP ${PROXY} is not in the source's allowedIps`,
    });
  });

  it("builds the ingest URLs it hands out from a trusted proxy's X-Forwarded-Proto and -Host", async () => {
    const server = await startTestServer({ inbound: { trustProxy: [PROXY] } });
    const headers = { "x-forwarded-proto": "https", "x-forwarded-host": "hooks.example.com" };
    const viaProxy = await allowListedSource(server, PROXY, headers);
    expect(viaProxy.ingestUrl).toMatch(/^https:\/\/hooks\.example\.com\/in\//);
    const direct = await allowListedSource(server, "127.0.0.1", headers);
    expect(direct.ingestUrl.startsWith(`${server.url}/in/`), direct.ingestUrl).toBe(true);
  });

  it("counts wrong API keys per forwarded client, not for the whole proxy", async () => {
    const server = await startTestServer({ inbound: { trustProxy: [PROXY] } });
    const from = (client: string, key: string) =>
      send(`${server.url}/api/v1/app`, {
        from: PROXY,
        method: "GET",
        headers: { "x-forwarded-for": client, authorization: `Bearer ${key}` },
        body: "",
      });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await from(CLIENT, "wrong-key")).status);
    expect(new Set(statuses), "twenty wrong keys").toEqual(new Set([401]));
    expect((await from(CLIENT, TEST_API_KEY)).status, "the guessing client").toBe(429);
    expect((await from("198.51.100.9", TEST_API_KEY)).status, "another client, same proxy").toBe(
      200,
    );
  });
});
