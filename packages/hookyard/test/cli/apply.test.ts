import { createHmac } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { recordingIo } from "../helpers/cli-io.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// Config as code through the real CLI against a real server: created, unchanged the second
// time, changed, pruned, kept across a restart; secrets from the environment never printed.

const GH_SECRET = "gh-secret-aaaaaaaaaaaaaaaa";
const GH_SECRET_2 = "gh-secret-bbbbbbbbbbbbbbbb";
const ACME_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SLACK_URL = "http://127.0.0.1:9/services/T000/B000/very-secret-token";

const PLATFORM = `
eventTypes:
  - name: invoice.paid
    description: An invoice was paid
    schemas:
      "1": { type: object, required: [invoiceId], properties: { invoiceId: { type: string } } }
applications:
  - uid: acme
    name: Acme Inc.
    endpoints:
      - uid: acme-main
        url: http://127.0.0.1:9/acme
        filterTypes: [invoice.paid]
        channels: []
        secret: \${env:ACME_SECRET}
        headers: { x-team: billing }
sources:
  - uid: github
    name: GitHub
    type: github
    config: { secret: "\${env:GH_SECRET}" }
    destinations:
      - url: http://127.0.0.1:9/archive
`;

const RULES = `
notifiers:
  team: { type: slack, url: "\${env:SLACK_URL}" }
rules:
  - name: on-push
    sources: [github]
    condition: event.type == "push"
    actions:
      - notify: { to: team, text: "push to {{ event.payload.ref }}" }
`;

async function declarations(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hookyard-apply-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** Applies `dir` with `env` as its environment, allowing each name of `env` (--allow-env). */
async function apply(
  server: TestServer,
  dir: string,
  env: Record<string, string>,
  ...flags: string[]
) {
  const allow = Object.keys(env).length === 0 ? [] : ["--allow-env", Object.keys(env).join(",")];
  return applyAs(server, dir, env, ...allow, ...flags);
}

/** Applies `dir` with `env` as its environment, allowing only what `flags` and `env` say. */
async function applyAs(
  server: TestServer,
  dir: string,
  env: Record<string, string>,
  ...flags: string[]
) {
  const run = recordingIo();
  run.io.env = { ...env, HOOKYARD_API_KEY: TEST_API_KEY };
  const code = await runCli(["apply", "-f", dir, "--server", server.url, ...flags], run.io);
  return { code, out: run.stdout(), err: run.stderr() };
}

async function get<T>(server: TestServer, path: string): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

async function sendPush(ingestUrl: string, secret: string): Promise<number> {
  const body = JSON.stringify({ ref: "refs/heads/main" });
  const res = await fetch(ingestUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": `d-${Math.random()}`,
      "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
    },
    body,
  });
  await res.body?.cancel();
  return res.status;
}

