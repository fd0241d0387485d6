import { Pool } from "undici";
import { fixedBody, newSecret, signedHeaders } from "./body.mjs";
import { runLanes } from "./lanes.mjs";
import { latencySummary, perSecond } from "./stats.mjs";

const SLICES = 6;

function newTotals() {
  return {
    completed: 0,
    errors: 0,
    firstError: null,
    stopReason: null,
    elapsedMs: 0,
    latencies: [],
  };
}

function add(totals, run) {
  totals.completed += run.completed;
  totals.errors += run.errors;
  totals.firstError ??= run.firstError;
  totals.stopReason ??= run.stopReason;
  totals.elapsedMs += run.elapsedMs;
  totals.latencies.push(run.latencies);
}

function summarize(totals) {
  const latencies = new Float64Array(totals.completed);
  let at = 0;
  for (const part of totals.latencies) {
    latencies.set(part, at);
    at += part.length;
  }
  return {
    reqPerSec: perSecond(totals.completed, totals.elapsedMs),
    completed: totals.completed,
    errors: totals.errors,
    firstError: totals.firstError,
    stopReason: totals.stopReason,
    elapsedMs: totals.elapsedMs,
    latency: latencySummary(latencies),
  };
}

/**
 * Phase (a): the delivery ceiling of one Node process. This process POSTs the fixed 1 KiB body
 * with undici Pool (64 connections, pipelining 1, `lanes` lanes awaiting request + body.dump())
 * to a receiver child in "plain" mode; unsigned and Standard-Webhooks-signed per request, in
 * interleaved slices. `deadlineMs` bounds both variants together. Returns { plain, signed },
 * each { reqPerSec, completed, errors, elapsedMs, latency }.
 */
export async function runCeiling({ receiverUrl, requests, warmup, lanes, deadlineMs, log }) {
  const body = fixedBody();
  const { key } = newSecret();
  const pool = new Pool(receiverUrl, { connections: 64, pipelining: 1 });
  const plainHeaders = { "content-type": "application/json" };

  const post = async (headers) => {
    const { statusCode, body: responseBody } = await pool.request({
      path: "/",
      method: "POST",
      headers,
      body,
    });
    await responseBody.dump();
    if (statusCode !== 200) throw new Error(`receiver answered ${statusCode}`);
  };
  const plainOp = () => post(plainHeaders);
  const signedOp = (i) => post(signedHeaders(`msg_ceiling_${i}`, body, key));

  try {
    log(`  warm-up: ${warmup} plain + ${warmup} signed requests`);
    await runLanes({ lanes, total: warmup, deadlineMs, op: plainOp });
    await runLanes({ lanes, total: warmup, deadlineMs, op: signedOp });
    // Interleaved slices (plain, signed, signed, plain, …) so that drift in the machine's speed
    // during the phase hits both variants alike; each variant gets `requests` in total.
    log(
      `  ${requests} plain and ${requests} signed requests, interleaved in ${SLICES} slices each`,
    );
    const plain = newTotals();
    const signed = newTotals();
    for (let slice = 0; slice < SLICES; slice++) {
      const total = Math.floor(requests / SLICES) + (slice < requests % SLICES ? 1 : 0);
      const budget = deadlineMs / (2 * SLICES);
      const order = slice % 2 === 0 ? [plain, signed] : [signed, plain];
      for (const totals of order) {
        const op = totals === plain ? plainOp : signedOp;
        add(totals, await runLanes({ lanes, total, deadlineMs: budget, op }));
      }
    }
    return { plain: summarize(plain), signed: summarize(signed) };
  } finally {
    await pool.close();
  }
}
