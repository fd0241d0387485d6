import type {
  Delivery,
  InboundRequest,
  Message,
  RuleRun,
  InboundRequestId,
  InboundStatus,
  Source,
  SourceId,
} from "../../model.js";
import * as deliveryRows from "../rows/delivery-rows.js";
import * as rows from "../rows/source-rows.js";
import type { Page, PageRequest } from "../store.js";
import { conflictOn } from "./sqlite-driver.js";
import { insertRuleRuns } from "./rule-run-ops.js";
import type { SqliteContext } from "./statements.js";

/** Inbound sources and their ingest tokens. Synchronous; writes run inside a group commit. */

export function insertSource({ s, box }: SqliteContext, source: Source): void {
  conflictOn(
    () => {
      s.insertSource.run(rows.sourceToRow(source, box));
      for (const token of rows.sourceTokenRows(source)) s.insertSourceToken.run(token);
    },
    () => `source uid "${source.uid}" or one of its tokens is already taken`,
  );
}

export function getSource(ctx: SqliteContext, idOrUid: string): Source | null {
  const { s } = ctx;
  const row = (s.getSourceById.get(idOrUid) ?? s.getSourceByUid.get(idOrUid)) as
    rows.SourceRow | undefined;
  return row === undefined ? null : withTokens(ctx, row);
}

export function getSourceByToken(ctx: SqliteContext, token: string, now: number): Source | null {
  const row = ctx.s.getSourceByToken.get(token, now) as rows.SourceRow | undefined;
  return row === undefined ? null : withTokens(ctx, row);
}

export function listSources(ctx: SqliteContext, page: PageRequest): Page<Source> {
  return ctx.listings.page({
    select: "SELECT * FROM source",
    where: [],
    params: [],
    cursorColumn: "id",
    page,
    defaultOrder: "ascending",
    map: (row: rows.SourceRow) => withTokens(ctx, row),
    cursorOf: (source) => source.id,
  });
}

export function updateSource({ s, box }: SqliteContext, source: Source): void {
  conflictOn(
    () => {
      s.updateSource.run(rows.sourceToRow(source, box));
      s.deleteSourceTokens.run(source.id);
      for (const token of rows.sourceTokenRows(source)) s.insertSourceToken.run(token);
    },
    () => `source uid "${source.uid}" or one of its tokens is already taken`,
  );
}

export function deleteSource({ s }: SqliteContext, id: SourceId): void {
  s.deleteInboundRequestsOfSource.run(id);
  s.deleteSourceTokens.run(id);
  s.deleteSource.run(id);
}

/** See `Store.insertInboundRequest`: one writer at a time, so the check and the insert are atomic. */
export function insertInboundRequest(
  ctx: SqliteContext,
  request: InboundRequest,
  dedupSince: number,
  forward?: { message: Message; deliveries: Delivery[] },
  ruleRuns?: readonly RuleRun[],
): InboundRequest {
  const { s } = ctx;
  let stored = request;
  const replayKey = request.replayKey ?? null;
  if (request.status === "accepted" && (request.dedupKey !== null || replayKey !== null)) {
    const first = s.findAcceptedRepeat.get({
      source_id: request.sourceId,
      dedup_key: request.dedupKey,
      replay_key: replayKey,
      since: dedupSince,
    }) as { id: InboundRequestId } | undefined;
    if (first !== undefined) stored = { ...request, status: "duplicate", duplicateOf: first.id };
  }
  conflictOn(
    () => s.insertInboundRequest.run(rows.inboundRequestToRow(stored)),
    () => `inbound request ${request.id} already exists`,
  );
  if (stored.status === "accepted" && forward !== undefined) {
    s.insertMessage.run(...deliveryRows.messageParams(forward.message));
    for (const d of forward.deliveries) s.insertDelivery.run(...deliveryRows.deliveryParams(d));
  }
  if (stored.status === "accepted" && ruleRuns !== undefined && ruleRuns.length > 0) {
    insertRuleRuns(ctx, ruleRuns, stored);
  }
  return stored;
}

export function getInboundRequest(
  { s }: SqliteContext,
  sourceId: SourceId,
  id: InboundRequestId,
): InboundRequest | null {
  const row = s.getInboundRequest.get(sourceId, id) as rows.InboundRequestRow | undefined;
  return row === undefined ? null : rows.rowToInboundRequest(row);
}

export function listInboundRequestIds(
  { s }: SqliteContext,
  sourceId: SourceId,
  status: InboundStatus,
  afterId: string,
  limit: number,
): InboundRequestId[] {
  const found = s.listInboundRequestIds.all(sourceId, status, afterId, limit) as { id: string }[];
  return found.map((row) => row.id as InboundRequestId);
}

export function getInboundRequestById(
  { s }: SqliteContext,
  id: InboundRequestId,
): InboundRequest | null {
  const row = s.getInboundRequestById.get(id) as rows.InboundRequestRow | undefined;
  return row === undefined ? null : rows.rowToInboundRequest(row);
}

export function deleteInboundRequest(
  { s }: SqliteContext,
  sourceId: SourceId,
  id: InboundRequestId,
): boolean {
  return s.deleteInboundRequest.run(sourceId, id).changes === 1;
}

/** See `Store.trimInboundRequests`: everything older than the `keep`-th newest request goes. */
export function trimInboundRequests(
  { s }: SqliteContext,
  sourceId: SourceId,
  keep: number,
  status?: InboundStatus,
): number {
  if (status === undefined) return s.trimInboundRequests.run(sourceId, sourceId, keep - 1).changes;
  return s.trimInboundRequestsByStatus.run(sourceId, status, sourceId, status, keep - 1).changes;
}

export function listInboundRequests(
  { listings }: SqliteContext,
  sourceId: SourceId,
  filter: { status?: InboundStatus },
  page: PageRequest,
): Page<InboundRequest> {
  const where = ["source_id = ?"];
  const params: string[] = [sourceId];
  if (filter.status !== undefined) {
    where.push("status = ?");
    params.push(filter.status);
  }
  return listings.page({
    select: "SELECT * FROM inbound_request",
    where,
    params,
    cursorColumn: "id",
    page,
    defaultOrder: "descending",
    map: rows.rowToInboundRequest,
    cursorOf: (r) => r.id,
  });
}

function withTokens({ s, box }: SqliteContext, row: rows.SourceRow): Source {
  return rows.rowToSource(row, s.listSourceTokens.all(row.id) as rows.SourceTokenRow[], box);
}
