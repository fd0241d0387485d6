import { enc, get, post, withQuery, type Page } from "../api.js";
import type { PageView } from "../app.js";
import { badge, errorBox, field, h, replace, time } from "../dom.js";
import { jsonView } from "../json-view.js";
import { base, target, verdict, type Received } from "./receive.js";

export async function requestPage(sourceId: string, requestId: string): Promise<PageView> {
  const r = await get<Received>(`${base(sourceId)}/request/${enc(requestId)}`);
  const forwards = await get<{
    data: {
      messageId: string;
      trigger: string;
      destinations: { endpointId: string; url?: string; statusText: string }[];
      attempts: {
        endpointId: string;
        responseStatusCode: number;
        errorClass?: string | null;
        timestamp: string;
      }[];
    }[];
  }>(`${base(sourceId)}/request/${enc(requestId)}/forward`).catch(() => ({ data: [] }));
  const destinations = await get<Page<{ id: string; url: string }>>(
    withQuery(`${base(sourceId)}/endpoint`, { limit: "100" }),
  ).catch(() => ({ data: [] as { id: string; url: string }[], iterator: null, done: true }));
  const url = h("input", { name: "url", type: "url", placeholder: "https://…" });
  const destination = h(
    "select",
    { name: "destination" },
    h("option", { value: "" }, "— a URL instead —"),
    destinations.data.map((d) => h("option", { value: d.id }, d.url)),
  );
  const message = h("div", { "aria-live": "polite" });
  const replay = h(
    "form",
    { class: "card inline", "aria-label": "Replay" },
    field("Replay to a destination", destination),
    field("or to a URL", url),
    h("button", { type: "submit" }, "Replay"),
    message,
  );
  replay.addEventListener("submit", (event) => {
    event.preventDefault();
    const to = destination.value !== "" ? { endpointId: destination.value } : { url: url.value };
    post(`${base(sourceId)}/request/${enc(r.id)}/replay`, to).then(
      () =>
        replace(
          message,
          h("p", { class: "ok-text" }, "Replayed: it goes through the delivery engine."),
        ),
      (err: unknown) => replace(message, errorBox(err)),
    );
  });
  const body =
    r.bodyEncoding === "base64"
      ? h("pre", { class: "code" }, `(${r.bodyBytes} bytes, not UTF-8; base64)\n${r.body}`)
      : jsonView(r.body);
  return {
    title: `${r.method} ${target(r)}`,
    body: h(
      "section",
      null,
      h(
        "p",
        { class: "crumbs" },
        h("a", { href: `#/sources/${enc(sourceId)}` }, "Source"),
        " / request",
      ),
      h("h1", null, `${r.method} ${target(r)}`, " ", verdict(r)),
      h(
        "dl",
        { class: "facts" },
        h("dt", null, "Received"),
        h("dd", null, time(r.receivedAt)),
        h("dt", null, "Verdict"),
        h(
          "dd",
          null,
          r.status,
          r.reason === null ? "" : `: ${r.reason}`,
          r.duplicateOf === null ? "" : ` (of ${r.duplicateOf})`,
        ),
        h("dt", null, "Delivery id"),
        h("dd", null, r.deliveryId ?? "—"),
        h("dt", null, "From"),
        h("dd", null, r.sourceIp),
        h("dt", null, "Id"),
        h("dd", null, h("code", null, r.id)),
      ),
      h("h2", null, "Headers"),
      h(
        "table",
        { "aria-label": "Headers" },
        h(
          "tbody",
          null,
          Object.entries(r.headers).map(([name, value]) =>
            h("tr", null, h("th", { scope: "row" }, name), h("td", null, h("code", null, value))),
          ),
        ),
      ),
      h("h2", null, "Body"),
      body,
      h("h2", null, "Forwards"),
      forwards.data.length === 0
        ? h("p", { class: "muted" }, "Not forwarded (no destination took it).")
        : h(
            "ul",
            { class: "plain" },
            forwards.data.map((f) =>
              h(
                "li",
                null,
                h("code", null, f.messageId),
                ` (${f.trigger}): `,
                f.destinations.map((d) =>
                  h(
                    "span",
                    null,
                    d.url ?? d.endpointId,
                    " ",
                    badge(
                      d.statusText,
                      d.statusText === "success" ? "ok" : d.statusText === "fail" ? "bad" : "warn",
                    ),
                    " ",
                  ),
                ),
                h(
                  "ul",
                  null,
                  f.attempts.map((a) =>
                    h(
                      "li",
                      null,
                      time(a.timestamp),
                      ` HTTP ${a.responseStatusCode || "—"} `,
                      a.errorClass ?? "",
                    ),
                  ),
                ),
              ),
            ),
          ),
      r.status === "accepted" ? replay : null,
    ),
  };
}
