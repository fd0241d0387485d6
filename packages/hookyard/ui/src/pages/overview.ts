import { enc, get } from "../api.js";
import type { PageView } from "../app.js";
import { h, replace, svg, time } from "../dom.js";

interface Activity {
  window: "1h" | "24h";
  bucketSeconds: number;
  buckets: {
    start: string;
    messages: number;
    attemptsSucceeded: number;
    attemptsFailed: number;
    received: number;
    rejected: number;
    ruleRunsFailed: number;
  }[];
  bySource: {
    sourceId: string;
    name: string | null;
    accepted: number;
    rejected: number;
    duplicate: number;
  }[];
  backlog: number;
  failingCount: number;
  failingEndpoints: { appId: string; endpointId: string; url: string; failingSince: string }[];
}

type Bucket = Activity["buckets"][number];

export function overviewPage(): PageView {
  const body = h("div");
  const choose = (window: "1h" | "24h") => {
    get<Activity>(`/api/v1/stats/activity?window=${window}`).then(
      (activity) => replace(body, render(activity, choose)),
      (err: unknown) => replace(body, h("p", { class: "error", role: "alert" }, String(err))),
    );
  };
  choose("1h");
  return { title: "Overview", body: h("section", null, h("h1", null, "Overview"), body) };
}

function render(a: Activity, choose: (window: "1h" | "24h") => void): HTMLElement {
  const total = (pick: (b: Bucket) => number) => a.buckets.reduce((sum, b) => sum + pick(b), 0);
  const succeeded = total((b) => b.attemptsSucceeded);
  const failed = total((b) => b.attemptsFailed);
  const rate =
    succeeded + failed === 0
      ? "—"
      : `${Math.round((succeeded / (succeeded + failed)) * 1000) / 10} %`;
  const per = a.window === "1h" ? "per minute" : "per 15 minutes";
  const span = a.window === "1h" ? "the last hour" : "the last day";
  return h(
    "div",
    null,
    h(
      "div",
      { class: "window", role: "group", "aria-label": "Time window" },
      (["1h", "24h"] as const).map((w) =>
        h(
          "button",
          {
            type: "button",
            class: w === a.window ? "small" : "small secondary",
            "aria-pressed": String(w === a.window),
            onclick: () => choose(w),
          },
          w === "1h" ? "Last hour" : "Last day",
        ),
      ),
    ),
    h(
      "div",
      { class: "tiles" },
      tile("Messages", String(total((b) => b.messages)), span),
      tile("Success rate", rate, `${succeeded} succeeded, ${failed} failed attempts`),
      tile("Backlog", String(a.backlog), "deliveries waiting now"),
      tile("Failing endpoints", String(a.failingCount), "now"),
      tile("Received", String(total((b) => b.received)), `${total((b) => b.rejected)} rejected`),
      tile("Rule runs failed", String(total((b) => b.ruleRunsFailed)), span),
    ),
    chart(`Messages ${per}`, a, [
      { label: "messages", className: "bar-a", value: (b) => b.messages },
    ]),
    chart(`Attempts ${per}`, a, [
      { label: "succeeded", className: "bar-ok", value: (b) => b.attemptsSucceeded },
      { label: "failed", className: "bar-bad", value: (b) => b.attemptsFailed },
    ]),
    chart(`Received requests ${per}`, a, [
      { label: "accepted", className: "bar-a", value: (b) => b.received - b.rejected },
      { label: "rejected", className: "bar-bad", value: (b) => b.rejected },
    ]),
    h("h2", null, "Failing endpoints"),
    a.failingEndpoints.length === 0
      ? h("p", { class: "muted" }, "None: every endpoint's last attempt succeeded.")
      : h(
          "ul",
          { class: "plain" },
          a.failingEndpoints.map((e) =>
            h(
              "li",
              null,
              h("a", { href: `#/apps/${enc(e.appId)}/endpoints/${enc(e.endpointId)}` }, e.url),
              " failing since ",
              time(e.failingSince),
            ),
          ),
        ),
    h("h2", null, `Received by source, ${span}`),
    a.bySource.length === 0
      ? h("p", { class: "muted" }, "Nothing received.")
      : h(
          "table",
          { "aria-label": "Received by source" },
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              ["Source", "Accepted", "Rejected", "Duplicates"].map((t) =>
                h("th", { scope: "col" }, t),
              ),
            ),
          ),
          h(
            "tbody",
            null,
            a.bySource.map((s) =>
              h(
                "tr",
                null,
                h(
                  "td",
                  null,
                  h("a", { href: `#/sources/${enc(s.sourceId)}` }, s.name ?? s.sourceId),
                ),
                h("td", null, String(s.accepted)),
                h("td", null, String(s.rejected)),
                h("td", null, String(s.duplicate)),
              ),
            ),
          ),
        ),
  );
}

function tile(label: string, value: string, note: string): HTMLElement {
  return h(
    "div",
    { class: "tile" },
    h("span", { class: "tile-value" }, value),
    h("span", null, label),
    h("small", { class: "muted" }, note),
  );
}

/** Stacked bars, one per bucket; the label says the totals for screen readers. */
function chart(
  title: string,
  a: Activity,
  series: { label: string; className: string; value: (b: Bucket) => number }[],
): HTMLElement {
  const width = 600;
  const height = 120;
  const max = Math.max(1, ...a.buckets.map((b) => series.reduce((sum, s) => sum + s.value(b), 0)));
  const step = width / a.buckets.length;
  const bars = a.buckets.flatMap((b, i) => {
    let y = height;
    return series.map((s) => {
      const value = s.value(b);
      const barHeight = (value / max) * (height - 4);
      y -= barHeight;
      return svg(
        "rect",
        { x: i * step + 1, y, width: Math.max(1, step - 2), height: barHeight, class: s.className },
        svg("title", {}, `${new Date(b.start).toLocaleTimeString()}: ${value} ${s.label}`),
      );
    });
  });
  const totals = series
    .map((s) => `${a.buckets.reduce((sum, b) => sum + s.value(b), 0)} ${s.label}`)
    .join(", ");
  return h(
    "figure",
    { class: "chart" },
    h(
      "figcaption",
      null,
      title,
      h("small", { class: "muted" }, ` — ${totals}; the highest bar ${max}`),
    ),
    svg(
      "svg",
      {
        viewBox: `0 0 ${width} ${height}`,
        role: "img",
        "aria-label": `${title}: ${totals}`,
        preserveAspectRatio: "none",
      },
      svg("line", { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: "axis" }),
      bars,
    ),
  );
}
