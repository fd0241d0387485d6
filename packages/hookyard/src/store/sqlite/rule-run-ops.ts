import { idFloor } from "../../ids.js";
import type { InboundRequest, RuleRun, RuleRunId, RuleRunStatus } from "../../model.js";
import { rowValues } from "../rows/config-rows.js";
import * as rows from "../rows/rule-run-rows.js";
import type { Page, PageRequest } from "../store.js";
import { conflictOn } from "./sqlite-driver.js";
import type { SqliteContext } from "./statements.js";

/**
 * Rule runs. Synchronous; writes run inside a group commit. Each event is stored once in
 * `rule_event` and the runs point at it (rows/rule-run-rows.ts).
 */

/** Also stores the runs of an accepted inbound request (source-ops.ts), in its transaction. */
export function insertRuleRuns(
  { s }: SqliteContext,
  runs: readonly RuleRun[],
  request: InboundRequest | null = null,
): void {
  for (const event of rows.ruleEventRows(runs, request)) s.insertRuleEvent.run(event);
  for (const run of runs) {
    conflictOn(
      () => s.insertRuleRun.run(...rowValues(rows.ruleRunToRow(run), rows.RULE_RUN_COLUMNS)),
      () => `rule run ${run.id} already exists`,
    );
  }
}

/** Writes the run's changing columns only; its event is never rewritten. */
export function updateRuleRun({ s }: SqliteContext, run: RuleRun): void {
  s.updateRuleRun.run(rows.ruleRunToRow(run));
}

export function getRuleRun({ s }: SqliteContext, id: RuleRunId): RuleRun | null {
  const row = s.getRuleRun.get(id) as rows.RuleRunEventRow | undefined;
  return row === undefined ? null : rows.rowToRuleRun(row);
}

export function listRuleRuns(
  { listings }: SqliteContext,
  filter: { rule?: string; status?: RuleRunStatus },
  page: PageRequest,
): Page<RuleRun> {
  const where: string[] = [];
  const params: string[] = [];
  if (filter.rule !== undefined) {
    where.push("r.rule = ?");
    params.push(filter.rule);
  }
  if (filter.status !== undefined) {
    where.push("r.status = ?");
    params.push(filter.status);
    // Repeats the partial index's condition, so SQLite sees that the index applies.
    if (filter.status !== "succeeded") where.push("r.status <> 'succeeded'");
  }
  return listings.page({
    select: rows.RULE_RUN_SELECT,
    where,
    params,
    cursorColumn: "r.id",
    page,
    defaultOrder: "descending",
    map: rows.rowToRuleRun,
    cursorOf: (r) => r.id,
  });
}

export function takeExpiredRuleRuns(
  { s }: SqliteContext,
  req: { owner: string; now: number; leaseUntil: number; limit: number },
): RuleRun[] {
  const taken = s.takeExpiredRuleRuns.all(
    req.owner,
    req.leaseUntil,
    req.now,
    req.limit,
  ) as rows.RuleRunEventRow[];
  return taken.map(rows.rowToRuleRun).sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** See `Store.deleteRuleRunsBefore`: the runs first, then the events they alone pointed at. */
export function deleteRuleRunsBefore({ s }: SqliteContext, before: number, limit: number): number {
  const gone = s.deleteRuleRunsBefore.all(idFloor("rrun", before), limit) as Array<{
    event_id: string;
  }>;
  for (const eventId of new Set(gone.map((r) => r.event_id))) {
    s.deleteUnusedRuleEvent.run(eventId, eventId);
  }
  return gone.length;
}
