import type {
  AppId,
  InboundRequest,
  InboundRequestId,
  InboundStatus,
  Source,
  SourceId,
  SourceToken,
} from "../../model.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import type { Row } from "./config-rows.js";
import { openColumns, sealColumns, SOURCE_SEALED } from "./secret-rows.js";

/**
 * Sources ⇄ rows, shared by both adapters. A source is one `source` row; its ingest tokens are
 * rows of `source_token` (the current one with no expiry, rotated-out ones until they expire), so
 * an ingest request finds its source through the token's primary key.
 */
export interface SourceRow extends Row {
  id: string;
  app_id: string;
  uid: string | null;
  name: string;
  type: string;
  config: string;
  metadata: string;
  created_at: number;
  updated_at: number;
}

export interface SourceTokenRow extends Row {
  token: string;
  source_id: string;
  expires_at: number | null;
}

export const SOURCE_COLUMNS = [
  "id",
  "app_id",
  "uid",
  "name",
  "type",
  "config",
  "metadata",
  "created_at",
  "updated_at",
] as const;

/** The source's row, its config (secrets and all) sealed with `box`'s current key. */
export function sourceToRow(source: Source, box: SecretBox): SourceRow {
  return sealColumns(box, plainSourceRow(source), SOURCE_SEALED);
}

function plainSourceRow(source: Source): SourceRow {
  return {
    id: source.id,
    app_id: source.appId,
    uid: source.uid,
    name: source.name,
    type: source.type,
    config: JSON.stringify(source.config),
    metadata: JSON.stringify(source.metadata),
    created_at: source.createdAt,
    updated_at: source.updatedAt,
  };
}

export function sourceTokenRows(source: Source): SourceTokenRow[] {
  return source.tokens.map((t) => ({
    token: t.token,
    source_id: source.id,
    expires_at: t.expiresAt,
  }));
}

/** The source of `row` with its tokens, the current one (no expiry) first, then newest first. */
export function rowToSource(
  stored: SourceRow,
  tokens: readonly SourceTokenRow[],
  box: SecretBox,
): Source {
  const row = openColumns(box, stored, SOURCE_SEALED);
  const ordered: SourceToken[] = tokens
    .map((t) => ({ token: t.token, expiresAt: t.expires_at }))
    .sort((a, b) => (b.expiresAt ?? Infinity) - (a.expiresAt ?? Infinity));
  return {
    id: row.id as SourceId,
    appId: row.app_id as AppId,
    uid: row.uid,
    name: row.name,
    type: row.type,
    config: JSON.parse(row.config) as Record<string, unknown>,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    tokens: ordered,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface InboundRequestRow extends Row {
  id: string;
  source_id: string;
  status: string;
  reason: string | null;
  method: string;
  path: string;
  query: string;
  headers: string;
  body: Buffer;
  body_bytes_received: number | null;
  source_ip: string;
  dedup_key: string | null;
  replay_key: string | null;
  event_type: string | null;
  duplicate_of: string | null;
  created_at: number;
}

export const INBOUND_REQUEST_COLUMNS = [
  "id",
  "source_id",
  "status",
  "reason",
  "method",
  "path",
  "query",
  "headers",
  "body",
  "body_bytes_received",
  "source_ip",
  "dedup_key",
  "replay_key",
  "event_type",
  "duplicate_of",
  "created_at",
] as const;

export function inboundRequestToRow(r: InboundRequest): InboundRequestRow {
  return {
    id: r.id,
    source_id: r.sourceId,
    status: r.status,
    reason: r.reason,
    method: r.method,
    path: r.path,
    query: r.query,
    headers: JSON.stringify(r.headers),
    body: r.body,
    body_bytes_received: r.bodyBytesReceived ?? null,
    source_ip: r.sourceIp,
    dedup_key: r.dedupKey,
    replay_key: r.replayKey ?? null,
    event_type: r.eventType,
    duplicate_of: r.duplicateOf,
    created_at: r.createdAt,
  };
}

export function rowToInboundRequest(row: InboundRequestRow): InboundRequest {
  return {
    id: row.id as InboundRequestId,
    sourceId: row.source_id as SourceId,
    status: row.status as InboundStatus,
    reason: row.reason,
    method: row.method,
    path: row.path,
    query: row.query,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: row.body,
    ...(row.body_bytes_received !== null && { bodyBytesReceived: row.body_bytes_received }),
    sourceIp: row.source_ip,
    dedupKey: row.dedup_key,
    ...(row.replay_key !== null && { replayKey: row.replay_key }),
    eventType: row.event_type,
    duplicateOf: row.duplicate_of as InboundRequestId | null,
    createdAt: row.created_at,
  };
}
