import type { Page } from "../store.js";

/**
 * A page from rows fetched with `LIMIT limit + 1`: the extra row only tells whether more follow.
 * Both adapters' cursor pagination ends here.
 */
export function toPage<TRow, T>(
  rows: readonly TRow[],
  limit: number,
  map: (row: TRow) => T,
  cursorOf: (item: T) => string,
): Page<T> {
  const data = rows.slice(0, limit).map(map);
  const last = data.at(-1);
  return {
    data,
    iterator: last === undefined ? null : cursorOf(last),
    // A cursor that pages backwards would need a second direction in PageRequest; none yet.
    prevIterator: null,
    done: rows.length <= limit,
  };
}
