import type {
  AppId,
  Attempt,
  AttemptErrorClass,
  AttemptId,
  AttemptTrigger,
  Delivery,
  DeliveryId,
  DeliveryStatus,
  EndpointId,
  InboundRequestId,
  Message,
  MessageId,
} from "../../model.js";
import type { DeliveryUpdate } from "../store.js";
import { json, parseJson, type Row, type SqlParam } from "./config-rows.js";

/**
 * Domain objects ⇄ rows for messages, deliveries and attempts (the hot path). Writes bind
 * positional parameters (`*Params`, in the column order of the statements in statements.ts);
 * reads come back as rows keyed by column name.
 */

export interface MessageRow extends Row {
  id: string;
  app_id: string;
  event_type: string;
  event_id: string | null;
  channels: string | null;
  tags: string | null;
  payload: string;
  inbound_request_id: string | null;
  deliver_at: number | null;
  created_at: number;
  traceparent: string | null;
}

/**
 * `insertMessage`'s parameters: id, app_id, event_type, event_id, channels, tags, payload,
 * inbound_request_id, deliver_at, created_at, traceparent.
 */
export function messageParams(msg: Message): SqlParam[] {
  return [
    msg.id,
    msg.appId,
    msg.eventType,
    msg.eventId,
    json(msg.channels),
    json(msg.tags),
    msg.payload,
    msg.inboundRequestId,
    msg.deliverAt,
    msg.createdAt,
    msg.traceparent ?? null,
  ];
}

export function rowToMessage(row: MessageRow): Message {
  const message: Message = {
    id: row.id as MessageId,
    appId: row.app_id as AppId,
    eventType: row.event_type,
    eventId: row.event_id,
    channels: parseJson<string[]>(row.channels),
    tags: parseJson<string[]>(row.tags),
    payload: row.payload,
    inboundRequestId: row.inbound_request_id as InboundRequestId | null,
    deliverAt: row.deliver_at,
    createdAt: row.created_at,
  };
  // Set only when stored: with tracing off every message reads back as it was built.
  if (row.traceparent !== null) message.traceparent = row.traceparent;
  return message;
}

export interface DeliveryRow extends Row {
  id: string;
  msg_id: string;
  endpoint_id: string;
  app_id: string;
  status: string;
  attempts: number;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
}

/**
 * `insertDelivery`'s parameters: id, msg_id, endpoint_id, app_id, status, attempts,
 * next_attempt_at, lease_owner, lease_until, created_at, updated_at.
 */
export function deliveryParams(d: Delivery): SqlParam[] {
  return [
    d.id,
    d.msgId,
    d.endpointId,
    d.appId,
    d.status,
    d.attempts,
    d.nextAttemptAt,
    d.leaseOwner,
    d.leaseUntil,
    d.createdAt,
    d.updatedAt,
  ];
}

export function rowToDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id as DeliveryId,
    msgId: row.msg_id as MessageId,
    endpointId: row.endpoint_id as EndpointId,
    appId: row.app_id as AppId,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A delivery joined with its message; message columns carry an `m_` prefix. */
export interface DeliveryMessageRow extends DeliveryRow {
  m_event_type: string;
  m_event_id: string | null;
  m_channels: string | null;
  m_tags: string | null;
  m_payload: string;
  m_inbound_request_id: string | null;
  m_deliver_at: number | null;
  m_created_at: number;
  m_traceparent: string | null;
}

export function rowToDeliveryMessage(row: DeliveryMessageRow): {
  delivery: Delivery;
  message: Message;
} {
  const message: Message = {
    id: row.msg_id as MessageId,
    appId: row.app_id as AppId,
    eventType: row.m_event_type,
    eventId: row.m_event_id,
    channels: parseJson<string[]>(row.m_channels),
    tags: parseJson<string[]>(row.m_tags),
    payload: row.m_payload,
    inboundRequestId: row.m_inbound_request_id as InboundRequestId | null,
    deliverAt: row.m_deliver_at,
    createdAt: row.m_created_at,
  };
  if (row.m_traceparent !== null) message.traceparent = row.m_traceparent;
  return { delivery: rowToDelivery(row), message };
}

