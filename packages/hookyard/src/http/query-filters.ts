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
