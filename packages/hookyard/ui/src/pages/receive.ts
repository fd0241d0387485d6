import { del, enc, get, post, put, stream, withQuery, type Page } from "../api.js";
import type { PageView } from "../app.js";
import { badge, copyButton, errorBox, field, h, replace, time } from "../dom.js";
import { pagedTable } from "../list.js";

export interface Source {
  id: string;
  uid: string | null;
  name: string;
  type: string;
  ingestUrl: string;
  config: Record<string, unknown>;
  createdAt: string;
}
export interface Received {
  id: string;
  status: "accepted" | "rejected" | "duplicate";
  reason: string | null;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
  bodyEncoding: "utf8" | "base64";
  bodyBytes: number;
  sourceIp: string;
  deliveryId: string | null;
  eventType: string | null;
  duplicateOf: string | null;
  receivedAt: string;
}

/** The source types of the API (src/inbound/sources.ts SOURCE_TYPES), most used first. */
const TYPES = [
  "github",
  "stripe",
  "slack",
  "shopify",
  "gitlab",
  "twilio",
  "standard-webhooks",
  "svix",
  "generic-hmac",
  "bearer",
  "basic",
  "generic-webhook",
  "request-bin",
];

export const base = (source: string) => `/ingest/api/v1/source/${enc(source)}`;

export function verdict(r: Received): HTMLElement {
  if (r.status === "accepted") return badge("accepted", "ok");
  if (r.status === "duplicate") return badge("duplicate", "warn");
  return badge("rejected", "bad");
}

export function target(r: Received): string {
  return `/${r.path}${r.query === "" ? "" : `?${r.query}`}`;
}

export function sourcesPage(): PageView {
  const name = h("input", { name: "name", required: true });
  const uid = h("input", { name: "uid", placeholder: "optional, e.g. github-prod" });
  const type = h(
    "select",
    { name: "type" },
    TYPES.map((t) => h("option", { value: t }, t)),
  );
  const secret = h("input", { name: "secret", type: "password", autocomplete: "off" });
  const message = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card inline", "aria-label": "New source" },
    field("Name", name),
    field("UID", uid),
    field("Type", type),
    field("Secret", secret, "What the provider signs with (not for generic or request-bin)"),
    h("button", { type: "submit" }, "Create source"),
    message,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const config = secret.value === "" ? {} : { secret: secret.value };
    post<Source>("/ingest/api/v1/source", {
      name: name.value,
      type: type.value,
      config,
      ...(uid.value !== "" && { uid: uid.value }),
    }).then(
      (s) => (location.hash = `#/sources/${enc(s.uid ?? s.id)}`),
      (err: unknown) => replace(message, errorBox(err)),
    );
  });
  return {
    title: "Sources",
    body: h(
      "section",
      null,
      h("h1", null, "Sources"),
      h(
        "p",
        { class: "muted" },
        "Ingest URLs for GitHub, Stripe, Slack and any sender: verified, de-duplicated, stored byte-exact and forwarded.",
      ),
      form,
      sourceTable(() => true),
    ),
  };
}

function sourceTable(keep: (s: Source) => boolean): HTMLElement {
  return pagedTable<Source>({
    label: "Sources",
    empty: "Nothing here yet.",
    load: async (iterator) => {
      const page = await get<Page<Source>>(
        withQuery("/ingest/api/v1/source", { limit: "100", iterator }),
      );
      return { ...page, data: page.data.filter(keep) };
    },
    columns: [
      { title: "Name", cell: (s) => h("a", { href: `#/sources/${enc(s.uid ?? s.id)}` }, s.name) },
      { title: "Type", cell: (s) => s.type },
      {
        title: "Ingest URL",
        cell: (s) => h("span", null, h("code", null, s.ingestUrl), " ", copyButton(s.ingestUrl)),
      },
      { title: "Created", cell: (s) => time(s.createdAt) },
    ],
  });
}

export function binsPage(): PageView {
  const message = h("div", { "aria-live": "polite" });
  const create = h("button", { type: "button" }, "New bin");
  create.addEventListener("click", () => {
    post<Source>("/ingest/api/v1/source", {
      name: "request bin",
      type: "request-bin",
      config: {},
    }).then(
      (s) => (location.hash = `#/sources/${enc(s.id)}`),
      (err: unknown) => replace(message, errorBox(err)),
    );
  });
  return {
    title: "Request bins",
    body: h(
      "section",
      null,
      h("h1", null, "Request bins"),
      h(
        "p",
        { class: "muted" },
        "A URL that captures whatever it is sent and answers as you choose.",
      ),
      h("p", null, create),
      message,
      sourceTable((s) => s.type === "request-bin"),
    ),
  };
}

