import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { PruneResult, Store } from "../store/store.js";

/** Rows of each kind per step: one short transaction, so writers never wait long behind it. */
const STEP_ROWS = 1_000;
/** Steps per run; what is left waits for the next run (an hour later). */
const MAX_STEPS = 200;

/**
 * `HOOKYARD_RETENTION_DAYS`: removes messages, finished deliveries and attempts created before
 * the retention window, in small steps through `Store.pruneBefore` (open deliveries and their
 * messages stay until they finish).
 */
export async function pruneExpired(deps: {
  store: Store;
  clock: Clock;
  retentionDays: number;
  logger: Logger;
}): Promise<PruneResult> {
  const before = deps.clock.now() - deps.retentionDays * 86_400_000;
  const total: PruneResult = { attempts: 0, deliveries: 0, messages: 0, inboundRequests: 0 };
  const kinds = Object.keys(total) as (keyof PruneResult)[];
  for (let step = 0; step < MAX_STEPS; step++) {
    const pruned = await deps.store.pruneBefore({ before, limit: STEP_ROWS });
    for (const kind of kinds) total[kind] += pruned[kind];
    if (Math.max(...kinds.map((kind) => pruned[kind])) < STEP_ROWS) break;
  }
  if (kinds.some((kind) => total[kind] > 0)) {
    deps.logger.info({ ...total, retentionDays: deps.retentionDays }, "pruned expired data");
  }
  return total;
}
