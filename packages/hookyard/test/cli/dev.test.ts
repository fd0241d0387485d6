import { spawn } from "node:child_process";
import { request } from "node:http";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { DEV_API_KEY } from "../../src/cli/dev.js";
import { startReceiver } from "../helpers/receiver.js";
import { BIN, freePort } from "../helpers/spawn-server.js";

// `hookyard dev` as a developer runs it: the real CLI process in a fresh directory.

async function startDev(args: string[] = [], extraEnv: Record<string, string> = {}) {
  const cwd = await mkdtemp(join(tmpdir(), "hookyard-dev-"));
  onTestFinished(() => rm(cwd, { recursive: true, force: true }));
  const port = await freePort();
  // Only this test's settings: a HOOKYARD_* variable of the machine would change what dev does.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("HOOKYARD_")),
  );
  const child = spawn(process.execPath, [BIN, "dev", ...args], {
    cwd,
    env: { ...env, HOOKYARD_PORT: String(port), ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => void child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return {
    child,
    cwd,
    url: `http://127.0.0.1:${port}`,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
  };
}

describe("hookyard dev", () => {
  it("starts on ./.hookyard with the fixed key and shows a delivered, verified webhook", async () => {
    const dev = await startDev();
    await vi.waitFor(() => expect(dev.stderr()).toContain("✔ signature verified"), {
      timeout: 20_000,
      interval: 50,
    });
    expect(existsSync(join(dev.cwd, ".hookyard", "dev.db"))).toBe(true);
    expect(dev.stderr()).toContain(`API key        ${DEV_API_KEY}`);
    expect(dev.stderr()).toContain(`${dev.url}/api/v1`);
    // Not a terminal: the logs are JSON lines, and one says loopback is allowed for dev only.
    const logs = dev
      .stdout()
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as { msg: string });
    expect(logs.map((l) => l.msg)).toContain(
      "dev mode: deliveries to loopback are allowed (hookyard serve refuses them)",
    );

    // The printed curl command publishes a second message, delivered and verified too.
    const curl = /curl -X POST (\S+) -H 'Authorization: Bearer (\S+)' .* -d '(.+)'\n/.exec(
      dev.stderr(),
    );
    expect(curl).not.toBeNull();
    const [, url, key, body] = curl!;
    const published = await fetch(url!, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body!,
    });
    expect(published.status).toBe(202);
    const { id } = (await published.json()) as { id: string };
    await vi.waitFor(() => expect(dev.stderr()).toContain(`dev.ping ${id} ✔ signature verified`), {
      timeout: 10_000,
    });

    dev.child.kill("SIGINT");
    expect(await dev.exited).toBe(0);
  });

  it("--forward-to delivers the demo endpoint to your own app, with its secret printed", async () => {
    const app = await startReceiver({ defaultReply: 204 });
    onTestFinished(() => app.close());
    const dev = await startDev(["--forward-to", `${app.url}webhooks`]);
    const [delivered] = await app.waitForCount(1, { timeoutMs: 20_000 });
    expect(delivered!.url).toBe("/webhooks");
    await vi.waitFor(() => expect(dev.stderr()).toMatch(/Its secret +whsec_/));
    const secret = /Its secret +(whsec_\S+)/.exec(dev.stderr())![1]!;
    const verified = new Webhook(secret).verify(delivered!.body, delivered!.headers) as {
      type: string;
    };
    expect(verified.type).toBe("dev.ping");
    expect(dev.stderr()).not.toContain("example receiver:");
  });

  it("refuses a --forward-to that is not an http(s) URL", async () => {
    const dev = await startDev(["--forward-to", "localhost:3000"]);
    expect(await dev.exited).toBe(2);
    expect(dev.stderr()).toContain("--forward-to must be an http(s) URL");
  });

  it("refuses to listen beyond loopback with its published key, and answers loopback names only", async () => {
    const exposed = await startDev([], { HOOKYARD_HOST: "0.0.0.0" });
    expect(await exposed.exited).toBe(2);
    expect(exposed.stderr()).toContain("set your own HOOKYARD_API_KEY");

    const dev = await startDev();
    await vi.waitFor(() => expect(dev.stderr()).toContain("✔ signature verified"), {
      timeout: 20_000,
    });
    const asked = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${dev.url}/api/v1/app`, {
          headers: { host, authorization: `Bearer ${DEV_API_KEY}` },
        });
        req.on("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
    expect(await asked("rebound.example:8080")).toBe(400);
    expect(await asked("localhost:8080")).toBe(200);
  });
});
