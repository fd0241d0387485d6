import { get, withQuery, type Page } from "../api.js";
import type { PageView } from "../app.js";
import { h } from "../dom.js";

export async function overviewPage(): Promise<PageView> {
  const [apps, sources] = await Promise.all([
    get<Page<unknown>>(withQuery("/api/v1/app", { limit: "250" })),
    get<Page<{ type: string }>>(withQuery("/ingest/api/v1/source", { limit: "250" })),
  ]);
  const count = (page: Page<unknown>) => `${page.data.length}${page.done ? "" : "+"}`;
  const bins = sources.data.filter((s) => s.type === "request-bin").length;
  return {
    title: "Overview",
    body: h(
      "section",
      null,
      h("h1", null, "Overview"),
      h(
        "div",
        { class: "tiles" },
        tile("Applications", count(apps), "#/apps"),
        tile("Sources", String(sources.data.length - bins), "#/sources"),
        tile("Request bins", String(bins), "#/bins"),
      ),
    ),
  };
}

function tile(label: string, value: string, href: string): HTMLElement {
  return h(
    "a",
    { class: "tile", href },
    h("span", { class: "tile-value" }, value),
    h("span", null, label),
  );
}
