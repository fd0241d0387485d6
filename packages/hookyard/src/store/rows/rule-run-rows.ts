import type { ActionOutcome, RuleEvent, RuleRun, RuleRunId, RuleRunStatus } from "../../model.js";
import type { Row } from "./config-rows.js";

/**
 * Rule runs ⇄ rows, shared by both adapters. A run's event is stored once in `rule_event`, keyed
 * by the event's id, however many runs carry it (the rules an inbound request matches share its
 * event); a run row points at it (`event_id`), so updating a run never rewrites the event.
 * The event and the outcomes are JSON text.
 */
export interface RuleRunRow extends Row {
  id: string;
  rule: string;
  status: string;
  event_id: string;
  actions: string;
  error: string | null;
  owner: string | null;
  lease_until: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/** A run row read back with its event's JSON (see `RULE_RUN_SELECT`). */
export interface RuleRunEventRow extends RuleRunRow {
  event: string;
}

export interface RuleEventRow extends Row {
  id: string;
  event: string;
  created_at: number;
}

export const RULE_RUN_COLUMNS = [
  "id",
  "rule",
  "status",
  "event_id",
  "actions",
  "error",
  "owner",
  "lease_until",
  "created_at",
  "started_at",
  "finished_at",
] as const;

export const RULE_EVENT_COLUMNS = ["id", "event", "created_at"] as const;

/** Runs (alias `r`) with their event's JSON; filters and the cursor name `r.` columns. */
export const RULE_RUN_SELECT =
  "SELECT r.*, e.event FROM rule_run r JOIN rule_event e ON e.id = r.event_id";

/** For `UPDATE rule_run … RETURNING`: the run's columns and its event's JSON. */
export const RULE_RUN_RETURNING =
  "RETURNING *, (SELECT e.event FROM rule_event e WHERE e.id = rule_run.event_id) AS event";

/** Statuses a run never leaves: such runs may be deleted (retention). */
export const FINISHED_RULE_RUN = "status IN ('succeeded', 'failed', 'interrupted')";

/** The run's own columns; its event is written apart, once (`ruleEventRows`). */
export function ruleRunToRow(run: RuleRun): RuleRunRow {
  return {
    id: run.id,
    rule: run.rule,
    status: run.status,
    event_id: run.event.id,
    actions: JSON.stringify(run.actions),
    error: run.error,
    owner: run.owner,
    lease_until: run.leaseUntil,
    created_at: run.createdAt,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
  };
}

/**
 * One row per distinct event (by id) of `runs`, each serialised once. Stored insert-or-ignore:
 * an event already stored (by an earlier batch of runs for it) is kept as it is.
 */
export function ruleEventRows(runs: readonly RuleRun[]): RuleEventRow[] {
  const byId = new Map<string, RuleEventRow>();
  for (const run of runs) {
    if (byId.has(run.event.id)) continue;
    byId.set(run.event.id, {
      id: run.event.id,
      event: JSON.stringify(run.event),
      created_at: run.createdAt,
    });
  }
  return [...byId.values()];
}

export function rowToRuleRun(row: RuleRunEventRow): RuleRun {
  return {
    id: row.id as RuleRunId,
    rule: row.rule,
    status: row.status as RuleRunStatus,
    event: JSON.parse(row.event) as RuleEvent,
    actions: JSON.parse(row.actions) as ActionOutcome[],
    error: row.error,
    owner: row.owner,
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
    createdAt: Number(row.created_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}
