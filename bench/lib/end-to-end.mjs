import { makePayload } from "./body.mjs";
import { wallNow } from "./clock.mjs";
import { abortReason, runLanes } from "./lanes.mjs";
import { latencySummary, perSecond } from "./stats.mjs";

/**
 * The measurement shared by Hookyard (b) and BullMQ (c). `publish(seq, payload)` hands one
 * message to the system under test and resolves with the id the receiver will see in
 * `webhook-id` (or throws); `receiver` is a receiver child in "record" mode.
 *
 * 1. warm-up: `warmup` messages at `lanes` concurrency, wait until all arrived, reset receiver;
 * 2. load: `messages` messages at `lanes` concurrency (closed loop); accepted/s over the publish
 *    phase; wait until all accepted messages arrived (bounded); delivered/s = distinct arrivals ÷
 *    (last arrival − first publish sent); latency = arrival − payload.sentAt per message;
 *    `cpuSeconds()` (async) samples the CPU time of the system under test, as named parts
 *    (`{ server, postgres }`, `{ worker, redis }`), before the load and once the deliveries are
 *    in: CPU per delivered message, in all and per part;
 * 3. low load (c1): `c1Messages` messages, one in flight end to end (publish, wait for its arrival,
 *    then the next); latency p50/p99 as above.
 */
export async function runEndToEnd({
  receiver,
  publish,
  cpuSeconds,
  messages,
  warmup,
  lanes,
  c1Messages,
  bounds,
  log,
}) {
  let seq = 0;
  const publishOp = async () => {
    const s = seq++;
    return publish(s, makePayload(s, wallNow()));
  };

  // 1. warm-up
  let warmupAccepted = 0;
  if (warmup > 0) {
    log(`  warm-up: ${warmup} messages`);
    const run = await runLanes({
      lanes,
      total: warmup,
      deadlineMs: bounds.publishMs,
      op: publishOp,
    });
    if (run.completed === 0) throw new Error(`warm-up: no publish succeeded (${run.firstError})`);
    warmupAccepted = run.completed;
    const reached = await receiver.expect(run.completed, bounds.deliveryMs);
    if (reached === null) {
      const report = await receiver.report();
      throw new Error(
        `warm-up: only ${report.distinct} of ${run.completed} messages arrived within ${bounds.deliveryMs} ms`,
      );
    }
    await receiver.reset();
  }

  // 2. load
  log(`  load: ${messages} messages, ${lanes} concurrent publishers`);
  const acceptedIds = [];
  const loadOp = async () => {
    const id = await publishOp();
    acceptedIds.push(id);
  };
  const cpuBefore = await cpuSeconds();
  const firstSentAt = wallNow();
  const run = await runLanes({ lanes, total: messages, deadlineMs: bounds.publishMs, op: loadOp });
  log(`  published ${run.completed} (${run.errors} errors); waiting for deliveries`);
  const waitStart = performance.now();
  const reached =
    run.completed > 0 ? await receiver.expect(run.completed, bounds.deliveryMs) : null;
  const cpuAfter = await cpuSeconds();
  const report = await receiver.report(true);
  const arrived = new Set(report.ids);
  const missing = acceptedIds.filter((id) => !arrived.has(id));
  const accepted = new Set(acceptedIds);
  const unexpected = report.ids.filter((id) => !accepted.has(id)).length;
  const load = {
    published: run.completed + run.errors,
    accepted: run.completed,
    publishErrors: run.errors,
    firstPublishError: run.firstError,
    publishStopReason: run.stopReason,
    publishElapsedMs: run.elapsedMs,
    acceptedPerSec: perSecond(run.completed, run.elapsedMs),
    publishLatency: latencySummary(run.latencies),
    allDelivered: reached !== null,
    deliveryWaitMs: performance.now() - waitStart,
    distinct: report.distinct,
    duplicates: report.duplicates,
    missing: missing.length,
    missingSample: missing.slice(0, 5),
    unexpected,
    withoutId: report.withoutId,
    withoutSentAt: report.withoutSentAt,
    firstSentAt,
    lastArrivedAt: report.lastAt,
    deliveryElapsedMs: report.lastAt - firstSentAt,
    deliveredPerSec: perSecond(report.distinct, report.lastAt - firstSentAt),
    latency: latencySummary(report.latencies),
    ...cpuPerMessage(cpuBefore, cpuAfter, report.distinct),
  };
  log(
    `  delivered ${load.distinct}/${load.accepted}, ${fmt(load.deliveredPerSec)} msgs/s, ` +
      `p50 ${fmt(load.latency.p50, 2)} ms, p99 ${fmt(load.latency.p99, 2)} ms, ${fmt(load.cpuMicrosPerMsg)} µs CPU/msg` +
      (Object.keys(load.cpuPartsMicrosPerMsg).length > 1
        ? ` (${Object.entries(load.cpuPartsMicrosPerMsg)
            .map(([part, micros]) => `${part} ${fmt(micros)}`)
            .join(" + ")})`
        : ""),
  );

  // 3. low load, one message in flight end to end
  let c1 = { skipped: null };
  if (c1Messages <= 0) c1 = { skipped: "--c1-messages 0" };
  else if (!load.allDelivered)
    c1 = { skipped: "the load phase did not deliver every accepted message" };
  else c1 = await runLowLoad({ receiver, publishOp, c1Messages, bounds, log });
  return { load, c1, warmupAccepted };
}

