import { del, enc, get, patch, post, withQuery, type Page } from "../api.js";
import type { PageView } from "../app.js";
import { badge, copyButton, errorBox, field, h, replace, time, type Child } from "../dom.js";
import { rerender, writable } from "../flash.js";
import { jsonView } from "../json-view.js";
import { pagedTable } from "../list.js";

interface App {
  id: string;
  uid: string | null;
  name: string;
  createdAt: string;
}
interface Endpoint {
  id: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: boolean;
  eventTypes?: string[] | null;
  filterTypes?: string[] | null;
  channels: string[] | null;
  throttleRate?: number | null;
  rateLimit?: number | null;
  createdAt: string;
}
interface Message {
  id: string;
  eventType: string;
  eventId: string | null;
  channels: string[] | null;
  payload?: unknown;
  timestamp: string;
}
interface Attempt {
  id: string;
  msgId: string;
  endpointId: string;
  url: string;
  response: string;
  responseStatusCode: number;
  responseDurationMs: number;
  status: number;
  triggerType: number;
  timestamp: string;
  errorClass?: string | null;
  errorMessage?: string | null;
  responseHeaders?: Record<string, string> | null;
}

const ATTEMPT_STATUS: Record<number, [string, "ok" | "bad" | "warn" | "neutral"]> = {
  0: ["succeeded", "ok"],
  1: ["pending", "warn"],
  2: ["failed", "bad"],
  3: ["sending", "neutral"],
  4: ["cancelled", "neutral"],
};

function appBase(app: string): string {
  return `/api/v1/app/${enc(app)}`;
}

function link(href: string, text: Child): HTMLAnchorElement {
  return h("a", { href }, text);
}

export function appsPage(): PageView {
  const name = h("input", { name: "name", required: true });
  const uid = h("input", { name: "uid", placeholder: "optional, e.g. acme" });
  const message = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card inline", "aria-label": "New application" },
    field("Name", name),
    field("UID", uid),
    h("button", { type: "submit" }, "Create application"),
    message,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    post<App>("/api/v1/app", {
      name: name.value,
      ...(uid.value !== "" && { uid: uid.value }),
    }).then(
      (app) => (location.hash = `#/apps/${app.uid ?? app.id}`),
      (err: unknown) => replace(message, errorBox(err)),
    );
  });
  return {
    title: "Applications",
    body: h(
      "section",
      null,
      h("h1", null, "Applications"),
      h(
        "p",
        { class: "muted" },
        "Your customers' applications: each has endpoints, and the messages you publish to it.",
      ),
      form,
      pagedTable<App>({
        label: "Applications",
        empty: "No application yet.",
        load: (iterator) => get<Page<App>>(withQuery("/api/v1/app", { limit: "50", iterator })),
        columns: [
          { title: "Name", cell: (a) => link(`#/apps/${enc(a.uid ?? a.id)}`, a.name) },
          { title: "UID", cell: (a) => a.uid ?? "—" },
          { title: "Id", cell: (a) => h("code", null, a.id) },
          { title: "Created", cell: (a) => time(a.createdAt) },
        ],
      }),
    ),
  };
}

export async function appPage(appId: string): Promise<PageView> {
  const app = await get<App>(appBase(appId));
  const key = app.uid ?? app.id;
  return {
    title: app.name,
    body: h(
      "section",
      null,
      h("p", { class: "crumbs" }, link("#/apps", "Applications"), " / ", app.name),
      h("h1", null, app.name, " ", h("code", { class: "muted" }, app.id)),
      h("h2", null, "Endpoints"),
      writable() ? newEndpointForm(key) : null,
      pagedTable<Endpoint>({
        label: "Endpoints",
        empty: "No endpoint yet: add one above.",
        load: (iterator) =>
          get<Page<Endpoint>>(withQuery(`${appBase(key)}/endpoint`, { limit: "50", iterator })),
        columns: [
          { title: "URL", cell: (e) => link(`#/apps/${enc(key)}/endpoints/${enc(e.id)}`, e.url) },
          {
            title: "Status",
            cell: (e) => (e.disabled ? badge("disabled", "bad") : badge("enabled", "ok")),
          },
          {
            title: "Event types",
            cell: (e) => (e.eventTypes ?? e.filterTypes ?? ["all"]).join(", "),
          },
          { title: "Description", cell: (e) => e.description || "—" },
        ],
      }),
      h("h2", null, "Messages"),
      messageSearch(key),
    ),
  };
}

