import { isUtf8 } from "node:buffer";
import type { Static } from "@sinclair/typebox";
import type {
  Application,
  Attempt,
  BackgroundTask,
  Delivery,
  DeliveryStatus,
  Endpoint,
  EndpointAuth,
  EventType,
  InboundRequest,
  Message,
} from "../model.js";
import { REPLAY_TAG } from "../inbound/receiver.js";
import type { RequestForward } from "../inbound/sources.js";
import type { Destination } from "../outbound/services.js";
import type { EndpointMessage, Page } from "../store/store.js";
import type { ApplicationOut } from "./schemas/application.js";
import type { MessageAttemptOut, MessageEndpointOut } from "./schemas/attempt.js";
import type { BackgroundTaskOut, TaskStartedOut } from "./schemas/background-task.js";
import type { EndpointOut } from "./schemas/endpoint.js";
import type { EndpointAuthOut } from "./schemas/endpoint-credentials.js";
import type { EventTypeOut } from "./schemas/event-type.js";
import type { RequestForwardOut } from "./schemas/source.js";

/**
 * Domain objects → Svix JSON (camelCase, ISO-8601 dates). Objects are returned for routes whose
 * response schema serializes them; messages are rendered straight to JSON text because their
 * payload is already stored as the exact JSON that is delivered (no parse, no re-stringify).
 */

export function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export function applicationOut(app: Application): Static<typeof ApplicationOut> {
  return {
    id: app.id,
    uid: app.uid,
    name: app.name,
    rateLimit: app.rateLimit,
    throttleRate: app.rateLimit,
    metadata: app.metadata,
    createdAt: iso(app.createdAt),
    updatedAt: iso(app.updatedAt),
  };
}

export function eventTypeOut(eventType: EventType): Static<typeof EventTypeOut> {
  return {
    name: eventType.name,
    description: eventType.description,
    archived: eventType.archived,
    deprecated: eventType.deprecated,
    schemas: eventType.schemas,
    featureFlag: eventType.featureFlag,
    groupName: eventType.groupName,
    createdAt: iso(eventType.createdAt),
    updatedAt: iso(eventType.updatedAt),
  };
}

export function endpointOut(endpoint: Endpoint): Static<typeof EndpointOut> {
  return {
    id: endpoint.id,
    uid: endpoint.uid,
    url: endpoint.url,
    description: endpoint.description,
    version: endpoint.version,
    disabled: endpoint.disabled,
    eventTypes: endpoint.filterTypes,
    filterTypes: endpoint.filterTypes,
    channels: endpoint.channels,
    throttleRate: endpoint.rateLimit,
    rateLimit: endpoint.rateLimit,
    metadata: endpoint.metadata,
    payloadFilter: endpoint.payloadFilter,
    accept302: endpoint.accept302,
    auth: endpointAuthOut(endpoint.auth),
    tls:
      endpoint.tls === null
        ? null
        : { ...endpoint.tls, clientKeySet: endpoint.tlsClientKey !== null },
    createdAt: iso(endpoint.createdAt),
    updatedAt: iso(endpoint.updatedAt),
  };
}

/** The auth without its secret (`authSecret` is never read here): each type says it is set. */
function endpointAuthOut(auth: EndpointAuth | null): Static<typeof EndpointAuthOut> | null {
  if (auth === null) return null;
  switch (auth.type) {
    case "bearer":
      return { type: auth.type, tokenSet: true };
    case "basic":
      return { type: auth.type, username: auth.username, passwordSet: true };
    case "oauth2":
      return { ...auth, clientSecretSet: true };
    default: {
      const unhandled: never = auth;
      throw new Error(`unhandled auth type ${JSON.stringify(unhandled)}`);
    }
  }
}

/** Svix's MessageStatus number and text. */
export interface SvixStatus {
  status: 0 | 1 | 2 | 3 | 4;
  statusText: "success" | "pending" | "fail" | "sending" | "canceled";
}

export function svixStatusOf(status: DeliveryStatus): SvixStatus {
  switch (status) {
    case "succeeded":
      return { status: 0, statusText: "success" };
    case "pending":
    case "retrying":
      return { status: 1, statusText: "pending" };
    case "failed":
      return { status: 2, statusText: "fail" };
    case "cancelled":
      return { status: 4, statusText: "canceled" };
    default: {
      const unhandled: never = status;
      throw new Error(`unhandled delivery status ${String(unhandled)}`);
    }
  }
}

/**
 * Svix status filter → the delivery states it means (the inverse of `svixStatusOf`): "pending"
 * (1) covers Hookyard's retrying too; "sending" (3) is no stored state, so it means none.
 */
export function deliveryStatusesOf(svixStatus: number): DeliveryStatus[] {
  switch (svixStatus) {
    case 0:
      return ["succeeded"];
    case 1:
      return ["pending", "retrying"];
    case 2:
      return ["failed"];
    case 4:
      return ["cancelled"];
    default:
      return [];
  }
}

function deliveryStateOut(delivery: Delivery): SvixStatus & { nextAttempt: string | null } {
  const { status, statusText } = svixStatusOf(delivery.status);
  return {
    status,
    statusText,
    nextAttempt: delivery.nextAttemptAt === null ? null : iso(delivery.nextAttemptAt),
  };
}

