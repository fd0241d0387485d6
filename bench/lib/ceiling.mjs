import { Pool } from "undici";
import { fixedBody, newSecret, signedHeaders } from "./body.mjs";
import { runLanes } from "./lanes.mjs";
import { latencySummary, perSecond } from "./stats.mjs";

/**
 * Phase (a): the delivery ceiling of one Node process. This process POSTs the fixed 1 KiB body
 * with undici Pool (64 connections, pipelining 1, `lanes` lanes awaiting request + body.dump())
 * to a receiver child in "plain" mode; once unsigned and once Standard-Webhooks-signed per
 * request. Returns { plain, signed }, each { reqPerSec, completed, errors, elapsedMs, latency }.
 */
export async function runCeiling({ receiverUrl, requests, warmup, lanes, deadlineMs, log }) {
  const body = fixedBody();
  const { key } = newSecret();
  const pool = new Pool(receiverUrl, { connections: 64, pipelining: 1 });
  const plainHeaders = { "content-type": "application/json" };

  const post = async (headers) => {
    const { statusCode, body: responseBody } = await pool.request({ path: "/", method: "POST", headers, body });
    await responseBody.dump();
    if (statusCode !== 200) throw new Error(`receiver answered ${statusCode}`);
  };
  const plainOp = () => post(plainHeaders);
  const signedOp = (i) => post(signedHeaders(`msg_ceiling_${i}`, body, key));

  const summarize = (run) => ({
    reqPerSec: perSecond(run.completed, run.elapsedMs),
    completed: run.completed,
    errors: run.errors,
    firstError: run.firstError,
    stopReason: run.stopReason,
    elapsedMs: run.elapsedMs,
    latency: latencySummary(run.latencies),
  });

  try {
    log(`  warm-up: ${warmup} requests`);
    await runLanes({ lanes, total: warmup, deadlineMs, op: plainOp });
    log(`  plain: ${requests} requests`);
    const plain = summarize(await runLanes({ lanes, total: requests, deadlineMs, op: plainOp }));
    log(`  signed: ${requests} requests`);
    const signed = summarize(await runLanes({ lanes, total: requests, deadlineMs, op: signedOp }));
    return { plain, signed };
  } finally {
    await pool.close();
  }
}
