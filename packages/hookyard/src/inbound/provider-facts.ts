/**
 * What a provider's request says about itself, beyond its signature: its delivery id (to drop
 * duplicates: a provider retries a delivery it thinks failed) and its event type (to filter and
 * route on). Facts per provider: research/inbound.md §1.1 and §5.6.
 */

type Headers = Readonly<Record<string, string | undefined>>;

/**
 * Bodies parsed so far: a request's body is read as JSON when it is received (its facts) and
 * again for the event its rules see; the second time is free. Callers only read the result.
 */
const parsed = new WeakMap<Buffer, { type: string; value: Record<string, unknown> | null }>();

/**
 * The body as JSON, or null if it is not a JSON object (a form, XML, …) or not one that can be
 * handled safely (see `jsonHazard`): such a body is still stored and forwarded byte for byte,
 * only its facts and payload filters do not see into it.
 */
export function jsonBody(
  body: Buffer,
  contentType: string | undefined,
): Record<string, unknown> | null {
  const type = contentType?.toLowerCase() ?? "";
  const seen = parsed.get(body);
  if (seen?.type === type) return seen.value;
  let value: Record<string, unknown> | null = null;
  if (type.includes("json") || (type === "" && body[0] === 0x7b)) {
    try {
      const json: unknown = JSON.parse(body.toString("utf8"));
      if (
        typeof json === "object" &&
        json !== null &&
        !Array.isArray(json) &&
        jsonHazard(json, body) === null
      ) {
        value = json as Record<string, unknown>;
      }
    } catch {
      value = null;
    }
  }
  parsed.set(body, { type, value });
  return value;
}

/** Deepest nesting of a JSON value Hookyard reads into (Svix's JSON parser stops at 128 too). */
export const MAX_JSON_DEPTH = 128;

/** What makes a parsed JSON value unsafe to handle, with where it is (keys from the root). */
export interface JsonHazard {
  kind: "too_deep" | "nul";
  path: string[];
}

/** Whether `text` holds fewer than `limit` `{` and `[` together (in strings too). */
function fewerOpenersThan(text: string | Buffer, limit: number): boolean {
  let count = 0;
  for (const opener of ["{", "["]) {
    for (let at = text.indexOf(opener); at >= 0; at = text.indexOf(opener, at + 1)) {
      if (++count >= limit) return false;
    }
  }
  return true;
}

/**
 * Why a parsed JSON value is unsafe to handle, or null: nested deeper than `MAX_JSON_DEPTH`
 * (recursive code over it, JSON.stringify included, overflows the stack), or a string or key
 * holding U+0000 (PostgreSQL cannot store it in text, so the two stores would disagree). Only
 * a `\u0000` escape puts one there (a raw NUL is invalid JSON): `text` is the parsed text, and
 * without that escape no string is searched. NULs under the root key `nulAllowedUnder` are let
 * through (a message payload is kept as JSON text, where it stays escaped). Iterative: the value
 * may be nested far deeper than the stack allows.
 */
export function jsonHazard(
  value: unknown,
  text: string | Buffer,
  nulAllowedUnder?: string,
): JsonHazard | null {
  interface Container {
    value: object;
    depth: number;
    key: string;
    parent: Container | null;
    nulAllowed: boolean;
  }
  const pathOf = (at: Container, key?: string): string[] => {
    const path = key === undefined ? [] : [key];
    for (let up = at; up.parent !== null; up = up.parent) path.unshift(up.key);
    return path;
  };
  const searchNul = text.includes("\\u0000");
  // Nesting that deep needs that many brackets in the text: most bodies have far fewer, and
  // counting them (natively) is cheaper than walking the parsed value.
  if (!searchNul && fewerOpenersThan(text, MAX_JSON_DEPTH)) return null;
  if (typeof value !== "object" || value === null) {
    return searchNul && typeof value === "string" && value.includes("\0")
      ? { kind: "nul", path: [] }
      : null;
  }
  const stack: Container[] = [{ value, depth: 0, key: "", parent: null, nulAllowed: false }];
  for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
    if (at.depth >= MAX_JSON_DEPTH) return { kind: "too_deep", path: pathOf(at) };
    const entries: Iterable<[number | string, unknown]> = Array.isArray(at.value)
      ? (at.value as unknown[]).entries()
      : Object.entries(at.value);
    for (const [index, child] of entries) {
      const key = String(index);
      const nulAllowed = at.nulAllowed || (at.depth === 0 && key === nulAllowedUnder);
      if (searchNul && !nulAllowed) {
        if (key.includes("\0") || (typeof child === "string" && child.includes("\0"))) {
          return { kind: "nul", path: pathOf(at, key) };
        }
      }
      if (typeof child === "object" && child !== null) {
        stack.push({ value: child, depth: at.depth + 1, key, parent: at, nulAllowed });
      }
    }
  }
  return null;
}

