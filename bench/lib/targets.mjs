import { formatNumber } from "./report.mjs";
import { MATCHING_RULES } from "./rulebook.mjs";
import { median, ratio } from "./stats.mjs";

/**
 * Issue 17's targets, checked by `verdicts()`: CPU per message against the floor and the peers
 * (steady on a shared machine, where throughput ratios are not), plus latency and memory.
 */
export const TARGETS = {
  // Send, SQLite: Hookyard ÷ the minimal durable outbox (d) and ÷ BullMQ's worker + Redis (c).
  hookyardToFloorCpu: 1.3,
  hookyardToBullmqCpu: 0.6,
  deliveredToBullmq: 1.0,
  lowLoadP99Ms: 5,
  // Send, PostgreSQL: server + postgres CPU, 1 process ÷ the floor on PostgreSQL; 2 ÷ 1.
  pgToPgFloorCpu: 1.5,
  pg2ToPg1Cpu: 1.15,
  // Receive: inbound (f) ÷ outbound (b), and ÷ adnanh/webhook (i).
  inboundToOutboundCpu: 1.3,
  inboundToWebhookCpu: 0.5,
  // Rules: (g) ÷ (f) − 1.
  rulesCpuOverhead: 0.15,
  // Memory (j), MB = 2^20 bytes.
  idleRssMB: 100,
  backlogPeakRssMB: 250,
};

/**
 * The CPU-per-message ratios the run prints after the table: `a` ÷ `b`, phases of one round
 * (`round[a].load.cpuMicrosPerMsg`), then the median over rounds.
 */
export const CPU_RATIOS = [
  { key: "hookyardToFloor", name: "Hookyard ÷ floor (SQLite)", a: "hookyard", b: "floor" },
  {
    key: "hookyardToBullmq",
    name: "Hookyard ÷ BullMQ (worker+Redis)",
    a: "hookyard",
    b: "bullmq",
  },
  {
    key: "pg1ToPgFloor",
    name: "PostgreSQL 1 process ÷ PostgreSQL floor",
    a: "pg1",
    b: "pgFloor",
  },
  { key: "pg2ToPg1", name: "PostgreSQL 2 processes ÷ 1 process", a: "pg2", b: "pg1" },
  { key: "inboundToHookyard", name: "inbound ÷ outbound Hookyard", a: "inbound", b: "hookyard" },
  { key: "inboundToWebhook", name: "inbound ÷ adnanh/webhook", a: "inbound", b: "webhook" },
  { key: "rulesToInbound", name: "rules ÷ inbound", a: "rules", b: "inbound" },
];

const cpuOf = (round, phase) => round[phase]?.load.cpuMicrosPerMsg;

/** Each of CPU_RATIOS with its per-round values (NaN where a phase is missing) and median. */
export function cpuRatios(rounds) {
  return CPU_RATIOS.map(({ key, name, a, b }) => {
    const perRound = rounds.map((r) => ratio(cpuOf(r, a), cpuOf(r, b)));
    return { key, name, median: median(perRound), perRound };
  });
}

/**
 * The targets, each { name, value, shown, target, status: PASS | FAIL | n/a, note }: `value` is
 * the median over rounds of a per-round figure, `shown` how the table prints it.
 */
