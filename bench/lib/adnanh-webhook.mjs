import { spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import {
  accessSync,
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Pool } from "undici";
import { makePayload } from "./body.mjs";
import { freePort, waitForAnswer } from "./children.mjs";
import { wallNow } from "./clock.mjs";
import { processCpuSplit } from "./cpu.mjs";
import { withLogTail } from "./hookyard-server.mjs";
import { runLanes } from "./lanes.mjs";
import { latencySummary, perSecond } from "./stats.mjs";

/** Bound of `apt-get install -y webhook`. */
const INSTALL_TIMEOUT_MS = 300_000;
/** CPU is sampled this often while waiting for it to stop growing. */
const SETTLE_SAMPLE_MS = 200;

/**
 * Phase (i)'s peer: adnanh/webhook (Debian package `webhook`, 2.8.0), what an ops team runs to
 * act on GitHub hooks without writing a server. Returns { binary, version } when `webhook` is on
 * PATH; when it is not, installs the package with apt-get where this process is root and apt-get
 * exists. Returns { skip: reason } when it cannot be had.
 */
export function findWebhook(log) {
  let binary = findOnPath("webhook");
  if (binary === null) {
    const isRoot = process.getuid?.() === 0;
    if (!isRoot || findOnPath("apt-get") === null)
      return { skip: "`webhook` is not on PATH (install the Debian package `webhook`)" };
    log("installing the peer of phase (i): apt-get install -y webhook");
    const result = spawnSync("apt-get", ["install", "-y", "webhook"], {
      encoding: "utf8",
      timeout: INSTALL_TIMEOUT_MS,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n");
    const outcome = result.error?.message ?? `exit ${result.status ?? result.signal}`;
    log(`  apt-get: ${outcome}, ${output.length} lines of output, the last:`);
    for (const line of output.slice(-3)) log(`    ${line}`);
    binary = findOnPath("webhook");
    if (binary === null) {
      const failed = result.status === 0 ? "left no `webhook` on PATH" : `failed (${outcome})`;
      return { skip: `apt-get install -y webhook ${failed}` };
    }
  }
  const version = spawnSync(binary, ["-version"], { encoding: "utf8", timeout: 10_000 });
  return { binary, version: (version.stdout ?? "").trim() || null };
}

/**
 * Phase (i): the ≈1 KiB body of phase (f), signed as GitHub signs it, POSTed to adnanh/webhook
 * with one hook whose trigger rule checks the HMAC and whose command is `/bin/true`. The
 * command runs after the answer; webhook waits for it, so its CPU shows in the server's reaped
 * children (cutime + cstime). CPU is sampled once the warm-up's commands are done and again once
 * the load's are (two equal samples 200 ms apart, ≤ `bounds.cpuSettleMs`).
 */
export async function runAdnanhWebhook({
  registry,
  binary,
  version,
  messages,
  warmup,
  lanes,
  bounds,
  keepTemp,
  log,
}) {
  const dir = mkdtempSync(join(tmpdir(), "hookyard-bench-webhook-"));
  if (!keepTemp) registry.trackDir(dir);
  const logPath = join(dir, "webhook.log");
  const hooksPath = join(dir, "hooks.json");
  const secret = randomBytes(20).toString("hex");
  writeFileSync(hooksPath, JSON.stringify(hooksFile(secret), null, 2));
  let child;
  let pool;
  try {
    const port = await freePort();
    const logFd = openSync(logPath, "a");
    try {
      child = registry.spawn(
        binary,
        ["-hooks", hooksPath, "-ip", "127.0.0.1", "-port", String(port)],
        { cwd: dir, stdio: ["ignore", logFd, logFd] },
      );
    } finally {
      closeSync(logFd);
    }
    log(`  ${version ?? binary} on port ${port} (log in ${dir})`);
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: 64, pipelining: 1 });
    await waitForAnswer({ pool, child, name: "webhook", path: "/", timeoutMs: bounds.startMs });

    const tag = randomBytes(4).toString("hex");
    const send = (seq, id, key) => postSigned({ pool, seq, id, key });
    const wrongKey = randomBytes(20).toString("hex");
    const check = {
      wrongSignatureStatus: await send(0, `bench-check-wrong-${tag}`, wrongKey),
      rightSignatureStatus: await send(0, `bench-check-right-${tag}`, secret),
    };
    if (is2xx(check.wrongSignatureStatus))
      throw new Error(`a wrong signature was answered ${check.wrongSignatureStatus}`);
    if (!is2xx(check.rightSignatureStatus))
      throw new Error(`a right signature was answered ${check.rightSignatureStatus}`);

    let seq = 0;
    const op = async () => {
      const s = seq++;
      const status = await send(s, `bench-${s}-${tag}`, secret);
      if (!is2xx(status)) throw new Error(`webhook answered ${status}`);
    };
    let warmupAnswered = 0;
    if (warmup > 0) {
      log(`  warm-up: ${warmup} requests`);
      const warm = await runLanes({ lanes, total: warmup, deadlineMs: bounds.publishMs, op });
      if (warm.completed === 0)
        throw new Error(`warm-up: no request answered (${warm.firstError})`);
      warmupAnswered = warm.completed;
    }
    const warmupSettle = await settleCpu(child.pid, bounds.cpuSettleMs);
    const before = processCpuSplit(child.pid);
    log(`  load: ${messages} requests, ${lanes} lanes`);
    const run = await runLanes({ lanes, total: messages, deadlineMs: bounds.publishMs, op });
    if (run.completed === 0) throw new Error(`no request answered (${run.firstError})`);
    const settle = await settleCpu(child.pid, bounds.cpuSettleMs);
    const after = processCpuSplit(child.pid);
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`webhook exited (${child.signalCode ?? child.exitCode}) while measured`);

    const perRequest = (seconds) => (seconds * 1e6) / run.completed;
    const parts = { webhook: after.self - before.self, commands: after.children - before.children };
    const cpuSeconds = parts.webhook + parts.commands;
    const load = {
      requested: messages,
      answered: run.completed,
      errors: run.errors,
      firstError: run.firstError,
      stopReason: run.stopReason,
      elapsedMs: run.elapsedMs,
      reqPerSec: perSecond(run.completed, run.elapsedMs),
      latency: latencySummary(run.latencies),
      cpuSettled: settle.settled,
      cpuSettleMs: settle.waitedMs,
      warmupCpuSettled: warmupSettle.settled,
      cpuSeconds,
      // Per answered request; the name is the other phases' (their unit is a message).
      cpuMicrosPerMsg: perRequest(cpuSeconds),
      cpuPartsMicrosPerMsg: {
        webhook: perRequest(parts.webhook),
        commands: perRequest(parts.commands),
      },
    };
    const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : "n/a");
    log(
      `  answered ${load.answered}/${messages}, ${fmt(load.reqPerSec)} req/s, p50 ${fmt(load.latency.p50, 2)} ms, ` +
        `p99 ${fmt(load.latency.p99, 2)} ms, ${fmt(load.cpuMicrosPerMsg)} µs CPU/request ` +
        `(webhook ${fmt(load.cpuPartsMicrosPerMsg.webhook)} + commands ${fmt(load.cpuPartsMicrosPerMsg.commands)}); ` +
        `CPU ${settle.settled ? "settled" : "still growing"} ${fmt(settle.waitedMs)} ms after the load`,
    );
    return { binary, version, check, warmupAnswered, load };
  } catch (err) {
    throw withLogTail(err, logPath);
  } finally {
    if (pool) await pool.close().catch(() => {});
    if (child) await registry.stop(child, 10_000);
    if (!keepTemp) {
      rmSync(dir, { recursive: true, force: true });
      registry.untrackDir(dir);
    }
  }
}

