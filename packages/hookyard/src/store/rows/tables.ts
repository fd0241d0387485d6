/** The tables `Store.tableStats` reports, the big ones first (the same names in both schemas). */
export const STATS_TABLES = [
  "attempt",
  "delivery",
  "message",
  "endpoint",
  "application",
  "event_type",
  "idempotency",
] as const;
