import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { onTestFinished, vi } from "vitest";
import { TEST_SECRETS_KEY } from "./secrets.js";

export const BIN = fileURLToPath(new URL("../../bin/hookyard.js", import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Resolves with the exit code or signal once the process ended. */
  exited: Promise<number | string>;
}

/** Starts `hookyard serve` (the compiled CLI, as a user runs it) and waits until /api/v1/health answers. */
export async function spawnServer(
  env: Record<string, string>,
  opts: { port: number; timeoutMs?: number },
): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [BIN, "serve"], {
    env: {
      ...process.env,
      HOOKYARD_HOST: "127.0.0.1",
      HOOKYARD_PORT: String(opts.port),
      HOOKYARD_LOG_LEVEL: "warn",
      // Servers sharing a PostgreSQL database need the same configured key (a SQLite one makes
      // its key file).
      ...(env["HOOKYARD_DATABASE_URL"]?.startsWith("postgres") === true && {
        HOOKYARD_SECRETS_KEY: TEST_SECRETS_KEY,
      }),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => void child.kill("SIGKILL"));
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  const url = `http://127.0.0.1:${opts.port}`;
  await vi
    .waitFor(
      async () => {
        if (child.exitCode !== null) {
          // Stop waiting at once: the server will not come up.
          throw Object.assign(new Error(`hookyard exited with ${child.exitCode}:\n${output}`), {
            fatal: true,
          });
        }
        const res = await fetch(`${url}/api/v1/health`);
        if (res.status >= 300) throw new Error(`health answered ${res.status}`);
      },
      { timeout: opts.timeoutMs ?? 20_000, interval: 50 },
    )
    .catch((err: unknown) => {
      throw new Error(`hookyard did not answer ${url}/api/v1/health: ${String(err)}\n${output}`);
    });
  return { child, url, output: () => output, exited };
}
