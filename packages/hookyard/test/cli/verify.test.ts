import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it, onTestFinished } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { recordingIo } from "../helpers/cli-io.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

const GITHUB_SECRET = "It's a Secret to Everybody";
const SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BODY = '{"action":"opened","number":7,"repository":{"full_name":"acme/app"}}';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hookyard-verify-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes the headers and body files of a request into a fresh temp dir. */
async function requestFiles(headers: string, body: string | Buffer) {
  const dir = await tempDir();
  await writeFile(join(dir, "headers.txt"), headers);
  await writeFile(join(dir, "body"), body);
  return { dir, headers: join(dir, "headers.txt"), body: join(dir, "body") };
}

async function verify(argv: string[], env: Record<string, string> = {}) {
  const run = recordingIo();
  const io = { ...run.io, env };
  const code = await runCli(["verify", ...argv], io);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

describe("hookyard verify --headers --body", () => {
  it("reports a match from a curl -D style header file, the secret from the environment", async () => {
    const files = await requestFiles(
      [
        "POST /webhooks HTTP/1.1",
        "Host: example.com",
        "X-GitHub-Event: pull_request",
        `X-Hub-Signature-256: ${await githubSign(GITHUB_SECRET, BODY)}`,
        "",
      ].join("\r\n"),
      BODY,
    );
    const run = await verify(["--headers", files.headers, "--body", files.body], {
      HOOKYARD_VERIFY_SECRET: GITHUB_SECRET,
    });
    expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" });
    const lines = run.stdout.split("\n");
    expect(lines[0]).toMatch(
      /^checking .*headers\.txt \+ .*body \(68 B body\), secret It's… \(26 chars\), at /,
    );
    expect(lines.slice(1)).toEqual([
      "github  X-Hub-Signature-256  ✓ signature matches",
      "✓ the signature matches (github)",
      "",
    ]);
    expect(run.stdout, "the secret is never printed").not.toContain(GITHUB_SECRET);
  });

  it("names body_changed with the first differing byte when the body gained a newline", async () => {
    const signature = await githubSign(GITHUB_SECRET, BODY);
    const files = await requestFiles(`X-Hub-Signature-256: ${signature}\n`, `${BODY}\n`);
    const run = await verify([
      "--headers",
      files.headers,
      "--body",
      files.body,
      "--secret",
      GITHUB_SECRET,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout.split("\n").slice(1)).toEqual([
      'github  X-Hub-Signature-256  ✗ body changed: the sender signed the body without the trailing "\\n" yours ends with',
      '                               offset 68: given "…\\"acme/app\\"}}\\n" signed "…\\"acme/app\\"}}"',
      "✗ no signature matches (1 scheme(s) checked)",
      "",
    ]);
  });

  it("prints --json with each scheme's verdict, cause and evidence, judged --at a given time", async () => {
    const at = 1_700_000_000;
    const signature = new StandardWebhook(SW_SECRET).sign("msg_9", new Date(at * 1000), BODY);
    const headers = {
      "webhook-id": "msg_9",
      "webhook-timestamp": String(at),
      "webhook-signature": signature,
    };
    const files = await requestFiles(JSON.stringify(headers), BODY);
    const args = [
      "--headers",
      files.headers,
      "--body",
      files.body,
      "--secret",
      SW_SECRET,
      "--json",
    ];
    const late = await verify([...args, "--at", String(at + 400)]);
    expect(late.code).toBe(1);
    expect(JSON.parse(late.stdout)).toEqual({
      schemes: [
        {
          scheme: "standard-webhooks",
          header: "webhook-signature",
          verdict: "mismatch",
          cause: "timestamp_outside_tolerance",
          detail: `the signature matches, but webhook-timestamp ${at} is 400 s old at 2023-11-14T22:20:00Z: 100 s outside the 300 s tolerance`,
          evidence: { timestamp: at, skewSeconds: 400, toleranceSeconds: 300 },
        },
      ],
      ok: false,
      at: "2023-11-14T22:20:00.000Z",
    });
    const tolerant = await verify([...args, "--at", "2023-11-14T22:20:00Z", "--tolerance", "600"]);
    expect(tolerant.code, tolerant.stdout).toBe(0);
    expect((JSON.parse(tolerant.stdout) as { ok: boolean }).ok).toBe(true);
  });

  it("says so when no header of a known scheme is there, and checks the one --scheme names", async () => {
    const files = await requestFiles("Content-Type: application/json\nX-Signature: abc\n", BODY);
    const base = ["--headers", files.headers, "--body", files.body, "--secret", "k"];
    const none = await verify(base);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain(
      "✗ no signature header of a known scheme (standard-webhooks/svix, github, stripe, slack, shopify); headers: content-type, x-signature",
    );
    const named = await verify([...base, "--scheme", "hmac:X-Signature"]);
    expect(named.stdout).toContain("hmac  x-signature  ✗ wrong secret:");
  });

  it("refuses wrong usage with exit 2 and one line, and an unreadable file with exit 1", async () => {
    const files = await requestFiles("X-Hub-Signature-256: sha256=00\n", BODY);
    const noSecret = await verify(["--headers", files.headers, "--body", files.body]);
    expect(noSecret).toEqual({
      code: 2,
      stdout: "",
      stderr: "hookyard verify: no secret: give --secret <value> or set HOOKYARD_VERIFY_SECRET\n",
    });
    const nothing = await verify(["--secret", "s"]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/^hookyard verify: nothing to check: .*\n$/);
    const fromFiles = ["--headers", files.headers, "--body", files.body, "--secret", "s"];
    const sourceOfFiles = await verify([...fromFiles, "--source", "gh-prod"]);
    expect(sourceOfFiles).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "hookyard verify: --source names the source of a captured request (<req_…>), not of files\n",
    });
    const badScheme = await verify([...fromFiles, "--scheme", "paypal"]);
    expect(badScheme.code).toBe(2);
    const missing = await verify([
      "--headers",
      join(files.dir, "nope"),
      "--body",
      files.body,
      "--secret",
      "s",
    ]);
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toMatch(
      /^hookyard verify: cannot read the --headers file .*nope \(ENOENT\)\n$/,
    );
  });
});