// A NUL is no provider's id or type, and PostgreSQL cannot store it in text.
const text = (value: unknown): string | null =>
  typeof value === "string" && value.length > 0 && !value.includes("\0") ? value : null;

/** The provider's id of this delivery, the same on its retries; null when it sends none. */
export function deliveryIdOf(
  type: string,
  headers: Headers,
  json: Record<string, unknown> | null,
): string | null {
  const h = (name: string) => text(headers[name]);
  switch (type) {
    case "github":
      return h("x-github-delivery");
    case "stripe":
      return text(json?.id); // the event id (evt_…), the same on every retry
    case "slack":
      return text(json?.event_id);
    case "shopify":
      return h("x-shopify-event-id") ?? h("x-shopify-webhook-id");
    case "gitlab":
      return h("idempotency-key") ?? h("webhook-id") ?? h("x-gitlab-event-uuid");
    case "twilio":
      return h("i-twilio-idempotency-token");
    default:
      // Standard Webhooks and Svix senders, and anything that follows the common conventions.
      return h("webhook-id") ?? h("svix-id") ?? h("idempotency-key");
  }
}

/** The provider's event type, or null when the request does not say. */
export function eventTypeOf(
  type: string,
  headers: Headers,
  json: Record<string, unknown> | null,
): string | null {
  const h = (name: string) => text(headers[name]);
  switch (type) {
    case "github":
      return h("x-github-event");
    case "shopify":
      return h("x-shopify-topic");
    case "gitlab":
      return h("x-gitlab-event");
    case "slack": {
      const event = json?.event;
      const inner =
        typeof event === "object" && event !== null
          ? text((event as { type?: unknown }).type)
          : null;
      return inner ?? text(json?.type);
    }
    default:
      return text(json?.type);
  }
}

/**
 * Where a source's config says to find a fact (its event type or delivery id) when the
 * provider's own rule does not fit: a header, or a field of the payload by dotted path
 * (`data.object.type`, `alerts.0.labels.alertname`). The payload is the JSON body, else the
 * form-encoded body, else the query string (senders that only GET).
 */
export interface FactSpec {
  header?: string;
  field?: string;
}

/** The fact `spec` points at, as text; null when the request does not carry it. */
export function factOf(
  spec: FactSpec,
  request: { headers: Headers; body: Buffer; query: string },
  json: Record<string, unknown> | null,
): string | null {
  if (spec.header !== undefined) {
    const value = text(request.headers[spec.header.toLowerCase()]);
    if (value !== null) return value;
  }
  if (spec.field === undefined) return null;
  if (json !== null) return scalarText(fieldAt(json, spec.field));
  const form = request.headers["content-type"]?.toLowerCase().includes("form-urlencoded")
    ? request.body.toString("utf8")
    : request.query;
  return text(new URLSearchParams(form).get(spec.field));
}

/** A dotted path into a value (`alerts.0.labels.alertname`); undefined where it leads nowhere. */
export function fieldAt(value: unknown, path: string): unknown {
  let at = value;
  for (const key of path.split(".")) {
    if (typeof at !== "object" || at === null) return undefined;
    at = Array.isArray(at) ? at[Number(key)] : (at as Record<string, unknown>)[key];
  }
  return at;
}

function scalarText(value: unknown): string | null {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return text(value);
}
