import type { Guard } from "./expressions.js";
import type { Rule } from "./rulebook.js";

/**
 * The rules listening to one origin, indexed by their guards (see `Guard`): for an event, only
 * the rules whose chosen guard holds, and those without one, are candidates whose condition is
 * evaluated. The rest would give false anyway. With many rules on one source (a rule per event
 * type or branch, say), this keeps the cost per event close to that of the rules that match.
 */
export class RuleIndex {
  readonly #order: Map<Rule, number>;
  readonly #unguarded: Rule[] = [];
  readonly #byPath: Array<{ path: readonly string[]; byValue: Map<string, Rule[]>; all: Rule[] }> =
    [];

  constructor(rules: readonly Rule[]) {
    this.#order = new Map(rules.map((rule, i) => [rule, i]));
    // Each rule is filed under its most selective guard: the (path, value) fewest rules share.
    const shared = new Map<string, number>();
    for (const rule of rules) {
      for (const guard of rule.guards) {
        const key = guardKey(guard);
        shared.set(key, (shared.get(key) ?? 0) + 1);
      }
    }
    for (const rule of rules) {
      let best: Guard | null = null;
      for (const guard of rule.guards) {
        if (best === null || shared.get(guardKey(guard))! < shared.get(guardKey(best))!) {
          best = guard;
        }
      }
      if (best === null) {
        this.#unguarded.push(rule);
        continue;
      }
      const pathKey = JSON.stringify(best.path);
      let bucket = this.#byPath.find((b) => JSON.stringify(b.path) === pathKey);
      if (bucket === undefined) {
        bucket = { path: best.path, byValue: new Map(), all: [] };
        this.#byPath.push(bucket);
      }
      bucket.all.push(rule);
      const list = bucket.byValue.get(best.value) ?? [];
      list.push(rule);
      bucket.byValue.set(best.value, list);
    }
  }

  /** The rules whose condition must be evaluated for `event`, in rulebook order. */
  candidates(event: unknown): Rule[] {
    if (this.#byPath.length === 0) return this.#unguarded;
    const found = [...this.#unguarded];
    for (const bucket of this.#byPath) {
      const value = valueAt(event, bucket.path);
      // A missing or non-text value decides nothing: the condition itself says (or errs).
      const rules = typeof value === "string" ? bucket.byValue.get(value) : bucket.all;
      if (rules !== undefined) found.push(...rules);
    }
    if (found.length > 1) found.sort((a, b) => this.#order.get(a)! - this.#order.get(b)!);
    return found;
  }
}

function guardKey(guard: Guard): string {
  return JSON.stringify([guard.path, guard.value]);
}

/**
 * What a rule decided only by its guards gives for `event` without evaluating its condition:
 * false when a guarded value is a text other than the guard's (CEL's `&&` is then false, whatever
 * the rest gives), true when every one is the guard's, null when some value is not a text (the
 * condition itself then says, or errs).
 */
export function guardsDecide(guards: readonly Guard[], event: unknown): boolean | null {
  let decided = true;
  for (const guard of guards) {
    const value = valueAt(event, guard.path);
    if (typeof value !== "string") decided = false;
    else if (value !== guard.value) return false;
  }
  return decided ? true : null;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let at = value;
  for (const key of path) {
    if (typeof at !== "object" || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}
