#!/usr/bin/env node
// Hookyard benchmark: `npm run bench` (= `node bench/run.mjs`). See bench/README.md.
//
// Per round, side by side on loopback: (a) the raw delivery ceiling of one Node process (plain
// and Standard-Webhooks-signed), (b) Hookyard end to end through its Svix-compatible publish API,
// (c) BullMQ + undici as the hand-rolled peer (when Redis answers), the optional phases (d)–(i),
// and (j) the server's memory. Prints a table headed by the CPU per message of each system under
// test, the same-round CPU ratios and the verdicts against issue 17's targets; writes
// bench/results/latest.json.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { findWebhook, runAdnanhWebhook } from "./lib/adnanh-webhook.mjs";
import { runBullmq } from "./lib/bullmq.mjs";
import { runCeiling } from "./lib/ceiling.mjs";
import { ChildRegistry, probeRedis } from "./lib/children.mjs";
import { runHookyard } from "./lib/hookyard.mjs";
import { abortReason, abortRun } from "./lib/lanes.mjs";
import { memoryLine, runMemory } from "./lib/memory.mjs";
import { withPgSchema } from "./lib/postgres.mjs";
import { startReceiver } from "./lib/receiver-handle.mjs";
import { benchRulebook } from "./lib/rulebook.mjs";
import { formatNumber, renderTable, summarize } from "./lib/report.mjs";
import { cpuRatios, TARGETS, verdicts } from "./lib/targets.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = dirname(BENCH_DIR);

const USAGE = `usage: node bench/run.mjs [options]

  --messages N          messages per end-to-end load phase (default 10000)
  --c1-messages N       messages in each low-load phase, one in flight (default 1000)
  --ceiling-requests N  requests per ceiling measurement (default 50000)
  --ceiling-warmup N    warm-up requests before the ceilings (default 5000)
  --warmup N            warm-up messages before each load phase (default min(5000, messages/2))
  --concurrency N       concurrent publishers / request lanes (default 64)
  --rounds N            rounds, each running every phase once; medians are reported (default 1)
  --skip-hookyard       skip phase (b), the Hookyard server
  --skip-bullmq         skip phase (c), BullMQ on Redis
  --floor               also run phase (d): a minimal durable outbox (bench/lib/floor-server.mjs)
  --inbound             also run the receive phases: (f) signed GitHub requests to an ingest URL,
                        forwarded to one destination; (g) the same with 100 rules on the source,
                        3 of which match each request; (i) adnanh/webhook, the peer (installed
                        with apt-get when missing and run as root; skipped otherwise)
  --rules               the same as --inbound (kept for older command lines)
  --payload-filter      also run phase (h): phase (b) with a CEL payload filter on the endpoint
                        that every message passes (the filter's cost per message)
  --postgres            also run phase (e): Hookyard on PostgreSQL, 1 process and 2 processes
                        (with --floor also the floor server on PostgreSQL)
  --pg-url URL          PostgreSQL for (e) (default $HOOKYARD_TEST_PG_URL or postgres://postgres@127.0.0.1:5432/test)
  --skip-memory         skip phase (j), the server's idle RSS and its peak with a backlog
  --backlog N           messages held for a dead endpoint in phase (j) (default 100000)
  --skip-build          do not run \`tsc -b packages/hookyard\` before phase (b)
  --redis-host H        (default 127.0.0.1)   --redis-port P   (default 6379)
  --out FILE            JSON results (default bench/results/latest.json)
  --keep-temp           keep Hookyard's temp dir (database, server log)
  --max-minutes N       hard bound on the whole run (default 30)
  -h, --help`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      messages: { type: "string", default: "10000" },
      "c1-messages": { type: "string", default: "1000" },
      "ceiling-requests": { type: "string", default: "50000" },
      "ceiling-warmup": { type: "string", default: "5000" },
      warmup: { type: "string" },
      concurrency: { type: "string", default: "64" },
      rounds: { type: "string", default: "1" },
      "skip-hookyard": { type: "boolean", default: false },
      "skip-bullmq": { type: "boolean", default: false },
      floor: { type: "boolean", default: false },
      postgres: { type: "boolean", default: false },
      inbound: { type: "boolean", default: false },
      rules: { type: "boolean", default: false },
      "payload-filter": { type: "boolean", default: false },
      "skip-memory": { type: "boolean", default: false },
      backlog: { type: "string", default: "100000" },
      "pg-url": {
        type: "string",
        default: process.env.HOOKYARD_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test",
      },
      "skip-build": { type: "boolean", default: false },
      "redis-host": { type: "string", default: "127.0.0.1" },
      "redis-port": { type: "string", default: "6379" },
      out: { type: "string", default: join(BENCH_DIR, "results", "latest.json") },
      "keep-temp": { type: "boolean", default: false },
      "max-minutes": { type: "string", default: "30" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  const messages = int("messages", 1);
  const redisHost = values["redis-host"];
  if (!["127.0.0.1", "localhost", "::1"].includes(redisHost))
    throw new Error("--redis-host must be a loopback address");
  return {
    messages,
    c1Messages: int("c1-messages", 0),
    ceilingRequests: int("ceiling-requests", 1),
    ceilingWarmup: int("ceiling-warmup", 0),
    warmup:
      values.warmup === undefined ? Math.min(5000, Math.ceil(messages / 2)) : int("warmup", 0),
    concurrency: int("concurrency", 1),
    rounds: int("rounds", 1),
    skipHookyard: values["skip-hookyard"],
    skipBullmq: values["skip-bullmq"],
    floor: values.floor,
    postgres: values.postgres,
    // --rules is an alias: (f), (g) and (i) run together, (g) and (i) are compared with (f).
    inbound: values.inbound || values.rules,
    payloadFilter: values["payload-filter"],
    skipMemory: values["skip-memory"],
    backlog: int("backlog", 1),
    pgUrl: values["pg-url"],
    skipBuild: values["skip-build"],
    redisHost,
    redisPort: int("redis-port", 1),
    out: values.out,
    keepTemp: values["keep-temp"],
    maxMinutes: int("max-minutes", 1),
  };
}