export function verdicts(rounds, { backlog } = {}) {
  const out = [];
  const perRound = (fn) => median(rounds.map(fn).filter((v) => Number.isFinite(v)));
  const cpu = (a, b) => perRound((r) => ratio(cpuOf(r, a), cpuOf(r, b)));
  const atMost = (limit) => ({ target: `≤ ${limit}`, ok: (v) => v <= limit });

  out.push(
    judge(
      "Send SQLite: Hookyard CPU/msg ÷ floor CPU/msg",
      cpu("hookyard", "floor"),
      atMost(TARGETS.hookyardToFloorCpu),
      "needs (b) and (d): --floor",
    ),
    judge(
      "Send SQLite: Hookyard CPU/msg ÷ BullMQ (worker+Redis) CPU/msg",
      cpu("hookyard", "bullmq"),
      atMost(TARGETS.hookyardToBullmqCpu),
      "needs (b) and (c): Redis",
    ),
    judge(
      "Send SQLite: Hookyard delivered/s ÷ BullMQ delivered/s",
      perRound((r) => ratio(r.hookyard?.load.deliveredPerSec, r.bullmq?.load.deliveredPerSec)),
      { target: `≥ ${TARGETS.deliveredToBullmq}`, ok: (v) => v >= TARGETS.deliveredToBullmq },
      "needs (b) and (c): Redis",
    ),
    judge(
      "Send SQLite: Hookyard c1 p99",
      perRound((r) => r.hookyard?.c1.latency?.p99),
      { ...atMost(TARGETS.lowLoadP99Ms), target: `≤ ${TARGETS.lowLoadP99Ms} ms` },
      "needs (b)'s low-load step (--c1-messages > 0)",
      (v) => `${formatNumber(v, 2)} ms`,
    ),
    exactlyOnce(
      "Send SQLite: every accepted message arrived exactly once",
      rounds.map((r) => r.hookyard),
      "needs (b): no --skip-hookyard",
    ),
    judge(
      "Send PostgreSQL: (server+postgres) CPU/msg, 1 process ÷ PostgreSQL floor",
      cpu("pg1", "pgFloor"),
      atMost(TARGETS.pgToPgFloorCpu),
      "needs (e) and its floor: --postgres --floor",
    ),
    judge(
      "Send PostgreSQL: CPU/msg with 2 processes ÷ with 1",
      cpu("pg2", "pg1"),
      atMost(TARGETS.pg2ToPg1Cpu),
      "needs (e) with 1 and 2 processes: --postgres",
    ),
    exactlyOnce(
      "Send PostgreSQL: every accepted message arrived exactly once",
      rounds.flatMap((r) => [r.pg1, r.pg2]),
      "needs (e): --postgres",
    ),
    judge(
      "Receive: inbound CPU/request ÷ outbound Hookyard CPU/msg",
      cpu("inbound", "hookyard"),
      atMost(TARGETS.inboundToOutboundCpu),
      "needs (b) and (f): --inbound",
    ),
    judge(
      "Receive: inbound CPU/request ÷ adnanh/webhook CPU/request",
      cpu("inbound", "webhook"),
      atMost(TARGETS.inboundToWebhookCpu),
      "needs (f) and (i): --inbound, adnanh/webhook",
    ),
    exactlyOnce(
      "Receive: every accepted request forwarded exactly once",
      rounds.map((r) => r.inbound),
      "needs (f): --inbound",
    ),
    judge(
      "Rules: rules CPU/request ÷ inbound CPU/request − 1",
      perRound((r) => ratio(cpuOf(r, "rules"), cpuOf(r, "inbound")) - 1),
      {
        target: `≤ ${TARGETS.rulesCpuOverhead * 100} %`,
        ok: (v) => v <= TARGETS.rulesCpuOverhead,
      },
      "needs (f) and (g): --inbound",
      formatPercent,
    ),
    rulesRanOnce(rounds.map((r) => r.rules).filter(Boolean)),
    judge(
      "Memory: idle RSS of a just-started server",
      perRound((r) => r.memory?.idleRssMB),
      { ...atMost(TARGETS.idleRssMB), target: `≤ ${TARGETS.idleRssMB} MB` },
      "needs (j): no --skip-memory",
      formatMB,
    ),
    judge(
      `Memory: peak RSS (VmHWM), a dead endpoint holding a backlog of ${formatNumber(backlog ?? Number.NaN)}`,
      perRound((r) => r.memory?.peakRssMB),
      { ...atMost(TARGETS.backlogPeakRssMB), target: `≤ ${TARGETS.backlogPeakRssMB} MB` },
      "needs (j): no --skip-memory",
      formatMB,
    ),
  );
  return out;
}

/** 0 missing and 0 duplicates over every run of a phase (absent runs are skipped). */
function exactlyOnce(name, phases, missingNote) {
  const runs = phases.filter(Boolean);
  const target = "0 missing, 0 duplicates";
  if (runs.length === 0)
    return { name, value: "", shown: "", target, status: "n/a", note: missingNote };
  const missing = runs.reduce((sum, p) => sum + p.load.missing, 0);
  const duplicates = runs.reduce((sum, p) => sum + p.load.duplicates, 0);
  const unexpected = runs.reduce((sum, p) => sum + p.load.unexpected, 0);
  const value = `${missing} missing, ${duplicates} duplicates${unexpected > 0 ? `, ${unexpected} unexpected` : ""}`;
  const ok = missing === 0 && duplicates === 0 && unexpected === 0;
  return { name, value, shown: value, target, status: ok ? "PASS" : "FAIL", note: "" };
}

/** Phase (g): every matching rule ran once per request, warm-up included. */
function rulesRanOnce(runs) {
  const name = "Rules: every matching rule ran once per request";
  if (runs.length === 0)
    return {
      name,
      value: "",
      shown: "",
      target: "all succeeded",
      status: "n/a",
      note: "needs (g): --inbound",
    };
  const expected = runs.reduce(
    (sum, p) => sum + MATCHING_RULES * (p.load.accepted + (p.warmupAccepted ?? 0)),
    0,
  );
  const succeeded = runs.reduce((sum, p) => sum + (p.rules?.byStatus.succeeded ?? 0), 0);
  const other = runs.reduce(
    (sum, p) =>
      sum +
      Object.entries(p.rules?.byStatus ?? {})
        .filter(([status]) => status !== "succeeded")
        .reduce((n, [, count]) => n + count, 0),
    0,
  );
  const drain = Math.max(...runs.map((p) => p.rules?.runsEndedAfterLastForwardMs ?? Number.NaN));
  const value = `${succeeded} succeeded, ${other} not; the last run ended ${formatNumber(drain, 0)} ms after the last forward`;
  return {
    name,
    value,
    shown: value,
    target: `${expected} succeeded`,
    status: succeeded === expected && other === 0 ? "PASS" : "FAIL",
    note: "",
  };
}

function judge(name, value, { target, ok }, missingNote, format = (v) => formatNumber(v, 3)) {
  if (!Number.isFinite(value))
    return { name, value: Number.NaN, shown: "", target, status: "n/a", note: missingNote };
  return {
    name,
    value,
    shown: format(value),
    target,
    status: ok(value) ? "PASS" : "FAIL",
    note: "",
  };
}

function formatPercent(fraction) {
  const pct = fraction * 100;
  return `${pct > 0 ? "+" : ""}${formatNumber(pct, 1)} %`;
}

function formatMB(value) {
  return `${formatNumber(value, 1)} MB`;
}
