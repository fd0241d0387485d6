import { enc, get, post, withQuery, type Page } from "../api.js";
import type { PageView } from "../app.js";
import { badge, errorBox, h, replace, time } from "../dom.js";
import { actionButton } from "../flash.js";
import { jsonView } from "../json-view.js";
import { pagedTable } from "../list.js";
import {
  appBase,
  appCrumbs,
  ATTEMPT_STATUS,
  link,
  type App,
  type Attempt,
  type Message,
} from "./send-common.js";

export async function messagePage(appId: string, msgId: string): Promise<PageView> {
  const base = appBase(appId);
  const [app, msg, endpoints] = await Promise.all([
    get<App>(base),
    get<Message>(withQuery(`${base}/msg/${enc(msgId)}`, { with_content: "true" })),
    get<Page<{ id: string; url: string; status: number }>>(
      withQuery(`${base}/msg/${enc(msgId)}/endpoint`, { limit: "250" }),
    ).catch(() => ({ data: [], iterator: null, done: true })),
  ]);
  const message = h("div", { "aria-live": "polite" });
  // Newest first, a page at a time: a message retried for days has many.
  const timeline = pagedTable<Attempt>({
    label: "Attempts",
    empty: "No attempt yet.",
    load: (iterator) =>
      get<Page<Attempt>>(
        withQuery(`${base}/attempt/msg/${enc(msgId)}`, {
          limit: "50",
          iterator,
          with_content: "true",
        }),
      ),
    columns: [
      { title: "When", cell: (a) => time(a.timestamp) },
      { title: "Status", cell: (a) => badge(...(ATTEMPT_STATUS[a.status] ?? ["?", "neutral"])) },
      {
        title: "Answer",
        cell: (a) =>
          h(
            "span",
            null,
            a.responseStatusCode === 0 ? "no response" : `HTTP ${a.responseStatusCode}`,
            a.errorClass ? h("strong", null, ` ${a.errorClass}`) : null,
            a.errorMessage ? h("small", { class: "muted" }, ` ${a.errorMessage}`) : null,
          ),
      },
      { title: "Duration", cell: (a) => `${a.responseDurationMs} ms` },
      { title: "URL", cell: (a) => a.url },
      {
        title: "Response",
        cell: (a) =>
          h(
            "details",
            null,
            h("summary", null, "Body and headers"),
            jsonView(a.response),
            a.responseHeaders
              ? h(
                  "pre",
                  { class: "code" },
                  Object.entries(a.responseHeaders)
                    .map(([k, v]) => `${k}: ${v}`)
                    .join("\n"),
                )
              : null,
          ),
      },
    ],
  });
  return {
    title: msg.id,
    body: h(
      "section",
      null,
      appCrumbs(app, "message"),
      h("h1", null, msg.eventType, " ", h("code", { class: "muted" }, msg.id)),
      h(
        "dl",
        { class: "facts" },
        h("dt", null, "Published"),
        h("dd", null, time(msg.timestamp)),
        h("dt", null, "Event id"),
        h("dd", null, msg.eventId ?? "—"),
        h("dt", null, "Channels"),
        h("dd", null, (msg.channels ?? []).join(", ") || "—"),
      ),
      h("h2", null, "Payload"),
      jsonView(JSON.stringify(msg.payload ?? null)),
      h("h2", null, "Endpoints"),
      h(
        "ul",
        { class: "plain" },
        endpoints.data.map((e) =>
          h(
            "li",
            null,
            link(`#/apps/${enc(appId)}/endpoints/${enc(e.id)}`, e.url),
            " ",
            badge(...(ATTEMPT_STATUS[e.status] ?? ["?", "neutral"])),
            " ",
            actionButton(
              "Resend",
              () =>
                void post(`${base}/msg/${enc(msg.id)}/endpoint/${enc(e.id)}/resend`).then(
                  () => replace(message, h("p", { class: "ok-text" }, `Resent to ${e.url}.`)),
                  (err: unknown) => replace(message, errorBox(err)),
                ),
            ),
          ),
        ),
      ),
      message,
      h("h2", null, "Attempts"),
      timeline,
    ),
  };
}
