import { createHmac, randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { freePort } from "./children.mjs";
import { postgresCpuSeconds, processCpuSeconds } from "./cpu.mjs";
import { runEndToEnd } from "./end-to-end.mjs";
import { startReceiver } from "./receiver-handle.mjs";

/**
 * Phase (b): the real Hookyard server (`node packages/hookyard/bin/hookyard.js serve`, compiled
 * dist) as a child process with a fresh SQLite database, one application, one endpoint pointing
 * at a receiver child in "record" mode; messages are published through the Svix-compatible JSON
 * API (`POST /api/v1/app/{app_id}/msg`) by this process with undici.
 */
export async function runHookyard({
  registry,
  repoRoot,
  messages,
  warmup,
  lanes,
  c1Messages,
  bounds,
  keepTemp,
  log,
  // Phase (d) runs bench/lib/floor-server.mjs through the same driver.
  serverArgs = [join(repoRoot, "packages/hookyard/bin/hookyard.js"), "serve"],
  // The PostgreSQL phases pass a database (a fresh schema) and 1 or 2 server processes.
  databaseUrl = null,
  nodes = 1,
  // Phase (f), `--inbound`: signed GitHub requests to an ingest URL instead of API publishes.
  scenario = "outbound",
  // Phase (g), `--rules`: phase (f) with this rulebook (YAML text) loaded at start.
  rulebook = null,
  // Phase (h), `--payload-filter`: phase (b) with this CEL payload filter on the endpoint.
  payloadFilter = null,
}) {
  const dir = mkdtempSync(join(tmpdir(), "hookyard-bench-"));
  if (!keepTemp) registry.trackDir(dir);
  const logPath = join(dir, "server.log");
  const apiKey = `hk_bench_${randomBytes(18).toString("base64url")}`;
  // Several processes on one PostgreSQL share their secrets key (there is no key file to make).
  const secretsKey = randomBytes(32).toString("base64");
  const logFd = openSync(logPath, "a");
  const rulesPath = join(dir, "rules.yaml");
  if (rulebook !== null) writeFileSync(rulesPath, rulebook);
  const servers = [];
  const pools = [];
  let receiver;
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
            ...(rulebook !== null && { HOOKYARD_RULES: rulesPath }),
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
    closeSync(logFd);
    const [server] = servers;
    const [pool] = pools;
    const auth = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };

    const call = async (method, path, body, via = pool) => {
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

    log(`  starting ${nodes} hookyard process(es) (log in ${dir})`);
    for (let n = 0; n < nodes; n++) {
      await waitForHealth({ pool: pools[n], server: servers[n], timeoutMs: bounds.startMs });
    }
    receiver = await startReceiver(registry, "record");
    const clock = await receiver.clockOffset();
    const publish =
      scenario === "inbound"
        ? await inboundSender({ call, pools, receiverUrl: receiver.url })
        : await outboundPublisher({ call, pools, receiverUrl: receiver.url, payloadFilter });
    // On PostgreSQL the database server's CPU is part of the system under test, as Redis's is
    // for BullMQ (the bench runs against a local server; every postgres process is counted).
    const cpuSeconds = async () => ({
      server: servers.reduce((sum, s) => sum + processCpuSeconds(s.pid), 0),
      ...(databaseUrl?.startsWith("postgres") ? { postgres: postgresCpuSeconds() } : {}),
    });
    const result = await runEndToEnd({
      receiver,
      publish,
      cpuSeconds,
      messages,
      warmup,
      lanes,
      c1Messages,
      bounds,
      log,
    });
    const rules =
      rulebook === null
        ? undefined
        : await drainRuleRuns({ call, dbPath: join(dir, "bench.db"), bounds, load: result.load });
    return {
      ...result,
      clock,
      serverExit: server.exitCode ?? server.signalCode ?? null,
      nodes,
      ...(rules && { rules }),
    };
  } catch (err) {
    const tail = readTail(logPath);
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}${tail ? `\n  server log tail:\n${tail}` : ""}`,
      {
        cause: err,
      },
    );
  } finally {
    for (const p of pools) await p.close().catch(() => {});
    if (receiver) await receiver.stop();
    for (const s of servers) await registry.stop(s, 10_000);
    if (!keepTemp) {
      rmSync(dir, { recursive: true, force: true });
      registry.untrackDir(dir);
    }
  }
}

/**
 * Phase (g): waits (bounded) until no rule run is queued or running, then counts the runs by
 * status straight from the SQLite file (read-only): every matching rule must have run once per
 * request, warm-up included.
 */
async function drainRuleRuns({ call, dbPath, bounds, load }) {
  const started = performance.now();
  const open = async (status) =>
    (await call("GET", `/api/v1/rule-run?status=${status}&limit=1`)).data.length;
  while (performance.now() - started < bounds.drainMs) {
    if ((await open("queued")) === 0 && (await open("running")) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const drainMs = performance.now() - started;
  const require = createRequire(import.meta.url);
  const Database = require("better-sqlite3");
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const byStatus = Object.fromEntries(
      db
        .prepare("SELECT status, count(*) AS n FROM rule_run GROUP BY status")
        .all()
        .map((row) => [row.status, row.n]),
    );
    // Done = forwarded and every run finished: requests per second from the first send until
    // the later of the last forward and the last run's end (the server's wall clock, same host).
    const { last } = db.prepare("SELECT max(finished_at) AS last FROM rule_run").get();
    const doneAt = Math.max(load.lastArrivedAt, Number(last ?? 0));
    const processedPerSec = (load.distinct * 1000) / (doneAt - load.firstSentAt);
    return {
      drainMs,
      byStatus,
      runsEndedAfterLastForwardMs: doneAt - load.lastArrivedAt,
      processedPerSec,
    };
  } finally {
    db.close();
  }
}

/** Extra node flags for the server (to profile it: HOOKYARD_BENCH_SERVER_NODE_ARGS=--cpu-prof). */
function serverNodeArgs() {
  return (process.env.HOOKYARD_BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
}

async function waitForHealth({ pool, server, timeoutMs }) {
  const deadline = performance.now() + timeoutMs;
  let lastProblem = "no answer yet";
  while (performance.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(
        `hookyard exited (${server.signalCode ?? server.exitCode}) before it was healthy`,
      );
    }
    try {
      const res = await pool.request({
        method: "GET",
        path: "/api/v1/health",
        headersTimeout: 2_000,
        bodyTimeout: 2_000,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return;
      lastProblem = `GET /api/v1/health answered ${res.statusCode}`;
    } catch (err) {
      lastProblem = err instanceof Error ? err.message : String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`hookyard not healthy within ${timeoutMs} ms (${lastProblem})`);
}

function readTail(path, lines = 8) {
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

/**
 * Phases (b), (d), (e): one application with one endpoint; messages published through the
 * Svix-compatible API, as the official svix SDK does it (no payload echoed back).
 */
async function outboundPublisher({ call, pools, receiverUrl, payloadFilter = null }) {
  const app = await call("POST", "/api/v1/app", { name: "bench" });
  await call("POST", `/api/v1/app/${app.id}/endpoint`, {
    url: `${receiverUrl}/`,
    ...(payloadFilter !== null && { payloadFilter }),
  });
  const msgPath = `/api/v1/app/${app.id}/msg?with_content=false`;
  return async (seq, payload) => {
    const via = pools[seq % pools.length];
    const message = await call("POST", msgPath, { eventType: "bench.event", payload }, via);
    if (typeof message?.id !== "string") throw new Error("publish answer has no id");
    return message.id;
  };
}

/**
 * Phase (f): a GitHub source with one destination; each message is the ≈1 KiB payload sent to the
 * ingest URL as GitHub sends a push (X-Hub-Signature-256 over the body, X-GitHub-Delivery), with
 * an `x-bench-id` header the forward carries to the receiver.
 */
async function inboundSender({ call, pools, receiverUrl }) {
  const secret = randomBytes(20).toString("hex");
  const source = await call("POST", "/ingest/api/v1/source", {
    name: "bench",
    uid: "bench",
    type: "github",
    config: { secret },
  });
  await call("POST", `/ingest/api/v1/source/${source.id}/endpoint`, { url: `${receiverUrl}/` });
  const path = new URL(source.ingestUrl).pathname;
  return async (seq, payload) => {
    const body = JSON.stringify(payload);
    const id = `bench-${seq}-${randomBytes(6).toString("hex")}`;
    const res = await pools[seq % pools.length].request({
      method: "POST",
      path,
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": id,
        "x-bench-id": id,
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
      },
      body,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200)
      throw new Error(`ingest answered ${res.statusCode}: ${text.slice(0, 300)}`);
    return id;
  };
}
