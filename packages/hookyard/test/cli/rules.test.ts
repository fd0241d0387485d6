import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { recordingIo } from "../helpers/cli-io.js";

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hookyard-rules-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const ALERTS = `
notifiers:
  oncall: { type: pagerduty, routingKey: "\${env:PD_KEY}" }
rules:
  - name: page-critical
    sources: [alertmanager]
    condition: event.payload.commonLabels.severity == "critical"
    actions:
      - notify: { to: oncall, summary: "{{ event.payload.commonLabels.alertname }} is firing", severity: critical }
`;

describe("hookyard rules", () => {
  it("checks a directory of rulebooks and names each problem's file, line and field", async () => {
    const dir = await dirWith({
      "alerts.yaml": ALERTS,
      "broken.yml":
        "rules:\n  - name: x\n    sources: [a]\n    throttle: { once_within: soon }\n    actions:\n      - notify: { to: nobody, text: hi }\n",
      "notes.txt": "not a rulebook",
    });
    const io = recordingIo();
    const env = { PD_KEY: "k" };
    const code = await runCli(["rules", "check", dir], { ...io.io, env });
    expect(code).toBe(1);
    expect(io.stderr()).toBe(
      [
        `${join(dir, "broken.yml")}:4: rules[0].throttle.once_within: must be a duration such as 30s, 5m, 1h`,
        `${join(dir, "broken.yml")}:6: rules[0].actions[0].notify.to: no notifier named "nobody"`,
        "2 problem(s); the rulebook cannot be used",
        "",
      ].join("\n"),
    );
    const missingEnv = recordingIo();
    expect(await runCli(["rules", "check", join(dir, "alerts.yaml")], missingEnv.io)).toBe(1);
    expect(missingEnv.stderr()).toContain(
      ":3: notifiers.oncall.routingKey: environment variable PD_KEY is not set",
    );
  });

  it("dry-runs an event: which rules match and what they would send, sending nothing", async () => {
    const dir = await dirWith({
      "alerts.yaml": ALERTS,
      "event.json": JSON.stringify({
        source: "alertmanager",
        payload: { commonLabels: { severity: "critical", alertname: "DiskFull" } },
      }),
    });
    const io = recordingIo();
    const code = await runCli(
      ["rules", "test", join(dir, "alerts.yaml"), "--event", join(dir, "event.json")],
      { ...io.io, env: { PD_KEY: "secret-key" } },
    );
    expect(code, io.stderr()).toBe(0);
    const [result] = JSON.parse(io.stdout()) as Array<{ matched: boolean; actions: unknown[] }>;
    expect(result!.matched).toBe(true);
    expect(result!.actions).toEqual([
      {
        type: "notify",
        id: null,
        would: {
          to: "pagerduty",
          url: "https://events.pagerduty.com/v2/enqueue",
          body: {
            routing_key: "(hidden)",
            event_action: "trigger",
            payload: { summary: "DiskFull is firing", source: "hookyard", severity: "critical" },
          },
        },
      },
    ]);
    expect(io.stdout()).not.toContain("secret-key");
    expect(io.stderr()).toContain("1 rule(s) listen to this event; 1 match: page-critical");
  });
});

describe("hookyard rules test --request", () => {
  it("dry-runs a local rulebook against a request the server received", async () => {
    const { startTestServer, TEST_API_KEY } = await import("../helpers/server.js");
    const server = await startTestServer();
    const created = await fetch(`${server.url}/ingest/api/v1/source`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "alerts", uid: "alertmanager", type: "generic-webhook" }),
    });
    const { ingestUrl } = (await created.json()) as { ingestUrl: string };
    const sent = await fetch(ingestUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ commonLabels: { alertname: "DiskFull", severity: "critical" } }),
    });
    const { id } = (await sent.json()) as { id: string };
    const dir = await dirWith({ "alerts.yaml": ALERTS });

    const run = recordingIo();
    run.io.env = { PD_KEY: "pd-routing-key-0001", HOOKYARD_API_KEY: TEST_API_KEY };
    const code = await runCli(
      ["rules", "test", dir, "--request", id, "--server", server.url],
      run.io,
    );
    expect(code, run.stderr()).toBe(0);
    expect(run.stderr()).toContain("1 match: page-critical");
    const [result] = JSON.parse(run.stdout()) as Array<{
      actions: Array<{ would: { body: { payload: { summary: string } } } }>;
    }>;
    expect(result!.actions[0]!.would.body.payload.summary).toBe("DiskFull is firing");
    expect(run.stdout()).not.toContain("pd-routing-key-0001");

    const missing = recordingIo();
    missing.io.env = run.io.env;
    expect(
      await runCli(
        ["rules", "test", dir, "--request", "req_nope", "--server", server.url],
        missing.io,
      ),
    ).toBe(1);
    expect(missing.stderr()).toContain('the server answered 404: Request "req_nope" not found');
  });
});
