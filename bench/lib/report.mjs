import { MATCHING_RULES } from "./rulebook.mjs";
import { maxOf, median, minOf, ratio } from "./stats.mjs";

/** Target values of the issue, checked by `verdicts()`. */
export const TARGETS = {
  deliveredToPlainCeiling: 0.25,
  // Issue 4: PostgreSQL with one process ≥ 0.2 of the ceiling; two processes deliver more.
  pgDeliveredToPlainCeiling: 0.2,
  deliveredToBullmq: 1.0,
  // Issue 5: verified GitHub requests into one source with one destination, forwarded.
  inboundToPlainCeiling: 0.3,
  // Issue 6: phase (f) with 100 rules on the source, 3 of them matching, ÷ phase (f).
  rulesToInbound: 0.8,
  lowLoadP99Ms: 50,
};

/** Table rows of one round: { key, label, msgsPerSec, p50, p99 } (absent phases are skipped). */
export function roundRows(round) {
  const rows = [];
  const add = (key, label, msgsPerSec, latency, cpuMicrosPerMsg = Number.NaN) => {
    rows.push({
      key,
      label,
      msgsPerSec,
      p50: latency?.p50 ?? Number.NaN,
      p99: latency?.p99 ?? Number.NaN,
      cpuMicrosPerMsg,
    });
  };
  const { ceiling, hookyard, bullmq } = round;
  if (ceiling) {
    add(
      "ceilingPlain",
      "ceiling plain (undici → receiver)",
      ceiling.plain.reqPerSec,
      ceiling.plain.latency,
    );
    add(
      "ceilingSigned",
      "ceiling signed (+ HMAC per request)",
      ceiling.signed.reqPerSec,
      ceiling.signed.latency,
    );
  }
  if (hookyard) {
    add(
      "hookyardAccepted",
      "Hookyard accepted (publish API)",
      hookyard.load.acceptedPerSec,
      hookyard.load.publishLatency,
    );
    add(
      "hookyard",
      "Hookyard delivered",
      hookyard.load.deliveredPerSec,
      hookyard.load.latency,
      hookyard.load.cpuMicrosPerMsg,
    );
    if (!hookyard.c1.skipped)
      add("hookyardC1", "Hookyard c1 latency", hookyard.c1.msgsPerSec, hookyard.c1.latency);
  }
  if (round.payloadFilter) {
    add(
      "payloadFilter",
      "Hookyard delivered, endpoint with a payload filter",
      round.payloadFilter.load.deliveredPerSec,
      round.payloadFilter.load.latency,
      round.payloadFilter.load.cpuMicrosPerMsg,
    );
    if (!round.payloadFilter.c1.skipped)
      add(
        "payloadFilterC1",
        "Hookyard c1 latency, payload filter",
        round.payloadFilter.c1.msgsPerSec,
        round.payloadFilter.c1.latency,
      );
  }
  if (bullmq) {
    add(
      "bullmqEnqueued",
      "BullMQ enqueued (queue.add)",
      bullmq.load.acceptedPerSec,
      bullmq.load.publishLatency,
    );
    add(
      "bullmq",
      "BullMQ delivered",
      bullmq.load.deliveredPerSec,
      bullmq.load.latency,
      bullmq.load.cpuMicrosPerMsg,
    );
    if (!bullmq.c1.skipped)
      add("bullmqC1", "BullMQ c1 latency", bullmq.c1.msgsPerSec, bullmq.c1.latency);
  }
  if (round.inbound) {
    add(
      "inboundAccepted",
      "Hookyard inbound verified (ingest URL)",
      round.inbound.load.acceptedPerSec,
      round.inbound.load.publishLatency,
    );
    add(
      "inbound",
      "Hookyard inbound forwarded",
      round.inbound.load.deliveredPerSec,
      round.inbound.load.latency,
      round.inbound.load.cpuMicrosPerMsg,
    );
  }
  if (round.rules) {
    add(
      "rules",
      "Hookyard inbound + 100 rules, forwarded and runs done",
      round.rules.rules?.processedPerSec ?? Number.NaN,
      round.rules.load.latency,
      round.rules.load.cpuMicrosPerMsg,
    );
  }
  if (round.floor) {
    add(
      "floor",
      "floor delivered (minimal outbox)",
      round.floor.load.deliveredPerSec,
      round.floor.load.latency,
      round.floor.load.cpuMicrosPerMsg,
    );
  }
  for (const [key, label, phase] of [
    ["pg1", "Hookyard on PostgreSQL, 1 process", round.pg1],
    ["pg2", "Hookyard on PostgreSQL, 2 processes", round.pg2],
    ["pgFloor", "floor on PostgreSQL (minimal outbox)", round.pgFloor],
  ]) {
    if (!phase) continue;
    add(key, label, phase.load.deliveredPerSec, phase.load.latency, phase.load.cpuMicrosPerMsg);
    if (!phase.c1.skipped)
      add(`${key}C1`, `${label}, c1 latency`, phase.c1.msgsPerSec, phase.c1.latency);
  }
  const plain = ceiling?.plain.reqPerSec ?? Number.NaN;
  for (const row of rows) row.ratioToPlain = ratio(row.msgsPerSec, plain);
  return rows;
}

