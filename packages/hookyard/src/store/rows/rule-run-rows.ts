import type {
  ActionOutcome,
  InboundRequest,
  InboundRequestId,
  RuleEvent,
  RuleRun,
  RuleRunId,
  RuleRunStatus,
} from "../../model.js";
import { inboundEvent } from "../../rules/events.js";
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

/**
 * A run row read back with its event's JSON (see `RULE_RUN_SELECT`) and, for the event of a
 * received request, what is read from the request instead of being stored twice.
 */
export interface RuleRunEventRow extends RuleRunRow {
  event: string;
  request_headers: string | null;
  request_body: Buffer | null;
  request_query: string | null;
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
  "SELECT r.*, e.event, q.headers AS request_headers, q.body AS request_body, q.query AS request_query" +
  " FROM rule_run r JOIN rule_event e ON e.id = r.event_id LEFT JOIN inbound_request q ON q.id = r.event_id";

/** For `UPDATE rule_run … RETURNING`: the run's columns and its event's JSON. */
export const RULE_RUN_RETURNING =
  "RETURNING *, (SELECT e.event FROM rule_event e WHERE e.id = rule_run.event_id) AS event" +
  ", (SELECT q.headers FROM inbound_request q WHERE q.id = rule_run.event_id) AS request_headers" +
  ", (SELECT q.body FROM inbound_request q WHERE q.id = rule_run.event_id) AS request_body" +
  ", (SELECT q.query FROM inbound_request q WHERE q.id = rule_run.event_id) AS request_query";

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
export function ruleEventRows(
  runs: readonly RuleRun[],
  request: InboundRequest | null = null,
): RuleEventRow[] {
  const byId = new Map<string, RuleEventRow>();
  for (const run of runs) {
    if (byId.has(run.event.id)) continue;
    byId.set(run.event.id, {
      id: run.event.id,
      event: JSON.stringify(
        request !== null &&
          run.event.kind === "inbound" &&
          run.event.id === request.id &&
          runs.every((r) => r.event.id !== run.event.id || isFinished(r))
          ? requestEvent(run.event)
          : run.event,
      ),
      created_at: run.createdAt,
    });
  }
  return [...byId.values()];
}

/**
 * The runs of an accepted request are stored with it (insertInboundRequest). When all of them
 * are already done (rules of only set/log), their event keeps only what the request row lacks
 * and is rebuilt from the request when read: the headers and body, often kilobytes, are then
 * written once per request, not once more for its runs. A run still to run keeps the whole
 * event: it must run on it even if the request is deleted first (a bin's cap, DELETE, retention).
 */
function isFinished(run: RuleRun): boolean {
  return run.status !== "queued" && run.status !== "running";
}

interface RequestEvent {
  fromRequest: true;
  kind: "inbound";
  id: string;
  source: string;
  type: string | null;
  method: string | null;
  path: string | null;
  receivedAt: string;
}

function requestEvent(event: RuleEvent): RequestEvent {
  const { kind, id, source, type, method, path, receivedAt } = event;
  return { fromRequest: true, kind: kind as "inbound", id, source, type, method, path, receivedAt };
}

function eventOf(row: RuleRunEventRow): RuleEvent {
  const stored = JSON.parse(row.event) as RuleEvent | RequestEvent;
  if (!("fromRequest" in stored)) return stored;
  const { fromRequest: _, ...event } = stored;
  if (row.request_headers === null) {
    // The request was deleted (its retention, or DELETE): what it carried is gone with it.
    return { ...event, payload: null, headers: {}, body: "", query: {} };
  }
  return inboundEvent(
    {
      id: event.id as InboundRequestId,
      headers: JSON.parse(row.request_headers) as Record<string, string>,
      body: Buffer.from(row.request_body ?? Buffer.alloc(0)),
      query: row.request_query ?? "",
      eventType: event.type,
      method: event.method ?? "POST",
      path: event.path ?? "",
      createdAt: Date.parse(event.receivedAt),
    } as InboundRequest,
    event.source,
  );
}

export function rowToRuleRun(row: RuleRunEventRow): RuleRun {
  return {
    id: row.id as RuleRunId,
    rule: row.rule,
    status: row.status as RuleRunStatus,
    event: eventOf(row),
    actions: JSON.parse(row.actions) as ActionOutcome[],
    error: row.error,
    owner: row.owner,
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
    createdAt: Number(row.created_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}
