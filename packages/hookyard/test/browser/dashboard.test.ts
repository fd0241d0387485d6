import type { Page } from "playwright-core";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { api } from "../helpers/api.js";
import { browserUnavailable, closeBrowser, newPage, screenshot } from "../helpers/browser.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real
// server: what a person does, by the labels and roles a screen reader would use.

const unavailable = browserUnavailable();

async function signedIn(
  server: TestServer,
  viewport?: { width: number; height: number },
  colorScheme: "light" | "dark" = "light",
) {
  const opened = await newPage(viewport, colorScheme);
  await opened.page.goto(`${server.url}/`);
  await opened.page.getByLabel("API key").fill(TEST_API_KEY);
  await opened.page.getByRole("button", { name: "Sign in" }).click();
  await opened.page.getByRole("heading", { name: "Overview" }).waitFor();
  return opened;
}

async function go(page: Page, server: TestServer, hash: string): Promise<void> {
  await page.goto(`${server.url}/#${hash}`);
}

describe.skipIf(unavailable !== null)("the dashboard", () => {
  afterAll(() => closeBrowser());

  it("is served with a strict policy and long-cached, hashed files", async () => {
    const server = await startTestServer();
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    const html = await page.text();
    const script = /src="(\/ui\/[0-9a-f]{16}\/app\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${server.url}${script}`);
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(asset.headers.get("content-type")).toContain("text/javascript");
    expect((await fetch(`${server.url}/ui/0000000000000000/app.js`)).status).toBe(404);
  });

  it("refuses a wrong key, then signs in with the admin key", async () => {
    const server = await startTestServer();
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/`);
    await page.getByLabel("API key").fill("not_the_key_0123456789abcdefghijklmn");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("401");
    await screenshot(page, "signin");
    await page.getByLabel("API key").fill(TEST_API_KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    expect(errors).toEqual([]);
  });

  it("creates an application and an endpoint, and shows a published message with its attempt", async () => {
    const server = await startTestServer();
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const { page, errors } = await signedIn(server);
    await go(page, server, "/apps");
    await page.getByLabel("Name").fill("Acme Inc");
    await page.getByLabel("UID").fill("acme");
    await page.getByRole("button", { name: "Create application" }).click();
    await page.getByRole("heading", { name: "Acme Inc" }).waitFor();
    await page.getByLabel("URL").fill(`${receiver.url}hooks`);
    await page.getByLabel("Event types").fill("invoice.paid");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await page.getByRole("heading", { name: `${receiver.url}hooks` }).waitFor();
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByRole("button", { name: "Copy" }).waitFor();
    expect(await page.getByText(/^whsec_/).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Show" }).count()).toBe(0);
    await screenshot(page, "endpoint");

    const msg = await server.svix.message.create("acme", {
      eventType: "invoice.paid",
      payload: { invoice: "in_1", amount: 4200 },
    });
    await receiver.waitForCount(1);
    await go(page, server, "/apps/acme");
    await page.getByRole("link", { name: msg.id }).click();
    await page.getByRole("heading", { name: "Payload" }).waitFor();
    expect(await page.locator("pre.json").first().textContent()).toContain('"amount": 4200');
    // The attempt is recorded once the answer is in: the page may be drawn before.
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByRole("heading", { name: "Attempts" }).waitFor();
          return page.getByRole("table", { name: "Attempts" }).getByText("HTTP 200").count();
        },
        { timeout: 10_000 },
      )
      .toBe(1);
    await screenshot(page, "message");

    // The overview counts it, as a bar of the last hour.
    await go(page, server, "/");
    const messages = page.locator(".tile", { hasText: "Messages" }).locator(".tile-value");
    await expect.poll(() => messages.textContent()).toBe("1");
    await page.getByRole("img", { name: /Messages per minute: 1 messages/ }).waitFor();
    await page.getByRole("button", { name: "Last day" }).click();
    await page.getByRole("img", { name: /Messages per 15 minutes: 1 messages/ }).waitFor();
    await screenshot(page, "overview");
    expect(errors).toEqual([]);
  });

  it("shows a failing endpoint's error class, and a resend that then succeeds", async () => {
    const server = await startTestServer();
    const receiver = await startReceiver({ replies: [503] });
    onTestFinished(() => receiver.close());
    await server.svix.application.create({ name: "Beta", uid: "beta" });
    const ep = await server.svix.endpoint.create("beta", { url: `${receiver.url}` });
    const msg = await server.svix.message.create("beta", { eventType: "a.b", payload: {} });
    await receiver.waitForCount(1);
    const { page } = await signedIn(server);
    await go(page, server, `/apps/beta/messages/${msg.id}`);
    const attempts = page.getByRole("table", { name: "Attempts" });
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByRole("heading", { name: "Attempts" }).waitFor();
          return attempts.getByText("HTTP 503").count();
        },
        { timeout: 10_000 },
      )
      .toBe(1);
    expect(await attempts.textContent()).toContain("http_status");
    await page.getByRole("button", { name: "Resend" }).click();
    await page.getByText(`Resent to ${ep.url}.`).waitFor();
    await receiver.waitForCount(2);
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByRole("heading", { name: "Attempts" }).waitFor();
          return attempts.getByText("HTTP 200").count();
        },
        { timeout: 10_000 },
      )
      .toBeGreaterThan(0);
    await screenshot(page, "resend");
  });

  it("shows a source's request live, within 2 s, and a bin's answer edit takes effect", async () => {
    const server = await startTestServer();
    const made = await api<{ id: string; ingestUrl: string }>(
      server,
      "POST",
      "/ingest/api/v1/source",
      {
        name: "scratch",
        uid: "scratch",
        type: "request-bin",
      },
    );
    const { page } = await signedIn(server);
    await go(page, server, "/sources/scratch");
    await page.getByText("Live: new requests appear at the top.").waitFor();
    await fetch(`${made.json.ingestUrl}/github?x=1`, { method: "POST", body: '{"hello":"live"}' });
    // Within 2 s, without a reload.
    await page.getByRole("link", { name: "POST /github?x=1" }).waitFor({ timeout: 2_000 });
    await screenshot(page, "bin-live");

    await page.getByLabel("Status").fill("418");
    await page.getByLabel("Body").fill("short and stout");
    await page.getByRole("button", { name: "Save answer" }).click();
    await page.getByText("Saved: the bin answers this way from now on.").waitFor();
    const answer = await fetch(made.json.ingestUrl, { method: "POST", body: "x" });
    expect(answer.status).toBe(418);
    expect(await answer.text()).toBe("short and stout");
  });

  it("shows script in payloads, headers, descriptions and bodies as text, never runs it", async () => {
    const server = await startTestServer();
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const attack = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2;alert(1)">`;
    await server.svix.application.create({ name: attack, uid: "evil" });
    await server.svix.endpoint.create("evil", { url: receiver.url, description: attack });
    const msg = await server.svix.message.create("evil", {
      eventType: "x.y",
      payload: { html: attack, [attack]: attack },
    });
    const bin = await api<{ id: string; ingestUrl: string }>(
      server,
      "POST",
      "/ingest/api/v1/source",
      {
        name: attack,
        type: "request-bin",
      },
    );
    const sent = await fetch(
      `${bin.json.ingestUrl}/${encodeURIComponent("<img src=x onerror=alert(3)>")}`,
      {
        method: "POST",
        headers: { "x-evil": attack, "content-type": "text/html" },
        body: attack,
      },
    );
    const { id: requestId } = (await sent.json()) as { id: string };
    const { page, errors, dialogs } = await signedIn(server);
    for (const hash of [
      "/apps",
      "/apps/evil",
      `/apps/evil/messages/${msg.id}`,
      `/sources/${bin.json.id}`,
      `/sources/${bin.json.id}/requests/${requestId}`,
    ]) {
      await go(page, server, hash);
      await page.waitForLoadState("networkidle");
      await page.getByRole("main").getByText(attack, { exact: false }).first().waitFor();
    }
    await screenshot(page, "xss-as-text");
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator("main img").count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("works at 375 px wide", async () => {
    const server = await startTestServer();
    await server.svix.application.create({ name: "Phone", uid: "phone" });
    const { page } = await signedIn(server, { width: 375, height: 800 });
    await go(page, server, "/apps/phone");
    await page.getByRole("heading", { name: "Endpoints" }).waitFor();
    // Run in the page: `document` is the browser's.
    const overflow = await page.evaluate(() => {
      const root = (
        globalThis as unknown as {
          document: { documentElement: { scrollWidth: number; clientWidth: number } };
        }
      ).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, "phone");
  });

  it("follows a dark system theme", async () => {
    const server = await startTestServer();
    await server.svix.application.create({ name: "Night", uid: "night" });
    const { page } = await signedIn(server, undefined, "dark");
    await go(page, server, "/apps/night");
    await page.getByRole("heading", { name: "Endpoints" }).waitFor();
    const background = await page.evaluate(() => {
      const g = globalThis as unknown as {
        getComputedStyle(el: unknown): { backgroundColor: string };
        document: { body: unknown };
      };
      return g.getComputedStyle(g.document.body).backgroundColor;
    });
    expect(background).toBe("rgb(13, 17, 23)");
    await screenshot(page, "dark");
  });

  it("opens the app portal from its link: that application only, and its token refused on another's", async () => {
    const server = await startTestServer({
      server: { portalFrameAncestors: ["https://saas.example.com"] },
    });
    await server.svix.application.create({ name: "Acme Inc", uid: "acme" });
    await server.svix.application.create({ name: "Beta Corp", uid: "beta" });
    await server.svix.endpoint.create("acme", { url: "https://acme.example.com/hooks" });
    await server.svix.endpoint.create("beta", { url: "https://beta.example.com/hooks" });
    const { url } = await server.svix.authentication.appPortalAccess("acme", {});
    const portal = await fetch(url.split("#")[0]!);
    expect(portal.headers.get("content-security-policy")).toContain(
      "frame-ancestors https://saas.example.com",
    );

    const { page, errors } = await newPage();
    await page.goto(url);
    await page.getByRole("heading", { name: /Acme Inc/ }).waitFor();
    await page.getByRole("link", { name: "https://acme.example.com/hooks" }).waitFor();
    expect(page.url()).not.toContain("token=");
    expect(await page.getByText("Beta Corp").count()).toBe(0);
    await screenshot(page, "portal");
    // The page's own token, used on the other application's API.
    const answers = await page.evaluate(async () => {
      const token = (
        globalThis as unknown as { sessionStorage: { getItem(k: string): string } }
      ).sessionStorage.getItem("hookyard.apiKey");
      const call = (path: string) =>
        fetch(path, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
      return [await call("/api/v1/app/beta/endpoint"), await call("/api/v1/app/acme/endpoint")];
    });
    expect(answers).toEqual([403, 200]);
    // A link to another application's page shows its own application instead.
    await page.goto(`${server.url}/portal#/apps/beta`);
    await page.getByRole("heading", { name: "Endpoints" }).waitFor();
    await page.waitForLoadState("networkidle");
    expect(await page.getByRole("heading", { name: /Acme Inc/ }).count()).toBe(1);
    expect(await page.getByText("Beta Corp").count()).toBe(0);
    expect(await page.getByText("beta.example.com").count()).toBe(0);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "This link has expired" }).waitFor();
    expect(errors).toEqual([]);
  });

  it("replays a captured request to one of its source's destinations", async () => {
    const server = await startTestServer();
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const made = await api<{ id: string; ingestUrl: string }>(
      server,
      "POST",
      "/ingest/api/v1/source",
      {
        name: "hooks",
        type: "generic-webhook",
      },
    );
    const sent = await fetch(made.json.ingestUrl, { method: "POST", body: '{"replay":"me"}' });
    const { id } = (await sent.json()) as { id: string };
    await server.svix.ingest.endpoint.create(made.json.id, { url: `${receiver.url}dest` });
    const { page, errors } = await signedIn(server);
    await go(page, server, `/sources/${made.json.id}/requests/${id}`);
    await page.getByLabel("Replay to a destination").selectOption({ label: `${receiver.url}dest` });
    await page.getByRole("button", { name: "Replay" }).click();
    await page.getByText("Replayed: it goes through the delivery engine.").waitFor();
    const [replayed] = await receiver.waitForCount(1);
    expect(replayed!.url).toBe("/dest");
    expect(replayed!.body).toBe('{"replay":"me"}');
    expect(errors).toEqual([]);
  });
});
