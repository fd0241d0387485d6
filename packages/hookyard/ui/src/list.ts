import type { Page } from "./api.js";
import { errorBox, h, type Child } from "./dom.js";

export interface Column<T> {
  title: string;
  cell(row: T): Child;
}

/**
 * A table that loads one page at a time by cursor ("Show more"), never the whole table: what
 * keeps every list usable at 100,000 rows.
 */
export function pagedTable<T>(opts: {
  label: string;
  columns: Column<T>[];
  load: (iterator: string | null) => Promise<Page<T>>;
  empty: string;
  /** Rows that arrive live go on top. */
  live?: (prepend: (row: T) => void) => void;
}): HTMLElement {
  const body = h("tbody");
  const more = h("button", { type: "button" }, "Show more");
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const table = h(
    "table",
    { "aria-label": opts.label },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        opts.columns.map((c) => h("th", { scope: "col" }, c.title)),
      ),
    ),
    body,
  );
  let iterator: string | null = null;
  const row = (item: T) =>
    h(
      "tr",
      null,
      opts.columns.map((c) => h("td", null, c.cell(item))),
    );
  const next = async () => {
    more.disabled = true;
    try {
      const page = await opts.load(iterator);
      for (const item of page.data) body.append(row(item));
      iterator = page.iterator;
      more.hidden = page.done || page.iterator === null;
      status.textContent = body.children.length === 0 ? opts.empty : "";
    } catch (err) {
      status.replaceWith(errorBox(err));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => void next());
  opts.live?.((item) => {
    body.prepend(row(item));
    status.textContent = "";
  });
  void next();
  return h("div", { class: "table-wrap" }, table, status, more);
}
