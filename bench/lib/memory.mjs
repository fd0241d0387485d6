import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePayload } from "./body.mjs";
import { freePort } from "./children.mjs";
import { wallNow } from "./clock.mjs";
import { serveArgs, startHookyard, withLogTail } from "./hookyard-server.mjs";
import { runLanes } from "./lanes.mjs";
import { perSecond } from "./stats.mjs";

/** Bytes per MB in this phase's figures (1 MB = 2^20 bytes). */
const MB = 2 ** 20;
/** How often VmRSS is sampled from the start of publishing on. */
const SAMPLE_EVERY_MS = 250;

/**
 * Phase (j): the memory a Hookyard server needs. A fresh server (SQLite, as phase (b) starts it)
 * is measured idle 2 s after it is healthy; then one application gets one endpoint on a loopback
 * port nobody listens on (every attempt is refused, so the server keeps every message and retries
 * it), and `backlog` messages are published through the API from `lanes` publishers. VmRSS is
 * sampled every 250 ms from the first publish until `bounds.backlogAfterMs` after the last one;
 * VmHWM at the end is the peak over the server's whole life, which the verdict uses.
 */
export async function runMemory({ registry, repoRoot, backlog, lanes, bounds, keepTemp, log }) {
  const dir = mkdtempSync(join(tmpdir(), "hookyard-bench-memory-"));
  if (!keepTemp) registry.trackDir(dir);
  const logPath = join(dir, "server.log");
  let hookyard;
  let sampler;
  try {
    log(`  starting hookyard (log in ${dir})`);
    hookyard = await startHookyard({
      registry,
      dir,
      serverArgs: serveArgs(repoRoot),
      startMs: bounds.startMs,
    });
    const { servers, call } = hookyard;
    const [server] = servers;
    await sleep(bounds.memoryIdleMs);
    const idle = readMemory(server.pid);
    if (!Number.isFinite(idle.rssBytes)) throw new Error(`cannot read /proc/${server.pid}/status`);
    log(`  idle RSS ${mb(idle.rssBytes).toFixed(1)} MB (1 MB = 2^20 bytes)`);

    // Free a moment ago and nobody listens on it: each attempt is refused at once.
    const deadUrl = `http://127.0.0.1:${await freePort()}/`;
    const app = await call("POST", "/api/v1/app", { name: "bench-memory" });
    const endpoint = await call("POST", `/api/v1/app/${app.id}/endpoint`, { url: deadUrl });
    const msgPath = `/api/v1/app/${app.id}/msg?with_content=false`;

    let maxRssBytes = 0;
    const sample = () => {
      const { rssBytes } = readMemory(server.pid);
      if (rssBytes > maxRssBytes) maxRssBytes = rssBytes;
    };
    sample();
    sampler = setInterval(sample, SAMPLE_EVERY_MS);
    log(`  publishing ${backlog} messages to a dead endpoint (${deadUrl}), ${lanes} publishers`);
    const run = await runLanes({
      lanes,
      total: backlog,
      deadlineMs: bounds.backlogPublishMs,
      op: async (seq) => {
        const body = { eventType: "bench.event", payload: makePayload(seq, wallNow()) };
        const message = await call("POST", msgPath, body);
        if (typeof message?.id !== "string") throw new Error("publish answer has no id");
      },
    });
    sample();
    const atEnd = readMemory(server.pid);
    // The server keeps retrying the dead endpoint meanwhile.
    await sleep(bounds.backlogAfterMs);
    clearInterval(sampler);
    sample();
    const last = readMemory(server.pid);
    if (server.exitCode !== null || server.signalCode !== null)
      throw new Error(`hookyard exited (${server.signalCode ?? server.exitCode}) while measured`);
    if (run.completed === 0) throw new Error(`no publish was accepted (${run.firstError})`);
    // Information only: what the server says it holds for the endpoint.
    const endpointStats = await call(
      "GET",
      `/api/v1/app/${app.id}/endpoint/${endpoint.id}/stats`,
    ).catch((err) => ({ error: err instanceof Error ? err.message : String(err) }));
    return {
      unit: "MB = 2^20 bytes",
      backlogRequested: backlog,
      accepted: run.completed,
      publishErrors: run.errors,
      firstPublishError: run.firstError,
      publishStopReason: run.stopReason,
      publishElapsedMs: run.elapsedMs,
      acceptedPerSec: perSecond(run.completed, run.elapsedMs),
      idleRssMB: mb(idle.rssBytes),
      rssAtEndOfPublishingMB: mb(atEnd.rssBytes),
      maxSampledRssMB: mb(maxRssBytes),
      rssAtEndMB: mb(last.rssBytes),
      peakRssMB: mb(last.hwmBytes),
      sampledForMs: run.elapsedMs + bounds.backlogAfterMs,
      endpointStats,
    };
  } catch (err) {
    throw withLogTail(err, logPath);
  } finally {
    clearInterval(sampler);
    if (hookyard) await hookyard.stop();
    if (!keepTemp) {
      rmSync(dir, { recursive: true, force: true });
      registry.untrackDir(dir);
    }
  }
}

/** One line of the phase, as the run prints it per round. */
export function memoryLine(memory) {
  const f = (v) => (Number.isFinite(v) ? v.toFixed(1) : "–");
  return (
    `idle RSS ${f(memory.idleRssMB)} MB; backlog ${memory.accepted} of ${memory.backlogRequested} ` +
    `accepted (${Math.round(memory.acceptedPerSec)}/s, ${memory.publishErrors} errors): ` +
    `RSS ${f(memory.rssAtEndOfPublishingMB)} MB at the last publish, max sampled ` +
    `${f(memory.maxSampledRssMB)} MB, peak (VmHWM) ${f(memory.peakRssMB)} MB (1 MB = 2^20 bytes)`
  );
}

/** VmRSS and VmHWM of `pid` in bytes (Linux /proc); NaN where they cannot be read. */
function readMemory(pid) {
  let status = "";
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    // The process is gone or there is no /proc: NaN below.
  }
  const kB = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024;
  return { rssBytes: kB("VmRSS"), hwmBytes: kB("VmHWM") };
}

function mb(bytes) {
  return bytes / MB;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