async function githubSource(server: TestServer, uid = "gh-prod") {
  const res = await fetch(`${server.url}/ingest/api/v1/source`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: "gh",
      uid,
      type: "github",
      config: { secret: GITHUB_SECRET },
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; ingestUrl: string };
}

/** Sends `body` signed as `signedBody` with `secret` over real HTTP; returns the captured id. */
async function sendRejected(
  server: TestServer,
  ingestUrl: string,
  sourceId: string,
  send: { body: string; signedBody: string; secret: string },
) {
  const res = await fetch(ingestUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "pull_request",
      "x-hub-signature-256": await githubSign(send.secret, send.signedBody),
    },
    body: send.body,
  });
  expect(res.status, "the source refuses the signature").toBe(401);
  const listed = await fetch(
    `${server.url}/ingest/api/v1/source/${sourceId}/request?status=rejected&limit=1`,
    {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    },
  );
  const page = (await listed.json()) as { data: Array<{ id: string }> };
  return page.data[0]!.id;
}

describe("hookyard verify --request", () => {
  it("explains a captured rejected request: body_changed, then wrong_secret", async () => {
    const server = await startTestServer();
    const source = await githubSource(server);
    const env = { HOOKYARD_API_KEY: TEST_API_KEY, HOOKYARD_SERVER_URL: server.url };

    const pretty = JSON.stringify(JSON.parse(BODY), null, 2);
    const reformatted = await sendRejected(server, source.ingestUrl, source.id, {
      body: pretty,
      signedBody: BODY,
      secret: GITHUB_SECRET,
    });
    const changed = await verify(
      [reformatted, "--source", "gh-prod", "--secret", GITHUB_SECRET, "--json"],
      env,
    );
    expect(changed.code, changed.stderr).toBe(1);
    expect(JSON.parse(changed.stdout)).toMatchObject({
      schemes: [
        {
          scheme: "github",
          header: "X-Hub-Signature-256",
          cause: "body_changed",
          detail: "the sender signed the compact JSON; your body is re-serialised",
          evidence: { offset: 1 },
        },
      ],
      ok: false,
    });

    const otherSecret = await sendRejected(server, source.ingestUrl, source.id, {
      body: BODY,
      signedBody: BODY,
      secret: "not the secret",
    });
    const wrong = await verify(
      ["--request", otherSecret, "--source", source.id, "--secret", GITHUB_SECRET],
      env,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain(
      `checking ${otherSecret} of ${source.id} (rejected: signature does not match; 68 B body)`,
    );
    expect(wrong.stdout).toContain(
      "github  X-Hub-Signature-256  ✗ wrong secret: the signature was made with a different secret than It's… (26 chars)",
    );
  });

  it("says body_truncated for a rejected request whose body the server kept only the start of", async () => {
    const server = await startTestServer();
    const source = await githubSource(server);
    const big = JSON.stringify({ padding: "x".repeat(5000) });
    const id = await sendRejected(server, source.ingestUrl, source.id, {
      body: big,
      signedBody: BODY,
      secret: GITHUB_SECRET,
    });
    const env = { HOOKYARD_API_KEY: TEST_API_KEY, HOOKYARD_SERVER_URL: server.url };
    const run = await verify([id, "--source", "gh-prod", "--secret", GITHUB_SECRET], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `github  X-Hub-Signature-256  ✗ body truncated: only the first 4096 of ${big.length} bytes`,
    );
  });

  it("finds a captured request by its id alone when --source is not given", async () => {
    const server = await startTestServer();
    const source = await githubSource(server);
    const id = await sendRejected(server, source.ingestUrl, source.id, {
      body: `${BODY}\n`,
      signedBody: BODY,
      secret: GITHUB_SECRET,
    });
    const env = { HOOKYARD_API_KEY: TEST_API_KEY, HOOKYARD_SERVER_URL: server.url };
    const run = await verify([id, "--secret", GITHUB_SECRET], env);
    expect(run, run.stderr).toMatchObject({ code: 1, stderr: "" });
    expect(run.stdout).toContain(
      `checking ${id} of ${source.id} (rejected: signature does not match; 69 B body)`,
    );
    expect(run.stdout).toContain(
      'github  X-Hub-Signature-256  ✗ body changed: the sender signed the body without the trailing "\\n" yours ends with',
    );
    const elsewhere = await githubSource(server, "gh-other");
    const wrongSource = await verify(
      [id, "--source", elsewhere.id, "--secret", GITHUB_SECRET],
      env,
    );
    expect(wrongSource, "with --source, the request is looked up in that source only").toEqual({
      code: 1,
      stdout: "",
      stderr: `hookyard verify: the server answered 404: Request "${id}" not found\n`,
    });
  });

  it("says in one line why it cannot fetch the request: unknown id, wrong key, unreachable server", async () => {
    const server = await startTestServer();
    const env = { HOOKYARD_API_KEY: TEST_API_KEY, HOOKYARD_SERVER_URL: server.url };
    const unknown = await verify(["req_1", "--secret", "s"], env);
    expect(unknown).toEqual({
      code: 1,
      stdout: "",
      stderr: 'hookyard verify: the server answered 404: Request "req_1" not found\n',
    });

    const wrongKey = await verify([
      "req_1",
      "--secret",
      "s",
      "--server",
      server.url,
      "--api-key",
      "wrong",
    ]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/^hookyard verify: the server answered 401[^\n]*\n$/);

    await server.stop();
    const down = await verify([
      "req_1",
      "--source",
      "x",
      "--secret",
      "s",
      "--server",
      server.url,
      "--api-key",
      TEST_API_KEY,
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      new RegExp(`^hookyard verify: cannot reach ${server.url}[^\\n]*\\n$`),
    );
  });
});

describe("the hookyard binary", () => {
  const BIN = fileURLToPath(new URL("../../bin/hookyard.js", import.meta.url));

  /** Runs the built CLI as a process, with only PATH and `env` in its environment. */
  async function runBinary(argv: string[], env: Record<string, string>) {
    const child = spawn(process.execPath, [BIN, ...argv], {
      env: { PATH: process.env["PATH"] ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    onTestFinished(() => void child.kill("SIGKILL"));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    return { code, stdout, stderr };
  }

  it("fetches a captured request by its id alone and exits 1 on a mismatch", async () => {
    const server = await startTestServer();
    const source = await githubSource(server);
    const id = await sendRejected(server, source.ingestUrl, source.id, {
      body: BODY,
      signedBody: BODY,
      secret: "not the secret",
    });
    const run = await runBinary(["verify", id], {
      HOOKYARD_VERIFY_SECRET: GITHUB_SECRET,
      HOOKYARD_API_KEY: TEST_API_KEY,
      HOOKYARD_SERVER_URL: server.url,
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: "" });
    expect(run.stdout).toContain(`checking ${id} of ${source.id} (rejected:`);
    expect(run.stdout).toContain("github  X-Hub-Signature-256  ✗ wrong secret:");
  });

  it("verifies files and exits 0 on a match", async () => {
    const signature = await githubSign(GITHUB_SECRET, BODY);
    const files = await requestFiles(`X-Hub-Signature-256: ${signature}\n`, BODY);
    const run = await runBinary(["verify", "--headers", files.headers, "--body", files.body], {
      HOOKYARD_VERIFY_SECRET: GITHUB_SECRET,
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout).toContain("github  X-Hub-Signature-256  ✓ signature matches\n");
  });
});