/** Time bounds (ms) of the end-to-end phases. */
const BOUNDS = {
  startMs: 30_000, // server / worker start
  publishMs: 120_000, // one load phase's publishing
  deliveryMs: 120_000, // waiting for deliveries after publishing
  c1Ms: 120_000, // one low-load phase
  c1MessageMs: 10_000, // one low-load message
  drainMs: 120_000, // phase (g): rule runs still open after the last delivery
  cpuSettleMs: 30_000, // phase (i): waiting for webhook's CPU (its commands) to stop growing
  memoryIdleMs: 2_000, // phase (j): from healthy to the idle RSS reading
  backlogPublishMs: 300_000, // phase (j): publishing the backlog
  backlogAfterMs: 10_000, // phase (j): sampling on after the last publish
};
const CEILING_DEADLINE_MS = 60_000; // both ceiling variants together, warm-up excluded
/**
 * Phase (h)'s filter: it reads two payload fields and every bench message passes it, so (b) and
 * (h) deliver the same messages and differ only by the filter's evaluation.
 */
const BENCH_PAYLOAD_FILTER = 'payload.kind == "bench" && payload.seq >= 0';

function log(line) {
  console.log(line);
}

function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}

function packageVersion(name) {
  // bench/ has its own node_modules for the BullMQ peer (see bench/package.json).
  for (const dir of [join(REPO_ROOT, "bench", "node_modules"), join(REPO_ROOT, "node_modules")]) {
    try {
      return JSON.parse(readFileSync(join(dir, name, "package.json"), "utf8")).version;
    } catch {
      // try the next folder
    }
  }
  return null;
}