export async function sourcePage(sourceId: string): Promise<PageView> {
  const source = await get<Source>(base(sourceId));
  const activity = await get<{
    bySource: { sourceId: string; accepted: number; rejected: number; duplicate: number }[];
  }>("/api/v1/stats/activity?window=24h").catch(() => null);
  const counts = activity?.bySource.find((s) => s.sourceId === source.id) ?? {
    accepted: 0,
    rejected: 0,
    duplicate: 0,
  };
  const abort = new AbortController();
  const live = h("p", { class: "muted", "aria-live": "polite" }, "Connecting…");
  const requests = pagedTable<Received>({
    label: "Received requests",
    empty: "Nothing received yet: send something to the ingest URL.",
    load: (iterator) =>
      get<Page<Received>>(withQuery(`${base(source.id)}/request`, { limit: "50", iterator })),
    columns: [
      { title: "Received", cell: (r) => time(r.receivedAt) },
      {
        title: "Request",
        cell: (r) =>
          h(
            "a",
            { href: `#/sources/${enc(source.id)}/requests/${enc(r.id)}` },
            `${r.method} ${target(r)}`,
          ),
      },
      {
        title: "Verdict",
        cell: (r) =>
          h(
            "span",
            null,
            verdict(r),
            r.reason === null ? null : h("small", { class: "muted" }, ` ${r.reason}`),
          ),
      },
      { title: "Event", cell: (r) => r.eventType ?? "—" },
      { title: "Size", cell: (r) => `${r.bodyBytes} B` },
      { title: "From", cell: (r) => r.sourceIp },
    ],
    live: (prepend) => {
      // A request can come both in the first page and on the stream: shown once.
      const shown = new Set<string>();
      stream(`${base(source.id)}/request/stream`, abort.signal, (event, data) => {
        if (event === "open") {
          live.textContent = "Live: new requests appear at the top.";
          return;
        }
        if (event !== "request") return;
        const r = JSON.parse(data) as Received;
        if (shown.has(r.id)) return;
        shown.add(r.id);
        prepend(r);
      }).then(
        () => (live.textContent = "The live view ended; reload to reconnect."),
        (err: unknown) => {
          if (!abort.signal.aborted)
            live.textContent = `The live view stopped: ${err instanceof Error ? err.message : String(err)}`;
        },
      );
    },
  });
  return {
    title: source.name,
    cleanup: () => abort.abort(),
    body: h(
      "section",
      null,
      h(
        "p",
        { class: "crumbs" },
        h(
          "a",
          { href: source.type === "request-bin" ? "#/bins" : "#/sources" },
          source.type === "request-bin" ? "Bins" : "Sources",
        ),
        " / ",
        source.name,
      ),
      h("h1", null, source.name, " ", h("small", { class: "muted" }, source.type)),
      h(
        "dl",
        { class: "facts" },
        h("dt", null, "Ingest URL"),
        h("dd", null, h("code", null, source.ingestUrl), " ", copyButton(source.ingestUrl)),
        h("dt", null, "Id"),
        h("dd", null, h("code", null, source.id)),
        h("dt", null, "Last day"),
        h(
          "dd",
          null,
          badge(`${counts.accepted} accepted`, "ok"),
          " ",
          badge(`${counts.rejected} rejected`, counts.rejected > 0 ? "bad" : "neutral"),
          " ",
          badge(`${counts.duplicate} duplicates`, "neutral"),
        ),
      ),
      source.type === "request-bin" ? answerForm(source) : null,
      h("h2", null, "Requests"),
      live,
      requests,
      h(
        "p",
        null,
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: () => {
              if (confirm(`Delete ${source.name} and what it received?`))
                void del(base(source.id)).then(() => (location.hash = "#/sources"));
            },
          },
          "Delete source",
        ),
      ),
    ),
  };
}

function answerForm(source: Source): HTMLElement {
  const config = source.config;
  const setting = (name: string, fallback: string) => {
    const value = config[name];
    return typeof value === "string" || typeof value === "number" ? String(value) : fallback;
  };
  const status = h("input", {
    name: "responseStatus",
    type: "number",
    min: "200",
    max: "599",
    value: setting("responseStatus", "200"),
  });
  const body = h("textarea", { name: "responseBody", rows: "3" });
  body.value = typeof config["responseBody"] === "string" ? config["responseBody"] : "";
  const contentType = h("input", {
    name: "responseContentType",
    value: setting("responseContentType", ""),
  });
  const delay = h("input", {
    name: "responseDelayMs",
    type: "number",
    min: "0",
    max: "30000",
    value: setting("responseDelayMs", "0"),
  });
  const message = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card", "aria-label": "The bin's answer" },
    h("h2", null, "Answer"),
    field("Status", status),
    field("Body", body),
    field("Content type", contentType),
    field("Delay (ms)", delay),
    h("button", { type: "submit" }, "Save answer"),
    message,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next: Record<string, unknown> = {
      ...config,
      responseStatus: Number(status.value),
      responseDelayMs: Number(delay.value),
    };
    if (body.value === "") delete next["responseBody"];
    else next["responseBody"] = body.value;
    if (contentType.value === "") delete next["responseContentType"];
    else next["responseContentType"] = contentType.value;
    put(base(source.id), {
      name: source.name,
      ...(source.uid !== null && { uid: source.uid }),
      type: source.type,
      config: next,
    }).then(
      () =>
        replace(
          message,
          h("p", { class: "ok-text" }, "Saved: the bin answers this way from now on."),
        ),
      (err: unknown) => replace(message, errorBox(err)),
    );
  });
  return form;
}
