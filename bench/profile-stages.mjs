#!/usr/bin/env node
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

/**
 * Where the server's CPU goes, per stage of a message, from the V8 CPU profiles of one bench run
 * (`HOOKYARD_BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" node bench/run.mjs …`, one
 * file per thread). Each sample is charged to the stage of the innermost frame that names one
 * (the rules below, leaf first), so native work lands where it was called from: a `writev` under
 * Fastify's reply is HTTP, SQLite's C code under a statement of ours is the store, an HMAC under
 * the signer is signing. Module loading and schema compilation are startup, not per message, and
 * left out, as is idle time. `--messages N` (warm-up + load of the run) turns the busy time into
 * µs per message; the profiler's own overhead is in it, so compare shares, or scale them to the
 * CPU per message of a run without the profiler (`--scale µs`).
 */

const USAGE = `usage: node bench/profile-stages.mjs DIR --messages N [--scale MICROS] [--top N]

DIR       folder of .cpuprofile files of one server run (all of its threads)
--messages  messages (or requests) the server handled in that run, warm-up included
--scale     CPU µs/msg of the same scenario measured without the profiler: prints each
            stage's share of it as well
--top       also print the N functions with the most self time per stage (default 0)`;

/**
 * Stage rules, tried on each frame from the leaf up; the first frame that matches one decides.
 * `file` matches the script URL (after node_modules/ or dist/), `fn` the function name.
 */
