import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { sign as githubSign } from "@octokit/webhooks-methods";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// Requests to ingest URLs, signed with the providers' own libraries, through the real server.

const GITHUB_SECRET = "It's a Secret to Everybody";

/** @octokit/webhooks-examples: example payloads of every GitHub event (a JSON file). */
const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as Array<{
  name: string;
  examples: unknown[];
}>;

/** GitHub's own example push payload, as GitHub sends it (pretty-printed JSON). */
function githubPush(): string {
  const push = examples.find((e) => e.name === "push");
  if (push === undefined) throw new Error("no push example in @octokit/webhooks-examples");
  return JSON.stringify(push.examples[0], null, 2);
}

/**
 * Creates a source through the raw API: the svix SDK's typed configs drop keys they do not know,
 * such as Hookyard's `maxBodyBytes` and `dedupWindowSeconds`.
 */
async function source(server: TestServer, type: string, config: Record<string, unknown> = {}) {
  const res = await fetch(`${server.url}/ingest/api/v1/source`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ name: type, type, config }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; ingestUrl: string };
}

async function requests(server: TestServer, sourceId: string) {
  const res = await fetch(`${server.url}/ingest/api/v1/source/${sourceId}/request`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    data: Array<{
      status: string;
      reason: string | null;
      body: string;
      bodyEncoding: string;
      query: string;
      method: string;
      deliveryId: string | null;
      eventType: string | null;
      duplicateOf: string | null;
      id: string;
    }>;
  };
}

describe("receiving at an ingest URL", () => {
  it("verifies a GitHub push, drops its redelivery, and rejects a bad signature with the reason", async () => {
    const server = await startTestServer();
    const gh = await source(server, "github", { secret: GITHUB_SECRET });
    const body = githubPush();
    const headers = {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      "x-hub-signature-256": await githubSign(GITHUB_SECRET, body),
    };
    const send = (h: Record<string, string>, b = body) =>
      fetch(gh.ingestUrl, { method: "POST", headers: h, body: b });

    const first = await send(headers);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ status: "accepted" });
    const again = await send(headers);
    expect(await again.json(), "GitHub's redelivery of the same delivery").toMatchObject({
      status: "duplicate",
    });
    const forged = await send({ ...headers, "x-hub-signature-256": `sha256=${"0".repeat(64)}` });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toEqual({
      code: "verification_failed",
      detail: "signature does not match",
    });

    const { data } = await requests(server, gh.id);
    expect(data.map((r) => r.status)).toEqual(["rejected", "duplicate", "accepted"]);
    const [rejected, duplicate, accepted] = data;
    expect(accepted).toMatchObject({
      body,
      bodyEncoding: "utf8",
      deliveryId: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      eventType: "push",
    });
    expect(duplicate?.duplicateOf).toBe(accepted?.id);
    expect(rejected?.reason).toBe("signature does not match");
  });

  it("refuses a Stripe event past the 300 s tolerance and accepts a fresh one", async () => {
    const server = await startTestServer();
    const stripe = await source(server, "stripe", { secret: "whsec_test_secret" });
    const body = JSON.stringify({ id: "evt_1", type: "invoice.paid", data: { object: {} } });
    const post = (timestamp: number) =>
      fetch(stripe.ingestUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "stripe-signature": Stripe.webhooks.generateTestHeaderString({
            payload: body,
            secret: "whsec_test_secret",
            timestamp,
          }),
        },
        body,
      });
    const nowSeconds = Math.floor(Date.now() / 1000);
    const stale = await post(nowSeconds - 400);
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { detail: string }).detail).toMatch(/outside the 300 s/);
    expect((await post(nowSeconds)).status).toBe(200);
    const { data } = await requests(server, stripe.id);
    expect(data[0]).toMatchObject({ status: "accepted", eventType: "invoice.paid" });
  });

  it("answers Slack's url_verification challenge itself", async () => {
    const server = await startTestServer();
    const secret = "8f742231b10e8888abcd99yyyzzz85a5";
    const slack = await source(server, "slack", { secret });
    const body = JSON.stringify({
      token: "t",
      challenge: "3eZbrw1aBm2rZgRNFdxV2595",
      type: "url_verification",
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = "v0=" + createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex");
    const res = await fetch(slack.ingestUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
      },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: "3eZbrw1aBm2rZgRNFdxV2595" });
  });

  it("keeps a GET's query, a form, XML and non-UTF-8 bytes exactly as sent", async () => {
    const server = await startTestServer();
    const any = await source(server, "generic-webhook");
    const url = any.ingestUrl;
    expect((await fetch(`${url}?event=deploy&sha=abc`)).status).toBe(200);
    const form = "a=1&b=two+words";
    await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form,
    });
    const xml = '<?xml version="1.0"?><alert severity="critical"/>';
    await fetch(`${url}/sub/path`, {
      method: "PUT",
      headers: { "content-type": "text/xml" },
      body: xml,
    });
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });

    const { data } = await requests(server, any.id);
    const [binary, xmlReq, formReq, get] = data;
    expect(get).toMatchObject({ method: "GET", query: "event=deploy&sha=abc", body: "" });
    expect(formReq).toMatchObject({ body: form, bodyEncoding: "utf8" });
    expect(xmlReq).toMatchObject({ method: "PUT", body: xml });
    expect(binary).toMatchObject({ bodyEncoding: "base64", body: bytes.toString("base64") });
  });

  it("answers 413 above the source's body limit and 404 for an unknown token", async () => {
    const server = await startTestServer();
    const small = await source(server, "generic-webhook", { maxBodyBytes: 100 });
    const big = await fetch(small.ingestUrl, { method: "POST", body: "x".repeat(101) });
    expect(big.status).toBe(413);
    expect((await fetch(small.ingestUrl, { method: "POST", body: "x".repeat(100) })).status).toBe(
      200,
    );
    const unknown = await fetch(`${server.url}/in/not-a-token`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);
  });
});

