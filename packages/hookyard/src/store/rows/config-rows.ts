import type {
  AppId,
  Application,
  Endpoint,
  EndpointAuth,
  EndpointId,
  EndpointSecretVersion,
  EndpointTls,
  EventType,
} from "../../model.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import type { ApplicationFilter, IdempotencyRecord } from "../store.js";
import { ENDPOINT_SEALED, openColumns, sealColumns } from "./secret-rows.js";
/** A value either adapter binds to a statement parameter. */
export type SqlParam = string | number | bigint | Buffer | null;

/**
 * Domain objects ⇄ rows for the configuration tables (delivery-rows.ts has the message side),
 * shared by both adapters: the SQLite and PostgreSQL schemas use the same columns and encodings
 * (times as integer ms, booleans as 0/1, JSON as text). A row is keyed by column name, so the
 * same object binds the named parameters (`@app_id`) of SQLite's inserts and updates (PostgreSQL
 * binds `rowValues(row, COLUMNS)` positionally) and comes back from selects.
 */
export type Row = Record<string, SqlParam>;

/** A nullable JSON-valued field as TEXT (SQL NULL for null, never the text 'null'). */
/** A row's values in `columns` order, for positional parameters. */
export function rowValues(row: Row, columns: readonly string[]): SqlParam[] {
  return columns.map((column) => row[column] ?? null);
}

export function json(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

export function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export interface ApplicationRow extends Row {
  id: string;
  uid: string | null;
  name: string;
  rate_limit: number | null;
  metadata: string;
  created_at: number;
  updated_at: number;
}

export function applicationToRow(app: Application): ApplicationRow {
  return {
    id: app.id,
    uid: app.uid,
    name: app.name,
    rate_limit: app.rateLimit,
    metadata: JSON.stringify(app.metadata),
    created_at: app.createdAt,
    updated_at: app.updatedAt,
  };
}

export function rowToApplication(row: ApplicationRow): Application {
  return {
    id: row.id as AppId,
    uid: row.uid,
    name: row.name,
    rateLimit: row.rate_limit,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface EventTypeRow extends Row {
  name: string;
  description: string;
  schemas: string | null;
  archived: number;
  deprecated: number;
  feature_flag: string | null;
  group_name: string | null;
  created_at: number;
  updated_at: number;
}

export function eventTypeToRow(et: EventType): EventTypeRow {
  return {
    name: et.name,
    description: et.description,
    schemas: json(et.schemas),
    archived: et.archived ? 1 : 0,
    deprecated: et.deprecated ? 1 : 0,
    feature_flag: et.featureFlag,
    group_name: et.groupName,
    created_at: et.createdAt,
    updated_at: et.updatedAt,
  };
}

export function rowToEventType(row: EventTypeRow): EventType {
  return {
    name: row.name,
    description: row.description,
    schemas: parseJson<Record<string, unknown>>(row.schemas),
    archived: row.archived === 1,
    deprecated: row.deprecated === 1,
    featureFlag: row.feature_flag,
    groupName: row.group_name,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface EndpointRow extends Row {
  id: string;
  app_id: string;
  uid: string | null;
  url: string;
  description: string;
  version: number;
  disabled: number;
  filter_types: string | null;
  channels: string | null;
  rate_limit: number | null;
  metadata: string;
  headers: string;
  secret: string;
  previous_secrets: string;
  payload_filter: string | null;
  accept_302: number;
  failing_since: number | null;
  auth: string | null;
  auth_secret: string | null;
  tls: string | null;
  tls_client_key: string | null;
  created_at: number;
  updated_at: number;
}

/** The endpoint's row, its secrets sealed with `box`'s current key. */
export function endpointToRow(ep: Endpoint, box: SecretBox): EndpointRow {
  return sealColumns(box, plainEndpointRow(ep), ENDPOINT_SEALED);
}

function plainEndpointRow(ep: Endpoint): EndpointRow {
  return {
    id: ep.id,
    app_id: ep.appId,
    uid: ep.uid,
    url: ep.url,
    description: ep.description,
    version: ep.version,
    disabled: ep.disabled ? 1 : 0,
    filter_types: json(ep.filterTypes),
    channels: json(ep.channels),
    rate_limit: ep.rateLimit,
    metadata: JSON.stringify(ep.metadata),
    headers: JSON.stringify(ep.headers),
    secret: ep.secret,
    previous_secrets: JSON.stringify(ep.previousSecrets),
    payload_filter: ep.payloadFilter,
    accept_302: ep.accept302 ? 1 : 0,
    failing_since: ep.failingSince,
    auth: json(ep.auth),
    auth_secret: ep.authSecret,
    tls: json(ep.tls),
    tls_client_key: ep.tlsClientKey,
    created_at: ep.createdAt,
    updated_at: ep.updatedAt,
  };
}

/** The endpoint of `stored`, its secrets opened (or read as is when written before sealing). */
export function rowToEndpoint(stored: EndpointRow, box: SecretBox): Endpoint {
  const row = openColumns(box, stored, ENDPOINT_SEALED);
  return {
    id: row.id as EndpointId,
    appId: row.app_id as AppId,
    uid: row.uid,
    url: row.url,
    description: row.description,
    version: row.version,
    disabled: row.disabled === 1,
    filterTypes: parseJson<string[]>(row.filter_types),
    channels: parseJson<string[]>(row.channels),
    rateLimit: row.rate_limit,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    headers: JSON.parse(row.headers) as Record<string, string>,
    secret: row.secret,
    previousSecrets: JSON.parse(row.previous_secrets) as EndpointSecretVersion[],
    payloadFilter: row.payload_filter,
    accept302: row.accept_302 === 1,
    failingSince: row.failing_since,
    auth: parseJson<EndpointAuth>(row.auth),
    authSecret: row.auth_secret,
    tls: parseJson<EndpointTls>(row.tls),
    tlsClientKey: row.tls_client_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface IdempotencyRow extends Row {
  key: string;
  status_code: number;
  body: string;
  created_at: number;
}

export function idempotencyToRow(r: IdempotencyRecord): IdempotencyRow {
  return { key: r.key, status_code: r.statusCode, body: r.body, created_at: r.createdAt };
}

export function rowToIdempotency(row: IdempotencyRow): IdempotencyRecord {
  return { key: row.key, statusCode: row.status_code, body: row.body, createdAt: row.created_at };
}

/** SQL terms of an application filter (both adapters: they have no parameters). */
export function applicationFilterTerms(filter: ApplicationFilter): string[] {
  const where: string[] = [];
  if (filter.withEndpoints === true) {
    where.push("EXISTS (SELECT 1 FROM endpoint e WHERE e.app_id = application.id)");
  }
  if (filter.withoutDisabledEndpoints === true) {
    where.push(
      "NOT EXISTS (SELECT 1 FROM endpoint e WHERE e.app_id = application.id AND e.disabled = 1)",
    );
  }
  return where;
}
