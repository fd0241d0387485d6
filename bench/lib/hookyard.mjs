import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgresCpuSeconds, processCpuSeconds } from "./cpu.mjs";
import { runEndToEnd } from "./end-to-end.mjs";
import { serveArgs, startHookyard, withLogTail } from "./hookyard-server.mjs";
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
  serverArgs = serveArgs(repoRoot),
  // The PostgreSQL phases pass a database (a fresh schema) and 1 or 2 server processes.
  databaseUrl = null,
  nodes = 1,
  // Phase (f), `--inbound`: signed GitHub requests to an ingest URL instead of API publishes.
  scenario = "outbound",
  // Phase (g), with `--inbound`: phase (f) with this rulebook (YAML text) loaded at start.
  rulebook = null,
  // Phase (h), `--payload-filter`: phase (b) with this CEL payload filter on the endpoint.
  payloadFilter = null,
}) {
  const dir = mkdtempSync(join(tmpdir(), "hookyard-bench-"));
  if (!keepTemp) registry.trackDir(dir);
  const logPath = join(dir, "server.log");
  const rulesPath = join(dir, "rules.yaml");
  if (rulebook !== null) writeFileSync(rulesPath, rulebook);
  let hookyard;
  let receiver;
  try {
    log(`  starting ${nodes} hookyard process(es) (log in ${dir})`);
    hookyard = await startHookyard({
      registry,
      dir,
      serverArgs,
      databaseUrl,
      nodes,
      env: rulebook !== null ? { HOOKYARD_RULES: rulesPath } : {},
      startMs: bounds.startMs,
    });
    const { servers, pools, call } = hookyard;
    const [server] = servers;
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
    throw withLogTail(err, logPath);
  } finally {
    if (receiver) await receiver.stop();
    if (hookyard) await hookyard.stop();
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
