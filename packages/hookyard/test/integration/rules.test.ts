import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { startReceiver } from "../helpers/receiver.js";
import { api } from "../helpers/api.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { TEST_STORE, testDatabaseUrl } from "../helpers/test-store.js";

// Automate end to end: a rulebook, a real source, real commands, real receivers standing in for
// Slack and a customer's endpoint, through the real server and database.

interface Run {
  id: string;
  rule: string;
  status: string;
  error: string | null;
  actions: Array<{
    type: string;
    status: string;
    output: Record<string, unknown>;
    error: string | null;
  }>;
}

async function runsOf(server: TestServer, rule: string): Promise<Run[]> {
  return (await api<{ data: Run[] }>(server, "GET", `/api/v1/rule-run?rule=${rule}`)).json.data;
}

async function finished(server: TestServer, rule: string, count = 1): Promise<Run[]> {
  await expect
    .poll(
      async () =>
        (await runsOf(server, rule)).filter((r) => r.status !== "queued" && r.status !== "running")
          .length,
      { timeout: 15_000 },
    )
    .toBe(count);
  return runsOf(server, rule);
}

describe("rules", () => {
  it("runs a command on a matching push, then notifies Slack, publishes and forwards", async () => {
    const slack = await startReceiver();
    const customer = await startReceiver();
    const archive = await startReceiver();
    const dir = (await import("node:os")).tmpdir();
    const file = join(dir, `rules-${process.pid}-${Math.floor(performance.now())}.yaml`);
    await writeFile(
      file,
      `
notifiers:
  ops: { type: slack, url: "${slack.url}" }
rules:
  - name: deploy-main
    sources: [deploys]
    condition: event.payload.ref == "refs/heads/main"
    actions:
      - id: deploy
        run:
          argv: [node, -e, "console.log('deployed ' + process.argv[1] + ' ' + process.env.REF)", "{{ event.payload.after }}"]
          env: { REF: "{{ event.payload.ref }}" }
          timeout: 10s
      - notify: { to: ops, text: "{{ steps.deploy.stdout.trim() }} (exit {{ steps.deploy.exitCode }})" }
      - publish:
          app: acme
          eventType: deploy.done
          payload: { sha: "{{ event.payload.after }}", by: "{{ event.headers['x-actor'] }}" }
      - forward: "${archive.url}"
`,
    );
    const server = await startTestServer({ rulesPath: file });
    const src = await api<{ ingestUrl: string }>(server, "POST", "/ingest/api/v1/source", {
      name: "deploys",
      uid: "deploys",
      type: "generic-webhook",
    });
    await server.svix.application.create({ name: "Acme", uid: "acme" });
    await server.svix.endpoint.create("acme", { url: customer.url });

    const push = JSON.stringify({ ref: "refs/heads/main", after: "abc123" });
    const sent = await fetch(src.json.ingestUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-actor": "ada" },
      body: push,
    });
    expect(sent.status).toBe(200);
    const branch = await fetch(src.json.ingestUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ref: "refs/heads/feature", after: "def" }),
    });
    expect(branch.status).toBe(200);

    const [run] = await finished(server, "deploy-main");
    expect(run!.status, run!.error ?? "").toBe("succeeded");
    expect(run!.actions.map((a) => `${a.type}:${a.status}`)).toEqual([
      "run:succeeded",
      "notify:succeeded",
      "publish:succeeded",
      "forward:succeeded",
    ]);
    expect(run!.actions[0]!.output).toMatchObject({
      exitCode: 0,
      stdout: "deployed abc123 refs/heads/main\n",
    });

    const [note] = await slack.waitForCount(1);
    expect(JSON.parse(note!.body)).toEqual({ text: "deployed abc123 refs/heads/main (exit 0)" });
    const [published] = await customer.waitForCount(1);
    expect(JSON.parse(published!.body)).toEqual({ sha: "abc123", by: "ada" });
    const [forwarded] = await archive.waitForCount(1);
    expect(forwarded!.body, "the request's own bytes").toBe(push);
    expect(forwarded!.headers["x-actor"]).toBe("ada");
    expect(await runsOf(server, "deploy-main"), "the feature branch matched nothing").toHaveLength(
      1,
    );
  });

  it("records a failing command, a command past its timeout and a condition that throws", async () => {
    // Uploaded command rules: only for the program the host allow-lists (run-policy.test.ts).
    const node = process.execPath;
    const server = await startTestServer({
      rules: { allowRunFromApi: true, allowedCommands: [node] },
    });
    const src = await api<{ ingestUrl: string }>(server, "POST", "/ingest/api/v1/source", {
      name: "x",
      uid: "hooks",
      type: "generic-webhook",
    });
    const put = await api<unknown>(server, "PUT", "/api/v1/rules", {
      rulebook: `
rules:
  - name: fails
    sources: [hooks]
    actions:
      - run: [${node}, -e, "process.stderr.write('boom'); process.exit(3)"]
      - log: never reached
  - name: hangs
    sources: [hooks]
    actions:
      - run: { argv: [${node}, -e, "setTimeout(() => {}, 60000)"], timeout: 300ms }
  - name: throws
    sources: [hooks]
    condition: event.payload.missing.deeper == 1
    actions:
      - log: never
`,
    });
    expect(put.status).toBe(200);
    const sent = await fetch(src.json.ingestUrl, { method: "POST", body: "{}" });
    expect(sent.status, "the event is accepted whatever its rules do").toBe(200);

    const [failed] = await finished(server, "fails");
    expect(failed).toMatchObject({ status: "failed", error: "actions[0] (run): exit code 3" });
    expect(failed!.actions).toHaveLength(1);
    expect(failed!.actions[0]!.output).toMatchObject({ exitCode: 3, stderr: "boom" });
    const [hung] = await finished(server, "hangs");
    expect(hung).toMatchObject({
      status: "failed",
      error: "actions[0] (run): timed out after 300 ms",
    });
    const [threw] = await finished(server, "throws");
    expect(threw!.status).toBe("failed");
    expect(threw!.error).toMatch(/^condition: No such key: missing/);
    // Each failure is an operational event too (for rules that listen to rule.failed).
  });

  it("fails the run of a runaway transform, not the server, and refuses a quadratic condition", async () => {
    const server = await startTestServer();
    const src = await api<{ ingestUrl: string }>(server, "POST", "/ingest/api/v1/source", {
      name: "x",
      uid: "hooks",
      type: "generic-webhook",
    });
    const quadratic = await api<{ detail: Array<{ msg: string }> }>(
      server,
      "PUT",
      "/api/v1/rules",
      {
        rulebook: [
          "rules:",
          "  - name: slow",
          "    sources: [hooks]",
          "    condition: event.payload.items.all(a, event.payload.items.exists(b, a == b))",
          "    actions: [{ log: never }]",
          "",
        ].join("\n"),
      },
    );
    expect(quadratic.status).toBe(422);
    expect(quadratic.json.detail[0]!.msg).toMatch(/^line 4: .*inside another comprehension/);
    const put = await api(server, "PUT", "/api/v1/rules", {
      rulebook: [
        "rules:",
        "  - name: runaway",
        "    sources: [hooks]",
        "    actions:",
        "      - transform: '( $f := function($n) { $f($n + 1) }; $f(0) )'",
        "  - name: fine",
        "    sources: [hooks]",
        "    actions: [{ log: fine }]",
        "",
      ].join("\n"),
    });
    expect(put.status).toBe(200);
    expect((await fetch(src.json.ingestUrl, { method: "POST", body: "{}" })).status).toBe(200);
    const [stopped] = await finished(server, "runaway");
    expect(stopped).toMatchObject({ status: "failed" });
    expect(stopped!.error).toMatch(
      /^actions\[0\] \(transform\): stopped: the expression ran longer than 200 ms/,
    );
    expect((await finished(server, "fine"))[0]!.status).toBe("succeeded");
    expect((await fetch(`${server.url}/api/v1/health/ping`)).status).toBe(204);
  });

  it("refuses a bad rulebook with each problem's line, and keeps the rules in force", async () => {
    const server = await startTestServer();
    const good = await api<unknown>(server, "PUT", "/api/v1/rules", {
      rulebook: "rules:\n  - name: ok\n    sources: [a]\n    actions:\n      - log: hi\n",
    });
    expect(good.status).toBe(200);
    const bad = await api<{ detail: Array<{ loc: string[]; msg: string }> }>(
      server,
      "PUT",
      "/api/v1/rules",
      {
        rulebook: [
          "rules:",
          "  - name: broken",
          "    sources: [a]",
          "    condition: event.payload.x ==",
          "    actions:",
          "      - run: ./deploy.sh --now",
          "      - frobnicate: true",
        ].join("\n"),
      },
    );
    expect(bad.status).toBe(422);
    const problems = bad.json.detail.map((d) => `${d.loc.slice(1).join(".")} ${d.msg}`);
    expect(problems).toEqual([
      expect.stringMatching(/^rules\[0\]\.condition line 4: Unexpected token: EOF/),
      "rules[0].actions[0].run.argv line 6: must be a list (the program, then each argument), never a shell line",
      expect.stringMatching(/^rules\[0\]\.actions\[1\] line 7: needs exactly one of run, /),
    ]);
    const rules = await api<{ data: Array<{ name: string }> }>(server, "GET", "/api/v1/rules");
    expect(rules.json.data.map((r) => r.name)).toEqual(["ok"]);
  });
});

