import type { DeliveryStatus } from "../../model.js";
import type { AttemptFilter, MessageFilter } from "../store.js";
import { sqlBool, type SqlParam } from "./sqlite-driver.js";

/** Optional filters of the listings as SQL terms (ANDed) with their parameters, in order. */
export interface FilterTerms {
  where: string[];
  params: SqlParam[];
}

function terms(): FilterTerms {
  return { where: [], params: [] };
}

function add(t: FilterTerms, term: string, param: SqlParam): void {
  t.where.push(term);
  t.params.push(param);
}

/** For `SELECT … FROM message`. An empty `eventTypes` list means no event-type filter. */
export function messageFilterTerms(filter: MessageFilter): FilterTerms {
  const t = terms();
  if (filter.eventTypes !== undefined && filter.eventTypes.length > 0) {
    add(t, "event_type IN (SELECT value FROM json_each(?))", JSON.stringify(filter.eventTypes));
  }
  if (filter.channel !== undefined) {
    add(t, "EXISTS (SELECT 1 FROM json_each(message.channels) WHERE value = ?)", filter.channel);
  }
  if (filter.inboundRequestId !== undefined) {
    add(t, "inbound_request_id = ?", filter.inboundRequestId);
  }
  if (filter.before !== undefined) add(t, "created_at < ?", filter.before);
  if (filter.after !== undefined) add(t, "created_at > ?", filter.after);
  return t;
}

/** For `SELECT … FROM attempt`. */
export function attemptFilterTerms(filter: AttemptFilter): FilterTerms {
  const t = terms();
  if (filter.endpointId !== undefined) add(t, "endpoint_id = ?", filter.endpointId);
  if (filter.succeeded !== undefined) add(t, "succeeded = ?", sqlBool(filter.succeeded));
  if (filter.before !== undefined) add(t, "created_at < ?", filter.before);
  if (filter.after !== undefined) add(t, "created_at > ?", filter.after);
  return t;
}

/** For the delivery ⋈ message select; times are the message's, as in Svix. */
export function endpointMessageFilterTerms(filter: {
  status?: DeliveryStatus;
  before?: number;
  after?: number;
}): FilterTerms {
  const t = terms();
  if (filter.status !== undefined) add(t, "d.status = ?", filter.status);
  if (filter.before !== undefined) add(t, "m.created_at < ?", filter.before);
  if (filter.after !== undefined) add(t, "m.created_at > ?", filter.after);
  return t;
}
