import type { RuleRun, RuleRunId, RuleRunStatus } from "../../model.js";
import * as rows from "../rows/rule-run-rows.js";
import type { Page, PageRequest } from "../store.js";
import { conflictOn } from "./sqlite-driver.js";
import type { SqliteContext } from "./statements.js";

/** Rule runs. Synchronous; writes run inside a group commit. */

export function insertRuleRuns({ s }: SqliteContext, runs: readonly RuleRun[]): void {
  for (const run of runs) {
    conflictOn(
      () => s.insertRuleRun.run(rows.ruleRunToRow(run)),
      () => `rule run ${run.id} already exists`,
    );
  }
}

export function updateRuleRun({ s }: SqliteContext, run: RuleRun): void {
  s.updateRuleRun.run(rows.ruleRunToRow(run));
}

export function getRuleRun({ s }: SqliteContext, id: RuleRunId): RuleRun | null {
  const row = s.getRuleRun.get(id) as rows.RuleRunRow | undefined;
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
    where.push("rule = ?");
    params.push(filter.rule);
  }
  if (filter.status !== undefined) {
    where.push("status = ?");
    params.push(filter.status);
  }
  return listings.page({
    select: "SELECT * FROM rule_run",
    where,
    params,
    cursorColumn: "id",
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
  ) as rows.RuleRunRow[];
  return taken.map(rows.rowToRuleRun).sort((a, b) => (a.id < b.id ? -1 : 1));
}
