import { get, post, withQuery, type Page } from "../api.js";
import type { PageView } from "../app.js";
import { badge, errorBox, field, h, replace, time } from "../dom.js";
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
      testForm(),
    ),
  };
}

/** Dry-runs the rules in force on a captured request (or an event typed in), doing nothing. */
function testForm(): HTMLElement {
  const requestId = h("input", {
    name: "requestId",
    placeholder: "req_… (from a source's requests)",
  });
  const event = h("textarea", {
    name: "event",
    rows: "4",
    placeholder: '{"source": "github", "type": "push", "payload": {"ref": "refs/heads/main"}}',
  });
  const result = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card", "aria-label": "Test the rules" },
    h("h2", null, "Test the rules"),
    h(
      "p",
      { class: "muted" },
      "Which rules would run for a request a source captured, what each condition gives and what each action would do. Nothing is done.",
    ),
    field("Captured request", requestId),
    field("Or an event (JSON)", event),
    h("button", { type: "submit" }, "Dry run"),
    result,
  );
  form.addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    let body: Record<string, unknown>;
    try {
      body =
        requestId.value.trim() !== ""
          ? { requestId: requestId.value.trim() }
          : { event: JSON.parse(event.value) as unknown };
    } catch (err) {
      replace(
        result,
        errorBox(
          new Error(`The event is not JSON: ${err instanceof Error ? err.message : String(err)}`),
        ),
      );
      return;
    }
    post<{ data: unknown[] }>("/api/v1/rules/test", body).then(
      (answer) =>
        replace(
          result,
          answer.data.length === 0
            ? h("p", { class: "muted" }, "No rule listens to this event.")
            : jsonView(JSON.stringify(answer.data)),
        ),
      (err: unknown) => replace(result, errorBox(err)),
    );
  });
  return form;
}
