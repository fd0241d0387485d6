import { epochMsOf } from "./schema-validation.js";

/** The content type of every JSON answer rendered to text by a route itself. */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** `before`/`after` query strings → epoch ms, only the ones given. */
export function timeRangeOf(query: { before?: string; after?: string }): {
  before?: number;
  after?: number;
} {
  const range: { before?: number; after?: number } = {};
  if (query.before !== undefined) range.before = epochMsOf(query.before);
  if (query.after !== undefined) range.after = epochMsOf(query.after);
  return range;
}

/**
 * Svix SDKs send list parameters comma-joined (`event_types=a,b`); other clients repeat them
 * (`event_types=a&event_types=b`). Both arrive as an array (coerced); this flattens them.
 */
export function commaListOf(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(",")).filter((value) => value.length > 0);
}

/** The query parameters of the filters on a message's own fields, and the time range. */
export interface MessageFieldQuery {
  channel?: string;
  tag?: string;
  event_types?: string[];
  before?: string;
  after?: string;
}

/** The message-side filters (channel, tag, event types) and the time range of a list query. */
export function messageFieldFilterOf(query: MessageFieldQuery): {
  channel?: string;
  tag?: string;
  eventTypes?: string[];
  before?: number;
  after?: number;
} {
  const filter: { channel?: string; tag?: string; eventTypes?: string[] } = {};
  if (query.channel !== undefined) filter.channel = query.channel;
  if (query.tag !== undefined) filter.tag = query.tag;
  if (query.event_types !== undefined) filter.eventTypes = commaListOf(query.event_types);
  return { ...filter, ...timeRangeOf(query) };
}
