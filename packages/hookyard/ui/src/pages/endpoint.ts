import { del, enc, get, patch, post, withQuery, type Page } from "../api.js";
import type { PageView } from "../app.js";
import { badge, copyButton, errorBox, field, h, replace, time } from "../dom.js";
import { actionButton, rerender, writable } from "../flash.js";
import { pagedTable } from "../list.js";
import {
  appBase,
  appCrumbs,
  ATTEMPT_STATUS,
  link,
  list,
  type App,
  type Attempt,
  type Endpoint,
} from "./send-common.js";

export async function endpointPage(appId: string, endpointId: string): Promise<PageView> {
  const base = `${appBase(appId)}/endpoint/${enc(endpointId)}`;
  const [app, ep, stats, headers] = await Promise.all([
    get<App>(appBase(appId)),
    get<Endpoint>(base),
    get<{ success: number; fail: number; pending: number; sending: number }>(`${base}/stats`).catch(
      () => null,
    ),
    get<{ headers: Record<string, string>; sensitive?: string[] }>(`${base}/headers`).catch(() => ({
      headers: {},
      sensitive: [] as string[],
    })),
  ]);
  const message = h("div", { "aria-live": "polite" });
  const act = (work: Promise<unknown>, done: string) =>
    work.then(
      () => rerender(done),
      (err: unknown) => replace(message, errorBox(err)),
    );
  const secret = h("code", null, "••••••••");
  const total = stats === null ? 0 : stats.success + stats.fail;
  const url = h("input", { name: "url", type: "url", value: ep.url, required: true });
  const description = h("input", { name: "description", value: ep.description });
  const types = h("input", {
    name: "eventTypes",
    value: (ep.eventTypes ?? ep.filterTypes ?? []).join(", "),
  });
  const rate = h("input", {
    name: "throttleRate",
    type: "number",
    min: "1",
    value: String(ep.throttleRate ?? ep.rateLimit ?? ""),
  });
  const headerText = h("textarea", { name: "headers", rows: "3" });
  const sensitive = headers.sensitive ?? [];
  const shownHeaders = Object.entries(headers.headers).filter(([k]) => !sensitive.includes(k));
  headerText.value = shownHeaders.map(([k, v]) => `${k}: ${v}`).join("\n");
  const originalHeaders = headerText.value;
  const edit = h(
    "form",
    { class: "card", "aria-label": "Edit endpoint" },
    h("h2", null, "Settings"),
    field("URL", url),
    field("Description", description),
    field("Event types", types, "Comma-separated; empty: every event type"),
    field("Rate limit (messages per second)", rate, "Empty: no limit"),
    field(
      "Custom headers",
      headerText,
      (headers.sensitive ?? []).length === 0
        ? "One per line: Name: value"
        : `One per line: Name: value. Kept and not shown: ${(headers.sensitive ?? []).join(", ")}`,
    ),
    h("button", { type: "submit" }, "Save"),
  );
  edit.addEventListener("submit", (event) => {
    event.preventDefault();
    const eventTypes = list(types.value);
    const parsedHeaders: Record<string, string> = {};
    for (const line of headerText.value.split("\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) parsedHeaders[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    }
    const removed = shownHeaders.map(([k]) => k).filter((k) => !(k in parsedHeaders));
    // One after the other: each writes the endpoint's row.
    const save = async () => {
      await patch(base, {
        url: url.value,
        description: description.value,
        eventTypes: eventTypes.length === 0 ? null : eventTypes,
        throttleRate: rate.value === "" ? null : Number(rate.value),
      });
      if (headerText.value !== originalHeaders) {
        // PATCH, not PUT: the hidden (sensitive) headers stay.
        await patch(`${base}/headers`, { headers: parsedHeaders, deleteHeaders: removed });
      }
    };
    void act(save(), "Saved.");
  });
  const since = h("input", { name: "since", type: "datetime-local", required: true });
  const recover = h(
    "form",
    { class: "card inline", "aria-label": "Recover failed messages" },
    field("Resend failed messages since", since),
    h("button", { type: "submit" }, "Recover"),
  );
  recover.addEventListener("submit", (event) => {
    event.preventDefault();
    void act(
      post(`${base}/recover`, { since: new Date(since.value).toISOString() }),
      "Recovery started: failed messages since then are sent again.",
    );
  });
  return {
    title: ep.url,
    body: h(
      "section",
      null,
      appCrumbs(app, "endpoint"),
      h("h1", null, ep.url),
      h(
        "dl",
        { class: "facts" },
        h("dt", null, "Status"),
        h("dd", null, ep.disabled ? badge("disabled", "bad") : badge("enabled", "ok")),
        h("dt", null, "Id"),
        h("dd", null, h("code", null, ep.id)),
        h("dt", null, "Success rate"),
        h(
          "dd",
          null,
          stats === null || total === 0
            ? "—"
            : `${Math.round((stats.success / total) * 100)} % (${stats.success} succeeded, ${stats.fail} failed, ${stats.pending} pending)`,
        ),
        h("dt", null, "Signing secret"),
        h(
          "dd",
          null,
          writable() ? secret : "hidden in a read-only portal",
          " ",
          actionButton("Show", (event: Event) => {
            const button = event.currentTarget as HTMLButtonElement;
            get<{ key: string }>(`${base}/secret`).then(
              (found) => {
                secret.textContent = found.key;
                button.replaceWith(copyButton(found.key));
              },
              (err: unknown) => replace(message, errorBox(err)),
            );
          }),
          " ",
          actionButton(
            "Rotate",
            () =>
              void act(
                post(`${base}/secret/rotate`, {}),
                "Secret rotated; the old one keeps working for 24 hours.",
              ),
          ),
        ),
      ),
      !writable()
        ? null
        : h(
            "p",
            null,
            h(
              "button",
              {
                type: "button",
                onclick: () =>
                  void act(
                    patch(base, { disabled: !ep.disabled }),
                    ep.disabled ? "Enabled." : "Disabled.",
                  ),
              },
              ep.disabled ? "Enable" : "Disable",
            ),
            " ",
            h(
              "button",
              {
                type: "button",
                class: "danger",
                onclick: () => {
                  if (confirm(`Delete the endpoint ${ep.url}?`))
                    void del(base).then(
                      () => (location.hash = `#/apps/${enc(app.uid ?? app.id)}`),
                      (err: unknown) => replace(message, errorBox(err)),
                    );
                },
              },
              "Delete",
            ),
          ),
      message,
      writable() ? edit : null,
      writable() ? recover : null,
      h("h2", null, "Attempts"),
      pagedTable<Attempt>({
        label: "Attempts",
        empty: "No attempt yet.",
        load: (iterator) =>
          get<Page<Attempt>>(
            withQuery(`${appBase(appId)}/attempt/endpoint/${enc(ep.id)}`, {
              limit: "50",
              iterator,
            }),
          ),
        columns: attemptColumns(appId),
      }),
    ),
  };
}

function attemptColumns(app: string) {
  return [
    { title: "When", cell: (a: Attempt) => time(a.timestamp) },
    {
      title: "Status",
      cell: (a: Attempt) => badge(...(ATTEMPT_STATUS[a.status] ?? ["?", "neutral"])),
    },
    {
      title: "HTTP",
      cell: (a: Attempt) => (a.responseStatusCode === 0 ? "—" : String(a.responseStatusCode)),
    },
    { title: "Error", cell: (a: Attempt) => a.errorClass ?? "—" },
    { title: "Duration", cell: (a: Attempt) => `${a.responseDurationMs} ms` },
    {
      title: "Message",
      cell: (a: Attempt) =>
        link(`#/apps/${enc(app)}/messages/${enc(a.msgId)}`, h("code", null, a.msgId)),
    },
  ];
}