const RULES = [
  { stage: "startup", file: /^node:internal\/modules\/|^nm\/(ajv|avvio|fast-json-stringify)\// },
  { stage: "startup", fn: /^(compileFunction|wrapSafe|compileSourceTextModule)$/ },
  { stage: "GC", fn: /^\(garbage collector\)$/ },
  { stage: "idle", fn: /^\(idle\)$/ },
  { stage: "signing", file: /^signing\// },
  { stage: "signing", file: /^floor:/, fn: /^deliver$/, leafFile: /^node:internal\/crypto\// },
  {
    stage: "sending (sender thread)",
    file: /^delivery\/(sender-worker|http-sender)|^nm\/undici\//,
  },
  { stage: "hand-off to the sender thread", file: /^delivery\/sender-thread/ },
  { stage: "attempt record", file: /^store\/sqlite\/attempt-ops|^store\/postgres\/.*attempt/ },
  {
    stage: "store write (message, delivery, commit)",
    file: /^store\/|^nm\/(better-sqlite3|pg|pg-protocol)\//,
  },
  { stage: "store write (message, delivery, commit)", file: /^floor:/, fn: /^(commit|write)$/ },
  { stage: "delivery engine", file: /^delivery\// },
  { stage: "rules planning", file: /^rules\// },
  { stage: "publish (messages domain)", file: /^outbound\/(messages|endpoints|applications)/ },
  { stage: "auth", file: /^http\/(auth|api-key-scope)|^outbound\/(api-key|api-keys)/ },
  { stage: "idempotency", file: /^http\/idempotency/ },
  {
    stage: "validation",
    file: /^http\/(inputs|schema-validation|schema-problems)|^nm\/fastify\/lib\/validation/,
  },
  { stage: "logging", file: /^nm\/(pino|@pinojs|pino-std-serializers)\/|^http\/request-log/ },
  { stage: "logging", file: /^nm\/fastify\/lib\/logger/ },
  { stage: "metrics", file: /^nm\/prom-client\/|^observability\/metrics/ },
  { stage: "audit trail", file: /^http\/audit-trail|^outbound\/audit/ },
  { stage: "inbound (verify, dedup, source)", file: /^inbound\// },
  { stage: "HTTP body parse (JSON)", file: /^nm\/secure-json-parse\// },
  {
    stage: "HTTP: receive, route, reply (node:http, Fastify)",
    file: /^nm\/(fastify|find-my-way|fast-querystring|light-my-request|@fastify)\/|^http\/|^node:(_http|net|internal\/(streams|stream_base_commons|http))/,
  },
  { stage: "HTTP: receive, route, reply (node:http, Fastify)", file: /^floor:/, fn: /^reply$/ },
];

function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      messages: { type: "string" },
      scale: { type: "string" },
      top: { type: "string", default: "0" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || positionals.length !== 1 || values.messages === undefined) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const messages = Number(values.messages);
  const scale = values.scale === undefined ? null : Number(values.scale);
  const top = Number(values.top);
  const dir = positionals[0];
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error(`no .cpuprofile files in ${dir}`);

  const stages = new Map(); // stage → { threads: number[], total, fns: Map }
  const threadBusy = [];
  files.forEach((file, thread) => {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8"));
    let busy = 0;
    for (const [stage, micros, fn] of classify(profile)) {
      if (stage === "idle" || stage === "startup") continue;
      busy += micros;
      let entry = stages.get(stage);
      if (!entry)
        stages.set(stage, (entry = { threads: files.map(() => 0), total: 0, fns: new Map() }));
      entry.threads[thread] += micros;
      entry.total += micros;
      entry.fns.set(fn, (entry.fns.get(fn) ?? 0) + micros);
    }
    threadBusy.push(busy);
  });
  const busy = threadBusy.reduce((a, b) => a + b, 0);
  const perMsg = (micros) => (micros / messages).toFixed(1);
  console.log(
    `${files.length} thread profile(s), busy ${(busy / 1e6).toFixed(2)} s ` +
      `(${threadBusy.map((t) => (t / 1e6).toFixed(2)).join(" + ")}), ${messages} messages: ` +
      `${perMsg(busy)} µs/msg under the profiler`,
  );
  const rows = [...stages].sort((a, b) => b[1].total - a[1].total);
  const header = ["stage", "µs/msg", ...files.map((_, i) => `thread ${i}`), "share"];
  if (scale !== null) header.push(`of ${scale} µs`);
  const table = rows.map(([stage, e]) => {
    const share = e.total / busy;
    return [
      stage,
      perMsg(e.total),
      ...e.threads.map(perMsg),
      `${(100 * share).toFixed(1)} %`,
      ...(scale !== null ? [(share * scale).toFixed(0)] : []),
    ];
  });
  table.push([
    "all",
    perMsg(busy),
    ...threadBusy.map(perMsg),
    "100 %",
    ...(scale !== null ? [String(scale)] : []),
  ]);
  console.log(render(header, table));
  if (top > 0) {
    for (const [stage, e] of rows) {
      console.log(`\n${stage}`);
      for (const [fn, micros] of [...e.fns].sort((a, b) => b[1] - a[1]).slice(0, top))
        console.log(`  ${perMsg(micros).padStart(7)} µs  ${fn}`);
    }
  }
}

/** Yields [stage, µs, leaf function] per sampled stack of one thread's profile. */
function* classify(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const time = new Map();
  profile.samples.forEach((id, i) =>
    time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const cache = new Map();
  for (const [id, micros] of time) {
    if (!cache.has(id)) cache.set(id, stageOf(id, nodes, parent));
    const leaf = nodes.get(id).callFrame;
    yield [
      cache.get(id),
      micros,
      `${leaf.functionName || "(anonymous)"} ${shortUrl(leaf.url)}:${leaf.lineNumber + 1}`,
    ];
  }
}

function stageOf(id, nodes, parent) {
  const leaf = nodes.get(id).callFrame;
  const leafFile = shortUrl(leaf.url);
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const frame = nodes.get(cur).callFrame;
    const file = shortUrl(frame.url);
    for (const rule of RULES) {
      if (rule.file && !rule.file.test(file)) continue;
      if (rule.fn && !rule.fn.test(frame.functionName)) continue;
      if (rule.leafFile && !rule.leafFile.test(leafFile)) continue;
      return rule.stage;
    }
  }
  if (leaf.functionName === "(program)") return "V8 and native, unattributed";
  return "other";
}

/** Script URLs shortened: `nm/<package>/…` for node_modules, the dist-relative path for ours. */
function shortUrl(url) {
  if (url.includes("/node_modules/"))
    return `nm/${url.slice(url.lastIndexOf("/node_modules/") + 14)}`;
  if (url.includes("/packages/hookyard/dist/")) return url.slice(url.indexOf("/dist/") + 6);
  if (url.endsWith("bench/lib/floor-server.mjs")) return "floor:";
  return url;
}

function render(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
      .join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

main();