describe("hookyard apply", () => {
  it("creates, then finds nothing to do, then changes, prunes and keeps rules across a restart", async () => {
    const server = await startTestServer();
    const dir = await declarations({ "platform.yaml": PLATFORM, "rules.yaml": RULES });
    const env = { GH_SECRET, ACME_SECRET, SLACK_URL };

    const dry = await apply(server, dir, env, "--dry-run");
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out.split("\n").filter(Boolean)).toEqual([
      "+ event type invoice.paid",
      "+ application acme",
      "+ endpoint acme/acme-main",
      "+ source github",
      "+ destination github/http://127.0.0.1:9/archive",
      "+ rules (1 file(s)) (+ rules.yaml)",
    ]);
    expect(dry.err).toContain("dry run: nothing was changed");
    expect((await get<{ data: unknown[] }>(server, "/api/v1/app")).data).toEqual([]);

    const first = await apply(server, dir, env);
    expect(first.code, first.err).toBe(0);
    expect(first.err).toContain("6 created, 0 changed, 0 deleted, 0 unchanged");
    const printed = first.out + first.err + dry.out + dry.err;
    for (const secret of [GH_SECRET, ACME_SECRET, "very-secret-token"]) {
      expect(printed).not.toContain(secret);
    }

    // What it made works: the endpoint signs with the declared secret and sends the header;
    // the source verifies with the declared secret; the rules are in force.
    const secret = await get<{ key: string }>(server, "/api/v1/app/acme/endpoint/acme-main/secret");
    expect(secret.key).toBe(ACME_SECRET);
    const headers = await get<{ headers: Record<string, string> }>(
      server,
      "/api/v1/app/acme/endpoint/acme-main/headers",
    );
    expect(headers.headers).toEqual({ "x-team": "billing" });
    const source = await get<{ ingestUrl: string }>(server, "/ingest/api/v1/source/github");
    expect(await sendPush(source.ingestUrl, GH_SECRET)).toBe(200);
    expect(await sendPush(source.ingestUrl, "wrong")).toBe(401);
    const rules = await get<{ data: Array<{ name: string }> }>(server, "/api/v1/rules");
    expect(rules.data.map((r) => r.name)).toEqual(["on-push"]);

    const again = await apply(server, dir, env);
    expect(again.code, again.err).toBe(0);
    expect(
      again.out
        .split("\n")
        .filter(Boolean)
        .every((line) => line.startsWith("= ")),
    ).toBe(true);
    expect(again.err).toContain("0 created, 0 changed, 0 deleted, 6 unchanged");

    // A new URL, a rotated source secret: two changes, the rest unchanged.
    await writeFile(
      join(dir, "platform.yaml"),
      PLATFORM.replace("http://127.0.0.1:9/acme", "http://127.0.0.1:9/acme-v2"),
    );
    const changed = await apply(server, dir, { ...env, GH_SECRET: GH_SECRET_2 });
    expect(changed.code, changed.err).toBe(0);
    // A URL may carry a token: a change to it is named, its values are not shown.
    expect(changed.out).toContain("~ endpoint acme/acme-main (url)");
    expect(changed.out).toMatch(/~ source github \(config \(its secrets are not shown/);
    expect(changed.out).not.toContain(GH_SECRET_2);
    expect(await sendPush(source.ingestUrl, GH_SECRET_2)).toBe(200);

    // An application made through the API, not by apply, is never pruned.
    const own = await fetch(`${server.url}/api/v1/app`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "made by hand", uid: "by-hand" }),
    });
    expect(own.status).toBe(201);
    await writeFile(join(dir, "platform.yaml"), PLATFORM.split("applications:")[0]!);
    const kept = await apply(server, dir, { ...env, GH_SECRET: GH_SECRET_2 });
    expect(kept.out, "without --prune nothing is deleted").not.toContain("- ");
    const pruned = await apply(server, dir, { ...env, GH_SECRET: GH_SECRET_2 }, "--prune");
    expect(pruned.code, pruned.err).toBe(0);
    expect(pruned.out).toContain("- application acme");
    const apps = await get<{ data: Array<{ uid: string }> }>(server, "/api/v1/app");
    // (hookyard-rules holds the rules' own targets: the notify above made it.)
    expect(apps.data.map((a) => a.uid).filter((uid) => uid !== "hookyard-rules")).toEqual([
      "by-hand",
    ]);

    // The uploaded rules are stored: a restart on the same database brings them back.
    await server.stop();
    const restarted = await startTestServer({
      dir: server.dir,
      databaseUrl: server.config.database.url,
    });
    const after = await get<{ data: Array<{ name: string }> }>(restarted, "/api/v1/rules");
    expect(after.data.map((r) => r.name)).toEqual(["on-push"]);
    const origin = await get<{ origin: string; files: Array<{ text: string }> }>(
      restarted,
      "/api/v1/rules/source",
    );
    expect(origin.origin).toBe("api");
    expect(JSON.stringify(origin)).not.toContain("very-secret-token");
  });

  it("reports every problem of the files with file and line and changes nothing", async () => {
    const server = await startTestServer();
    const dir = await declarations({
      "a.yaml": "applications:\n  - name: no uid\n    colour: red\n",
      "b.yaml":
        'sources:\n  - uid: gh\n    type: github\n    config: { secret: "${env:MISSING}" }\n',
      "c.yaml": "rules:\n  - name: r\n    sources: [gh]\n    actions:\n      - run: ./deploy.sh\n",
    });
    const result = await applyAs(server, dir, {}, "--allow-env", "MISSING");
    expect(result.code).toBe(1);
    const lines = result.err.split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        `${join(dir, "a.yaml")}:3: applications[0].colour: unknown key (expected one of: uid, name, rateLimit, metadata, endpoints)`,
        `${join(dir, "a.yaml")}:2: applications[0].uid: required`,
        `${join(dir, "b.yaml")}:4: sources[0].config.secret: environment variable MISSING is not set`,
        expect.stringMatching(
          new RegExp(`^${join(dir, "c.yaml")}:5: rules\\[0\\]\\.actions\\[0\\]\\.run`),
        ),
      ]),
    );
    expect(result.err).toContain("nothing was applied");
    expect((await get<{ data: unknown[] }>(server, "/ingest/api/v1/source")).data).toEqual([]);
  });

  it("takes the svix 2.x names eventTypes and throttleRate, but not both names of one field", async () => {
    const server = await startTestServer();
    const endpoint = (fields: string) =>
      `applications:\n  - uid: app2\n    name: App 2\n    endpoints:\n      - uid: e1\n        url: http://127.0.0.1:9/e\n${fields}`;
    const both = await declarations({
      "a.yaml": endpoint("        eventTypes: [a.b]\n        filterTypes: [a.b]\n"),
    });
    const refused = await apply(server, both, {});
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/a\.yaml:\d+: .*filterTypes: the same as eventTypes/);
    const dir = await declarations({
      "a.yaml": endpoint("        eventTypes: [a.b]\n        throttleRate: 4\n"),
    });
    expect((await apply(server, dir, {})).code).toBe(0);
    const ep = await get<{ eventTypes: string[]; throttleRate: number }>(
      server,
      "/api/v1/app/app2/endpoint/e1",
    );
    expect(ep).toMatchObject({ eventTypes: ["a.b"], throttleRate: 4 });
    const again = await apply(server, dir, {});
    expect(again.out, "applied again, nothing changes").not.toMatch(/^~/m);
  });

  it("refuses to replace rules a server reads from files", async () => {
    const rulesDir = await declarations({ "r.yaml": "rules: []\n" });
    const server = await startTestServer({ rulesPath: join(rulesDir, "r.yaml") });
    const dir = await declarations({ "rules.yaml": RULES });
    const result = await apply(server, dir, { SLACK_URL });
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/the server reads its rules from files .*r\.yaml/);
    expect(result.err).toContain("nothing was applied");
  });

  it("never prunes what it adopted, and hides secrets from problems and old values", async () => {
    const server = await startTestServer();
    const made = await fetch(`${server.url}/api/v1/app`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "made by hand", uid: "cus_1" }),
    });
    expect(made.status).toBe(201);
    const dir = await declarations({
      "apps.yaml": "applications:\n  - uid: cus_1\n    name: Customer one\n",
    });
    const adopt = await apply(server, dir, {});
    expect(adopt.out).toContain("~ application cus_1");
    await writeFile(join(dir, "apps.yaml"), "applications: []\n");
    const pruned = await apply(server, dir, {}, "--prune");
    expect(pruned.code, pruned.err).toBe(0);
    expect(pruned.out, "adopted, so never pruned").not.toContain("- application cus_1");
    const app = await fetch(`${server.url}/api/v1/app/cus_1`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    expect(app.status).toBe(200);

    // A condition that does not parse is quoted in its problem, with the secret put back.
    await writeFile(
      join(dir, "rules.yaml"),
      `rules:\n  - name: r\n    sources: [gh]\n    condition: 'event.headers["x-token"] == "\${env:TOKEN}" &&'\n    actions: [{ log: hi }]\n`,
    );
    const bad = await apply(server, dir, { TOKEN: "tok_SUPERSECRET" });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("rules.yaml:4: rules[0].condition");
    expect(bad.err).toContain("${env:TOKEN}");
    expect(bad.err).not.toContain("tok_SUPERSECRET");
  });

  it("applies the same files from another folder as the same upload", async () => {
    const server = await startTestServer();
    const env = { SLACK_URL };
    const first = await declarations({ "rules.yaml": RULES });
    expect((await apply(server, first, env)).code).toBe(0);
    const second = await declarations({ "rules.yaml": RULES });
    const again = await apply(server, second, env);
    expect(again.out.trim()).toBe("= rules (1 file(s))");
  });

  it("fills ${env:} only from the names allowed, and applies nothing when a file reads another", async () => {
    const server = await startTestServer();
    const catcher = "http://127.0.0.1:9/steal";
    const dir = await declarations({
      "platform.yaml": `applications:
  - uid: acme
    endpoints:
      - uid: leak
        url: "${catcher}?k=\${env:AWS_SECRET_ACCESS_KEY}"
        headers: { x-default: "\${env:CI_TOKEN:-fallback}" }
sources:
  - uid: github
    type: github
    config: { secret: "\${env:HOOKYARD_APPLY_GH_SECRET}" }
`,
      "rules.yaml":
        'notifiers:\n  team: { type: slack, url: "${env:DEPLOY_SLACK_URL}" }\nrules: []\n',
    });
    const env = {
      AWS_SECRET_ACCESS_KEY: "aws-very-secret",
      CI_TOKEN: "ci-very-secret",
      HOOKYARD_APPLY_GH_SECRET: GH_SECRET,
      DEPLOY_SLACK_URL: SLACK_URL,
    };
    const refused = await applyAs(server, dir, env);
    expect(refused.code).toBe(1);
    const lines = refused.err.split("\n");
    const notAllowed = (name: string) =>
      `\${env:${name}} is not allowed: apply fills only the variables you name (--allow-env ${name}, or HOOKYARD_APPLY_ALLOW_ENV=${name}) and those starting with HOOKYARD_APPLY_`;
    expect(lines).toEqual(
      expect.arrayContaining([
        `${join(dir, "platform.yaml")}:5: applications[0].endpoints[0].url: ${notAllowed("AWS_SECRET_ACCESS_KEY")}`,
        `${join(dir, "platform.yaml")}:6: applications[0].endpoints[0].headers.x-default: ${notAllowed("CI_TOKEN")}`,
        `${join(dir, "rules.yaml")}:2: ${notAllowed("DEPLOY_SLACK_URL")}`,
      ]),
    );
    expect(refused.err, "a name refused is said once, not also as not set").not.toContain(
      "is not set",
    );
    expect(refused.err).toContain("nothing was applied");
    expect(refused.err + refused.out).not.toMatch(/very-secret|hooks\.slack/);
    expect((await get<{ data: unknown[] }>(server, "/api/v1/app")).data).toEqual([]);

    // Allowed by name, by prefix and through HOOKYARD_APPLY_ALLOW_ENV: applied.
    const allowed = await applyAs(
      server,
      dir,
      { ...env, HOOKYARD_APPLY_ALLOW_ENV: "CI_TOKEN" },
      "--allow-env",
      "AWS_SECRET_ACCESS_KEY",
      "--allow-env=DEPLOY_*",
    );
    expect(allowed.code, allowed.err).toBe(0);
    const endpoint = await get<{ url: string }>(server, "/api/v1/app/acme/endpoint/leak");
    expect(endpoint.url).toBe(`${catcher}?k=aws-very-secret`);

    const everything = await applyAs(server, dir, env, "--allow-env", "*");
    expect(everything.code).toBe(2);
    expect(everything.err).toMatch(/would let the files read every variable/);
    const bad = await applyAs(server, dir, { HOOKYARD_APPLY_ALLOW_ENV: "A-B" });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(
      '"A-B" (--allow-env or HOOKYARD_APPLY_ALLOW_ENV) is not a variable name',
    );
  });
});
