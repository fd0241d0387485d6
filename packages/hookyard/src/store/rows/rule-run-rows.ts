import type { ActionOutcome, RuleEvent, RuleRun, RuleRunId, RuleRunStatus } from "../../model.js";
import type { Row } from "./config-rows.js";

/** Rule runs ⇄ rows, shared by both adapters; the event and the outcomes are JSON text. */
export interface RuleRunRow extends Row {
  id: string;
  rule: string;
  status: string;
  event: string;
  actions: string;
  error: string | null;
  owner: string | null;
  lease_until: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export const RULE_RUN_COLUMNS = [
  "id",
  "rule",
  "status",
  "event",
  "actions",
  "error",
  "owner",
  "lease_until",
  "created_at",
  "started_at",
  "finished_at",
] as const;

/**
 * An event's JSON, written once however many runs (and updates of them) carry it: the rules an
 * inbound request matches share its event object.
 */
const eventJson = new WeakMap<RuleEvent, string>();

function jsonOf(event: RuleEvent): string {
  let json = eventJson.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    eventJson.set(event, json);
  }
  return json;
}

export function ruleRunToRow(run: RuleRun): RuleRunRow {
  return {
    id: run.id,
    rule: run.rule,
    status: run.status,
    event: jsonOf(run.event),
    actions: JSON.stringify(run.actions),
    error: run.error,
    owner: run.owner,
    lease_until: run.leaseUntil,
    created_at: run.createdAt,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
  };
}

export function rowToRuleRun(row: RuleRunRow): RuleRun {
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