/** Medians over rounds per row (ratios are per-round ratios, then the median). */
export function summarize(rounds) {
  const perRound = rounds.map(roundRows);
  const order = [];
  for (const rows of perRound)
    for (const row of rows) if (!order.some((r) => r.key === row.key)) order.push(row);
  return order.map(({ key, label }) => {
    const rows = perRound.map((r) => r.find((row) => row.key === key)).filter(Boolean);
    const pick = (field) => rows.map((row) => row[field]);
    return {
      key,
      label,
      rounds: rows.length,
      msgsPerSec: median(pick("msgsPerSec")),
      msgsPerSecMin: minOf(pick("msgsPerSec")),
      msgsPerSecMax: maxOf(pick("msgsPerSec")),
      p50: median(pick("p50")),
      p99: median(pick("p99")),
      p99Max: maxOf(pick("p99")),
      ratioToPlain: median(pick("ratioToPlain")),
      cpuMicrosPerMsg: median(pick("cpuMicrosPerMsg")),
    };
  });
}

/** The targets, each { name, value, target, status: PASS | FAIL | n/a, note }. */
export function verdicts(rounds) {
  const out = [];
  const perRound = (fn) => median(rounds.map(fn).filter((v) => Number.isFinite(v)));

  const toCeiling = perRound((r) =>
    ratio(r.hookyard?.load.deliveredPerSec, r.ceiling?.plain.reqPerSec),
  );
  out.push(
    judge(
      "Hookyard delivered/s ÷ plain ceiling",
      toCeiling,
      `≥ ${TARGETS.deliveredToPlainCeiling}`,
      (v) => v >= TARGETS.deliveredToPlainCeiling,
      "needs the ceiling and Hookyard phases",
    ),
  );
  const toBullmq = perRound((r) =>
    ratio(r.hookyard?.load.deliveredPerSec, r.bullmq?.load.deliveredPerSec),
  );
  out.push(
    judge(
      "Hookyard delivered/s ÷ BullMQ delivered/s",
      toBullmq,
      `≥ ${TARGETS.deliveredToBullmq}`,
      (v) => v >= TARGETS.deliveredToBullmq,
      "needs the Hookyard and BullMQ phases",
    ),
  );
  const lowP99 = perRound((r) => r.hookyard?.c1.latency?.p99);
  out.push(
    judge(
      "Hookyard low-load (c1) p99, ms",
      lowP99,
      `< ${TARGETS.lowLoadP99Ms}`,
      (v) => v < TARGETS.lowLoadP99Ms,
      "needs the Hookyard low-load phase",
    ),
  );
  const hookyardRounds = rounds.filter((r) => r.hookyard);
  if (hookyardRounds.length > 0) {
    const bad = hookyardRounds.filter(
      (r) =>
        r.hookyard.load.missing > 0 ||
        r.hookyard.load.duplicates > 0 ||
        r.hookyard.load.unexpected > 0,
    );
    const missing = hookyardRounds.reduce((sum, r) => sum + r.hookyard.load.missing, 0);
    const duplicates = hookyardRounds.reduce((sum, r) => sum + r.hookyard.load.duplicates, 0);
    out.push({
      name: "Hookyard: every accepted message arrived exactly once",
      value: `${missing} missing, ${duplicates} duplicates`,
      target: "0 missing, 0 duplicates",
      status: bad.length === 0 ? "PASS" : "FAIL",
      note: "",
    });
  } else {
    out.push({
      name: "Hookyard: every accepted message arrived exactly once",
      value: "",
      target: "0 missing, 0 duplicates",
      status: "n/a",
      note: "needs the Hookyard phase",
    });
  }
  if (rounds.some((r) => r.inbound)) {
    const inboundToCeiling = perRound((r) =>
      ratio(r.inbound?.load.deliveredPerSec, r.ceiling?.plain.reqPerSec),
    );
    out.push(
      judge(
        "Inbound: verified and forwarded/s ÷ plain ceiling",
        inboundToCeiling,
        `≥ ${TARGETS.inboundToPlainCeiling}`,
        (v) => v >= TARGETS.inboundToPlainCeiling,
        "needs the ceiling and the inbound phase",
      ),
    );
    const runs = rounds.map((r) => r.inbound).filter(Boolean);
    const missing = runs.reduce((sum, p) => sum + p.load.missing, 0);
    const duplicates = runs.reduce((sum, p) => sum + p.load.duplicates, 0);
    out.push({
      name: "Inbound: every accepted request forwarded exactly once",
      value: `${missing} missing, ${duplicates} duplicates`,
      target: "0 missing, 0 duplicates",
      status: missing === 0 && duplicates === 0 ? "PASS" : "FAIL",
      note: "",
    });
  }
  if (rounds.some((r) => r.rules)) {
    out.push(
      judge(
        "Rules: done/s with 100 rules (3 match) ÷ forwarded/s with none",
        perRound((r) => ratio(r.rules?.rules?.processedPerSec, r.inbound?.load.deliveredPerSec)),
        `≥ ${TARGETS.rulesToInbound}`,
        (v) => v >= TARGETS.rulesToInbound,
        "needs the inbound and the rules phases",
      ),
    );
    const runs = rounds.map((r) => r.rules).filter(Boolean);
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
    out.push({
      name: "Rules: every matching rule ran once per request",
      value: `${succeeded} succeeded, ${other} not; the last run ended ${formatNumber(drain, 0)} ms after the last forward`,
      target: `${expected} succeeded`,
      status: succeeded === expected && other === 0 ? "PASS" : "FAIL",
      note: "",
    });
  }
  if (rounds.some((r) => r.pg1 || r.pg2)) {
    const pgToCeiling = perRound((r) =>
      ratio(r.pg1?.load.deliveredPerSec, r.ceiling?.plain.reqPerSec),
    );
    out.push(
      judge(
        "PostgreSQL, 1 process: delivered/s ÷ plain ceiling",
        pgToCeiling,
        `≥ ${TARGETS.pgDeliveredToPlainCeiling}`,
        (v) => v >= TARGETS.pgDeliveredToPlainCeiling,
        "needs the ceiling and the PostgreSQL phase",
      ),
    );
    const twoToOne = perRound((r) =>
      ratio(r.pg2?.load.deliveredPerSec, r.pg1?.load.deliveredPerSec),
    );
    out.push(
      judge(
        "PostgreSQL: 2 processes ÷ 1 process, delivered/s",
        twoToOne,
        "> 1",
        (v) => v > 1,
        "needs both PostgreSQL phases",
      ),
    );
    const pgBad = rounds.flatMap((r) => [r.pg1, r.pg2]).filter(Boolean);
    const pgMissing = pgBad.reduce((sum, p) => sum + p.load.missing, 0);
    const pgDuplicates = pgBad.reduce((sum, p) => sum + p.load.duplicates, 0);
    out.push({
      name: "PostgreSQL: every accepted message arrived exactly once",
      value: `${pgMissing} missing, ${pgDuplicates} duplicates`,
      target: "0 missing, 0 duplicates",
      status: pgMissing === 0 && pgDuplicates === 0 ? "PASS" : "FAIL",
      note: "",
    });
  }
  return out;
}

function judge(name, value, target, ok, missingNote) {
  if (!Number.isFinite(value))
    return { name, value: Number.NaN, target, status: "n/a", note: missingNote };
  return { name, value, target, status: ok(value) ? "PASS" : "FAIL", note: "" };
}

export function formatNumber(value, digits = 0) {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Plain-text table with right-aligned numeric columns. */
export function renderTable(headers, rows) {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => String(row[i]).length)),
  );
  const line = (cells) =>
    cells
      .map((cell, i) =>
        i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]),
      )
      .join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
