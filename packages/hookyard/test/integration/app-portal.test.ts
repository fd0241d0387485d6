import { AppPortalCapability, Svix } from "svix";
import { describe, expect, it } from "vitest";
import { apiError } from "../helpers/api-error.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// The customer app portal's token (svix `authentication.appPortalAccess`): it reaches its own
// application's routes and nothing else, on both stores.

async function setUp(): Promise<{ server: TestServer; token: string; url: string }> {
  const server = await startTestServer();
  await server.svix.application.create({ name: "Acme", uid: "acme" });
  await server.svix.application.create({ name: "Beta", uid: "beta" });
  const access = await server.svix.authentication.appPortalAccess("acme", {});
  return { server, token: access.token, url: access.url };
}

async function status(
  server: TestServer,
  token: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return res.status;
}

describe("app portal access", () => {
  it("gives a link and a token that manages its own application through the svix SDK", async () => {
    const { server, token, url } = await setUp();
    expect(url).toMatch(new RegExp(`^${server.url}/portal#token=portal_`));
    expect(url.endsWith(token)).toBe(true);
    const customer = new Svix(token, { serverUrl: server.url });
    const ep = await customer.endpoint.create("acme", { url: "https://acme.example.com/hooks" });
    expect((await customer.endpoint.list("acme")).data.map((e) => e.id)).toEqual([ep.id]);
    await customer.endpoint.patch("acme", ep.id, { url: "https://acme.example.com/v2" });
    expect((await customer.endpoint.getSecret("acme", ep.id)).key).toMatch(/^whsec_/);
    await customer.endpoint.rotateSecret("acme", ep.id, {});
    const msg = await server.svix.message.create("acme", { eventType: "a.b", payload: { n: 1 } });
    expect((await customer.message.list("acme")).data.map((m) => m.id)).toContain(msg.id);
    expect((await customer.messageAttempt.listByMsg("acme", msg.id)).data).toBeDefined();
    expect((await customer.application.get("acme")).name).toBe("Acme");
    expect(await status(server, token, "GET", "/api/v1/event-type")).toBe(200);
  });

  it("is refused on every other application's routes and on the admin routes", async () => {
    const { server, token } = await setUp();
    const beta = await server.svix.endpoint.create("beta", { url: "https://beta.example.com/h" });
    const betaMsg = await server.svix.message.create("beta", { eventType: "a.b", payload: {} });
    const customer = new Svix(token, { serverUrl: server.url });
    for (const call of [
      () => customer.application.get("beta"),
      () => customer.endpoint.list("beta"),
      () => customer.endpoint.create("beta", { url: "https://evil.example.com/" }),
      () => customer.endpoint.get("beta", beta.id),
      () => customer.endpoint.patch("beta", beta.id, { url: "https://evil.example.com/" }),
      () => customer.endpoint.delete("beta", beta.id),
      () => customer.endpoint.getSecret("beta", beta.id),
      () => customer.endpoint.getStats("beta", beta.id),
      () => customer.message.list("beta"),
      () => customer.message.get("beta", betaMsg.id),
      () => customer.message.create("beta", { eventType: "a.b", payload: {} }),
      () => customer.messageAttempt.listByMsg("beta", betaMsg.id),
      () => customer.messageAttempt.listByEndpoint("beta", beta.id),
      () => customer.application.list(),
      () => customer.application.create({ name: "new" }),
      () => customer.application.delete("acme"),
      () => customer.application.patch("acme", { name: "renamed" }),
      () => customer.eventType.create({ name: "x.y", description: "x" }),
      () => customer.authentication.appPortalAccess("beta", {}),
      () => customer.backgroundTask.list(),
      () => customer.statistics.aggregateEventTypes(),
    ]) {
      expect((await apiError(call())).code).toBe(403);
    }
    expect(await status(server, token, "GET", "/api/v1/rules")).toBe(403);
    expect(await status(server, token, "GET", "/api/v1/rule-run")).toBe(403);
    // The Ingest API takes the admin key only.
    expect(await status(server, token, "GET", "/ingest/api/v1/source")).toBe(401);
    expect((await server.svix.endpoint.get("beta", beta.id)).url).toBe(
      "https://beta.example.com/h",
    );
  });

  it("read-only tokens read and change nothing", async () => {
    const { server } = await setUp();
    const { token } = await server.svix.authentication.appPortalAccess("acme", { readOnly: true });
    expect(await status(server, token, "GET", "/api/v1/app/acme/endpoint")).toBe(200);
    expect(
      await status(server, token, "POST", "/api/v1/app/acme/endpoint", {
        url: "https://x.example.com/",
      }),
    ).toBe(403);
  });

  it("refuses forged, altered and logged-out tokens, and all of an app's after expire-all", async () => {
    const { server, token } = await setUp();
    const [head, mac] = token.split(".") as [string, string];
    const grant = JSON.parse(Buffer.from(head.slice(7), "base64url").toString()) as {
      appId: string;
    };
    const forgedBody = Buffer.from(JSON.stringify({ ...grant, appId: "app_other" })).toString(
      "base64url",
    );
    expect(await status(server, `portal_${forgedBody}.${mac}`, "GET", "/api/v1/app/acme")).toBe(
      401,
    );
    expect(await status(server, `${token.slice(0, -2)}xx`, "GET", "/api/v1/app/acme")).toBe(401);
    expect(await status(server, "portal_garbage", "GET", "/api/v1/app/acme")).toBe(401);

    const customer = new Svix(token, { serverUrl: server.url });
    await customer.authentication.logout();
    expect(await status(server, token, "GET", "/api/v1/app/acme")).toBe(401);

    const second = (await server.svix.authentication.appPortalAccess("acme", {})).token;
    const other = (await server.svix.authentication.appPortalAccess("beta", {})).token;
    expect(await status(server, second, "GET", "/api/v1/app/acme")).toBe(200);
    await server.svix.authentication.expireAll("acme", {});
    expect(await status(server, second, "GET", "/api/v1/app/acme")).toBe(401);
    const fresh = (await server.svix.authentication.appPortalAccess("acme", {})).token;
    expect(await status(server, fresh, "GET", "/api/v1/app/acme")).toBe(200);
    expect(await status(server, other, "GET", "/api/v1/app/beta")).toBe(200);
    expect(await status(server, TEST_API_KEY, "POST", "/api/v1/auth/logout")).toBe(400);
  });

  it("refuses a token once its expiry has passed", async () => {
    const clock = new FakeClock(Date.now());
    const server = await startTestServer({ clock });
    await server.svix.application.create({ name: "Acme", uid: "acme" });
    const { token } = await server.svix.authentication.appPortalAccess("acme", { expiry: 3600 });
    expect(await status(server, token, "GET", "/api/v1/app/acme")).toBe(200);
    await clock.advance(3_599_000);
    expect(await status(server, token, "GET", "/api/v1/app/acme")).toBe(200);
    await clock.advance(2_000);
    expect(await status(server, token, "GET", "/api/v1/app/acme")).toBe(401);
  });

  it("names a bad expiry, and makes the application when asked", async () => {
    const { server } = await setUp();
    const bad = await apiError(server.svix.authentication.appPortalAccess("acme", { expiry: 10 }));
    expect(bad.code).toBe(422);
    expect(JSON.stringify(bad.body)).toContain("expiry");
    const made = await server.svix.authentication.appPortalAccess("gamma", {
      application: { name: "Gamma" },
    });
    expect(made.token).toMatch(/^portal_/);
    const unsupported = await apiError(
      server.svix.authentication.appPortalAccess("acme", {
        capabilities: [AppPortalCapability.ViewBase],
      }),
    );
    expect(unsupported.code).toBe(422);
    expect((await server.svix.application.get("gamma")).name).toBe("Gamma");
  });
});
