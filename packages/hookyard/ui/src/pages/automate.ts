import { get, withQuery, type Page } from "../api.js";
import type { PageView } from "../app.js";
import { badge, h, time } from "../dom.js";
import { jsonView } from "../json-view.js";
import { pagedTable } from "../list.js";

interface RuleRun {
  id: string;
  rule: string;
  status: string;
  error: string | null;
  createdAt: string;
  actions?: unknown;
}

export async function automatePage(): Promise<PageView> {
  interface RuleOut {
    name: string;
    file: string;
    line: number;
    enabled: boolean;
    disabledReason: string | null;
  }
  const [rules, origin] = await Promise.all([
    get<{ data: RuleOut[] }>("/api/v1/rules").catch(() => ({ data: [] as RuleOut[] })),
    get<{ origin: string; path: string | null }>("/api/v1/rules/source").catch(() => null),
  ]);
  const runs = (status: string | null) =>
    pagedTable<RuleRun>({
      label: status === null ? "Rule runs" : `Rule runs: ${status}`,
      empty: "No run.",
      load: (iterator) =>
        get<Page<RuleRun>>(withQuery("/api/v1/rule-run", { limit: "50", iterator, status })),
      columns: [
        { title: "When", cell: (r) => time(r.createdAt) },
        { title: "Rule", cell: (r) => r.rule },
        {
          title: "Status",
          cell: (r) =>
            badge(
              r.status,
              r.status === "succeeded" ? "ok" : r.status === "failed" ? "bad" : "warn",
            ),
        },
        { title: "Error", cell: (r) => r.error ?? "—" },
        {
          title: "Run",
          cell: (r) =>
            h(
              "details",
              null,
              h("summary", null, h("code", null, r.id)),
              jsonView(JSON.stringify(r)),
            ),
        },
      ],
    });
  return {
    title: "Automate",
    body: h(
      "section",
      null,
      h("h1", null, "Automate"),
      h(
        "h2",
        null,
        "Rules in force",
        origin === null
          ? null
          : h(
              "small",
              { class: "muted" },
              ` (from ${origin.origin === "files" ? (origin.path ?? "files") : origin.origin === "api" ? "an upload" : "nowhere"})`,
            ),
      ),
      rules.data.length === 0
        ? h(
            "p",
            { class: "muted" },
            "No rule: start the server with --rules, or upload a rulebook with hookyard apply.",
          )
        : h(
            "ul",
            { class: "plain" },
            rules.data.map((r) =>
              h(
                "li",
                null,
                h("strong", null, r.name),
                h("small", { class: "muted" }, ` ${r.file}:${r.line}`),
                " ",
                r.enabled && r.disabledReason === null
                  ? badge("in force", "ok")
                  : badge("disabled", "bad"),
                r.disabledReason === null ? null : ` ${r.disabledReason}`,
              ),
            ),
          ),
      h("h2", null, "Failed runs"),
      runs("failed"),
      h("h2", null, "All runs"),
      runs(null),
      h(
        "p",
        { class: "muted" },
        "Try a rule on a captured request: hookyard rules test <rulebook> --request <req_…>.",
      ),
    ),
  };
}
