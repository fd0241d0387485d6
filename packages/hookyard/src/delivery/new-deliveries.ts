import type { IdGenerator } from "../ids.js";
import type { Delivery, Endpoint, Message } from "../model.js";

/**
 * One delivery of `message` per target endpoint, due now and already leased to `owner` (the
 * process that commits them and hands them to its engine at once, without a database poll).
 */
export function newLeasedDeliveries(req: {
  message: Message;
  targets: Iterable<Endpoint>;
  ids: IdGenerator;
  owner: string;
  now: number;
  leaseMs: number;
}): Delivery[] {
  const { message, ids, owner, now, leaseMs } = req;
  const deliveries: Delivery[] = [];
  for (const endpoint of req.targets) {
    deliveries.push({
      id: ids.next("dlv"),
      msgId: message.id,
      endpointId: endpoint.id,
      appId: message.appId,
      status: "pending",
      attempts: 0,
      nextAttemptAt: now,
      leaseOwner: owner,
      leaseUntil: now + leaseMs,
      createdAt: now,
      updatedAt: now,
    });
  }
  return deliveries;
}
