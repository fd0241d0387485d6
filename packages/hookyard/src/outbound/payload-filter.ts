import { Environment } from "@marcbachmann/cel-js";
import { celCostProblem } from "../cel-cost.js";
import { ValidationError } from "../errors.js";
import type { Endpoint, Message } from "../model.js";

/**
 * An endpoint's payload filter: a CEL condition over a message, evaluated once per message at
 * publish, after the event-type and channel filters. Only `true` is a match. A filter that
 * errs on a message (a field the payload lacks, a type mismatch) or gives anything but a boolean
 * does not match, so the endpoint gets no delivery: a filter is a subscription, and delivering
 * what the customer's own condition could not vouch for would break it. The API description of
 * `payloadFilter` (http/schemas/endpoint.ts) says the same to users.
 */

/** The slice of a logger this module needs. */
export interface FilterLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** The longest filter accepted (the API schema's `maxLength` too). */
export const MAX_PAYLOAD_FILTER_LENGTH = 4096;

/**
 * Filters run on the event loop for every message, on payloads (and ingest bodies) up to MiBs:
 * one comprehension over a payload's list is linear, two nested ones are quadratic in it, so a
 * filter may hold one. Counted in the text, so one named in a string literal counts too.
 */
const MAX_COMPREHENSIONS = 1;
const COMPREHENSION = /\.\s*(all|exists|exists_one|map|filter)\s*\(/g;

/** Distinct filter texts kept compiled; one per endpoint is typical, many share one. */
const DEFAULT_MAX_COMPILED_FILTERS = 1_000;

/** What a payload filter sees of a message. */
export interface PayloadFilterScope {
  eventType: string;
  /** The message's payload as parsed JSON. */
  payload: unknown;
  /** [] when the message has none. */
  channels: readonly string[];
  /** [] when the message has none. */
  tags: readonly string[];
}

/** The scope of a stored message (its payload is JSON text; replays judge it by this). */
export function scopeOfMessage(
  message: Pick<Message, "eventType" | "payload" | "channels" | "tags">,
): PayloadFilterScope {
  return {
    eventType: message.eventType,
    payload: JSON.parse(message.payload) as unknown,
    channels: message.channels ?? [],
    tags: message.tags ?? [],
  };
}

/** The outcome for one message: `reason` says why a filter that did not match erred, else null. */
export interface PayloadFilterVerdict {
  matches: boolean;
  reason: string | null;
}

export type CompiledPayloadFilter =
  | { ok: true; evaluate: (scope: PayloadFilterScope) => PayloadFilterVerdict }
  | { ok: false; error: string };

// The variables are declared, unlike a rulebook's (where any name is dyn): a misspelt name is
// then a 422 when the endpoint is saved, not a filter that silently never matches. The options
// and limits are the rulebooks' (rules/expressions.ts), so a condition means the same in both.
const env = new Environment({
  enableOptionalTypes: true,
  homogeneousAggregateLiterals: false,
  limits: { maxAstNodes: 10_000, maxDepth: 64, maxListElements: 1_000, maxMapEntries: 1_000 },
})
  .registerVariable("eventType", "string")
  .registerVariable("payload", "dyn")
  .registerVariable("channels", "list<string>")
  .registerVariable("tags", "list<string>");

/**
 * Compiles and type-checks one filter. A filter whose type is known not to be a boolean (say
 * `eventType`) is refused here; one of type dyn (`payload.flag`) is checked per message.
 */
export function compilePayloadFilter(source: string): CompiledPayloadFilter {
  if (source.length > MAX_PAYLOAD_FILTER_LENGTH) {
    return { ok: false, error: `is longer than ${MAX_PAYLOAD_FILTER_LENGTH} characters` };
  }
  if ((source.match(COMPREHENSION) ?? []).length > MAX_COMPREHENSIONS) {
    return {
      ok: false,
      error: `may use at most ${MAX_COMPREHENSIONS} of all/exists/exists_one/map/filter`,
    };
  }
  let program: ReturnType<typeof env.parse>;
  let type: string | undefined;
  try {
    program = env.parse(source);
    // Evaluated on the event loop for every message: its cost is bounded by its shape.
    const costly = celCostProblem(program.ast);
    if (costly !== null) return { ok: false, error: costly };
    const checked = program.check();
    if (!checked.valid) return { ok: false, error: invalid(checked.error) };
    type = checked.type;
  } catch (err) {
    return { ok: false, error: invalid(err) };
  }
  if (type !== "bool" && type !== "dyn") {
    return { ok: false, error: `must give true or false, not a value of type ${String(type)}` };
  }
  return { ok: true, evaluate: (scope) => verdictOf(program, scope) };
}

function verdictOf(
  program: (context: Record<string, unknown>) => unknown,
  scope: PayloadFilterScope,
): PayloadFilterVerdict {
  let value: unknown;
  try {
    value = program(scope as unknown as Record<string, unknown>);
  } catch (err) {
    // Deliberate: an evaluation error is the "no match" the API documents, not a failed publish.
    // The reason goes to the caller, which logs it.
    return { matches: false, reason: celMessage(err) };
  }
  if (typeof value === "boolean") return { matches: value, reason: null };
  return { matches: false, reason: `the filter gave ${describe(value)}, not true or false` };
}

/**
 * The filter to store for an input value: null (no filter) for absent, null or blank text,
 * else the text as given.
 * @throws ValidationError at `loc` when the filter does not compile, with CEL's message.
 */
export function normalizePayloadFilter(
  value: string | null | undefined,
  loc: string[],
): string | null {
  if (value == null || value.trim() === "") return null;
  const compiled = compilePayloadFilter(value);
  if (!compiled.ok) throw ValidationError.field(loc, compiled.error, "value_error.cel");
  return value;
}

/**
 * Compiled filters by text, so a filter is compiled once however many messages and endpoints
 * use it. Bounded: past `maxEntries` the least recently used is dropped (and compiled again if
 * it comes back).
 */
export class PayloadFilters {
  readonly #compiled = new Map<string, CompiledPayloadFilter>();
  readonly #maxEntries: number;
  readonly #log: FilterLogger | null;

  constructor(deps: { logger?: FilterLogger; maxEntries?: number } = {}) {
    this.#maxEntries = Math.max(1, deps.maxEntries ?? DEFAULT_MAX_COMPILED_FILTERS);
    this.#log = deps.logger ?? null;
  }

  /** Whether the endpoint takes the message: no filter, or its filter gives true. */
  matches(
    endpoint: Pick<Endpoint, "id" | "appId" | "payloadFilter">,
    scope: PayloadFilterScope,
  ): boolean {
    if (endpoint.payloadFilter === null) return true;
    const compiled = this.#lookup(endpoint.payloadFilter, endpoint);
    if (!compiled.ok) return false;
    const verdict = compiled.evaluate(scope);
    if (verdict.reason !== null) {
      this.#log?.debug(
        { appId: endpoint.appId, endpointId: endpoint.id, reason: verdict.reason },
        "payload filter failed on a message: not delivered",
      );
    }
    return verdict.matches;
  }

  /** The compiled filter for a text, from the cache when it is there. */
  compiled(source: string): CompiledPayloadFilter {
    return this.#lookup(source, null);
  }

  /** How many filter texts are compiled now. */
  get size(): number {
    return this.#compiled.size;
  }

  #lookup(source: string, endpoint: Pick<Endpoint, "id" | "appId"> | null): CompiledPayloadFilter {
    const cached = this.#compiled.get(source);
    if (cached !== undefined) {
      // A Map iterates in insertion order: moving a hit to the end makes the first key the
      // least recently used, which is the one evicted.
      this.#compiled.delete(source);
      this.#compiled.set(source, cached);
      return cached;
    }
    const compiled = compilePayloadFilter(source);
    if (!compiled.ok && endpoint !== null) {
      // Saved filters are checked, so this is a filter written past the API (or one a newer CEL
      // library refuses): the endpoint gets nothing until it is fixed.
      this.#log?.warn(
        { appId: endpoint.appId, endpointId: endpoint.id, reason: compiled.error },
        "a stored payload filter does not compile: the endpoint gets no messages",
      );
    }
    if (this.#compiled.size >= this.#maxEntries) {
      const oldest = this.#compiled.keys().next();
      if (oldest.done !== true) this.#compiled.delete(oldest.value);
    }
    this.#compiled.set(source, compiled);
    return compiled;
  }
}

function invalid(err: unknown): string {
  return `is not a valid CEL condition: ${celMessage(err)}`;
}

function celMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // The library's message (parse, type and evaluation errors alike) is the error, a blank line,
  // then the expression with a caret under the place; as in rules/expressions.ts, one line break.
  return message.replace(/\n\s*\n/, "\n");
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "bigint") return "an integer";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
