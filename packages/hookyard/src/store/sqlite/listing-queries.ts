import { toPage } from "../rows/page.js";
import type { Page, PageRequest } from "../store.js";
import type { SqlParam, SqliteDatabase, SqliteStatement } from "./sqlite-driver.js";

export type SortOrder = "ascending" | "descending";

/** One cursor-paginated listing: `select` without WHERE, filter terms, the cursor column. */
export interface PageQuery<TRow, T> {
  /** `SELECT … FROM …` (joins allowed, no WHERE). */
  select: string;
  /** ANDed filter terms with `?` placeholders, bound from `params` in order. */
  where: readonly string[];
  params: readonly SqlParam[];
  /** The id column the cursor runs over, e.g. `id` or `d.msg_id`. */
  cursorColumn: string;
  page: PageRequest;
  defaultOrder: SortOrder;
  map: (row: TRow) => T;
  /** The cursor value of an item (its id). */
  cursorOf: (item: T) => string;
}

/**
 * Cursor pagination over time-sortable ids (ids.ts): ascending pages continue with
 * `id > iterator`, descending with `id < iterator`. One extra row is fetched to know `done`.
 * Statements are prepared once per distinct filter combination and cached.
 */
export class ListingQueries {
  readonly #db: SqliteDatabase;
  readonly #cache = new Map<string, SqliteStatement>();

  constructor(deps: { db: SqliteDatabase }) {
    this.#db = deps.db;
  }

  page<TRow, T>(q: PageQuery<TRow, T>): Page<T> {
    const order = q.page.order ?? q.defaultOrder;
    const where = [...q.where];
    const params = [...q.params];
    if (q.page.iterator !== null) {
      where.push(`${q.cursorColumn} ${order === "ascending" ? ">" : "<"} ?`);
      params.push(q.page.iterator);
    }
    const limit = Math.max(1, Math.floor(q.page.limit));
    const sql =
      `${q.select}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}` +
      ` ORDER BY ${q.cursorColumn} ${order === "ascending" ? "ASC" : "DESC"} LIMIT ?`;
    params.push(limit + 1);
    const rows = this.#statement(sql).all(...params) as TRow[];
    return toPage(rows, limit, q.map, q.cursorOf);
  }

  #statement(sql: string): SqliteStatement {
    let stmt = this.#cache.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }
}
