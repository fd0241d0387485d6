import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import type { CliIo } from "../../src/cli/cli-io.js";
import { runCli } from "../../src/cli/main.js";

interface ServeRun {
  /** Resolves with the exit code once `serve` returned. */
  done: Promise<number>;
  stderr: () => string;
  exits: number[];
  /** Delivers a shutdown signal, as SIGTERM would. */
  signal(name: string): void;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hookyard-serve-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `hookyard serve` in-process against recorded output and a test-controlled signal. */
function serve(cwd: string, args: string[]): ServeRun {
  const err: string[] = [];
  const exits: number[] = [];
  let deliver: (name: string) => void = () => undefined;
  const signalled = new Promise<string>((resolve) => (deliver = resolve));
  const io: CliIo = {
    stdout: { write: () => true },
    stderr: { write: (text: string) => err.push(text) },
    env: {},
    cwd,
    waitForShutdownSignal: () => signalled,
    exit: (code) => void exits.push(code),
  };
  const argv = ["serve", "--host", "127.0.0.1", "--log-level", "silent", ...args];
  const done = runCli(argv, io);
  // If a test fails midway, still stop the server it started.
  onTestFinished(async () => {
    deliver("SIGTERM");
    await done;
  });
  return { done, stderr: () => err.join(""), exits, signal: (name) => deliver(name) };
}

async function listeningUrl(run: ServeRun): Promise<string> {
  return vi.waitFor(
    () => {
      const match = /Hookyard listening on (\S+)/.exec(run.stderr());
      if (match?.[1] === undefined)
        throw new Error(`not listening yet; stderr so far: ${run.stderr()}`);
      return match[1];
    },
    { timeout: 15_000, interval: 20 },
  );
}

describe("hookyard serve", () => {
  it("prints a generated admin key once, serves, and exits 0 after SIGTERM", async () => {
    const dir = tempDir();
    const first = serve(dir, ["--port", "0"]);
    const url = await listeningUrl(first);
    expect(first.stderr()).toContain(
      "Generated admin API key (shown once, only its hash is stored):",
    );

    const health = await fetch(`${url}/api/v1/health`);
    expect(health.status, `GET ${url}/api/v1/health`).toBeLessThan(300);

    first.signal("SIGTERM");
    expect(await first.done).toBe(0);
    expect(first.exits).toEqual([0]);
    expect(first.stderr()).toContain("SIGTERM received, shutting down");

    const second = serve(dir, ["--port", "0"]);
    await listeningUrl(second);
    expect(second.stderr(), "the key is shown on first start only").not.toContain(
      "Generated admin",
    );
    second.signal("SIGINT");
    expect(await second.done).toBe(0);
  });

  it("prints no key when one is configured", async () => {
    const run = serve(tempDir(), [
      "--port",
      "0",
      "--api-key",
      "sk_test_configured_0123456789abcdefghij",
    ]);
    await listeningUrl(run);
    expect(run.stderr()).not.toContain("Generated admin");
    expect(run.stderr()).not.toContain("sk_test_configured_0123456789abcdefghij");
  });

  it("reports a port already in use on one line and exits 1", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const address = blocker.address();
    if (typeof address !== "object" || address === null) throw new Error("blocker has no port");

    const run = serve(tempDir(), ["--port", String(address.port)]);
    expect(await run.done).toBe(1);
    const lines = run.stderr().trimEnd().split("\n");
    expect(lines, run.stderr()).toHaveLength(1);
    expect(lines[0]).toMatch(/^hookyard: cannot start: .*EADDRINUSE/);
  });
});

describe("the hookyard binary", () => {
  const BIN = fileURLToPath(new URL("../../bin/hookyard.js", import.meta.url));

  it("closes and exits 0 on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--host", "127.0.0.1", "--port", "0", "--log-level", "silent"],
      {
        cwd: tempDir(),
        env: { PATH: process.env["PATH"] ?? "" },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    onTestFinished(() => void child.kill("SIGKILL"));
    const exited = once(child, "exit") as Promise<[number | null, string | null]>;
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await vi.waitFor(
      () => {
        if (!stderr.includes("Hookyard listening on")) throw new Error(`not listening: ${stderr}`);
      },
      { timeout: 15_000, interval: 20 },
    );
    child.kill("SIGTERM");
    expect(await exited, stderr).toEqual([0, null]);
  });

  it("exits 1 with the config error on one line", async () => {
    const child = spawn(process.execPath, [BIN, "serve", "--port", "http"], {
      cwd: tempDir(),
      env: { PATH: process.env["PATH"] ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    onTestFinished(() => void child.kill("SIGKILL"));
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect({ code, output }).toEqual({
      code: 1,
      output: 'hookyard: invalid --port (flag): expected an integer 0–65535, got "http"\n',
    });
  });
});