/** With `withContent` false the response body is left out as Svix does it (`"{}"`). */
export function attemptOut(attempt: Attempt, withContent = true): Static<typeof MessageAttemptOut> {
  return {
    id: attempt.id,
    msgId: attempt.msgId,
    endpointId: attempt.endpointId,
    url: attempt.url,
    response: withContent ? attempt.responseBody : "{}",
    responseStatusCode: attempt.responseStatusCode,
    responseDurationMs: Math.round(attempt.durationMs),
    status: attempt.succeeded ? 0 : 2,
    statusText: attempt.succeeded ? "success" : "fail",
    triggerType: attempt.trigger === "manual" ? 1 : 0,
    timestamp: iso(attempt.createdAt),
    errorClass: attempt.errorClass,
    errorMessage: attempt.errorMessage,
    responseHeaders: attempt.responseHeaders,
  };
}

/** A forward of a received request: the one made when it arrived, or a replay (tagged). */
export function requestForwardOut(forward: RequestForward): Static<typeof RequestForwardOut> {
  const { message, deliveries, attempts } = forward;
  return {
    messageId: message.id,
    eventType: message.eventType,
    trigger: message.tags?.includes(REPLAY_TAG) === true ? "replay" : "received",
    createdAt: iso(message.createdAt),
    destinations: deliveries.map((d) => ({
      endpointId: d.endpointId,
      attempts: d.attempts,
      ...deliveryStateOut(d),
    })),
    attempts: attempts.map((attempt) => attemptOut(attempt)),
  };
}

export function messageEndpointOut(destination: Destination): Static<typeof MessageEndpointOut> {
  return { ...endpointOut(destination.endpoint), ...deliveryStateOut(destination.delivery) };
}

export function taskStartedOut(task: BackgroundTask): Static<typeof TaskStartedOut> {
  return { id: task.id, status: task.status, task: task.task, updatedAt: iso(task.updatedAt) };
}

export function backgroundTaskOut(task: BackgroundTask): Static<typeof BackgroundTaskOut> {
  return { ...taskStartedOut(task), data: task.data };
}

/** Svix's stand-in for a payload that was expunged (stored empty). */
const EXPIRED_PAYLOAD = '{"expired":true}';

function payloadJson(message: Message): string {
  return message.payload === "" ? EXPIRED_PAYLOAD : message.payload;
}

function messageFieldsJson(message: Message, withContent: boolean): string {
  return (
    `"id":${JSON.stringify(message.id)}` +
    `,"eventType":${JSON.stringify(message.eventType)}` +
    `,"eventId":${JSON.stringify(message.eventId)}` +
    `,"channels":${JSON.stringify(message.channels)}` +
    `,"tags":${JSON.stringify(message.tags)}` +
    `,"payload":${withContent ? payloadJson(message) : "{}"}` +
    `,"deliverAt":${message.deliverAt === null ? "null" : `"${iso(message.deliverAt)}"`}` +
    `,"timestamp":"${iso(message.createdAt)}"`
  );
}

/** MessageOut as JSON text; `payload` is the stored JSON verbatim, or `{}` without content. */
export function messageOutJson(message: Message, withContent: boolean): string {
  return `{${messageFieldsJson(message, withContent)}}`;
}

/** EndpointMessageOut (a message plus its delivery state to one endpoint) as JSON text. */
export function endpointMessageOutJson(item: EndpointMessage, withContent: boolean): string {
  const state = deliveryStateOut(item.delivery);
  return (
    `{${messageFieldsJson(item.message, withContent)}` +
    `,"status":${state.status},"statusText":"${state.statusText}"` +
    `,"nextAttempt":${JSON.stringify(state.nextAttempt)}}`
  );
}

/** Svix's list envelope as JSON text, around items already rendered by `itemJson`. */
export function pageJson<T>(page: Page<T>, itemJson: (item: T) => string): string {
  return (
    `{"data":[${page.data.map(itemJson).join(",")}]` +
    `,"iterator":${JSON.stringify(page.iterator)}` +
    `,"prevIterator":${JSON.stringify(page.prevIterator)}` +
    `,"done":${page.done ? "true" : "false"}}`
  );
}

/** A received request as the API shows it: the body as UTF-8 text when it is, else base64. */
export function inboundRequestOut(r: InboundRequest) {
  const utf8 = isUtf8(r.body);
  return {
    id: r.id,
    sourceId: r.sourceId,
    status: r.status,
    reason: r.reason,
    method: r.method,
    path: r.path,
    query: r.query,
    headers: r.headers,
    body: r.body.toString(utf8 ? "utf8" : "base64"),
    bodyEncoding: utf8 ? ("utf8" as const) : ("base64" as const),
    bodyTruncated: r.bodyBytesReceived !== undefined,
    bodyBytes: r.bodyBytesReceived ?? r.body.length,
    sourceIp: r.sourceIp,
    deliveryId: r.dedupKey,
    eventType: r.eventType,
    duplicateOf: r.duplicateOf,
    receivedAt: iso(r.createdAt),
  };
}
