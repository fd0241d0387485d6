import { idFloor } from "../../ids.js";
import type { AppId, Delivery, DeliveryId, EndpointId, Message, MessageId } from "../../model.js";
import type {
  AppDeliveryCount,
  CreateMessageRequest,
  CreateMessageResult,
  DeliveryUpdate,
  EndpointMessage,
  EndpointMessageFilter,
  LeasedDelivery,
  MessageFilter,
  MissingDeliveryQuery,
  Page,
  PageRequest,
} from "../store.js";
import { ID_TIME_SLACK_MS } from "../store.js";
import { endpointMessageFilterTerms, messageFilterTerms } from "./listing-filters.js";
import * as rows from "../rows/delivery-rows.js";
import { conflictOn } from "./sqlite-driver.js";
import { insertRuleRuns } from "./rule-run-ops.js";
import { DELIVERY_MESSAGE_SELECT, type SqliteContext } from "./statements.js";

/**
 * Messages, deliveries and leases: the hot path. Synchronous functions over the connection;
 * `SqliteStore` runs the writes inside a group commit.
 */

/** Writes the message and its deliveries unless a message with its eventId is in the window. */
export function createMessage(ctx: SqliteContext, req: CreateMessageRequest): CreateMessageResult {
  const { s } = ctx;
  const { message, deliveries, eventIdSince } = req;
  if (message.eventId !== null) {
    // Runs inside the group-commit transaction, so an earlier write of the same batch counts.
    const existing = s.findMessageByEventId.get(message.appId, message.eventId, eventIdSince) as
      rows.MessageRow | undefined;
    if (existing !== undefined) return { created: false, message: rows.rowToMessage(existing) };
  }
  conflictOn(
    () => {
      s.insertMessage.run(...rows.messageParams(message));
      for (const d of deliveries) s.insertDelivery.run(...rows.deliveryParams(d));
    },
    () => `message ${message.id} or one of its deliveries already exists`,
  );
  if (req.ruleRuns !== undefined && req.ruleRuns.length > 0) insertRuleRuns(ctx, req.ruleRuns);
  return { created: true, message };
}

export function getMessage({ s }: SqliteContext, appId: AppId, msgId: MessageId): Message | null {
  const row = s.getMessage.get(msgId, appId) as rows.MessageRow | undefined;
  return row === undefined ? null : rows.rowToMessage(row);
}

export function listMessages(
  { listings }: SqliteContext,
  appId: AppId,
  filter: MessageFilter,
  page: PageRequest,
): Page<Message> {
  const f = messageFilterTerms(filter);
  return listings.page({
    select: "SELECT * FROM message",
    where: ["app_id = ?", ...f.where],
    params: [appId, ...f.params],
    cursorColumn: "id",
    page,
    defaultOrder: "descending",
    map: rows.rowToMessage,
    cursorOf: (msg) => msg.id,
  });
}

export function insertDeliveries({ s }: SqliteContext, deliveries: readonly Delivery[]): void {
  conflictOn(
    () => {
      for (const d of deliveries) s.insertDelivery.run(...rows.deliveryParams(d));
    },
    () => "a delivery of that message to that endpoint already exists",
  );
}

export function getDelivery(
  { s }: SqliteContext,
  msgId: MessageId,
  endpointId: EndpointId,
): Delivery | null {
  const row = s.getDelivery.get(msgId, endpointId) as rows.DeliveryRow | undefined;
  return row === undefined ? null : rows.rowToDelivery(row);
}

export function listDeliveriesOfMessage({ s }: SqliteContext, msgId: MessageId): Delivery[] {
  return (s.listDeliveriesOfMessage.all(msgId) as rows.DeliveryRow[]).map(rows.rowToDelivery);
}

/** Paginated by message id (Svix's "attempted messages" of an endpoint), newest first. */
export function listEndpointMessages(
  { listings }: SqliteContext,
  endpointId: EndpointId,
  filter: EndpointMessageFilter,
  page: PageRequest,
): Page<EndpointMessage> {
  const f = endpointMessageFilterTerms(filter);
  return listings.page({
    select: DELIVERY_MESSAGE_SELECT,
    where: ["d.endpoint_id = ?", ...f.where],
    params: [endpointId, ...f.params],
    cursorColumn: "d.msg_id",
    page,
    defaultOrder: "descending",
    map: rows.rowToDeliveryMessage,
    cursorOf: (item) => item.message.id,
  });
}

