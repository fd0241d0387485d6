import { spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { verify as githubVerify } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { describe, expect, it, onTestFinished } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { api } from "../helpers/api.js";
import { recordingIo } from "../helpers/cli-io.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

interface StoredRequest {
  id: string;
  status: "accepted" | "rejected" | "duplicate";
  reason: string | null;
  headers: Record<string, string>;
  body: string;
  deliveryId: string | null;
  eventType: string | null;
}

const GITHUB_EXAMPLES = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve("@octokit/webhooks-examples"), "utf8"),
) as Array<{ name: string; examples: Array<Record<string, unknown>> }>;

const apiFlags = (server: Pick<TestServer, "url">) => [
  "--server",
  server.url,
  "--api-key",
  TEST_API_KEY,
];

async function trigger(argv: string[]) {
  const run = recordingIo();
  const code = await runCli(["trigger", ...argv], run.io);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

async function createSource(server: TestServer, type: string, config: Record<string, unknown>) {
  const { status, json } = await api<{ id: string; ingestUrl: string }>(
    server,
    "POST",
    "/ingest/api/v1/source",
    { name: `${type} source`, type, config },
  );
  expect(status, `create ${type} source`).toBe(201);
  return json;
}

/** What the source stored, oldest first. */
async function storedRequests(server: TestServer, sourceId: string): Promise<StoredRequest[]> {
  const { json } = await api<{ data: StoredRequest[] }>(
    server,
    "GET",
    `/ingest/api/v1/source/${sourceId}/request`,
  );
  return json.data.reverse();
}

/** A port nothing listens on: one the system just handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no port");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

describe("hookyard trigger to a source", () => {
  it("sends github.push and github.pull_request.opened as GitHub does, verified by @octokit/webhooks-methods", async () => {
    const server = await startTestServer();
    const secret = "It's a Secret to Everybody";
    const source = await createSource(server, "github", { secret });

    const push = await trigger([
      "github.push",
      "--source",
      source.id,
      "--secret",
      secret,
      ...apiFlags(server),
    ]);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toMatch(
      /^→ POST http:\/\/127\.0\.0\.1:\d+\/in\/[\w-]+ github\.push 200 \(\d+ ms\) \{"id":"req_\w+","status":"accepted"\}\n$/,
    );
    const opened = await trigger([
      "github.pull_request.opened",
      "--source",
      source.id,
      "--secret",
      secret,
      "--json",
      ...apiFlags(server),
    ]);
    expect(opened.code, opened.stderr).toBe(0);
    const result = JSON.parse(opened.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      fixture: "github.pull_request.opened",
      url: source.ingestUrl,
      status: 200,
      durationMs: expect.any(Number),
      deliveryId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      responseBody: { status: "accepted" },
    });

    const [first, second] = await storedRequests(server, source.id);
    const pushExample = GITHUB_EXAMPLES.find((d) => d.name === "push")!.examples[0];
    const openedExample = GITHUB_EXAMPLES.find((d) => d.name === "pull_request")!.examples.find(
      (e) => e["action"] === "opened",
    );
    for (const [stored, event, example] of [
      [first, "push", pushExample],
      [second, "pull_request", openedExample],
    ] as const) {
      expect(stored, `stored ${event}`).toMatchObject({ status: "accepted", eventType: event });
      const h = stored!.headers;
      expect(await githubVerify(secret, stored!.body, h["x-hub-signature-256"]!), event).toBe(true);
      const sha1 = createHmac("sha1", secret).update(stored!.body).digest("hex");
      expect(h["x-hub-signature"]).toBe(`sha1=${sha1}`);
      expect(h).toMatchObject({
        "x-github-event": event,
        "x-github-delivery": expect.stringMatching(/^[0-9a-f-]{36}$/),
        "x-github-hook-id": expect.stringMatching(/^\d+$/),
        "user-agent": expect.stringMatching(/^GitHub-Hookshot\//),
        "content-type": "application/json",
      });
      expect(JSON.parse(stored!.body), `${event} body is the package's example`).toEqual(example);
    }
    expect(second!.deliveryId).toBe(result["deliveryId"]);

    // GitHub signs the body alone: the same push again is the same signed content.
    const again = await trigger([
      "github.push",
      "--source",
      source.id,
      "--secret",
      secret,
      ...apiFlags(server),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('"status":"duplicate"');
    expect(again.stderr).toContain("note: the source kept it as a duplicate of an earlier request");
  });

  it("signs stripe.invoice.paid as Stripe does, with fresh ids and the overrides, for constructEvent", async () => {
    const server = await startTestServer();
    const secret = "whsec_test_0123456789";
    const source = await createSource(server, "stripe", { secret });
    const run = await trigger([
      "stripe.invoice.paid",
      "--source",
      source.id,
      "--secret",
      secret,
      "--override",
      "data.object.amount_paid=5000",
      "--override",
      "data.object.customer_name=Ada Lovelace",
      "--override",
      "data.object.metadata.order.id=1042",
      "--override",
      "data.object.lines.data.0.quantity=3",
      ...apiFlags(server),
    ]);
    expect(run.code, run.stderr).toBe(0);
    const [stored] = await storedRequests(server, source.id);
    expect(stored?.status, stored?.reason ?? "").toBe("accepted");
    const event = new Stripe("sk_test_x").webhooks.constructEvent(
      stored!.body,
      stored!.headers["stripe-signature"]!,
      secret,
    );
    expect(event.type).toBe("invoice.paid");
    expect(event.id, "a fresh event id").toMatch(/^evt_\w{24}$/);
    expect(event.id).not.toBe("evt_1QzXe2LkdIwHu7ixkq3bT0Fa");
    expect(Math.abs(event.created - Date.now() / 1000), "created now").toBeLessThan(60);
    expect(stored!.deliveryId).toBe(event.id);
    const invoice = event.data.object as unknown as Record<string, unknown>;
    expect(invoice).toMatchObject({
      amount_paid: 5000,
      customer_name: "Ada Lovelace",
      metadata: { order: { id: 1042 } },
      lines: { data: [{ quantity: 3 }] },
    });
  });

  it("is accepted by slack, shopify and standard-webhooks sources signing each their way", async () => {
    const server = await startTestServer();
    const slack = await createSource(server, "slack", {
      secret: "8f742231b10e8888abcd99yyyzzz85a5",
    });
    const shopify = await createSource(server, "shopify", { secret: "shpss_test_secret" });
    const swSecret = `whsec_${randomBytes(32).toString("base64")}`;
    const sw = await createSource(server, "standard-webhooks", { secret: swSecret });
    const send = async (fixture: string, sourceId: string, secret: string) => {
      const run = await trigger([
        fixture,
        "--source",
        sourceId,
        "--secret",
        secret,
        "--json",
        ...apiFlags(server),
      ]);
      expect(run.code, `${fixture}: ${run.stderr}`).toBe(0);
      return JSON.parse(run.stdout) as { deliveryId: string | null; responseBody: unknown };
    };

    const mention = await send("slack.app_mention", slack.id, "8f742231b10e8888abcd99yyyzzz85a5");
    expect(mention.deliveryId, "a fresh event_id").toMatch(/^Ev[0-9A-F]{10}$/);
    await send("slack.slash_command", slack.id, "8f742231b10e8888abcd99yyyzzz85a5");
    const handshake = await send(
      "slack.url_verification",
      slack.id,
      "8f742231b10e8888abcd99yyyzzz85a5",
    );
    await send("shopify.orders/create", shopify.id, "shpss_test_secret");
    await send("standard-webhooks.contact.created", sw.id, swSecret);

    const slackStored = await storedRequests(server, slack.id);
    expect(slackStored.map((r) => [r.status, r.eventType])).toEqual([
      ["accepted", "app_mention"],
      ["accepted", null],
      ["accepted", "url_verification"],
    ]);
    const mentionBody = JSON.parse(slackStored[0]!.body) as Record<string, unknown>;
    expect(mentionBody["event_id"]).toBe(mention.deliveryId);
    expect(Math.abs(Number(mentionBody["event_time"]) - Date.now() / 1000)).toBeLessThan(60);
    expect(slackStored[1]!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(slackStored[1]!.body).toContain("command=%2Fwebhook-collect");
    const challenge = (JSON.parse(slackStored[2]!.body) as { challenge: string }).challenge;
    expect(handshake.responseBody, "Hookyard answers Slack's handshake").toEqual({ challenge });

    const [order] = await storedRequests(server, shopify.id);
    expect(order).toMatchObject({ status: "accepted", eventType: "orders/create" });
    expect(order!.headers).toMatchObject({
      "x-shopify-topic": "orders/create",
      "x-shopify-shop-domain": expect.stringMatching(/\.myshopify\.com$/),
      "x-shopify-webhook-id": expect.stringMatching(/^[0-9a-f-]{36}$/),
    });

    const [contact] = await storedRequests(server, sw.id);
    expect(contact?.status, contact?.reason ?? "").toBe("accepted");
    expect(new StandardWebhook(swSecret).verify(contact!.body, contact!.headers)).toMatchObject({
      type: "contact.created",
    });
  });

  it("sends alertmanager.firing with the secret as a bearer token, and says why it is refused without", async () => {
    const server = await startTestServer();
    const source = await createSource(server, "bearer", { token: "alert-token-123" });
    const ok = await trigger([
      "alertmanager.firing",
      "--source",
      source.id,
      "--secret",
      "alert-token-123",
      ...apiFlags(server),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const unsigned = await trigger([
      "alertmanager.resolved",
      "--source",
      source.id,
      ...apiFlags(server),
    ]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stdout).toMatch(/ alertmanager\.resolved 401 \(\d+ ms\) /);
    expect(unsigned.stderr).toContain(
      "note: no --secret: alertmanager.resolved is sent unsigned\n",
    );
    expect(unsigned.stderr).toMatch(
      /^hookyard trigger: http:\S+ answered 401: missing Authorization header \(it was sent unsigned: pass the source's secret with --secret\)$/m,
    );
    const stored = await storedRequests(server, source.id);
    expect(stored.map((r) => r.status)).toEqual(["accepted", "rejected"]);
    expect(JSON.parse(stored[0]!.body)).toMatchObject({ status: "firing", version: "4" });
  });

  it("exits 1 with the source's reason when the secret is wrong", async () => {
    const server = await startTestServer();
    const source = await createSource(server, "github", { secret: "right" });
    const run = await trigger([
      "github.ping",
      "--source",
      source.id,
      "--secret",
      "wrong",
      ...apiFlags(server),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split("\n")).toEqual([
      `hookyard trigger: ${source.ingestUrl} answered 401: signature does not match`,
    ]);
    const stripe = await trigger([
      "stripe.charge.refunded",
      "--source",
      source.id,
      "--secret",
      "right",
      ...apiFlags(server),
    ]);
    expect(stripe.code).toBe(1);
    expect(stripe.stderr).toContain(
      `note: source ${source.id} verifies github requests; stripe.charge.refunded is sent the stripe way\n`,
    );
  });
});

describe("hookyard trigger --app --event-type", () => {
  it("publishes the event type's first schema example, or a named fixture, through the Send API", async () => {
    const server = await startTestServer();
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const app = await server.svix.application.create({ name: "Acme", uid: "acme" });
    const secret = `whsec_${randomBytes(32).toString("base64")}`;
    await server.svix.endpoint.create(app.id, { url: receiver.url, secret });
    const example = { invoice: "in_1", amount: 2000, customer: { id: "cus_1" } };
    await server.svix.eventType.create({
      name: "invoice.paid",
      description: "Paid",
      schemas: { "1": { type: "object", examples: [example, { invoice: "in_2" }] } },
    });
    await server.svix.eventType.create({ name: "bare.event", description: "No schema" });

    const run = await trigger([
      "--app",
      "acme",
      "--event-type",
      "invoice.paid",
      "--override",
      "customer.name=Ada",
      ...apiFlags(server),
    ]);
    expect(run.code, run.stderr).toBe(0);
    const messageId = run.stdout.trim();
    expect(messageId).toMatch(/^msg_\w+$/);
    const delivered = await receiver.nextRequest();
    expect(delivered.headers["webhook-id"]).toBe(messageId);
    expect(new StandardWebhook(secret).verify(delivered.body, delivered.headers)).toEqual({
      ...example,
      customer: { id: "cus_1", name: "Ada" },
    });

    const fromFixture = await trigger([
      "standard-webhooks.contact.created",
      "--app",
      "acme",
      "--event-type",
      "bare.event",
      "--json",
      ...apiFlags(server),
    ]);
    expect(fromFixture.code, fromFixture.stderr).toBe(0);
    const published = JSON.parse(fromFixture.stdout) as { messageId: string };
    expect(published).toMatchObject({ app: "acme", eventType: "bare.event" });
    const second = await receiver.nextRequest();
    expect(second.headers["webhook-id"]).toBe(published.messageId);
    expect(new StandardWebhook(secret).verify(second.body, second.headers)).toMatchObject({
      type: "contact.created",
      data: { fullName: "John Smith" },
    });

    const none = await trigger([
      "--app",
      "acme",
      "--event-type",
      "bare.event",
      ...apiFlags(server),
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      'hookyard trigger: event type "bare.event" has no schema examples; name a fixture to send its body\n',
    );
  });
});

describe("hookyard trigger --list", () => {
  it("lists every fixture with its provider, as text and as JSON", async () => {
    const text = await trigger(["--list"]);
    expect(text.code, text.stderr).toBe(0);
    for (const [name, provider] of [
      ["github.push", "github"],
      ["github.pull_request.opened", "github"],
      ["stripe.invoice.paid", "stripe"],
      ["slack.app_mention", "slack"],
      ["shopify.orders/create", "shopify"],
      ["alertmanager.firing", "alertmanager"],
    ] as const) {
      expect(text.stdout, name).toMatch(
        new RegExp(`^${name.replaceAll(".", "\\.")} +${provider}\\b`, "m"),
      );
    }

    const json = await trigger(["--list", "--json"]);
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(listed.length).toBe(text.stdout.trimEnd().split("\n").length);
    expect(new Set(listed.map((f) => f["name"])).size, "names are unique").toBe(listed.length);
    expect(listed.find((f) => f["name"] === "stripe.invoice.paid")).toEqual({
      name: "stripe.invoice.paid",
      provider: "stripe",
      description: expect.any(String),
      source: expect.stringContaining("https://docs.stripe.com/"),
    });
    for (const f of listed)
      expect(f["source"], `${String(f["name"])} names its source`).toMatch(/\S/);
    const events = GITHUB_EXAMPLES.filter((d) => d.examples.length > 0).map(
      (d) => `github.${d.name}`,
    );
    expect(listed.map((f) => f["name"])).toEqual(expect.arrayContaining(events));

    const github = await trigger(["github"]);
    expect(github.code).toBe(0);
    const lines = github.stdout.trimEnd().split("\n");
    expect(
      lines.every((line) => line.startsWith("github.")),
      "only github fixtures",
    ).toBe(true);
    expect(lines.length).toBe(listed.filter((f) => f["provider"] === "github").length);
  });
});

describe("hookyard trigger: bad input", () => {
  it("names close matches of an unknown fixture and exits 2", async () => {
    const run = await trigger(["github.pul_request.opened", "--to", "http://127.0.0.1:9/"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^hookyard trigger: unknown fixture "github\.pul_request\.opened"; did you mean github\.pull_request\.opened, [^\n]+\?\n$/,
    );
    const typo = await trigger(["stripe.invoice.payed", "--to", "http://127.0.0.1:9/"]);
    expect(typo.stderr).toBe(
      'hookyard trigger: unknown fixture "stripe.invoice.payed"; did you mean stripe.invoice.paid?\n',
    );
    const nothing = await trigger(["zzz"]);
    expect(nothing).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/"zzz" \(hookyard trigger --list\)\n$/),
    });
  });

  it("refuses wrong usage with one line and exit 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["github.push"], /--source <id\|uid> or --to <url>/],
      [
        ["github.push", "--to", "http://x/", "--override", "ref"],
        /override "ref" is not key=value/,
      ],
      [["github.push", "--to", "ftp://x/"], /not an http\(s\) URL/],
      [["github.push", "--to", "http://x/", "--source", "s"], /not both/],
      [["--app", "acme"], /--app and --event-type go together/],
      [["stripe.invoice.paid", "--to", "http://x/", "--override", "id.x=1"], /id is not an object/],
      [["standard-webhooks.contact.created", "--to", "http://x/", "--secret", "short"], /--secret/],
      [[], /name a fixture/],
    ];
    for (const [argv, message] of cases) {
      const run = await trigger(argv);
      expect(run.code, argv.join(" ")).toBe(2);
      expect(run.stderr, argv.join(" ")).toMatch(
        new RegExp(`^hookyard trigger: .*${message.source}.*\\n$`),
      );
    }
  });

  it("says on one line when the target or the server cannot be reached, or the key is wrong", async () => {
    const port = await closedPort();
    const target = await trigger(["github.push", "--to", `http://127.0.0.1:${port}/hooks`]);
    expect(target.code).toBe(1);
    expect(target.stderr).toMatch(
      new RegExp(
        `hookyard trigger: cannot reach http://127\\.0\\.0\\.1:${port}/hooks \\(.*ECONNREFUSED.*\\)\\n$`,
      ),
    );
    const api = await trigger([
      "github.push",
      "--source",
      "gh",
      "--server",
      `http://127.0.0.1:${port}`,
      "--api-key",
      "k",
    ]);
    expect(api.code).toBe(1);
    expect(api.stderr).toMatch(
      /^hookyard trigger: cannot reach http:\/\/127\.0\.0\.1:\d+ \(.*\)\n$/,
    );

    const server = await startTestServer();
    const wrongKey = await trigger([
      "github.push",
      "--source",
      "gh",
      "--server",
      server.url,
      "--api-key",
      "nope",
    ]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/^hookyard trigger: the server answered 401\b[^\n]*\n$/);
  });
});

describe("the hookyard binary", () => {
  const BIN = fileURLToPath(new URL("../../bin/hookyard.js", import.meta.url));

  it("triggers stripe.payment_intent.succeeded to any URL, verifiable with Stripe's library", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const child = spawn(
      process.execPath,
      [
        BIN,
        "trigger",
        "stripe.payment_intent.succeeded",
        "--to",
        `${receiver.url}stripe`,
        "--secret",
        "whsec_cli",
        "--json",
      ],
      { env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    onTestFinished(() => void child.kill("SIGKILL"));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
    expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
    expect(JSON.parse(stdout)).toMatchObject({
      fixture: "stripe.payment_intent.succeeded",
      status: 200,
    });
    const [request] = receiver.requests;
    expect(request?.url).toBe("/stripe");
    expect(request?.headers["user-agent"]).toMatch(/^Stripe\//);
    const event = new Stripe("sk_test_x").webhooks.constructEvent(
      request!.raw,
      request!.headers["stripe-signature"]!,
      "whsec_cli",
    );
    expect(event).toMatchObject({
      type: "payment_intent.succeeded",
      data: { object: { amount: 2000 } },
    });
  });
});