describe("uploaded rules", () => {
  const BOOK = "rules:\n  - name: kept\n    sources: [hooks]\n    actions:\n      - log: hi\n";

  it("are stored: a restart on the same database brings them back", async () => {
    const first = await startTestServer();
    expect((await api(first, "PUT", "/api/v1/rules", { rulebook: BOOK })).status).toBe(200);
    await first.stop();
    const again = await startTestServer({
      dir: first.dir,
      databaseUrl: first.config.database.url,
    });
    const rules = await api<{ data: Array<{ name: string }> }>(again, "GET", "/api/v1/rules");
    expect(rules.json.data.map((r) => r.name)).toEqual(["kept"]);
    const source = await api<{ origin: string }>(again, "GET", "/api/v1/rules/source");
    expect(source.json.origin).toBe("api");
  });

  it("fill ${env:NAME} from the env they come with, never from the server's environment", async () => {
    const server = await startTestServer();
    const book = `rules:\n  - name: leak\n    sources: [hooks]\n    actions:\n      - log: "\${env:PATH}"\n`;
    const refused = await api<{ detail: Array<{ msg: string }> }>(server, "PUT", "/api/v1/rules", {
      rulebook: book,
    });
    expect(refused.status).toBe(422);
    expect(refused.json.detail[0]!.msg).toContain("environment variable PATH is not set");
    const given = await api(server, "PUT", "/api/v1/rules", { rulebook: book, env: { PATH: "x" } });
    expect(given.status).toBe(200);
  });

  it.skipIf(TEST_STORE !== "postgres")(
    "reach the other processes on one PostgreSQL database",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "hookyard-rules-nodes-"));
      onTestFinished(() => rm(dir, { recursive: true, force: true }));
      const databaseUrl = await testDatabaseUrl(dir);
      const a = await startTestServer({ databaseUrl });
      const b = await startTestServer({ databaseUrl });
      expect((await api(a, "PUT", "/api/v1/rules", { rulebook: BOOK })).status).toBe(200);
      await expect
        .poll(
          async () =>
            (await api<{ data: Array<{ name: string }> }>(b, "GET", "/api/v1/rules")).json.data.map(
              (r) => r.name,
            ),
          { timeout: 10_000, interval: 200 },
        )
        .toEqual(["kept"]);
    },
  );
});

describe("rules on published messages", () => {
  it("runs the rules of a message's event type, once, whatever repeats it", async () => {
    const server = await startTestServer();
    const put = await api(server, "PUT", "/api/v1/rules", {
      rulebook: [
        "rules:",
        "  - name: audit-invoices",
        "    sources: [{ outbound: invoice.*, app: acme }]",
        "    actions:",
        '      - log: "{{ event.type }} {{ event.payload.invoiceId }}"',
      ].join("\n"),
    });
    expect(put.status).toBe(200);
    await api(server, "POST", "/api/v1/app", { name: "Acme", uid: "acme" });
    const publish = (eventType: string, eventId: string) =>
      api(server, "POST", "/api/v1/app/acme/msg", {
        eventType,
        eventId,
        payload: { invoiceId: "in_1" },
      });
    expect((await publish("invoice.paid", "e1")).status).toBe(202);
    expect((await publish("invoice.paid", "e1")).status, "the same eventId again").toBe(200);
    expect((await publish("user.created", "e2")).status).toBe(202);
    const runs = await finished(server, "audit-invoices");
    expect(runs).toHaveLength(1);
    expect(runs[0]!.actions[0]!.output).toEqual({ message: "invoice.paid in_1" });
  });
});