function newEndpointForm(app: string): HTMLElement {
  const url = h("input", { name: "url", type: "url", required: true, placeholder: "https://…" });
  const description = h("input", { name: "description" });
  const types = h("input", {
    name: "eventTypes",
    placeholder: "invoice.paid, user.created (empty: all)",
  });
  const message = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card inline", "aria-label": "New endpoint" },
    field("URL", url),
    field("Description", description),
    field("Event types", types),
    h("button", { type: "submit" }, "Add endpoint"),
    message,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const eventTypes = list(types.value);
    post<Endpoint>(`${appBase(app)}/endpoint`, {
      url: url.value,
      description: description.value,
      ...(eventTypes.length > 0 && { eventTypes }),
    }).then(
      (ep) => (location.hash = `#/apps/${enc(app)}/endpoints/${enc(ep.id)}`),
      (err: unknown) => replace(message, errorBox(err)),
    );
  });
  return form;
}

function list(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

function messageSearch(app: string): HTMLElement {
  const id = h("input", { name: "id", placeholder: "msg_…" });
  const eventType = h("input", { name: "eventType", placeholder: "invoice.paid" });
  const channel = h("input", { name: "channel" });
  const after = h("input", { name: "after", type: "datetime-local" });
  const before = h("input", { name: "before", type: "datetime-local" });
  const results = h("div");
  const message = h("div", { "aria-live": "polite" });
  const run = () => {
    replace(
      results,
      pagedTable<Message>({
        label: "Messages",
        empty: "No message matches.",
        load: (iterator) =>
          get<Page<Message>>(
            withQuery(`${appBase(app)}/msg`, {
              limit: "50",
              iterator,
              event_types: eventType.value.trim(),
              channel: channel.value.trim(),
              after: after.value === "" ? null : new Date(after.value).toISOString(),
              before: before.value === "" ? null : new Date(before.value).toISOString(),
            }),
          ),
        columns: [
          {
            title: "Id",
            cell: (m) => link(`#/apps/${enc(app)}/messages/${enc(m.id)}`, h("code", null, m.id)),
          },
          { title: "Event type", cell: (m) => m.eventType },
          { title: "Event id", cell: (m) => m.eventId ?? "—" },
          { title: "Channels", cell: (m) => (m.channels ?? []).join(", ") || "—" },
          { title: "Published", cell: (m) => time(m.timestamp) },
        ],
      }),
    );
  };
  const form = h(
    "form",
    { class: "card inline", role: "search", "aria-label": "Search messages" },
    field("Message id", id),
    field("Event type", eventType),
    field("Channel", channel),
    field("After", after),
    field("Before", before),
    h("button", { type: "submit" }, "Search"),
    message,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (id.value.trim() !== "") {
      get<Message>(`${appBase(app)}/msg/${enc(id.value.trim())}`).then(
        (m) => (location.hash = `#/apps/${enc(app)}/messages/${enc(m.id)}`),
        (err: unknown) => replace(message, errorBox(err)),
      );
      return;
    }
    run();
  });
  run();
  return h("div", null, form, results);
}

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
      h(
        "p",
        { class: "crumbs" },
        link("#/apps", "Applications"),
        " / ",
        link(`#/apps/${enc(app.uid ?? app.id)}`, app.name),
        " / endpoint",
      ),
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
          !writable()
            ? null
            : h(
                "button",
                {
                  type: "button",
                  class: "small",
                  onclick: () =>
                    void get<{ key: string }>(`${base}/secret`).then((s) => {
                      secret.textContent = s.key;
                      secret.after(" ", copyButton(s.key));
                    }),
                },
                "Show",
              ),
          " ",
          !writable()
            ? null
            : h(
                "button",
                {
                  type: "button",
                  class: "small",
                  onclick: () =>
                    void act(
                      post(`${base}/secret/rotate`, {}),
                      "Secret rotated; the old one keeps working for 24 hours.",
                    ),
                },
                "Rotate",
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
      h(
        "p",
        { class: "crumbs" },
        link("#/apps", "Applications"),
        " / ",
        link(`#/apps/${enc(app.uid ?? app.id)}`, app.name),
        " / message",
      ),
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
            !writable()
              ? null
              : h(
                  "button",
                  {
                    type: "button",
                    class: "small",
                    onclick: () =>
                      void post(`${base}/msg/${enc(msg.id)}/endpoint/${enc(e.id)}/resend`).then(
                        () => replace(message, h("p", { class: "ok-text" }, `Resent to ${e.url}.`)),
                        (err: unknown) => replace(message, errorBox(err)),
                      ),
                  },
                  "Resend",
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
