import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import type { CliIo } from "../../src/cli/cli-io.js";
import { runCli } from "../../src/cli/main.js";
import { createTestCa } from "../helpers/certificates.js";
import { httpsRequest, keyPairFiles } from "../helpers/https-client.js";

// `hookyard serve` with server.tls: the URL it prints, and a wrong TLS file stopping it.

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hookyard-serve-tls-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `hookyard serve` in-process; it stops when the test ends. */
function serve(cwd: string, args: string[], env: Record<string, string> = {}) {
  const err: string[] = [];
  let deliver: (name: string) => void = () => undefined;
  const signalled = new Promise<string>((resolve) => (deliver = resolve));
  const io: CliIo = {
    stdout: { write: () => true },
    stderr: { write: (text: string) => err.push(text) },
    env: { HOOKYARD_API_KEY: "serve_tls_test_key_0123456789abcdef", ...env },
    cwd,
    waitForShutdownSignal: () => signalled,
    exit: () => undefined,
  };
  const done = runCli(["serve", "--host", "127.0.0.1", "--log-level", "silent", ...args], io);
  onTestFinished(async () => {
    deliver("SIGTERM");
    await done;
  });
  return { done, stderr: () => err.join("") };
}

describe("hookyard serve with server.tls", () => {
  it("prints an https URL and serves HTTPS there", async () => {
    const ca = createTestCa();
    const files = keyPairFiles(ca.server());
    const run = serve(tempDir(), ["--port", "0", "--tls-cert", files.cert, "--tls-key", files.key]);
    const url = await vi.waitFor(
      () => {
        const match = /Hookyard listening on (\S+)/.exec(run.stderr());
        if (match?.[1] === undefined) throw new Error(`not listening yet: ${run.stderr()}`);
        return match[1];
      },
      { timeout: 15_000, interval: 20 },
    );
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await httpsRequest(`${url}/api/v1/health`, { ca: ca.cert })).status).toBe(204);
  });

  it("stops at a key that does not match the certificate with one line naming the key", async () => {
    const ca = createTestCa();
    const files = keyPairFiles(ca.server());
    const other = keyPairFiles(ca.server());
    const cwd = tempDir();
    const run = serve(cwd, ["--tls-cert", files.cert, "--tls-key", other.key]);
    expect(await run.done).toBe(1);
    expect(run.stderr()).toBe(
      `hookyard: server.tls.key: ${other.key} is not the private key of the certificate in server.tls.cert (${files.cert})\n`,
    );
    expect(existsSync(join(cwd, ".hookyard")), "nothing was opened before the check").toBe(false);
  });

  it("stops at a missing certificate file, from the environment too, with one line", async () => {
    const ca = createTestCa();
    const files = keyPairFiles(ca.server());
    const run = serve(tempDir(), ["--tls-key", files.key], {
      HOOKYARD_TLS_CERT: "nowhere/cert.pem",
    });
    expect(await run.done).toBe(1);
    expect(run.stderr()).toBe(
      "hookyard: server.tls.cert: cannot read nowhere/cert.pem (no such file)\n",
    );
  });
});
