import { statusCodeClassSql } from "../rows/listing-sql.js";
import type { AttemptFilter, EndpointMessageFilter, MessageFilter } from "../store.js";
import { sqlBool, type SqlParam } from "./sqlite-driver.js";

/** Optional filters of the listings as SQL terms (ANDed) with their parameters, in order. */
export interface FilterTerms {
  where: string[];
  params: SqlParam[];
}

function terms(): FilterTerms {
  return { where: [], params: [] };
}

function add(t: FilterTerms, term: string, ...params: SqlParam[]): void {
  t.where.push(term);
  t.params.push(...params);
}

/**
 * The message-side filters (event types, channel, tag) on the message table aliased `m`. An
 * empty `eventTypes` list means no event-type filter.
 */
function messageFieldTerms(
  t: FilterTerms,
  m: string,
  filter: { eventTypes?: string[]; channel?: string; tag?: string },
): void {
  if (filter.eventTypes !== undefined && filter.eventTypes.length > 0) {
    add(
      t,
      `${m}.event_type IN (SELECT value FROM json_each(?))`,
      JSON.stringify(filter.eventTypes),
    );
  }
  if (filter.channel !== undefined) {
    add(t, `EXISTS (SELECT 1 FROM json_each(${m}.channels) WHERE value = ?)`, filter.channel);
  }
  if (filter.tag !== undefined) {
    add(t, `EXISTS (SELECT 1 FROM json_each(${m}.tags) WHERE value = ?)`, filter.tag);
  }
}

/** For `SELECT … FROM message`. */
export function messageFilterTerms(filter: MessageFilter): FilterTerms {
  const t = terms();
  messageFieldTerms(t, "message", filter);
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
  if (filter.statusCodeClass !== undefined) {
    const code = filter.statusCodeClass;
    add(t, statusCodeClassSql("response_status_code", "?"), code, code);
  }
  const onMessage = terms();
  messageFieldTerms(onMessage, "m", filter);
  if (onMessage.where.length > 0) {
    // The message row of each attempt, by its primary key: cheap beside a newest-first scan.
    add(
      t,
      `EXISTS (SELECT 1 FROM message m WHERE m.id = attempt.msg_id AND ${onMessage.where.join(" AND ")})`,
      ...onMessage.params,
    );
  }
  if (filter.before !== undefined) add(t, "created_at < ?", filter.before);
  if (filter.after !== undefined) add(t, "created_at > ?", filter.after);
  return t;
}

/** For the delivery ⋈ message select; times are the message's, as in Svix. */
export function endpointMessageFilterTerms(filter: EndpointMessageFilter): FilterTerms {
  const t = terms();
  if (filter.statuses !== undefined) {
    add(t, "d.status IN (SELECT value FROM json_each(?))", JSON.stringify(filter.statuses));
  }
  messageFieldTerms(t, "m", filter);
  if (filter.statusCodeClass !== undefined) {
    const code = filter.statusCodeClass;
    add(
      t,
      `EXISTS (SELECT 1 FROM attempt a WHERE a.msg_id = d.msg_id AND a.endpoint_id = d.endpoint_id AND ${statusCodeClassSql("a.response_status_code", "?")})`,
      code,
      code,
    );
  }
  if (filter.before !== undefined) add(t, "m.created_at < ?", filter.before);
  if (filter.after !== undefined) add(t, "m.created_at > ?", filter.after);
  return t;
}
