import type { AuditEntry } from "../model.js";

/** Field names whose values are credentials: an audit entry says they changed, never to what. */
const SECRET_FIELD = /secret|token|password|passphrase|private|key$|^key|authorization|credential/i;
export const MASK = "********";

type Changes = AuditEntry["changes"];
type Json = Record<string, unknown>;

/** Fields set by a change that had no previous state (a create, an action's body). */
export function createdFields(after: Json): Changes {
  const changes: Changes = {};
  for (const [field, value] of Object.entries(after)) changes[field] = { to: masked(field, value) };
  return changes;
}

/** Fields of an object that is gone (a delete). */
export function deletedFields(before: Json): Changes {
  const changes: Changes = {};
  for (const [field, value] of Object.entries(before)) {
    changes[field] = { from: masked(field, value) };
  }
  return changes;
}

/**
 * The top-level fields whose JSON differs between two states of an object, `from` and `to`
 * each; a secret field that changed shows the mask on both sides. Timestamps of the change
 * itself (`updatedAt`) are left out: they always differ and say nothing the entry's time does not.
 */
export function changedFields(before: Json, after: Json): Changes {
  const changes: Changes = {};
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (field === "updatedAt") continue;
    const from = before[field];
    const to = after[field];
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    changes[field] = {
      ...(from !== undefined && { from: masked(field, from) }),
      ...(to !== undefined && { to: masked(field, to) }),
    };
  }
  return changes;
}

/** `value` with credentials masked: the field's own, and those of objects nested in it. */
export function masked(field: string, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (SECRET_FIELD.test(field)) return MASK;
  if (Array.isArray(value)) return value.map((item) => masked("", item));
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Json).map(([key, inner]) => [key, masked(key, inner)]),
    );
  }
  return value;
}
