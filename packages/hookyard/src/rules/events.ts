import type { InboundRequest, Message, RuleEvent } from "../model.js";
import { jsonBody } from "../inbound/provider-facts.js";

/** The event a rule sees for a request an inbound source accepted. */
export function inboundEvent(request: InboundRequest, source: string): RuleEvent {
  const contentType = request.headers["content-type"]?.toLowerCase() ?? "";
  const text = request.body.toString("utf8");
  const json = jsonBody(request.body, contentType);
  const query = Object.fromEntries(new URLSearchParams(request.query));
  // A form's fields, or a GET's query, are its payload when there is no JSON.
  const payload =
    json ??
    (contentType.includes("form-urlencoded")
      ? Object.fromEntries(new URLSearchParams(text))
      : request.body.length === 0
        ? query
        : {});
  return {
    kind: "inbound",
    id: request.id,
    source,
    type: request.eventType,
    payload,
    headers: request.headers,
    body: text,
    method: request.method,
    path: request.path,
    query,
    receivedAt: new Date(request.createdAt).toISOString(),
  };
}

/** The event a rule sees for a message published to an application. */
export function outboundEvent(message: Message, app: string): RuleEvent {
  return {
    kind: "outbound",
    id: message.id,
    source: app,
    type: message.eventType,
    payload: JSON.parse(message.payload) as unknown,
    headers: {},
    body: message.payload,
    method: null,
    path: null,
    query: {},
    receivedAt: new Date(message.createdAt).toISOString(),
  };
}

/** A schedule's tick or an operational event: an id of its own and a small payload. */
export function ownEvent(
  kind: "schedule" | "operational",
  id: string,
  source: string,
  type: string,
  payload: Record<string, unknown>,
  at: number,
): RuleEvent {
  return {
    kind,
    id,
    source,
    type,
    payload,
    headers: {},
    body: JSON.stringify(payload),
    method: null,
    path: null,
    query: {},
    receivedAt: new Date(at).toISOString(),
  };
}
