import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import type { Page, PageRequest } from "../store/store.js";
import { StringEnum } from "./schemas/common.js";

/** Svix's page-size bounds. */
const DEFAULT_PAGE_LIMIT = 50;
const MAX_PAGE_LIMIT = 250;

/** The query parameters of every Svix list route. */
export const PAGE_QUERY = {
  limit: Type.Integer({
    minimum: 1,
    maximum: MAX_PAGE_LIMIT,
    default: DEFAULT_PAGE_LIMIT,
    description: `Page size (1..${MAX_PAGE_LIMIT}).`,
  }),
  iterator: Type.Optional(
    Type.String({
      maxLength: 256,
      description: "The `iterator` of the previous page; absent for the first page.",
    }),
  ),
  order: Type.Optional(
    StringEnum(["ascending", "descending"], { description: "Sort order by creation time." }),
  ),
};

export const PageQuerySchema = Type.Object(PAGE_QUERY);
export type PageQuery = Static<typeof PageQuerySchema>;

/** Turns the validated query into the store's `PageRequest`; `order` only when given. */
export function toPageRequest(query: Partial<PageQuery>): PageRequest {
  const page: PageRequest = {
    limit: query.limit ?? DEFAULT_PAGE_LIMIT,
    iterator: query.iterator ?? null,
  };
  if (query.order !== undefined) page.order = query.order;
  return page;
}

/** Maps a page's items, keeping the cursors. */
export function mapPage<T, U>(page: Page<T>, toOut: (item: T) => U): Page<U> {
  return {
    data: page.data.map(toOut),
    iterator: page.iterator,
    prevIterator: page.prevIterator,
    done: page.done,
  };
}

/** The answer to a filter that can match nothing (e.g. attempts that are "sending"). */
export function emptyPage<T>(): Page<T> {
  return { data: [], iterator: null, prevIterator: null, done: true };
}
