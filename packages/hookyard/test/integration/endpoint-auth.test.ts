import { once } from "node:events";
import { describe, expect, it, onTestFinished } from "vitest";
import type { DeliveryEngine } from "../../src/delivery/engine.js";
import type { Attempt } from "../../src/model.js";
import { api } from "../helpers/api.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startReceiver, type Receiver, type ReceiverOptions } from "../helpers/receiver.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { bearerOf, startTokenServer, TokenIssuer } from "../helpers/token-server.js";

/**
 * Endpoint auth through the real server and its sending thread: basic and bearer credentials,
 * and OAuth 2.0 client credentials against a real token endpoint on loopback, with retries
 * driven by an injected clock.
 */

const RARE_SWEEPS = { sweepIntervalMs: 600_000 };

async function receiver(opts: ReceiverOptions = {}): Promise<Receiver> {
  const r = await startReceiver(opts);
  onTestFinished(() => r.close());
  return r;
}

/** Resolves with the next attempt the engine records. */
async function nextAttempt(engine: DeliveryEngine): Promise<Attempt> {
  const [attempt] = await once(engine, "attempt", { signal: AbortSignal.timeout(10_000) });
  return attempt as Attempt;
}

async function createEndpoint(server: TestServer, appId: string, body: object): Promise<string> {
  const res = await api<{ id: string }>(server, "POST", `/api/v1/app/${appId}/endpoint`, body);
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.id;
}

async function oauthSetup() {
  const clock = new FakeClock(Date.UTC(2025, 0, 1));
  const issuer = new TokenIssuer({ clientId: "hookyard", clientSecret: "cs-1", expiresIn: 3600 });
  const tokens = await startTokenServer(issuer);
  const resource = await receiver({
    respond: (req) => (issuer.accepts(bearerOf(req)) ? 200 : 401),
  });
  const server = await startTestServer({ clock, random: () => 0.5, engine: RARE_SWEEPS });
  const app = await server.svix.application.create({ name: "A" });
  const endpointId = await createEndpoint(server, app.id, {
    url: resource.url,
    auth: {
      type: "oauth2",
      tokenUrl: tokens.tokenUrl,
      clientId: "hookyard",
      clientSecret: "cs-1",
      scope: "webhooks",
    },
  });
  const publish = (n: number) =>
    server.svix.message.create(app.id, { eventType: "a.b", payload: { n } });
  return { clock, issuer, tokens, resource, server, app, endpointId, publish };
}

describe("endpoint auth through the real server", () => {
  it("sends basic and bearer credentials as the Authorization header", async () => {
    const r = await receiver();
    const server = await startTestServer();
    const app = await server.svix.application.create({ name: "A" });
    await createEndpoint(server, app.id, {
      url: `${r.url}basic`,
      auth: { type: "basic", username: "ops", password: "pässword" },
    });
    await createEndpoint(server, app.id, {
      url: `${r.url}bearer`,
      auth: { type: "bearer", token: "tok_static" },
    });
    await server.svix.message.create(app.id, { eventType: "a.b", payload: {} });
    const requests = await r.waitForCount(2, { timeoutMs: 10_000 });
    const byPath = Object.fromEntries(requests.map((q) => [q.url, q.headers["authorization"]]));
    expect(byPath).toEqual({
      "/basic": `Basic ${Buffer.from("ops:pässword", "utf8").toString("base64")}`,
      "/bearer": "Bearer tok_static",
    });
  });

  it("fetches one OAuth token for many messages and a new one after a 401", async () => {
    const { clock, issuer, tokens, resource, server, publish } = await oauthSetup();
    const engine = server.hookyard.engine;
    for (const n of [1, 2, 3]) {
      const attempted = nextAttempt(engine);
      await publish(n);
      expect(await attempted).toMatchObject({ succeeded: true });
    }
    expect(resource.requests.map(bearerOf)).toEqual(["tok-1", "tok-1", "tok-1"]);
    expect(tokens.requests, "one token for three messages").toHaveLength(1);
    expect(new URLSearchParams(tokens.requests[0]?.body).get("scope")).toBe("webhooks");

    issuer.revoke("tok-1");
    let attempted = nextAttempt(engine);
    await publish(4);
    expect(await attempted).toMatchObject({ succeeded: false, responseStatusCode: 401 });
    expect(tokens.requests, "no new token before the retry").toHaveLength(1);
    attempted = nextAttempt(engine);
    await clock.advance(5_000);
    expect(await attempted).toMatchObject({ succeeded: true, responseStatusCode: 200 });
    expect(resource.requests.map(bearerOf)).toEqual(["tok-1", "tok-1", "tok-1", "tok-1", "tok-2"]);
    expect(tokens.requests).toHaveLength(2);
  });

  it("fails attempts with errorClass auth while the token endpoint is down, then delivers", async () => {
    const { clock, issuer, tokens, resource, server, app, endpointId, publish } =
      await oauthSetup();
    await tokens.close();
    const engine = server.hookyard.engine;
    let attempted = nextAttempt(engine);
    await publish(1);
    const failed = await attempted;
    expect(failed).toMatchObject({ succeeded: false, responseStatusCode: 0, errorClass: "auth" });
    expect(failed.errorMessage).toMatch(
      new RegExp(`^token endpoint ${tokens.tokenUrl} failed \\(connect\\): .*ECONNREFUSED`),
    );
    expect(resource.requests, "nothing sent without a token").toHaveLength(0);

    const back = await startTokenServer(issuer, { port: tokens.port });
    attempted = nextAttempt(engine);
    await clock.advance(5_000);
    expect(await attempted).toMatchObject({ succeeded: true, errorClass: null });
    expect(resource.requests.map(bearerOf)).toEqual(["tok-1"]);
    expect(back.requests).toHaveLength(1);

    const path = `/api/v1/app/${app.id}/attempt/endpoint/${endpointId}`;
    const listed = await api<{ data: { errorClass: string | null }[] }>(server, "GET", path);
    expect(listed.json.data.map((a) => a.errorClass)).toEqual([null, "auth"]);
  });
});
