import { idFloor } from "../../ids.js";
import type { ApiKey, ApiKeyId, AppId, AuditEntry, AuditEntryId } from "../../model.js";
import type { AuditFilter, Page, PageRequest } from "../store.js";
import type { SqlParam } from "./config-rows.js";

/**
 * API keys and audit entries as rows, and their SQL, the same on both stores (`p(n)` writes the
 * dialect's n-th placeholder). Booleans are 0/1 and times epoch ms on both.
 */

export const API_KEY_COLUMNS = [
  "id",
  "name",
  "prefix",
  "hash",
  "app_id",
  "read_only",
  "created_at",
  "revoked_at",
] as const;

export const AUDIT_COLUMNS = [
  "id",
  "actor",
  "actor_name",
  "method",
  "route",
  "path",
  "status",
  "app_id",
  "object_id",
  "changes",
  "request_id",
  "ip",
  "created_at",
] as const;

type Row = Record<string, unknown>;

export function insertSql(table: string, columns: readonly string[], p: (n: number) => string) {
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((_, i) => p(i + 1)).join(", ")})`;
}

export function apiKeyValues(key: ApiKey): SqlParam[] {
  return [
    key.id,
    key.name,
    key.prefix,
    key.hash,
    key.appId,
    key.readOnly ? 1 : 0,
    key.createdAt,
    key.revokedAt,
  ];
}

export function rowToApiKey(row: Row): ApiKey {
  return {
    id: String(row["id"]) as ApiKeyId,
    name: String(row["name"]),
    prefix: String(row["prefix"]),
    hash: String(row["hash"]),
    appId: textOrNull(row["app_id"]) as AppId | null,
    readOnly: Number(row["read_only"]) !== 0,
    createdAt: Number(row["created_at"]),
    revokedAt: row["revoked_at"] == null ? null : Number(row["revoked_at"]),
  };
}

export function auditValues(entry: AuditEntry): SqlParam[] {
  return [
    entry.id,
    entry.actor,
    entry.actorName,
    entry.method,
    entry.route,
    entry.path,
    entry.status,
    entry.appId,
    entry.objectId,
    JSON.stringify(entry.changes),
    entry.requestId,
    entry.ip,
    entry.createdAt,
  ];
}

export function rowToAudit(row: Row): AuditEntry {
  return {
    id: String(row["id"]) as AuditEntryId,
    actor: String(row["actor"]),
    actorName: textOrNull(row["actor_name"]),
    method: String(row["method"]),
    route: String(row["route"]),
    path: String(row["path"]),
    status: Number(row["status"]),
    appId: textOrNull(row["app_id"]) as AppId | null,
    objectId: textOrNull(row["object_id"]),
    changes: JSON.parse(String(row["changes"])) as AuditEntry["changes"],
    requestId: String(row["request_id"]),
    ip: String(row["ip"]),
    createdAt: Number(row["created_at"]),
  };
}

/**
 * The audit listing's query: newest first through the primary key (ids sort by creation time),
 * narrowed by the filter's fields; one row more than the page to tell whether another follows.
 */
export function auditListQuery(
  filter: AuditFilter,
  page: PageRequest,
  p: (n: number) => string,
): { sql: string; params: SqlParam[] } {
  const where: string[] = [];
  const params: SqlParam[] = [];
  const add = (clause: (placeholder: string) => string, value: SqlParam) => {
    params.push(value);
    where.push(clause(p(params.length)));
  };
  if (filter.actor !== undefined) add((x) => `actor = ${x}`, filter.actor);
  if (filter.appId !== undefined) add((x) => `app_id = ${x}`, filter.appId);
  if (filter.objectId !== undefined) add((x) => `object_id = ${x}`, filter.objectId);
  if (filter.since !== undefined) add((x) => `id >= ${x}`, idFloor("audit", filter.since));
  if (filter.until !== undefined) add((x) => `id < ${x}`, idFloor("audit", filter.until));
  if (page.iterator !== null) add((x) => `id < ${x}`, page.iterator);
  params.push(page.limit + 1);
  const clause = where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`;
  return {
    sql: `SELECT * FROM audit_log${clause} ORDER BY id DESC LIMIT ${p(params.length)}`,
    params,
  };
}

/** A page from the listing's rows (one more than `limit` when another page follows). */
export function auditPage(rows: readonly Row[], limit: number): Page<AuditEntry> {
  const data = rows.slice(0, limit).map(rowToAudit);
  const more = rows.length > limit;
  return {
    data,
    iterator: more ? (data.at(-1)?.id ?? null) : null,
    prevIterator: null,
    done: !more,
  };
}

function textOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
