import type { DeliveryBacklog } from "../store.js";

/**
 * The open deliveries (pending or retrying) by application: how many are leased (being sent),
 * due (waiting for a sender) and scheduled (a retry or a `deliverAt` later), and when the oldest
 * was created, the SLA signal. The same SQL on both stores; `p(n)` writes the dialect's n-th
 * placeholder. It reads only open rows (the partial index `delivery_open_due`), so its cost
 * follows the backlog, not the history.
 */
export function backlogQuery(p: (n: number) => string): string {
  return `SELECT app_id,
    sum(CASE WHEN lease_until IS NOT NULL AND lease_until > ${p(1)} THEN 1 ELSE 0 END) AS leased,
    sum(CASE WHEN (lease_until IS NULL OR lease_until <= ${p(1)})
      AND (next_attempt_at IS NULL OR next_attempt_at <= ${p(1)}) THEN 1 ELSE 0 END) AS due,
    count(*) AS open,
    min(created_at) AS oldest
  FROM delivery WHERE status IN ('pending', 'retrying') GROUP BY app_id`;
}

/** The backlog from the query's rows (PostgreSQL's sums and counts arrive as text). */
export function backlogFromRows(rows: readonly Record<string, unknown>[]): DeliveryBacklog[] {
  return rows.map((row) => {
    const open = Number(row["open"]);
    const leased = Number(row["leased"]);
    const due = Number(row["due"]);
    return {
      appId: String(row["app_id"]) as DeliveryBacklog["appId"],
      leased,
      due,
      scheduled: open - leased - due,
      oldestCreatedAt: Number(row["oldest"]),
    };
  });
}