async function runLowLoad({ receiver, publishOp, c1Messages, bounds, log }) {
  log(`  low load: ${c1Messages} messages, one in flight end to end`);
  await receiver.reset();
  const start = performance.now();
  let delivered = 0;
  let publishErrors = 0;
  let timeouts = 0;
  let firstError = null;
  let stopReason = null;
  const publishLatencies = [];
  for (let i = 0; i < c1Messages; i++) {
    if (abortReason() !== null) {
      stopReason = `aborted: ${abortReason()}`;
      break;
    }
    if (performance.now() - start > bounds.c1Ms) {
      stopReason = `time bound of ${bounds.c1Ms} ms reached`;
      break;
    }
    const t0 = performance.now();
    try {
      await publishOp();
      publishLatencies.push(performance.now() - t0);
    } catch (err) {
      publishErrors++;
      firstError ??= err instanceof Error ? err.message : String(err);
      if (publishErrors >= 5) {
        stopReason = `5 publish errors (first: ${firstError})`;
        break;
      }
      continue;
    }
    const reached = await receiver.expect(delivered + 1, bounds.c1MessageMs);
    if (reached === null) {
      timeouts++;
      if (timeouts >= 3) {
        stopReason = `3 messages did not arrive within ${bounds.c1MessageMs} ms each`;
        break;
      }
      continue;
    }
    delivered = reached.count;
  }
  const elapsedMs = performance.now() - start;
  const report = await receiver.report();
  const c1 = {
    skipped: null,
    requested: c1Messages,
    distinct: report.distinct,
    duplicates: report.duplicates,
    publishErrors,
    firstError,
    timeouts,
    stopReason,
    elapsedMs,
    msgsPerSec: perSecond(report.distinct, elapsedMs),
    publishLatency: latencySummary(publishLatencies),
    latency: latencySummary(report.latencies),
  };
  log(
    `  low load: publish → received p50 ${fmt(c1.latency.p50, 2)} ms, p99 ${fmt(c1.latency.p99, 2)} ms; ` +
      `publish call p50 ${fmt(c1.publishLatency.p50, 2)} ms, p99 ${fmt(c1.publishLatency.p99, 2)} ms`,
  );
  return c1;
}

function fmt(value, digits = 0) {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

/** CPU seconds between two samples of named parts, in all and per delivered message. */
function cpuPerMessage(before, after, delivered) {
  const perMsg = (seconds) => (delivered > 0 ? (seconds * 1e6) / delivered : Number.NaN);
  const parts = Object.fromEntries(
    Object.keys(after).map((part) => [part, after[part] - before[part]]),
  );
  const total = Object.values(parts).reduce((sum, s) => sum + s, 0);
  return {
    cpuSeconds: total,
    cpuMicrosPerMsg: perMsg(total),
    cpuPartsMicrosPerMsg: Object.fromEntries(
      Object.entries(parts).map(([part, seconds]) => [part, perMsg(seconds)]),
    ),
  };
}
