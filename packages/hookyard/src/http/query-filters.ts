import { ValidationError } from "../errors.js";
import { epochMsOf } from "./schema-validation.js";

/** The content type of every JSON answer rendered to text by a route itself. */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/**
 * Refuses Svix filters Hookyard does not implement. Ignoring them would return unfiltered
 * results that look filtered; a 422 naming the parameter is honest.
 */
export function rejectUnsupportedFilters(query: object, names: readonly string[]): void {
  const given = names.filter((name) => Object.hasOwn(query, name));
  if (given.length === 0) return;
  throw new ValidationError(
    given.map((name) => ({
      loc: ["query", name],
      msg: `${name}: this filter is not supported by Hookyard`,
      type: "value_error",
    })),
  );
}

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
