import { createHmac, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { describe, expect, it, onTestFinished } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { recordingIo } from "../helpers/cli-io.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// The three runnable examples of examples/, as their READMEs run them: the real server, the
// files applied with the real CLI, real senders signing as GitHub, Alertmanager and Stripe do,
// and real receivers standing in for Slack, PagerDuty, Teams and a customer's endpoint.

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), "../../../../examples");

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  onTestFinished(() => r.close());
  return r;
}

/**
 * `hookyard apply -f <path>`, allowing `${env:}` the names its example's README allows (apply
 * fills no other): `allowEnv` must be written in that README, so the two cannot drift.
 */
async function apply(
  server: TestServer,
  path: string,
  env: Record<string, string>,
  allowEnv: string,
) {
  const readme = await readFile(
    join(path.replace(/\/(hookyard|hookyard\.yaml)$/, ""), "README.md"),
    "utf8",
  );
  expect(readme, "the README says which names apply may read").toContain(allowEnv);
  const run = recordingIo();
  run.io.env = { ...env, HOOKYARD_API_KEY: TEST_API_KEY };
  const code = await runCli(
    ["apply", "-f", path, "--server", server.url, "--allow-env", allowEnv],
    run.io,
  );
  expect(code, run.stderr()).toBe(0);
  return run.stdout();
}

async function get<T>(server: TestServer, path: string): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

interface Run {
  rule: string;
  status: string;
  error: string | null;
  actions: Array<{ type: string; output: Record<string, unknown> }>;
}

async function runs(server: TestServer, rule: string): Promise<Run[]> {
  return (await get<{ data: Run[] }>(server, `/api/v1/rule-run?rule=${rule}`)).data;
}

describe("examples/gitops-deploy: a push to main runs deploy.sh, then notifies Slack", () => {
  const dir = join(EXAMPLES, "gitops-deploy");

  async function push(ingestUrl: string, secret: string, payload: unknown): Promise<number> {
    const body = JSON.stringify(payload);
    const res = await fetch(ingestUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": randomBytes(8).toString("hex"),
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
      },
      body,
    });
    await res.body?.cancel();
    return res.status;
  }

  it("deploys a push to main, ignores other branches, and reports a failed deploy", async () => {
    const slack = await receiver();
    const secret = "gh-example-secret";
    const server = await startTestServer({
      rulesPath: join(dir, "rules"),
      env: { SLACK_WEBHOOK_URL: `${slack.url}services/T0/B0/x` },
    });
    await apply(
      server,
      join(dir, "hookyard"),
      { GITHUB_WEBHOOK_SECRET: secret },
      "GITHUB_WEBHOOK_SECRET",
    );
    const { ingestUrl } = await get<{ ingestUrl: string }>(server, "/ingest/api/v1/source/github");

    const sample = JSON.parse(await readFile(join(dir, "push.json"), "utf8")) as {
      payload: { after: string };
    };
    expect(await push(ingestUrl, secret, { ...sample.payload, ref: "refs/heads/feature" })).toBe(
      200,
    );
    expect(await push(ingestUrl, secret, sample.payload)).toBe(200);
    const [message] = await slack.waitForCount(1, { timeoutMs: 15_000 });
    const text = (JSON.parse(message!.body) as { text: string }).text;
    expect(text).toContain(`Deployed octo-org/shop at ${sample.payload.after}`);
    expect(text).toContain(`deploying octo-org/shop at ${sample.payload.after}\ndone`);
    const [deployed] = await runs(server, "deploy-main");
    expect(deployed).toMatchObject({ status: "succeeded" });
    expect(deployed!.actions[0]!.output).toMatchObject({ exitCode: 0 });

    // Not a commit id: the script exits 2, the run fails, and the failure reaches Slack.
    expect(await push(ingestUrl, secret, { ...sample.payload, after: "not-a-sha" })).toBe(200);
    const [, failure] = await slack.waitForCount(2, { timeoutMs: 15_000 });
    expect((JSON.parse(failure!.body) as { text: string }).text).toMatch(
      /^Deploy failed: actions\[0\] \(run\): exit code 2 \(rule run rrun_/,
    );
    expect((await runs(server, "deploy-main")).map((r) => r.status)).toEqual([
      "failed",
      "succeeded",
    ]);
    expect(slack.requests, "the feature branch deployed nothing").toHaveLength(2);
  });

  it("checks and dry-runs offline as the README shows", async () => {
    const check = recordingIo();
    check.io.env = { SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0/B0/secret-part" };
    expect(await runCli(["rules", "check", join(dir, "rules")], check.io), check.stderr()).toBe(0);
    const test = recordingIo();
    test.io.env = check.io.env;
    const code = await runCli(
      ["rules", "test", join(dir, "rules"), "--event", join(dir, "push.json")],
      test.io,
    );
    expect(code, test.stderr()).toBe(0);
    expect(test.stderr()).toContain("1 match: deploy-main");
    expect(test.stdout()).toContain('"./deploy.sh"');
    expect(test.stdout()).not.toContain("secret-part");
  });
});