describe("a source's receive options", () => {
  it("answers with the source's own status and body, and refuses callers outside allowedIps", async () => {
    const server = await startTestServer();
    const custom = await source(server, "generic-webhook", {
      responseStatus: 202,
      responseBody: "thanks",
      allowedIps: ["127.0.0.0/8"],
    });
    const ok = await fetch(custom.ingestUrl, { method: "POST", body: "{}" });
    expect(ok.status).toBe(202);
    expect(ok.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await ok.text()).toBe("thanks");

    const elsewhere = await source(server, "generic-webhook", { allowedIps: ["192.0.2.0/24"] });
    const refused = await fetch(elsewhere.ingestUrl, { method: "POST", body: "{}" });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(
      /source IP .*127\.0\.0\.1 is not in the source's allowedIps/,
    );
    const { data } = await requests(server, elsewhere.id);
    expect(data.map((r) => r.status)).toEqual(["rejected"]);
  });

  it("refuses invalid receive options with 422 naming the field", async () => {
    const server = await startTestServer();
    const res = await fetch(`${server.url}/ingest/api/v1/source`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "x",
        type: "generic-webhook",
        config: { allowedIps: ["10.0.0.0/33"] },
      }),
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({
      detail: [{ loc: ["body", "config", "allowedIps"] }],
    });
  });
});

describe("a source's changes reach the receive pipeline at once", () => {
  it("verifies with the new secret right after an update, and refuses a deleted source's URL", async () => {
    const server = await startTestServer();
    const gh = await source(server, "github", { secret: "old secret" });
    const body = '{"zen":"Keep it logically awesome."}';
    const send = async (secret: string) =>
      (
        await fetch(gh.ingestUrl, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-hub-signature-256": await githubSign(secret, body),
          },
          body,
        })
      ).status;
    expect(await send("old secret")).toBe(200); // the source is now cached
    await server.svix.ingest.source.upsert(gh.id, {
      name: "github",
      type: "github",
      config: { secret: "new secret" },
    });
    expect(await send("old secret")).toBe(401);
    expect(await send("new secret")).toBe(200);
    await server.svix.ingest.source.delete(gh.id);
    expect(await send("new secret")).toBe(404);
  });
});

describe("content types", () => {
  it("verifies GitHub's form-encoded deliveries and a body that does not match its content type", async () => {
    const server = await startTestServer();
    const gh = await source(server, "github", { secret: GITHUB_SECRET });
    const form = `payload=${encodeURIComponent('{"zen":"Speak like a human."}')}`;
    const asForm = await fetch(gh.ingestUrl, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-github-event": "ping",
        "x-github-delivery": "f-1",
        "x-hub-signature-256": await githubSign(GITHUB_SECRET, form),
      },
      body: form,
    });
    expect(asForm.status).toBe(200);
    // Declared JSON, but not JSON: the signature covers the bytes, so it is still genuine.
    const notJson = "this is not json";
    const mislabelled = await fetch(gh.ingestUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": "f-2",
        "x-hub-signature-256": await githubSign(GITHUB_SECRET, notJson),
      },
      body: notJson,
    });
    expect(mislabelled.status).toBe(200);
    const { data } = await requests(server, gh.id);
    expect(data.map((r) => [r.status, r.body, r.eventType])).toEqual([
      ["accepted", notJson, "ping"],
      ["accepted", form, "ping"],
    ]);
  });
});

describe("where the event type and delivery id are read", () => {
  it("reads them from the header or payload field the source's config names", async () => {
    const server = await startTestServer();
    // Alertmanager-like JSON: the type is deep in the payload, the id in a header of the sender's.
    const alerts = await source(server, "generic-webhook", {
      eventTypeField: "alerts.0.labels.alertname",
      deliveryIdHeader: "X-Alert-Id",
    });
    const post = (id: string, name: string) =>
      fetch(alerts.ingestUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-alert-id": id },
        body: JSON.stringify({ alerts: [{ labels: { alertname: name } }] }),
      });
    expect((await post("a-1", "DiskFull")).status).toBe(200);
    expect((await post("a-1", "DiskFull")).status).toBe(200);
    // A sender that only GETs: the field is a query parameter.
    const pinger = await source(server, "generic-webhook", {
      eventTypeField: "event",
      deliveryIdField: "n",
    });
    expect((await fetch(`${pinger.ingestUrl}?event=deploy&n=7`)).status).toBe(200);

    const got = await requests(server, alerts.id);
    expect(got.data.map((r) => [r.status, r.eventType, r.deliveryId])).toEqual([
      ["duplicate", "DiskFull", "a-1"],
      ["accepted", "DiskFull", "a-1"],
    ]);
    const [ping] = (await requests(server, pinger.id)).data;
    expect([ping!.eventType, ping!.deliveryId]).toEqual(["deploy", "7"]);

    const bad = await fetch(`${server.url}/ingest/api/v1/source`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "x",
        type: "generic-webhook",
        config: { eventTypeField: "alerts..name" },
      }),
    });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(await bad.json())).toContain("eventTypeField");
  });
});
