import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { PruneResult, Store } from "../store/store.js";

/** Rows of each kind per step: one short transaction, so writers never wait long behind it. */
const STEP_ROWS = 1_000;
/** Steps per run; what is left waits for the next run (an hour later). */
const MAX_STEPS = 200;

/**
 * `HOOKYARD_RETENTION_DAYS`: removes messages, finished deliveries and attempts, received
 * requests and finished rule runs created before the retention window, in small steps through
 * `Store.pruneBefore` and `Store.deleteRuleRunsBefore` (open deliveries and their messages, and
 * queued or running rule runs, stay until they finish).
 */
export async function pruneExpired(deps: {
  store: Store;
  clock: Clock;
  retentionDays: number;
  logger: Logger;
}): Promise<PruneResult & { ruleRuns: number }> {
  const before = deps.clock.now() - deps.retentionDays * 86_400_000;
  const total: PruneResult = {
    attempts: 0,
    deliveries: 0,
    messages: 0,
    inboundRequests: 0,
    backgroundTasks: 0,
  };
  const kinds = Object.keys(total) as (keyof PruneResult)[];
  for (let step = 0; step < MAX_STEPS; step++) {
    const pruned = await deps.store.pruneBefore({ before, limit: STEP_ROWS });
    for (const kind of kinds) total[kind] += pruned[kind];
    if (Math.max(...kinds.map((kind) => pruned[kind])) < STEP_ROWS) break;
  }
  let ruleRuns = 0;
  for (let step = 0; step < MAX_STEPS; step++) {
    const deleted = await deps.store.deleteRuleRunsBefore(before, STEP_ROWS);
    ruleRuns += deleted;
    if (deleted < STEP_ROWS) break;
  }
  if (ruleRuns > 0 || kinds.some((kind) => total[kind] > 0)) {
    deps.logger.info(
      { ...total, ruleRuns, retentionDays: deps.retentionDays },
      "pruned expired data",
    );
  }
  return { ...total, ruleRuns };
}
