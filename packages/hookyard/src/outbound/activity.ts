import type { Clock } from "../clock.js";
import type { ActivityOverview, Store } from "../store/store.js";

/** The overview's windows: the last hour by minute, the last day by quarter hour. */
export const WINDOWS = {
  "1h": { spanMs: 60 * 60_000, bucketMs: 60_000 },
  "24h": { spanMs: 24 * 60 * 60_000, bucketMs: 15 * 60_000 },
} as const;
export type ActivityWindow = keyof typeof WINDOWS;

export interface ActivitySeries {
  window: ActivityWindow;
  since: number;
  bucketMs: number;
  /** One entry per bucket, oldest first, zero where nothing happened. */
  buckets: {
    start: number;
    messages: number;
    attemptsSucceeded: number;
    attemptsFailed: number;
    received: number;
    rejected: number;
    ruleRunsFailed: number;
  }[];
  bySource: (ActivityOverview["bySource"][number] & { name: string | null })[];
  backlog: number;
  failingCount: number;
  failingEndpoints: ActivityOverview["failingEndpoints"];
}

/**
 * What the dashboard's overview charts: messages and attempts per bucket (the success rate),
 * received requests per source, failed rule runs, and what waits (the backlog, failing
 * endpoints). Counted by the store over the window's rows only.
 */
export async function activity(
  deps: { store: Pick<Store, "activityOverview" | "getSource">; clock: Clock },
  window: ActivityWindow,
): Promise<ActivitySeries> {
  const { spanMs, bucketMs } = WINDOWS[window];
  // Whole buckets: the last one is the one now is in.
  const end = Math.floor(deps.clock.now() / bucketMs) * bucketMs + bucketMs;
  const since = end - spanMs;
  const raw = await deps.store.activityOverview(since, bucketMs);
  const count = spanMs / bucketMs;
  const buckets = Array.from({ length: count }, (_, i) => ({
    start: since + i * bucketMs,
    messages: 0,
    attemptsSucceeded: 0,
    attemptsFailed: 0,
    received: 0,
    rejected: 0,
    ruleRunsFailed: 0,
  }));
  const at = (bucket: number) => buckets[Math.min(count - 1, Math.max(0, Math.floor(bucket)))]!;
  for (const m of raw.messages) at(m.bucket).messages += m.count;
  for (const a of raw.attempts) {
    at(a.bucket).attemptsSucceeded += a.succeeded;
    at(a.bucket).attemptsFailed += a.failed;
  }
  for (const r of raw.received) {
    at(r.bucket).received += r.accepted + r.rejected;
    at(r.bucket).rejected += r.rejected;
  }
  for (const r of raw.ruleRuns) at(r.bucket).ruleRunsFailed += r.failed;
  const bySource = await Promise.all(
    raw.bySource.map(async (s) => ({
      ...s,
      name: (await deps.store.getSource(s.sourceId))?.name ?? null,
    })),
  );
  return {
    window,
    since,
    bucketMs,
    buckets,
    bySource,
    backlog: raw.backlog,
    failingCount: raw.failingCount,
    failingEndpoints: raw.failingEndpoints,
  };
}
