import type { SqlParam } from "../rows/config-rows.js";
import { toPage } from "../rows/page.js";
import type { Page, PageRequest } from "../store.js";
import type { Queryable } from "./pg-driver.js";

/** SQL terms with `$?` placeholders, numbered when the query is assembled. */
export interface PgTerms {
  where: string[];
  params: SqlParam[];
}

export function pgTerms(): PgTerms {
  return { where: [], params: [] };
}

/** Adds `term` (one `$?` per parameter) and its parameters. */
export function addTerm(t: PgTerms, term: string, ...params: SqlParam[]): void {
  t.where.push(term);
  t.params.push(...params);
}

/** Numbers the `$?` placeholders of `sql` from $1. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\$\?/g, () => `$${++n}`);
}

export interface PgPageQuery<TRow, T> {
  select: string;
  terms: PgTerms;
  cursorColumn: string;
  page: PageRequest;
  defaultOrder: "ascending" | "descending";
  map: (row: TRow) => T;
  cursorOf: (item: T) => string;
}

/**
 * Cursor pagination over time-sortable ids, as the SQLite adapter does it: `id > iterator`
 * ascending, `id < iterator` descending, one extra row to know `done`. Ids compare in byte order
 * (COLLATE "C"), the order SQLite uses, whatever the database's collation.
 */
export async function pgPage<TRow, T>(db: Queryable, q: PgPageQuery<TRow, T>): Promise<Page<T>> {
  const order = q.page.order ?? q.defaultOrder;
  const where = [...q.terms.where];
  const params = [...q.terms.params];
  const column = q.cursorColumn;
  if (q.page.iterator !== null) {
    where.push(`${column} ${order === "ascending" ? ">" : "<"} $?`);
    params.push(q.page.iterator);
  }
  const limit = Math.max(1, Math.floor(q.page.limit));
  params.push(limit + 1);
  const sql = numbered(
    `${q.select}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}` +
      ` ORDER BY ${column} ${order === "ascending" ? "ASC" : "DESC"} LIMIT $?`,
  );
  const { rows } = await db.query<TRow>(sql, params);
  return toPage(rows, limit, q.map, q.cursorOf);
}
