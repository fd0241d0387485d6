import { KEY_ID_LENGTH, SEALED_PREFIX, type SecretBox } from "../../secrets/secret-box.js";
import type { SecretsStatus } from "../store.js";
import type { SqlParam } from "./config-rows.js";

/**
 * Where the store keeps secrets, sealed by `SecretBox` (issue 16), and the SQL both adapters run
 * to count and re-seal them, so the dialects cannot disagree about which columns are secret.
 * Every other column is plaintext on purpose: ids, URLs and the source ingest tokens, which are
 * the primary key an ingest request is looked up by (see README "Secrets at rest").
 */
export interface SealedTable {
  table: string;
  /** The column a row is found by. */
  key: string;
  columns: readonly string[];
  /** Rows of the table that hold secrets (settings: only some keys), or null for all. */
  where: string | null;
}

/**
 * Settings whose values are secrets: the app portal's token signing key (portal-access.ts) and
 * the uploaded rulebook with the `${env:NAME}` values it came with (rules-in-force.ts).
 */
export const SEALED_SETTINGS: ReadonlySet<string> = new Set(["portal_token_key", "rules.uploaded"]);

export const SEALED_TABLES: readonly SealedTable[] = [
  {
    table: "endpoint",
    key: "id",
    // headers whole: the sensitive ones (Authorization, cookies, API keys) are its reason.
    columns: ["secret", "previous_secrets", "headers", "auth_secret", "tls_client_key"],
    where: null,
  },
  // A source's config holds its HMAC secrets, tokens and passwords (inbound/sources.ts).
  { table: "source", key: "id", columns: ["config"], where: null },
  {
    table: "settings",
    key: "key",
    columns: ["value"],
    where: `key IN (${[...SEALED_SETTINGS].map((k) => `'${k}'`).join(", ")})`,
  },
];

/** A sealed column of the endpoint or source row `row`, sealed in place. */
export function sealColumns<R extends Record<string, SqlParam>>(
  box: SecretBox,
  row: R,
  columns: readonly (keyof R & string)[],
): R {
  const sealed: Record<string, SqlParam> = { ...row };
  for (const column of columns) {
    const value = row[column];
    if (typeof value === "string") sealed[column] = box.seal(value);
  }
  return sealed as R;
}

export function openColumns<R extends Record<string, SqlParam>>(
  box: SecretBox,
  row: R,
  columns: readonly (keyof R & string)[],
): R {
  const opened: Record<string, SqlParam> = { ...row };
  for (const column of columns) {
    const value = row[column];
    if (typeof value === "string") opened[column] = box.open(value);
  }
  return opened as R;
}

export const ENDPOINT_SEALED = SEALED_TABLES[0]!.columns;
export const SOURCE_SEALED = SEALED_TABLES[1]!.columns;

export function sealSetting(box: SecretBox, key: string, value: string): string {
  return SEALED_SETTINGS.has(key) ? box.seal(value) : value;
}

export function openSetting(box: SecretBox, key: string, value: string | null): string | null {
  return value !== null && SEALED_SETTINGS.has(key) ? box.open(value) : value;
}

function notCurrent(column: string, currentId: string): string {
  const prefix = `${SEALED_PREFIX}${currentId}:`;
  return `(${column} IS NOT NULL AND substr(${column}, 1, ${prefix.length}) <> '${prefix}')`;
}

/** Up to `limit` rows of `t` with a value not sealed with the current key. */
export function staleRowsSql(t: SealedTable, currentId: string, limit: number): string {
  const stale = t.columns.map((c) => notCurrent(c, currentId)).join(" OR ");
  const where = t.where === null ? `(${stale})` : `${t.where} AND (${stale})`;
  return `SELECT ${t.key}, ${t.columns.join(", ")} FROM ${t.table} WHERE ${where} ORDER BY ${t.key} LIMIT ${limit}`;
}

/**
 * The update that re-seals one stale row, only if it still holds what was read (compare and
 * set): a concurrent write through the API has sealed its own values with the current key, and
 * must not be overwritten by the old ones.
 */
export function resealUpdate(
  box: SecretBox,
  t: SealedTable,
  row: Record<string, SqlParam>,
  p: (n: number) => string,
): { sql: string; params: SqlParam[] } {
  // SET values first, then the WHERE ones: SQLite's `?` bind in the order they appear.
  const sets: [string, SqlParam][] = [];
  const same: [string, SqlParam][] = [[t.key, row[t.key] ?? null]];
  const unset: string[] = [];
  for (const column of t.columns) {
    const value = row[column] ?? null;
    if (typeof value !== "string") {
      unset.push(`${column} IS NULL`);
      continue;
    }
    sets.push([column, box.reseal(value)]);
    same.push([column, value]);
  }
  const params = [...sets, ...same].map(([, value]) => value);
  const setSql = sets.map(([column], i) => `${column} = ${p(i + 1)}`);
  const whereSql = [
    ...same.map(([column], i) => `${column} = ${p(sets.length + i + 1)}`),
    ...unset,
  ];
  return {
    sql: `UPDATE ${t.table} SET ${setSql.join(", ")} WHERE ${whereSql.join(" AND ")}`,
    params,
  };
}

/** Counts the secret values of `t` by key id ('' for plaintext), one row per (key id, count). */
export function statusSql(t: SealedTable): string {
  const id = (c: string) =>
    `CASE WHEN substr(${c}, 1, ${SEALED_PREFIX.length}) = '${SEALED_PREFIX}' THEN substr(${c}, ${SEALED_PREFIX.length + 1}, ${KEY_ID_LENGTH}) ELSE '' END`;
  return t.columns
    .map(
      (c) =>
        `SELECT ${id(c)} AS key_id, count(*) AS n FROM ${t.table} WHERE ${c} IS NOT NULL${t.where === null ? "" : ` AND ${t.where}`} GROUP BY 1`,
    )
    .join(" UNION ALL ");
}

/** The rows of `statusSql` over every table, summed. */
export function secretsStatus(
  rows: readonly { key_id: string; n: number | string }[],
): SecretsStatus {
  const status: SecretsStatus = { plaintext: 0, byKeyId: {} };
  for (const row of rows) {
    const n = Number(row.n);
    if (row.key_id === "") status.plaintext += n;
    else status.byKeyId[row.key_id] = (status.byKeyId[row.key_id] ?? 0) + n;
  }
  return status;
}
