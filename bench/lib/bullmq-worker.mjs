// The hand-rolled peer's delivery side, run as a CHILD process (as Hookyard's server is): a
// BullMQ Worker whose processor Standard-Webhooks-signs each job's payload and POSTs it with
// undici Pool (64 connections) to the receiver. Configured by the JSON in BENCH_WORKER_CONFIG
// (set by bullmq.mjs). Sends 'ready' once the worker is connected; on 'close' (or SIGTERM, or
// the parent going away) closes the worker and exits.
import { Worker } from "bullmq";
import { Pool } from "undici";
import { keyFromSecret, signedHeaders } from "./body.mjs";

const { queueName, redisHost, redisPort, receiverUrl, secret, concurrency } = JSON.parse(
  process.env.BENCH_WORKER_CONFIG ?? "{}",
);
const key = keyFromSecret(secret);
const pool = new Pool(receiverUrl, { connections: 64, pipelining: 1 });
let failed = 0;

const worker = new Worker(
  queueName,
  async (job) => {
    const { id, payload } = job.data;
    const body = JSON.stringify(payload);
    const { statusCode, body: responseBody } = await pool.request({
      path: "/",
      method: "POST",
      headers: signedHeaders(id, body, key),
      body,
    });
    await responseBody.dump();
    if (statusCode < 200 || statusCode >= 300) throw new Error(`receiver answered ${statusCode}`);
  },
  { connection: { host: redisHost, port: redisPort }, concurrency },
);
worker.on("failed", () => {
  failed++;
});
worker.on("error", (err) => {
  process.stderr.write(`bullmq worker error: ${err.message}\n`);
});

let closing = false;
async function close(code) {
  if (closing) return;
  closing = true;
  const timer = setTimeout(() => process.exit(code), 5_000);
  try {
    await worker.close();
    await pool.close();
  } finally {
    clearTimeout(timer);
    process.exit(code);
  }
}

process.on("message", (msg) => {
  if (msg?.type === "stats") process.send({ type: "stats", failed });
  if (msg?.type === "close") void close(0);
});
process.on("disconnect", () => void close(0));
process.on("SIGTERM", () => void close(0));

await worker.waitUntilReady();
process.send({ type: "ready" });
