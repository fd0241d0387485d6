import type {
  AppId,
  Attempt,
  AttemptId,
  EndpointId,
  EndpointStats,
  MessageId,
} from "../../model.js";
import type {
  AttemptFilter,
  DeliveryUpdate,
  IdempotencyRecord,
  Page,
  PageRequest,
  PruneResult,
} from "../store.js";
import { idFloor } from "../../ids.js";
import { toEndpointStats } from "../rows/endpoint-stats.js";
import { attemptFilterTerms } from "./listing-filters.js";
import { EXPUNGED_RESPONSE } from "../rows/listing-sql.js";
import * as rows from "../rows/delivery-rows.js";
import { idempotencyToRow, rowToIdempotency, type IdempotencyRow } from "../rows/config-rows.js";
import { conflictOn } from "./sqlite-driver.js";
import type { SqliteContext } from "./statements.js";

/**
 * Attempts, endpoint statistics and idempotency records. Synchronous functions over the
 * connection; `SqliteStore` runs the writes inside a group commit.
 */

/** The attempt row and the delivery's new state (false: its guard did not hold), in one slice. */
export function recordAttempt(
  { s }: SqliteContext,
  attempt: Attempt,
  update: DeliveryUpdate,
): boolean {
  conflictOn(
    () => s.insertAttempt.run(...rows.attemptParams(attempt)),
    () => `attempt ${attempt.id} already exists`,
  );
  return s.updateDelivery.run(...rows.deliveryUpdateParams(update)).changes === 1;
}

export function getAttempt(
  { s }: SqliteContext,
  appId: AppId,
  attemptId: AttemptId,
): Attempt | null {
  const row = s.getAttempt.get(attemptId, appId) as rows.AttemptRow | undefined;
  return row === undefined ? null : rows.rowToAttempt(row);
}

export function expungeAttemptContent(
  { s }: SqliteContext,
  appId: AppId,
  attemptId: AttemptId,
): boolean {
  return s.expungeAttempt.run(EXPUNGED_RESPONSE, attemptId, appId).changes > 0;
}

export function listAttemptsByMessage(
  ctx: SqliteContext,
  appId: AppId,
  msgId: MessageId,
  filter: AttemptFilter,
  page: PageRequest,
): Page<Attempt> {
  return attemptPage(ctx, ["msg_id = ?", "app_id = ?"], [msgId, appId], filter, page);
}

export function listAttemptsByEndpoint(
  ctx: SqliteContext,
  appId: AppId,
  endpointId: EndpointId,
  filter: AttemptFilter,
  page: PageRequest,
): Page<Attempt> {
  return attemptPage(ctx, ["endpoint_id = ?", "app_id = ?"], [endpointId, appId], filter, page);
}

function attemptPage(
  { listings }: SqliteContext,
  where: readonly string[],
  params: readonly string[],
  filter: AttemptFilter,
  page: PageRequest,
): Page<Attempt> {
  const f = attemptFilterTerms(filter);
  return listings.page({
    select: "SELECT * FROM attempt",
    where: [...where, ...f.where],
    params: [...params, ...f.params],
    cursorColumn: "id",
    page,
    defaultOrder: "descending",
    map: rows.rowToAttempt,
    cursorOf: (a) => a.id,
  });
}

/** Counts deliveries created in [since, until); null bounds are open. */
export function endpointStats(
  { s }: SqliteContext,
  endpointId: EndpointId,
  since: number | null,
  until: number | null,
): EndpointStats {
  const counts = s.endpointStats.all(
    endpointId,
    since ?? Number.MIN_SAFE_INTEGER,
    until ?? Number.MAX_SAFE_INTEGER,
  ) as Array<{ status: string; n: number }>;
  return toEndpointStats(counts);
}

export function getIdempotencyRecord({ s }: SqliteContext, key: string): IdempotencyRecord | null {
  const row = s.getIdempotency.get(key) as IdempotencyRow | undefined;
  return row === undefined ? null : rowToIdempotency(row);
}

/** First writer wins (INSERT OR IGNORE). */
export function putIdempotencyRecord({ s }: SqliteContext, record: IdempotencyRecord): void {
  s.putIdempotency.run(idempotencyToRow(record));
}

export function pruneIdempotencyRecords({ s }: SqliteContext, before: number): number {
  return s.pruneIdempotency.run(before).changes;
}

/** Retention: see `Store.pruneBefore`. Attempts first, then deliveries, then their messages. */
export function pruneBefore(
  { s }: SqliteContext,
  req: { before: number; limit: number },
): PruneResult {
  const { before, limit } = req;
  return {
    attempts: s.pruneAttempts.run(idFloor("atmpt", before), limit).changes,
    deliveries: s.pruneDeliveries.run(idFloor("dlv", before), limit).changes,
    messages: s.pruneMessages.run(idFloor("msg", before), limit).changes,
    inboundRequests: s.pruneInboundRequests.run(idFloor("req", before), limit).changes,
    backgroundTasks: s.pruneBackgroundTasks.run(idFloor("qtask", before), limit).changes,
  };
}
