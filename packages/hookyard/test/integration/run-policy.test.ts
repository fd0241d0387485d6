import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { recordingIo } from "../helpers/cli-io.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { api } from "../helpers/api.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";
import { testDatabaseUrl } from "../helpers/test-store.js";

// Issue 18: an API key must never become a shell. A rulebook uploaded through the API or
// `hookyard apply` may start a program only when the host's own configuration allows exactly
// that program; rulebook files on the host's disk are the operator's own.

const TOUCH = "/usr/bin/touch";

interface Problem {
  loc: string[];
  msg: string;
}
interface RuleOut {
  name: string;
  enabled: boolean;
  disabledReason: string | null;
}
interface Run {
  rule: string;
  status: string;
  error: string | null;
  actions: Array<{ output: Record<string, unknown> | null }>;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hookyard-run-policy-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A rulebook whose one rule runs `argv` every minute, beside a rule that only logs. */
function everyMinute(argv: string[], extra = ""): string {
  return [
    "rules:",
    "  - name: ticks",
    '    sources: [{ schedule: "* * * * *" }]',
    "    actions:",
    "      - log: tick",
    "  - name: pwn",
    '    sources: [{ schedule: "* * * * *" }]',
    "    actions:",
    `      - run: { argv: ${JSON.stringify(argv)}${extra} }`,
    "",
  ].join("\n");
}

async function runsOf(server: TestServer, rule: string): Promise<Run[]> {
  return (await api<{ data: Run[] }>(server, "GET", `/api/v1/rule-run?rule=${rule}`)).json.data;
}

describe("run actions from uploads", () => {
  it("refuses the PWNED upload with 422 naming the rule and line, stores nothing, and runs nothing", async () => {
    const dir = await tempDir();
    const pwned = join(dir, "PWNED");
    const clock = new FakeClock();
    const server = await startTestServer({ clock });
    const put = await api<{ detail: Problem[] }>(server, "PUT", "/api/v1/rules", {
      rulebook: everyMinute(["touch", pwned]),
    });
    expect(put.status).toBe(422);
    expect(put.json.detail).toHaveLength(1);
    expect(put.json.detail[0]!.loc).toEqual(["body", "rules[1].actions[0].run"]);
    expect(put.json.detail[0]!.msg).toMatch(
      /^line 9: rule "pwn": a run action starts a program on the server's host, so it is accepted only from rulebook files on the server's disk/,
    );
    const source = await api<{ origin: string }>(server, "GET", "/api/v1/rules/source");
    expect(source.json.origin, "nothing of the upload is stored").toBe("none");
    expect((await api<{ data: RuleOut[] }>(server, "GET", "/api/v1/rules")).json.data).toEqual([]);

    // An allowed schedule in the same server fires on this clock: the refused one would have too.
    const ok = await api(server, "PUT", "/api/v1/rules", {
      rulebook: everyMinute(["/bin/true"]).split("  - name: pwn")[0],
    });
    expect(ok.status).toBe(200);
    await clock.advance(61_000);
    await expect.poll(async () => (await runsOf(server, "ticks")).length).toBe(1);
    expect(existsSync(pwned)).toBe(false);
    expect(await runsOf(server, "pwn")).toEqual([]);
  });

  it("refuses the same rulebook through `hookyard apply`, with one clear line and exit code 1", async () => {
    const server = await startTestServer();
    const dir = await tempDir();
    await writeFile(join(dir, "rules.yaml"), everyMinute(["touch", join(dir, "PWNED")]));
    const run = recordingIo();
    run.io.env = { HOOKYARD_API_KEY: TEST_API_KEY };
    const code = await runCli(["apply", "-f", dir, "--server", server.url], run.io);
    expect(code).toBe(1);
    expect(run.stderr()).toMatch(/rule "pwn": a run action starts a program on the server's host/);
    expect(run.stderr()).toMatch(/line 9/);
    const source = await api<{ origin: string }>(server, "GET", "/api/v1/rules/source");
    expect(source.json.origin).toBe("none");
  });

  it("with allowRunFromApi alone (no allowed commands) still refuses every program", async () => {
    const server = await startTestServer({ rules: { allowRunFromApi: true } });
    const put = await api<{ detail: Problem[] }>(server, "PUT", "/api/v1/rules", {
      rulebook: everyMinute([TOUCH, "/tmp/x"]),
    });
    expect(put.status).toBe(422);
    expect(put.json.detail[0]!.loc).toEqual(["body", "rules[1].actions[0].run.argv[0]"]);
    expect(put.json.detail[0]!.msg).toContain(
      `"${TOUCH}" is not in the host's rules.allowedCommands (empty)`,
    );
  });

  it("with allowedCommands alone (no allowRunFromApi) refuses too: the host opts in twice", async () => {
    const server = await startTestServer({ rules: { allowedCommands: [TOUCH] } });
    const put = await api<{ detail: Problem[] }>(server, "PUT", "/api/v1/rules", {
      rulebook: everyMinute([TOUCH, "/tmp/x"]),
    });
    expect(put.status).toBe(422);
    expect(put.json.detail[0]!.msg).toMatch(/accepted only from rulebook files/);
  });

  it("runs an allow-listed program named by its absolute path, and refuses anything else", async () => {
    const dir = await tempDir();
    const clock = new FakeClock();
    const server = await startTestServer({
      clock,
      rules: { allowRunFromApi: true, allowedCommands: [TOUCH] },
    });
    const refused = async (argv: string[], extra = "") => {
      const put = await api<{ detail: Problem[] }>(server, "PUT", "/api/v1/rules", {
        rulebook: everyMinute(argv, extra),
      });
      expect(put.status, JSON.stringify(argv) + extra).toBe(422);
      return put.json.detail[0]!;
    };
    expect((await refused(["touch", join(dir, "a")])).msg).toContain(
      '"touch" is not in the host\'s rules.allowedCommands ("/usr/bin/touch")',
    );
    expect((await refused(["/usr/bin/env", "touch", join(dir, "a")])).msg).toContain(
      '"/usr/bin/env" is not in',
    );
    expect((await refused(["{{ event.payload.program }}", "x"])).msg).toMatch(
      /must be written out, not a \{\{ \}\} template/,
    );
    const upDir = await refused([TOUCH, "x"], ", cwd: ../..");
    expect(upDir.loc).toEqual(["body", "rules[1].actions[0].run.cwd"]);
    expect(upDir.msg).toMatch(/must not go up a directory/);
    expect((await refused([TOUCH, "x"], ", cwd: /etc")).msg).toMatch(/not an absolute one/);
    // An allowed program made to load other code through its environment.
    for (const name of ["LD_PRELOAD", "PATH", "GIT_CONFIG_COUNT", "BASH_ENV", "NODE_OPTIONS"]) {
      const loader = await refused([TOUCH, "x"], `, env: { ${name}: /tmp/evil }`);
      expect(loader.loc).toEqual(["body", `rules[1].actions[0].run.env.${name}`]);
      expect(loader.msg).toContain(`an uploaded rule may not set ${name}`);
    }

    const made = join(dir, "ALLOWED");
    const put = await api(server, "PUT", "/api/v1/rules", { rulebook: everyMinute([TOUCH, made]) });
    expect(put.status).toBe(200);
    await clock.advance(61_000);
    await expect.poll(async () => (await runsOf(server, "pwn"))[0]?.status).toBe("succeeded");
    expect(existsSync(made)).toBe(true);
  });

  it("keeps upload file names from leaving anything (.., absolute paths)", async () => {
    const server = await startTestServer();
    for (const name of ["../../etc/cron.d/x.yaml", "/etc/x.yaml", "a/../../b.yaml", "..\\x.yaml"]) {
      const put = await api<{ detail: Problem[] }>(server, "PUT", "/api/v1/rules", {
        files: [{ name, text: "rules: []\n" }],
      });
      expect(put.status, name).toBe(422);
      expect(put.json.detail[0]!.msg, name).toMatch(/in an upload/);
    }
    const fine = await api(server, "PUT", "/api/v1/rules", {
      files: [{ name: "team/deploys.yaml", text: "rules: []\n" }],
    });
    expect(fine.status).toBe(200);
  });

  it("does not run command rules of an upload stored before the policy: listed disabled, one warning", async () => {
    const dir = await tempDir();
    const databaseUrl = await testDatabaseUrl(dir);
    const made = join(dir, "LEGACY");
    // An upload the old server took (here: a host that allowed it, since changed its mind).
    const before = await startTestServer({
      dir,
      databaseUrl,
      rules: { allowRunFromApi: true, allowedCommands: [TOUCH] },
    });
    const src = await api<{ ingestUrl: string }>(before, "POST", "/ingest/api/v1/source", {
      name: "hooks",
      uid: "hooks",
      type: "generic-webhook",
    });
    const uploaded = await api(before, "PUT", "/api/v1/rules", {
      rulebook: [
        "rules:",
        "  - name: logs",
        "    sources: [hooks]",
        "    actions:",
        "      - log: got one",
        "      - transform: '{\"ok\": true}'",
        "  - name: deploys",
        "    sources: [hooks]",
        "    actions:",
        `      - run: [${TOUCH}, ${made}]`,
        "",
      ].join("\n"),
    });
    expect(uploaded.status).toBe(200);
    await before.stop();

    const lines: Array<{ level: number; msg: string; rules?: string[] }> = [];
    const logger = pino(
      { level: "warn" },
      { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
    );
    const after = await startTestServer({ dir, databaseUrl, logger });
    const warnings = lines.filter((l) => l.msg.startsWith("uploaded rules not run"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.rules).toEqual(["deploys"]);
    const rules = (await api<{ data: RuleOut[] }>(after, "GET", "/api/v1/rules")).json.data;
    expect(rules.map((r) => [r.name, r.enabled])).toEqual([
      ["logs", true],
      ["deploys", false],
    ]);
    expect(rules[1]!.disabledReason).toMatch(
      /^not run: rules\[1\]\.actions\[0\]\.run: a run action/,
    );

    const ingestUrl = new URL(new URL(src.json.ingestUrl).pathname, after.url);
    expect((await fetch(ingestUrl, { method: "POST", body: "{}" })).status).toBe(200);
    await expect.poll(async () => (await runsOf(after, "logs"))[0]?.status).toBe("succeeded");
    expect(await runsOf(after, "deploys")).toEqual([]);
    expect(existsSync(made)).toBe(false);
  });
});

describe("what a command sees", () => {
  it("gets PATH and the variables its rule names, never the server's environment", async () => {
    const dir = await tempDir();
    const file = join(dir, "rules.yaml");
    const out = join(dir, "env.json");
    await writeFile(
      file,
      [
        "rules:",
        "  - name: shows-env",
        "    sources: [hooks]",
        "    actions:",
        "      - run:",
        `          argv: [${process.execPath}, -e, "require('fs').writeFileSync(process.argv[1], JSON.stringify(process.env))", ${out}]`,
        "          env: { REF: '{{ event.payload.ref }}', FROM_ENV: '${env:SHOWN_TO_RULE}', PATH: /nowhere }",
        "",
      ].join("\n"),
    );
    // What a server may have in its environment: none of it is the command's business.
    const secrets = {
      HOOKYARD_API_KEY: TEST_API_KEY,
      HOOKYARD_DATABASE_URL: "postgres://postgres:hunter2@127.0.0.1/test",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    };
    const saved = { ...process.env };
    Object.assign(process.env, secrets);
    onTestFinished(() => {
      for (const name of Object.keys(secrets)) delete process.env[name];
      Object.assign(process.env, saved);
    });
    const server = await startTestServer({
      rulesPath: file,
      env: { SHOWN_TO_RULE: "chosen", ...secrets },
    });
    const src = await api<{ ingestUrl: string }>(server, "POST", "/ingest/api/v1/source", {
      name: "hooks",
      uid: "hooks",
      type: "generic-webhook",
    });
    await fetch(src.json.ingestUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"ref":"main"}',
    });
    await expect
      .poll(async () => (await runsOf(server, "shows-env"))[0]?.status)
      .toMatch(/succeeded|failed/);
    const [ran] = await runsOf(server, "shows-env");
    expect(ran?.status, JSON.stringify(ran)).toBe("succeeded");
    const seen = JSON.parse(await readFile(out, "utf8")) as Record<string, string>;
    expect(Object.keys(seen).sort()).toEqual(["FROM_ENV", "PATH", "REF"]);
    expect(seen).toMatchObject({ REF: "main", FROM_ENV: "chosen", PATH: process.env["PATH"] });
  });
});