export interface AttemptRow extends Row {
  id: string;
  delivery_id: string;
  msg_id: string;
  endpoint_id: string;
  app_id: string;
  url: string;
  succeeded: number;
  response_status_code: number;
  response_body: string;
  response_headers: string | null;
  duration_ms: number;
  error_class: string | null;
  error_message: string | null;
  trigger: string;
  created_at: number;
}

/**
 * `insertAttempt`'s parameters: id, delivery_id, msg_id, endpoint_id, app_id, url, succeeded,
 * response_status_code, response_body, response_headers, duration_ms, error_class,
 * error_message, trigger, created_at.
 */
export function attemptParams(a: Attempt): SqlParam[] {
  return [
    a.id,
    a.deliveryId,
    a.msgId,
    a.endpointId,
    a.appId,
    a.url,
    a.succeeded ? 1 : 0,
    a.responseStatusCode,
    a.responseBody,
    json(a.responseHeaders),
    a.durationMs,
    a.errorClass,
    a.errorMessage,
    a.trigger,
    a.createdAt,
  ];
}

export function rowToAttempt(row: AttemptRow): Attempt {
  return {
    id: row.id as AttemptId,
    deliveryId: row.delivery_id as DeliveryId,
    msgId: row.msg_id as MessageId,
    endpointId: row.endpoint_id as EndpointId,
    appId: row.app_id as AppId,
    url: row.url,
    succeeded: row.succeeded === 1,
    responseStatusCode: row.response_status_code,
    responseBody: row.response_body,
    responseHeaders: parseJson<Record<string, string>>(row.response_headers),
    durationMs: row.duration_ms,
    errorClass: row.error_class as AttemptErrorClass | null,
    errorMessage: row.error_message,
    trigger: row.trigger as AttemptTrigger,
    createdAt: row.created_at,
  };
}

/**
 * `updateDelivery`'s parameters: status, attempts, next_attempt_at, lease_owner, lease_until,
 * updated_at, then the WHERE clause's id and guard (owner, attempts; null without a guard).
 */
export function deliveryUpdateParams(u: DeliveryUpdate): SqlParam[] {
  return [
    u.status,
    u.attempts,
    u.nextAttemptAt,
    u.leaseOwner,
    u.leaseUntil,
    u.updatedAt,
    u.id,
    u.guard?.owner ?? null,
    u.guard?.attempts ?? null,
  ];
}

/**
 * `DeliveryUpdate.guard` as SQL over its two parameters (`owner`, `attempts`, each null without a
 * guard, which makes both terms true): one occurrence of each, as positional parameters need.
 * `table` qualifies the delivery's columns (`"d."`) where another relation has the same names.
 */
export function deliveryGuardSql(owner: string, attempts: string, table = ""): string {
  const column = (name: string) => `${table}${name}`;
  return (
    `(${column("lease_owner")} IS NULL OR ${column("lease_owner")} = ` +
    `coalesce(${owner}, ${column("lease_owner")})) ` +
    `AND ${column("attempts")} = coalesce(${attempts}, ${column("attempts")})`
  );
}

/** The columns of the `*Params` arrays above, in their order (multi-row statements bind by name). */
export const MESSAGE_COLUMNS = [
  "id",
  "app_id",
  "event_type",
  "event_id",
  "channels",
  "tags",
  "payload",
  "inbound_request_id",
  "deliver_at",
  "created_at",
  "traceparent",
] as const;
export const DELIVERY_COLUMNS = [
  "id",
  "msg_id",
  "endpoint_id",
  "app_id",
  "status",
  "attempts",
  "next_attempt_at",
  "lease_owner",
  "lease_until",
  "created_at",
  "updated_at",
] as const;
export const ATTEMPT_COLUMNS = [
  "id",
  "delivery_id",
  "msg_id",
  "endpoint_id",
  "app_id",
  "url",
  "succeeded",
  "response_status_code",
  "response_body",
  "response_headers",
  "duration_ms",
  "error_class",
  "error_message",
  "trigger",
  "created_at",
] as const;

/** A `*Params` array as an object keyed by its columns (for `jsonb_to_recordset`). */
export function byColumn(
  columns: readonly string[],
  values: readonly SqlParam[],
): Record<string, SqlParam> {
  return Object.fromEntries(columns.map((c, i) => [c, values[i] ?? null]));
}