/** `tsc -b packages/hookyard`; returns null when dist is usable, else the reason it is not. */
function buildHookyard() {
  log("building: tsc -b packages/hookyard");
  const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-b", "packages/hookyard"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: 300_000,
  });
  const cli = join(REPO_ROOT, "packages", "hookyard", "dist", "cli", "main.js");
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`
      .trim()
      .split("\n")
      .slice(0, 15)
      .join("\n");
    log(`  tsc -b failed (${result.error?.message ?? `exit ${result.status}`}):\n${output}`);
    if (!existsSync(cli))
      return "the build failed and packages/hookyard/dist/cli/main.js does not exist";
    log("  continuing with the existing dist/ (it may be stale)");
  }
  if (!existsSync(cli)) return "packages/hookyard/dist/cli/main.js does not exist after the build";
  return null;
}

async function runRound(index, opts, plan, registry, peers) {
  const round = { index, errors: {}, skipped: {} };
  const lanes = opts.concurrency;

  log(`\n[round ${index + 1}/${opts.rounds}] (a) ceiling: undici Pool → receiver child`);
  try {
    const receiver = await startReceiver(registry, "plain");
    try {
      round.ceiling = await runCeiling({
        receiverUrl: receiver.url,
        requests: opts.ceilingRequests,
        warmup: opts.ceilingWarmup,
        lanes,
        deadlineMs: CEILING_DEADLINE_MS,
        log,
      });
      log(
        `  plain ${formatNumber(round.ceiling.plain.reqPerSec)} req/s, signed ${formatNumber(round.ceiling.signed.reqPerSec)} req/s`,
      );
    } finally {
      await receiver.stop();
    }
  } catch (err) {
    round.errors.ceiling = errorText(err);
    log(`  ceiling failed: ${round.errors.ceiling}`);
  }

  const step = `[round ${index + 1}/${opts.rounds}]`;
  /** Runs one phase into `round[key]`; a failure is recorded and the other phases go on. */
  const phase = async (key, title, failure, run) => {
    log(`\n${step} ${title}`);
    try {
      round[key] = await run();
    } catch (err) {
      round.errors[key] = errorText(err);
      log(`  ${failure} phase failed: ${round.errors[key]}`);
    }
  };
  /** Phase (b)'s driver with this run's load settings; (d) and (e) vary the server. */
  const hookyard = (extra = {}) =>
    runHookyard({
      registry,
      repoRoot: REPO_ROOT,
      messages: opts.messages,
      warmup: opts.warmup,
      lanes,
      c1Messages: opts.c1Messages,
      bounds: BOUNDS,
      keepTemp: opts.keepTemp,
      log,
      ...extra,
    });

  if (plan.hookyardSkip) round.skipped.hookyard = plan.hookyardSkip;
  else {
    await phase(
      "hookyard",
      "(b) Hookyard server child, publish API → receiver child",
      "Hookyard",
      () => hookyard(),
    );
  }

  if (opts.payloadFilter) {
    await phase(
      "payloadFilter",
      "(h) Hookyard, phase (b) with a payload filter on the endpoint (every message passes it)",
      "payload filter",
      () => hookyard({ payloadFilter: BENCH_PAYLOAD_FILTER }),
    );
    logPayloadFilterCost(round);
  }

  if (plan.bullmqSkip) round.skipped.bullmq = plan.bullmqSkip;
  else {
    await phase(
      "bullmq",
      "(c) BullMQ: queue.add() here, Worker child → receiver child",
      "BullMQ",
      () =>
        runBullmq({
          registry,
          redisHost: opts.redisHost,
          redisPort: opts.redisPort,
          messages: opts.messages,
          warmup: opts.warmup,
          lanes,
          c1Messages: opts.c1Messages,
          bounds: BOUNDS,
          log,
        }),
    );
  }
  if (opts.floor) {
    await phase("floor", "(d) floor: minimal durable outbox, same driver", "floor", () =>
      hookyard({ c1Messages: 0, serverArgs: [join(REPO_ROOT, "bench/lib/floor-server.mjs")] }),
    );
  }
  if (opts.inbound) {
    await phase(
      "inbound",
      "(f) Hookyard inbound: signed GitHub requests → ingest URL → one destination",
      "inbound",
      () => hookyard({ scenario: "inbound" }),
    );
    await phase(
      "rules",
      "(g) Hookyard rules: phase (f) with 100 rules on the source, 3 matching each request",
      "rules",
      () => hookyard({ scenario: "inbound", c1Messages: 0, rulebook: benchRulebook() }),
    );
    if (plan.webhookSkip) round.skipped.webhook = plan.webhookSkip;
    else {
      await phase(
        "webhook",
        "(i) adnanh/webhook: the same signed requests, HMAC trigger rule, /bin/true (peer)",
        "adnanh/webhook",
        () =>
          runAdnanhWebhook({
            registry,
            ...peers.webhook,
            messages: opts.messages,
            warmup: opts.warmup,
            lanes,
            bounds: BOUNDS,
            keepTemp: opts.keepTemp,
            log,
          }),
      );
    }
  }
  if (opts.postgres) {
    for (const nodes of [1, 2]) {
      await phase(
        `pg${nodes}`,
        `(e) Hookyard on PostgreSQL, ${nodes} process(es), publishes split over them`,
        "PostgreSQL",
        () =>
          withPgSchema(opts.pgUrl, (databaseUrl) =>
            hookyard({ c1Messages: nodes === 1 ? opts.c1Messages : 0, databaseUrl, nodes }),
          ),
      );
    }
    if (opts.floor) {
      await phase("pgFloor", "(e) floor on PostgreSQL, same driver", "PostgreSQL floor", () =>
        withPgSchema(opts.pgUrl, (databaseUrl) =>
          hookyard({
            c1Messages: 0,
            databaseUrl,
            serverArgs: [join(REPO_ROOT, "bench/lib/floor-server.mjs")],
          }),
        ),
      );
    }
  }
  if (plan.memorySkip) round.skipped.memory = plan.memorySkip;
  else {
    await phase(
      "memory",
      `(j) memory: a fresh Hookyard server idle, then holding ${opts.backlog} messages for a dead endpoint`,
      "memory",
      () =>
        runMemory({
          registry,
          repoRoot: REPO_ROOT,
          backlog: opts.backlog,
          lanes,
          bounds: BOUNDS,
          keepTemp: opts.keepTemp,
          log,
        }),
    );
    if (round.memory) log(`  ${memoryLine(round.memory)}`);
  }
  return round;
}

/** Phase (h) against phase (b) of the same round: the payload filter's cost. */
function logPayloadFilterCost(round) {
  const [plain, filtered] = [round.hookyard?.load, round.payloadFilter?.load];
  if (!plain || !filtered) return;
  log(
    `  payload filter vs (b), same round: delivered/s ×${formatNumber(filtered.deliveredPerSec / plain.deliveredPerSec, 3)}, ` +
      `server CPU ${formatNumber(filtered.cpuMicrosPerMsg)} vs ${formatNumber(plain.cpuMicrosPerMsg)} µs/msg`,
  );
}

function printResults(rounds, plan, opts) {
  const summary = summarize(rounds);
  const multi = rounds.length > 1;
  // CPU per message first: it is the headline figure (issue 17), steady on a shared machine.
  const headers = [
    "",
    "SUT CPU µs/msg",
    "msgs/s",
    ...(multi ? ["min–max"] : []),
    "p50 ms",
    "p99 ms",
    "ratio to plain ceiling",
  ];
  const rows = summary.map((row) => [
    row.label,
    formatNumber(row.cpuMicrosPerMsg),
    formatNumber(row.msgsPerSec),
    ...(multi ? [`${formatNumber(row.msgsPerSecMin)}–${formatNumber(row.msgsPerSecMax)}`] : []),
    formatNumber(row.p50, 2),
    formatNumber(row.p99, 2),
    formatNumber(row.ratioToPlain, 3),
  ]);
  log(`\n=== results (${multi ? `median of ${rounds.length} rounds` : "1 round"}) ===`);
  log(renderTable(headers, rows));
  log(
    "  p50/p99: ceiling = request round trip under load; accepted/enqueued = the publish call;" +
      "\n  delivered and c1 = publish sent → receiver got it (wall clocks of two processes)." +
      "\n  SUT CPU = user+system CPU of the system under test (Hookyard server [+ PostgreSQL];" +
      "\n  BullMQ worker + Redis) from the start of the load until the last delivery, per delivered" +
      "\n  message; adnanh/webhook: the server + its /bin/true commands until their CPU stopped" +
      "\n  growing, per answered request." +
      "\n  The ratio to the plain ceiling is information only (no target).",
  );

  const ratios = cpuRatios(rounds);
  log(`\n=== CPU ratios (per-round, median) ===`);
  log(
    renderTable(
      ["SUT CPU µs/msg, a ÷ b of the same round", "median", ...(multi ? ["per round"] : [])],
      ratios.map((r) => [
        r.name,
        formatNumber(r.median, 3),
        ...(multi ? [r.perRound.map((v) => formatNumber(v, 3)).join(", ")] : []),
      ]),
    ),
  );

  for (const round of rounds) {
    for (const [name, phase] of [
      ["Hookyard", round.hookyard],
      ["BullMQ", round.bullmq],
      ["floor", round.floor],
      ["inbound", round.inbound],
      ["rules", round.rules],
      ["payload filter", round.payloadFilter],
      ["PostgreSQL 1 process", round.pg1],
      ["PostgreSQL 2 processes", round.pg2],
      ["PostgreSQL floor", round.pgFloor],
    ]) {
      if (!phase) continue;
      const { load, clock } = phase;
      log(
        `  ${name} round ${round.index + 1}: accepted ${load.accepted} of ${load.published}, ` +
          `arrived ${load.distinct} distinct, ${load.duplicates} duplicates, ${load.missing} missing` +
          `${load.missing > 0 ? ` (e.g. ${load.missingSample.join(", ")})` : ""}, ${load.unexpected} unexpected; ` +
          `receiver clock offset ${clock ? `${formatNumber(clock.offsetMs, 3)} ± ${formatNumber(clock.uncertaintyMs, 3)} ms` : "unknown"}` +
          `${phase.c1.skipped ? `; c1 skipped: ${phase.c1.skipped}` : ""}` +
          `${phase.c1.stopReason ? `; c1 stopped: ${phase.c1.stopReason}` : ""}` +
          `${load.publishStopReason ? `; publishing stopped: ${load.publishStopReason}` : ""}`,
      );
    }
    if (round.webhook) {
      const { load } = round.webhook;
      const parts = load.cpuPartsMicrosPerMsg;
      log(
        `  adnanh/webhook round ${round.index + 1}: answered ${load.answered} of ${load.requested} ` +
          `(${load.errors} errors), wrong signature → ${round.webhook.check.wrongSignatureStatus}, ` +
          `right → ${round.webhook.check.rightSignatureStatus}; CPU ${formatNumber(load.cpuMicrosPerMsg)} µs/request ` +
          `= webhook ${formatNumber(parts.webhook)} + /bin/true ${formatNumber(parts.commands)}` +
          `${load.cpuSettled ? "" : ` (CPU still growing ${formatNumber(load.cpuSettleMs)} ms after the load)`}` +
          `${load.stopReason ? `; stopped: ${load.stopReason}` : ""}`,
      );
    }
    if (round.memory) log(`  memory round ${round.index + 1}: ${memoryLine(round.memory)}`);
  }

  const checks = verdicts(rounds, { backlog: opts.backlog });
  log("\n=== targets ===");
  log(
    renderTable(
      ["target", "measured", "goal", "verdict"],
      checks.map((v) => [
        v.name,
        v.shown,
        v.target,
        v.status === "n/a" ? `n/a (${v.note})` : v.status,
      ]),
      [0, 2, 3],
    ),
  );
  const notes = [
    ...Object.entries(plan).filter(([, reason]) => reason),
    ...rounds.flatMap((r) =>
      Object.entries(r.errors).map(([phase, e]) => [`round ${r.index + 1} ${phase}`, e]),
    ),
  ];
  for (const [what, reason] of notes) log(`  ${what}: ${reason.split("\n")[0]}`);
  return { summary, cpuRatios: ratios, verdicts: checks };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const registry = new ChildRegistry();
  process.on("exit", () => registry.cleanupNow());
  // On Ctrl-C / the watchdog: stop the load loops and the children, let the phases clean up
  // (queue obliterated, temp dirs removed), and force the exit if that takes more than 15 s.
  const abort = (reason, code) => {
    log(`\n${reason}: stopping`);
    abortRun(reason);
    process.exitCode = code;
    setTimeout(() => process.exit(code), 15_000).unref();
    void registry.stopAll();
  };
  for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => abort(signal, 130));
  const watchdog = setTimeout(
    () => abort(`the run exceeded --max-minutes ${opts.maxMinutes}`, 1),
    opts.maxMinutes * 60_000,
  );
  watchdog.unref();

  const startedAt = new Date().toISOString();
  const machine = {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavgAtStart: os.loadavg().map((v) => Number(v.toFixed(2))),
    node: process.version,
    undici: packageVersion("undici"),
    bullmq: packageVersion("bullmq"),
    ioredis: packageVersion("ioredis"),
  };
  log(
    `hookyard bench: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, load average ${machine.loadavgAtStart.join(" ")}`,
  );
  if (opts.messages < 10_000)
    log(`note: --messages ${opts.messages} is below the 10,000 the issue asks for`);

  const plan = { hookyardSkip: null, bullmqSkip: null, webhookSkip: null, memorySkip: null };
  const peers = { webhook: null };
  if (opts.skipHookyard) plan.hookyardSkip = "--skip-hookyard";
  else if (!opts.skipBuild) plan.hookyardSkip = buildHookyard();
  if (opts.skipBullmq) plan.bullmqSkip = "--skip-bullmq";
  else {
    const reason = await probeRedis(opts.redisHost, opts.redisPort);
    if (reason) {
      plan.bullmqSkip = `Redis not available: ${reason}`;
      log(`skipping BullMQ: ${plan.bullmqSkip}`);
    }
  }
  if (opts.inbound) {
    const webhook = findWebhook(log);
    if (webhook.skip) {
      plan.webhookSkip = webhook.skip;
      log(`skipping adnanh/webhook: ${plan.webhookSkip}`);
    } else {
      peers.webhook = webhook;
      machine.webhook = webhook.version;
    }
  }
  if (opts.skipMemory) plan.memorySkip = "--skip-memory";

  const rounds = [];
  try {
    for (let i = 0; i < opts.rounds && abortReason() === null; i++)
      rounds.push(await runRound(i, opts, plan, registry, peers));
  } finally {
    await registry.stopAll();
  }

  const { summary, cpuRatios: ratios, verdicts: checks } = printResults(rounds, plan, opts);
  if (abortReason() !== null) {
    log(`\naborted (${abortReason()}): ${opts.out} not written`);
    return; // exit code set by abort()
  }
  const results = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    options: { ...opts, out: undefined },
    bounds: { ...BOUNDS, ceilingMs: CEILING_DEADLINE_MS },
    targets: TARGETS,
    skipped: plan,
    summary,
    cpuRatios: ratios,
    verdicts: checks,
    rounds,
  };
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(results, jsonReplacer, 2)}\n`);
  log(`\nwrote ${opts.out}`);
  clearTimeout(watchdog);
  const failedPhases = rounds.some((r) => Object.keys(r.errors).length > 0);
  process.exitCode = failedPhases ? 1 : 0;
}

/** NaN/Infinity become null in JSON; typed arrays are not kept (only summaries are). */
function jsonReplacer(_key, value) {
  if (typeof value === "number" && !Number.isFinite(value)) return null;
  if (ArrayBuffer.isView(value)) return undefined;
  return value;
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
