import { enc, get, post, withQuery, type Page } from "../api.js";
import type { PageView } from "../app.js";
import { badge, errorBox, field, h, replace, time } from "../dom.js";
import { writable } from "../flash.js";
import { pagedTable } from "../list.js";
import { appBase, link, list, type App, type Endpoint, type Message } from "./send-common.js";

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
