import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Pool } from "undici";
import { freePort, waitForAnswer } from "./children.mjs";

/** `node packages/hookyard/bin/hookyard.js serve`: the server of phases (b), (e)–(h) and (j). */
export function serveArgs(repoRoot) {
  return [join(repoRoot, "packages/hookyard/bin/hookyard.js"), "serve"];
}

/**
 * Starts `nodes` server processes (`serverArgs`, run by this Node binary) as children through
 * `registry`, sharing one database (default: a fresh SQLite file in `dir`), one API key and one
 * secrets key, logging to `dir/server.log`, and waits (≤ `startMs` each) until each answers
 * `GET /api/v1/health`. Returns { servers, pools, call, logPath, stop }: `pools[n]` holds the
 * publishers' share of 64 connections to process n; `call(method, path, body, via)` is an API
 * call that throws on a non-2xx answer. On failure everything started is stopped again.
 */
export async function startHookyard({
  registry,
  dir,
  serverArgs,
  databaseUrl = null,
  nodes = 1,
  env = {},
  startMs,
}) {
  const logPath = join(dir, "server.log");
  const apiKey = `hk_bench_${randomBytes(18).toString("base64url")}`;
  // Several processes on one PostgreSQL share their secrets key (there is no key file to make).
  const secretsKey = randomBytes(32).toString("base64");
  const servers = [];
  const pools = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const p of pools) await p.close().catch(() => {});
    for (const s of servers) await registry.stop(s, 10_000);
  };
  try {
    const logFd = openSync(logPath, "a");
    try {
      for (let n = 0; n < nodes; n++) {
        const port = await freePort();
        servers.push(
          registry.spawn(process.execPath, [...serverNodeArgs(), ...serverArgs], {
            cwd: dir,
            stdio: ["ignore", logFd, logFd],
            env: {
              ...process.env,
              HOOKYARD_HOST: "127.0.0.1",
              HOOKYARD_PORT: String(port),
              HOOKYARD_DATABASE_URL: databaseUrl ?? `sqlite:${join(dir, "bench.db")}`,
              HOOKYARD_API_KEY: apiKey,
              HOOKYARD_SECRETS_KEY: secretsKey,
              HOOKYARD_EGRESS_ALLOW: "127.0.0.1/32",
              HOOKYARD_LOG_LEVEL: "warn",
              ...env,
            },
          }),
        );
        // The publishers' 64 connections, split over the processes.
        pools.push(
          new Pool(`http://127.0.0.1:${port}`, {
            connections: Math.ceil(64 / nodes),
            pipelining: 1,
          }),
        );
      }
    } finally {
      closeSync(logFd);
    }
    for (let n = 0; n < nodes; n++) {
      await waitForAnswer({
        pool: pools[n],
        child: servers[n],
        name: "hookyard",
        path: "/api/v1/health",
        accept: (status) => status >= 200 && status < 300,
        timeoutMs: startMs,
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const auth = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
  const call = async (method, path, body, via = pools[0]) => {
    const res = await via.request({
      method,
      path,
      headers: auth,
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new Error(`${method} ${path} answered ${res.statusCode}: ${text.slice(0, 300)}`);
    }
    return text === "" ? null : JSON.parse(text);
  };
  return { servers, pools, call, logPath, stop };
}

/** `err` with the last lines of the server log appended, so that a failed phase says why. */
export function withLogTail(err, logPath) {
  const tail = readTail(logPath);
  return new Error(
    `${err instanceof Error ? err.message : String(err)}${tail ? `\n  server log tail:\n${tail}` : ""}`,
    { cause: err },
  );
}

/** Extra node flags for the server (to profile it: HOOKYARD_BENCH_SERVER_NODE_ARGS=--cpu-prof). */
function serverNodeArgs() {
  return (process.env.HOOKYARD_BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
}

/** The last `lines` non-empty lines of a log file, indented; "" when it cannot be read. */
export function readTail(path, lines = 8) {
  try {
    return readFileSync(path, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .slice(-lines)
      .map((line) => `    ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`)
      .join("\n");
  } catch {
    return "";
  }
}
