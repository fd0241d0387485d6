import type { AuditEntry } from "../model.js";

/** Field names whose values are credentials: an audit entry says they changed, never to what. */
const SECRET_FIELD = /secret|token|password|passphrase|private|key$|^key|authorization|credential/i;
/** URLs that carry a credential: a source's ingest URL (its token), a portal link (`#token=`). */
const CREDENTIAL_URL_FIELD = /^(ingestUrl|url)$/;
/** Fields that hold content (a payload, a received body): never copied into the log. */
const CONTENT_FIELD = /^(payload|body|rawBody|responseBody)$/;
/**
 * Maps whose names are recorded but not their values: custom headers (cookies, keys) and a
 * rule's `env` (a webhook URL is a credential as much as a token is).
 */
const HEADER_MAP_FIELD = /^(headers|env)$/;
export const MASK = "********";

type Changes = AuditEntry["changes"];
type Json = Record<string, unknown>;

/** Fields set by a change that had no previous state (a create, an action's body). */
export function createdFields(after: Json): Changes {
  const changes: Changes = {};
  for (const [field, value] of Object.entries(after)) {
    if (CONTENT_FIELD.test(field)) continue;
    changes[field] = { to: masked(field, value) };
  }
  return changes;
}

/**
 * What a delete removed: the object's plain facts (ids, names, URLs, flags), not its content or
 * nested objects — a deleted request's body or a message's payload must not survive in the log.
 */
export function deletedFields(before: Json): Changes {
  const changes: Changes = {};
  for (const [field, value] of Object.entries(before)) {
    if (CONTENT_FIELD.test(field) || HEADER_MAP_FIELD.test(field)) continue;
    const plain =
      value === null ||
      typeof value === "number" ||
      typeof value === "boolean" ||
      (typeof value === "string" && value.length <= 1024);
    if (plain) changes[field] = { from: masked(field, value) };
  }
  return changes;
}

/**
 * The top-level fields whose JSON differs between two states of an object, `from` and `to`
 * each; a secret field that changed shows the mask on both sides. Timestamps of the change
 * itself (`updatedAt`) are left out: they always differ and say nothing the entry's time does not.
 * `input` (the request's body) adds the secrets it set, which the object's answer only shows as
 * set or not: `{ to: "********" }` says they changed.
 */
export function changedFields(before: Json, after: Json, input: Json | null = null): Changes {
  const changes: Changes = {};
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (field === "updatedAt" || CONTENT_FIELD.test(field)) continue;
    const from = before[field];
    const to = after[field];
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    changes[field] = {
      ...(from !== undefined && { from: masked(field, from) }),
      ...(to !== undefined && { to: masked(field, to) }),
    };
  }
  for (const [field, value] of Object.entries(input ?? {})) {
    if (field in changes || !holdsSecret(field, value)) continue;
    changes[field] = { to: masked(field, value) };
  }
  return changes;
}

/** `value` with credentials masked: the field's own, and those of objects nested in it. */
export function masked(field: string, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (SECRET_FIELD.test(field)) return MASK;
  if (typeof value === "string" && CREDENTIAL_URL_FIELD.test(field)) return maskedUrl(value);
  if (HEADER_MAP_FIELD.test(field) && typeof value === "object" && !Array.isArray(value)) {
    return Object.fromEntries(Object.keys(value).map((name) => [name, MASK]));
  }
  if (Array.isArray(value)) return value.map((item) => masked("", item));
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Json).map(([key, inner]) => [key, masked(key, inner)]),
    );
  }
  return value;
}

/** An ingest URL without its token (`/in/<token>`), a portal link without its `#token=…`. */
function maskedUrl(url: string): string {
  return url.replace(/\/in\/[^/?#]+/, `/in/${MASK}`).replace(/#token=.*$/, `#token=${MASK}`);
}

/** Whether `value` is, or holds at some depth, a secret field. */
function holdsSecret(field: string, value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (SECRET_FIELD.test(field)) return true;
  if (typeof value !== "object" || Array.isArray(value)) return false;
  return Object.entries(value as Json).some(([key, inner]) => holdsSecret(key, inner));
}