export function listMessagesWithoutDelivery(
  { s }: SqliteContext,
  req: MissingDeliveryQuery,
): Message[] {
  const found = s.listMessagesWithoutDelivery.all(
    req.appId,
    req.afterId ?? idFloor("msg", req.since - 1),
    idFloor("msg", req.until + ID_TIME_SLACK_MS),
    req.since,
    req.until,
    req.endpointId,
    req.limit,
  ) as rows.MessageRow[];
  return found.map(rows.rowToMessage);
}

export function expungeMessageContent(
  { s }: SqliteContext,
  appId: AppId,
  msgId: MessageId,
  now: number,
): boolean {
  if (s.expungeMessage.run(msgId, appId).changes === 0) return false;
  s.cancelOpenDeliveriesOfMessage.run(now, msgId);
  return true;
}

export function countDeliveriesByApp(
  { s }: SqliteContext,
  req: { since: number; until: number; appIds: AppId[] | null },
): AppDeliveryCount[] {
  const counts = s.countDeliveriesByApp.all(req.since, req.until) as Array<{
    app_id: string;
    n: number;
  }>;
  const wanted = req.appIds === null ? null : new Set<string>(req.appIds);
  return counts
    .filter((c) => wanted === null || wanted.has(c.app_id))
    .map((c) => ({ appId: c.app_id as AppId, deliveries: c.n }));
}

export function listFailedDeliveries(
  { s }: SqliteContext,
  endpointId: EndpointId,
  since: number,
  until: number,
): Delivery[] {
  const found = s.listFailedDeliveries.all(endpointId, since, until) as rows.DeliveryRow[];
  return found.map(rows.rowToDelivery);
}

export function listOpenDeliveriesOfEndpoint(
  { s }: SqliteContext,
  endpointId: EndpointId,
): Delivery[] {
  const found = s.listOpenDeliveriesOfEndpoint.all(endpointId) as rows.DeliveryRow[];
  return found.map(rows.rowToDelivery);
}

export function updateDeliveries({ s }: SqliteContext, updates: readonly DeliveryUpdate[]): void {
  for (const u of updates) s.updateDelivery.run(...rows.deliveryUpdateParams(u));
}

/** Select-then-update inside one transaction slice; oldest due first. */
export function leaseDueDeliveries(
  { s }: SqliteContext,
  req: {
    now: number;
    limit: number;
    leaseMs: number;
    owner: string;
    skipEndpoints?: readonly EndpointId[];
  },
): LeasedDelivery[] {
  const { now, owner } = req;
  const leaseUntil = now + req.leaseMs;
  const skip = JSON.stringify(req.skipEndpoints ?? []);
  const due = s.selectDue.all({ now, limit: req.limit, skip }) as rows.DeliveryMessageRow[];
  return due.map((row) => {
    s.setLease.run(owner, leaseUntil, row.id);
    const leased = rows.rowToDeliveryMessage(row);
    leased.delivery.leaseOwner = owner;
    leased.delivery.leaseUntil = leaseUntil;
    return leased;
  });
}

export function renewLeases(
  { s }: SqliteContext,
  req: { owner: string; ids: readonly DeliveryId[]; leaseUntil: number },
): DeliveryId[] {
  return req.ids.filter((id) => s.renewLease.run(req.leaseUntil, id, req.owner).changes > 0);
}

export function anyDue(
  { s }: SqliteContext,
  now: number,
  skipEndpoints: readonly EndpointId[] = [],
): boolean {
  return s.anyDue.get({ now, skip: JSON.stringify(skipEndpoints) }) !== undefined;
}

/** Only open deliveries are touched: a lease on a finished delivery is never looked at. */
export function releaseForeignLeases({ s }: SqliteContext, owner: string): number {
  return s.releaseForeignLeases.run(owner).changes;
}

export function nextDueAt({ s }: SqliteContext): number | null {
  const row = s.nextDueAt.get() as { next_attempt_at: number } | undefined;
  return row?.next_attempt_at ?? null;
}
