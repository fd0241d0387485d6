import { maxOf, median, minOf, ratio } from "./stats.mjs";

/**
 * Table rows of one round: { key, label, msgsPerSec, p50, p99, cpuMicrosPerMsg } (absent phases
 * are skipped).
 */
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
  if (round.webhook) {
    add(
      "webhook",
      "adnanh/webhook, HMAC rule + /bin/true (peer)",
      round.webhook.load.reqPerSec,
      round.webhook.load.latency,
      round.webhook.load.cpuMicrosPerMsg,
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

export function formatNumber(value, digits = 0) {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Plain-text table: the first column and those in `leftColumns` left-aligned, the rest right. */
export function renderTable(headers, rows, leftColumns = [0]) {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => String(row[i]).length)),
  );
  const line = (cells) =>
    cells
      .map((cell, i) =>
        leftColumns.includes(i) ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]),
      )
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
