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
  Message,
  MessageId,
} from "../../model.js";
import type { DeliveryUpdate } from "../store.js";
import { json, parseJson, type Row } from "./row-mapping.js";

/** Domain objects ⇄ rows for messages, deliveries and attempts (the hot path). */

export interface MessageRow extends Row {
  id: string;
  app_id: string;
  event_type: string;
  event_id: string | null;
  channels: string | null;
  tags: string | null;
  payload: string;
  created_at: number;
}

export function messageToRow(msg: Message): MessageRow {
  return {
    id: msg.id,
    app_id: msg.appId,
    event_type: msg.eventType,
    event_id: msg.eventId,
    channels: json(msg.channels),
    tags: json(msg.tags),
    payload: msg.payload,
    created_at: msg.createdAt,
  };
}

export function rowToMessage(row: MessageRow): Message {
  return {
    id: row.id as MessageId,
    appId: row.app_id as AppId,
    eventType: row.event_type,
    eventId: row.event_id,
    channels: parseJson<string[]>(row.channels),
    tags: parseJson<string[]>(row.tags),
    payload: row.payload,
    createdAt: row.created_at,
  };
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

export function deliveryToRow(d: Delivery): DeliveryRow {
  return {
    id: d.id,
    msg_id: d.msgId,
    endpoint_id: d.endpointId,
    app_id: d.appId,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.nextAttemptAt,
    lease_owner: d.leaseOwner,
    lease_until: d.leaseUntil,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
  };
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
  m_created_at: number;
}

export function rowToDeliveryMessage(row: DeliveryMessageRow): {
  delivery: Delivery;
  message: Message;
} {
  return {
    delivery: rowToDelivery(row),
    message: {
      id: row.msg_id as MessageId,
      appId: row.app_id as AppId,
      eventType: row.m_event_type,
      eventId: row.m_event_id,
      channels: parseJson<string[]>(row.m_channels),
      tags: parseJson<string[]>(row.m_tags),
      payload: row.m_payload,
      createdAt: row.m_created_at,
    },
  };
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

export function attemptToRow(a: Attempt): AttemptRow {
  return {
    id: a.id,
    delivery_id: a.deliveryId,
    msg_id: a.msgId,
    endpoint_id: a.endpointId,
    app_id: a.appId,
    url: a.url,
    succeeded: a.succeeded ? 1 : 0,
    response_status_code: a.responseStatusCode,
    response_body: a.responseBody,
    response_headers: json(a.responseHeaders),
    duration_ms: a.durationMs,
    error_class: a.errorClass,
    error_message: a.errorMessage,
    trigger: a.trigger,
    created_at: a.createdAt,
  };
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

export function deliveryUpdateToRow(u: DeliveryUpdate): Row {
  return {
    id: u.id,
    status: u.status,
    attempts: u.attempts,
    next_attempt_at: u.nextAttemptAt,
    lease_owner: u.leaseOwner,
    lease_until: u.leaseUntil,
    updated_at: u.updatedAt,
  };
}
