import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { newSecret } from "./body.mjs";
import { nextMessage } from "./children.mjs";
import { processCpuSeconds, redisCpuSeconds } from "./cpu.mjs";
import { runEndToEnd } from "./end-to-end.mjs";
import { startReceiver } from "./receiver-handle.mjs";

const WORKER = fileURLToPath(new URL("./bullmq-worker.mjs", import.meta.url));

/** Job options of the "team would build this" baseline (as in research/perf.md). */
const JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: true,
  removeOnFail: 1000,
};

/**
 * Phase (c): BullMQ 5 on Redis. This process adds jobs with `queue.add()` from `lanes` concurrent
 * producers while a Worker child (concurrency 64) signs and POSTs each job to a receiver child in
 * "record" mode ("live" mode of perf.md). Unique queue name per run, obliterated at the end.
 */
export async function runBullmq({
  registry,
  redisHost,
  redisPort,
  messages,
  warmup,
  lanes,
  c1Messages,
  bounds,
  log,
}) {
  const queueName = `hookyard-bench-${Date.now()}-${randomBytes(4).toString("hex")}`;
  const connection = { host: redisHost, port: redisPort };
  const { secret } = newSecret();
  let receiver;
  let worker;
  const queue = new Queue(queueName, { connection });
  try {
    receiver = await startReceiver(registry, "record");
    const config = {
      queueName,
      redisHost,
      redisPort,
      receiverUrl: receiver.url,
      secret,
      concurrency: 64,
    };
    worker = registry.fork(WORKER, [], {
      env: { ...process.env, BENCH_WORKER_CONFIG: JSON.stringify(config) },
    });
    await nextMessage(worker, "ready", bounds.startMs);
    await queue.waitUntilReady();
    const clock = await receiver.clockOffset();
    log(`  queue ${queueName} on ${redisHost}:${redisPort}`);

    const publish = async (seq, payload) => {
      const id = `msg_bullmq_${queueName.slice(-8)}_${seq}`;
      await queue.add("bench.event", { id, payload }, JOB_OPTIONS);
      return id;
    };
    const redis = await queue.client;
    const cpuSeconds = async () => ({
      worker: processCpuSeconds(worker.pid),
      redis: await redisCpuSeconds(redis),
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
    worker.send({ type: "stats" }, () => {});
    const stats = await nextMessage(worker, "stats", 5_000).catch(() => null);
    return { ...result, clock, queueName, failedJobs: stats?.failed ?? null };
  } finally {
    if (worker) {
      if (worker.connected) worker.send({ type: "close" }, () => {});
      await registry.stop(worker, 10_000);
    }
    if (receiver) await receiver.stop();
    try {
      await queue.obliterate({ force: true });
    } catch (err) {
      log(
        `  could not obliterate queue ${queueName}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    await queue.close();
  }
}
