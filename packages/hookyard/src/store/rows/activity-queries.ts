import { idFloor } from "../../ids.js";
import type { ActivityOverview } from "../store.js";

/**
 * The dashboard overview's queries, the same on both stores: each reads only rows created since
 * `since`, through the primary key (ids sort by creation time), grouped into buckets.
 * `p(n)` writes the n-th placeholder of the dialect (`?` or `$n`).
 */
export function activityQueries(p: (n: number) => string) {
  // CAST: SQLite binds a JS number as REAL, which would make the division fractional.
  const bucket = `CAST((created_at - ${p(1)}) / ${p(2)} AS INTEGER)`;
  return {
    messages: `SELECT ${bucket} AS bucket, count(*) AS n FROM message WHERE id >= ${p(3)} GROUP BY 1`,
    attempts: `SELECT ${bucket} AS bucket, count(*) AS n, sum(CASE WHEN succeeded <> 0 THEN 1 ELSE 0 END) AS ok FROM attempt WHERE id >= ${p(3)} GROUP BY 1`,
    received: `SELECT ${bucket} AS bucket, count(*) AS n, sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS bad FROM inbound_request WHERE id >= ${p(3)} GROUP BY 1`,
    ruleRuns: `SELECT ${bucket} AS bucket, count(*) AS n, sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS bad FROM rule_run WHERE id >= ${p(3)} GROUP BY 1`,
    bySource: `SELECT source_id, status, count(*) AS n FROM inbound_request WHERE id >= ${p(1)} GROUP BY source_id, status`,
    backlog: "SELECT count(*) AS n FROM delivery WHERE status IN ('pending', 'retrying')",
    failing:
      "SELECT id, app_id, url, failing_since FROM endpoint WHERE failing_since IS NOT NULL ORDER BY failing_since LIMIT 10",
    failingCount: "SELECT count(*) AS n FROM endpoint WHERE failing_since IS NOT NULL",
  };
}

/** The id bounds of each table for rows created at or after `since`. */
export function activityFloors(since: number) {
  return {
    msg: idFloor("msg", since),
    atmpt: idFloor("atmpt", since),
    req: idFloor("req", since),
    rrun: idFloor("rrun", since),
  };
}

type Row = Record<string, unknown>;
const num = (value: unknown) => Number(value ?? 0);

/** The overview from the rows of the queries (PostgreSQL's counts arrive as text). */
export function activityFromRows(rows: {
  messages: Row[];
  attempts: Row[];
  received: Row[];
  ruleRuns: Row[];
  bySource: Row[];
  backlog: Row[];
  failing: Row[];
  failingCount: Row[];
}): ActivityOverview {
  const sources = new Map<string, { accepted: number; rejected: number; duplicate: number }>();
  for (const row of rows.bySource) {
    const id = String(row["source_id"]);
    const entry = sources.get(id) ?? { accepted: 0, rejected: 0, duplicate: 0 };
    const status = String(row["status"]) as "accepted" | "rejected" | "duplicate";
    if (status in entry) entry[status] += num(row["n"]);
    sources.set(id, entry);
  }
  return {
    messages: rows.messages.map((r) => ({ bucket: num(r["bucket"]), count: num(r["n"]) })),
    attempts: rows.attempts.map((r) => ({
      bucket: num(r["bucket"]),
      succeeded: num(r["ok"]),
      failed: num(r["n"]) - num(r["ok"]),
    })),
    received: rows.received.map((r) => ({
      bucket: num(r["bucket"]),
      accepted: num(r["n"]) - num(r["bad"]),
      rejected: num(r["bad"]),
    })),
    ruleRuns: rows.ruleRuns.map((r) => ({
      bucket: num(r["bucket"]),
      succeeded: num(r["n"]) - num(r["bad"]),
      failed: num(r["bad"]),
    })),
    bySource: [...sources].map(([sourceId, counts]) => ({ sourceId, ...counts })),
    backlog: num(rows.backlog[0]?.["n"]),
    failingCount: num(rows.failingCount[0]?.["n"]),
    failingEndpoints: rows.failing.map((r) => ({
      appId: String(r["app_id"]),
      endpointId: String(r["id"]),
      url: String(r["url"]),
      failingSince: num(r["failing_since"]),
    })),
  };
}