/**
 * One hook, as an ops team writes it for GitHub: the HMAC of the body in X-Hub-Signature-256
 * must match, then the least command there is. Forwarding (e.g. `curl`) would cost far more per
 * request, so this favours the peer.
 */
function hooksFile(secret) {
  return [
    {
      id: "github",
      "execute-command": "/bin/true",
      "response-message": "ok",
      "trigger-rule": {
        match: {
          type: "payload-hmac-sha256",
          secret,
          parameter: { source: "header", name: "X-Hub-Signature-256" },
        },
      },
    },
  ];
}

/** POSTs phase (f)'s body as a GitHub push signed with `key`; resolves with the status. */
async function postSigned({ pool, seq, id, key }) {
  const body = JSON.stringify(makePayload(seq, wallNow()));
  const res = await pool.request({
    method: "POST",
    path: "/hooks/github",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": id,
      "x-hub-signature-256": `sha256=${createHmac("sha256", key).update(body).digest("hex")}`,
    },
    body,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  await res.body.dump();
  return res.statusCode;
}

/**
 * Waits until the CPU time of `pid` (own + reaped children) stops growing: two consecutive
 * samples 200 ms apart are equal (10 ms resolution), or `timeoutMs` has passed.
 */
async function settleCpu(pid, timeoutMs) {
  const start = performance.now();
  const total = () => {
    const { self, children } = processCpuSplit(pid);
    return self + children;
  };
  let previous = total();
  while (performance.now() - start < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_SAMPLE_MS));
    const now = total();
    if (now === previous) return { settled: true, waitedMs: performance.now() - start };
    previous = now;
  }
  return { settled: false, waitedMs: performance.now() - start };
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return null;
}

function is2xx(status) {
  return status >= 200 && status < 300;
}