describe("examples/alertmanager: critical alerts page PagerDuty, the rest go to Teams", () => {
  const file = join(EXAMPLES, "alertmanager", "hookyard.yaml");

  it("pages for a critical alert and throttles the rest per alert name", async () => {
    const pagerduty = await receiver();
    const teams = await receiver();
    const token = "am-example-token";
    const server = await startTestServer();
    await apply(
      server,
      file,
      {
        ALERTMANAGER_TOKEN: token,
        PAGERDUTY_EVENTS_URL: `${pagerduty.url}v2/enqueue`,
        PAGERDUTY_ROUTING_KEY: "R0UT1NGKEY0000000000000000000000",
        TEAMS_WEBHOOK_URL: `${teams.url}webhookb2/x`,
      },
      "ALERTMANAGER_TOKEN,PAGERDUTY_*,TEAMS_WEBHOOK_URL",
    );
    const { ingestUrl } = await get<{ ingestUrl: string }>(
      server,
      "/ingest/api/v1/source/alertmanager",
    );
    const critical = await readFile(join(EXAMPLES, "alertmanager", "alert-critical.json"), "utf8");
    const warning = await readFile(join(EXAMPLES, "alertmanager", "alert-warning.json"), "utf8");
    const send = async (body: string, bearer = token) => {
      const res = await fetch(ingestUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
        body,
      });
      await res.body?.cancel();
      return res.status;
    };

    expect(await send(critical, "wrong")).toBe(401);
    expect(await send(critical)).toBe(200);
    const [page] = await pagerduty.waitForCount(1, { timeoutMs: 15_000 });
    expect(JSON.parse(page!.body)).toMatchObject({
      routing_key: "R0UT1NGKEY0000000000000000000000",
      event_action: "trigger",
      dedup_key: '{}:{alertname="DiskFull"}',
      payload: {
        summary: "DiskFull: Disk on db-1 is 97% full",
        severity: "critical",
        source: "http://alertmanager.internal:9093",
        custom_details: { alertname: "DiskFull", severity: "critical" },
      },
    });
    const resolved = critical.replace('"status": "firing"', '"status": "resolved"');
    expect(await send(resolved)).toBe(200);
    const [, resolve] = await pagerduty.waitForCount(2, { timeoutMs: 15_000 });
    expect(JSON.parse(resolve!.body)).toMatchObject({
      event_action: "resolve",
      dedup_key: '{}:{alertname="DiskFull"}',
    });

    // Three notifications of one warning, then another alert name: two Teams messages.
    for (let i = 0; i < 3; i++) expect(await send(warning)).toBe(200);
    expect(await send(warning.replaceAll("HighLatency", "QueueBacklog"))).toBe(200);
    await teams.waitForCount(2, { timeoutMs: 15_000 });
    const titles = teams.requests.map(
      (r) =>
        (
          JSON.parse(r.body) as {
            attachments: Array<{ content: { body: Array<{ text: string }> } }>;
          }
        ).attachments[0]!.content.body[0]!.text,
    );
    expect(titles.sort()).toEqual(["[firing] HighLatency", "[firing] QueueBacklog"]);
    // Runs are planned as the requests are accepted: the throttled ones made none.
    expect(await runs(server, "teams-the-rest")).toHaveLength(2);
    expect(pagerduty.requests, "warnings never page").toHaveLength(2);
  });
});

describe("examples/stripe-invoices: invoice.paid becomes a webhook to the customer", () => {
  const file = join(EXAMPLES, "stripe-invoices", "hookyard.yaml");

  it("publishes a signed invoice.paid to the customer's endpoint", async () => {
    const customer = await receiver();
    const secret = "whsec_example_stripe_secret";
    const server = await startTestServer();
    await apply(
      server,
      file,
      {
        STRIPE_WEBHOOK_SECRET: secret,
        CUSTOMER_ENDPOINT_URL: `${customer.url}webhooks`,
      },
      "STRIPE_WEBHOOK_SECRET,CUSTOMER_ENDPOINT_URL",
    );
    const again = await apply(
      server,
      file,
      {
        STRIPE_WEBHOOK_SECRET: secret,
        CUSTOMER_ENDPOINT_URL: `${customer.url}webhooks`,
      },
      "STRIPE_WEBHOOK_SECRET,CUSTOMER_ENDPOINT_URL",
    );
    expect(
      again
        .split("\n")
        .filter(Boolean)
        .every((line) => line.startsWith("= ")),
      `applying again changes nothing:\n${again}`,
    ).toBe(true);
    const { ingestUrl } = await get<{ ingestUrl: string }>(server, "/ingest/api/v1/source/stripe");
    const event = await readFile(join(EXAMPLES, "stripe-invoices", "invoice-paid.json"), "utf8");
    const send = async (body: string) => {
      const res = await fetch(ingestUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "stripe-signature": Stripe.webhooks.generateTestHeaderString({ payload: body, secret }),
        },
        body,
      });
      return { http: res.status, ...((await res.json()) as { status?: string }) };
    };
    const created = event
      .replace('"invoice.paid"', '"invoice.created"')
      .replace("evt_1QxExample00000001", "evt_1QxExample00000000");
    expect(await send(created)).toMatchObject({ http: 200, status: "accepted" });
    expect(await send(event)).toMatchObject({ http: 200, status: "accepted" });

    const [delivered] = await customer.waitForCount(1, { timeoutMs: 15_000 });
    const { key } = await get<{ key: string }>(
      server,
      "/api/v1/app/cus_NffrFeUfNV2Hib/endpoint/main/secret",
    );
    const verified = new Webhook(key).verify(delivered!.body, delivered!.headers);
    expect(verified).toEqual({
      invoiceId: "in_1QxExampleInvoice01",
      number: "F3A7C2-0042",
      amountPaid: 4900,
      currency: "eur",
      paidAt: 1764410398,
    });
    expect(delivered!.url).toBe("/webhooks");
    // Stripe retries an event it thinks failed: the same event id is one message, not two.
    expect(await send(event), "a repeat of a Stripe event id").toMatchObject({
      status: "duplicate",
    });
    const messages = await get<{ data: Array<{ eventType: string }> }>(
      server,
      "/api/v1/app/cus_NffrFeUfNV2Hib/msg",
    );
    expect(messages.data.map((m) => m.eventType)).toEqual(["invoice.paid"]);
    expect(customer.requests, "invoice.created is not published").toHaveLength(1);
  });
});
