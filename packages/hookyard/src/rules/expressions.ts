import { Environment, ParseError } from "@marcbachmann/cel-js";
import jsonata from "jsonata";
import { celCostProblem } from "../cel-cost.js";

/**
 * The expression languages of rulebooks: CEL for conditions and `{{ … }}` templates, JSONata for
 * `transform`. Neither can run code, loop for ever or touch the machine (which is why they are
 * used instead of JavaScript); each is compiled once when a rulebook loads, so a typo is a load
 * error with its line, not a failure at the first event.
 */

/** What an expression sees: the event, the variables `set` so far, and earlier actions' results. */
export interface ExpressionScope {
  event: unknown;
  vars: Record<string, unknown>;
  steps: Record<string, unknown>;
}

/** An expression that failed to compile; `message` says where in the expression. */
export class ExpressionError extends Error {}

const env = new Environment({
  unlistedVariablesAreDyn: true,
  enableOptionalTypes: true,
  homogeneousAggregateLiterals: false,
  limits: { maxAstNodes: 10_000, maxDepth: 64, maxListElements: 1_000, maxMapEntries: 1_000 },
});

export type Compiled = (scope: ExpressionScope) => unknown;

/** Compiles one CEL expression; its result is converted to plain JSON values. */
export function compileCel(source: string): Compiled {
  let evaluate: ReturnType<typeof env.parse>;
  try {
    evaluate = env.parse(source);
  } catch (err) {
    throw new ExpressionError(celMessage(err));
  }
  const costly = celCostProblem(evaluate.ast);
  if (costly !== null) throw new ExpressionError(costly);
  return (scope) => plain(evaluate(scope));
}

/** A CEL condition: true or false, and an error when it yields anything else. */
export function compileCondition(source: string): (scope: ExpressionScope) => boolean {
  const evaluate = compileCel(source);
  return (scope) => {
    const value = evaluate(scope);
    if (typeof value !== "boolean") {
      throw new Error(`the condition gave ${describe(value)}, not true or false`);
    }
    return value;
  };
}

const TEMPLATE = /\{\{([\s\S]*?)\}\}/g;

/**
 * A part of a condition that an index can test without evaluating it: the condition is false
 * whenever the event's value at `path` (from the event's root) is a text other than `value`.
 */
export interface Guard {
  path: readonly string[];
  value: string;
}

/**
 * The guards of a CEL condition: each `event.a.b == "text"` (or `event.headers["x"] == "text"`)
 * joined to the rest by a top-level `&&`. When such a part is false the whole condition is false,
 * whatever the other parts give (CEL's `&&` is false if either side is false, even when the other
 * errs), so a rule whose guard fails can be skipped without a change in outcome.
 */
export function celGuards(source: string): Guard[] {
  return celConjuncts(source).guards;
}

/**
 * The guards of a CEL condition, and whether they are all of it (`complete`): then, when each
 * guarded value is a text, the guards alone give the condition's result.
 */
export function celConjuncts(source: string): { guards: Guard[]; complete: boolean } {
  let ast: CelNode;
  try {
    ast = env.parse(source).ast;
  } catch {
    return { guards: [], complete: false };
  }
  const guards: Guard[] = [];
  let complete = true;
  const visit = (node: CelNode): void => {
    if (node.op === "&&") {
      for (const arg of node.args as CelNode[]) visit(arg);
      return;
    }
    const guard = guardOf(node);
    if (guard === null) complete = false;
    else guards.push(guard);
  };
  visit(ast);
  return { guards, complete: complete && guards.length > 0 };
}

function guardOf(node: CelNode): Guard | null {
  if (node.op !== "==") return null;
  const [left, right] = node.args as [CelNode, CelNode];
  const [field, literal] = left.op === "value" ? [right, left] : [left, right];
  if (literal.op !== "value" || typeof literal.args !== "string") return null;
  const path = eventPath(field);
  return path !== null && path.length > 0 ? { path, value: literal.args } : null;
}

interface CelNode {
  op: string;
  args: unknown;
}

/** `event.a["b"].c` as ["a", "b", "c"]; null for anything else. */
function eventPath(node: CelNode): string[] | null {
  if (node.op === "id") return node.args === "event" ? [] : null;
  if (node.op === ".") {
    const [object, key] = node.args as [CelNode, string];
    const path = eventPath(object);
    return path === null ? null : [...path, key];
  }
  if (node.op === "[]") {
    const [object, key] = node.args as [CelNode, CelNode];
    if (key.op !== "value" || typeof key.args !== "string") return null;
    const path = eventPath(object);
    return path === null ? null : [...path, key.args];
  }
  return null;
}

/**
 * A text with `{{ cel }}` placeholders. A text that is one placeholder and nothing else yields
 * the expression's value as it is (an object, a number); otherwise each value is written into the
 * text (strings as they are, anything else as JSON). A text without placeholders is a constant.
 */
export function compileTemplate(text: string): Compiled {
  const parts: Array<string | Compiled> = [];
  let last = 0;
  for (const match of text.matchAll(TEMPLATE)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    const expression = match[1]!.trim();
    if (expression === "") throw new ExpressionError("an empty {{ }} placeholder");
    parts.push(compileCel(expression));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  if (parts.length === 0) return () => "";
  if (parts.length === 1) {
    const only = parts[0]!;
    return typeof only === "string" ? () => only : only;
  }
  return (scope) =>
    parts.map((part) => (typeof part === "string" ? part : asText(part(scope)))).join("");
}

/** Compiles every string inside a YAML value (objects, lists) as a template. */
export function compileValue(value: unknown): Compiled {
  if (typeof value === "string") return compileTemplate(value);
  if (Array.isArray(value)) {
    const items = value.map(compileValue);
    return (scope) => items.map((item) => item(scope));
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => [k, compileValue(v)] as const);
    return (scope) => Object.fromEntries(entries.map(([k, v]) => [k, v(scope)]));
  }
  return () => value;
}

/** A JSONata expression over `{event, vars, steps}`; compiled now, evaluated asynchronously. */
export function compileJsonata(source: string): (scope: ExpressionScope) => Promise<unknown> {
  let expression: ReturnType<typeof jsonata>;
  try {
    expression = jsonata(source);
  } catch (err) {
    const { message, position } = err as { message?: string; position?: number };
    throw new ExpressionError(
      `${message ?? String(err)}${position === undefined ? "" : ` (at character ${position})`}`,
    );
  }
  // Called by JSONata around every step it evaluates: the one place a runaway expression (deep
  // recursion, a range mapped over a range) can be stopped, since it never yields to the event
  // loop. The budget is the evaluation's own (a binding), so concurrent runs do not share one.
  expression.assign(ENTRY as unknown as string, (_e: unknown, _i: unknown, frame: Frame) => {
    const budget = frame.lookup(BUDGET) as Budget;
    if (++budget.depth > JSONATA_MAX_DEPTH) {
      throw new Error(`stopped: the expression nests deeper than ${JSONATA_MAX_DEPTH} steps`);
    }
    if (performance.now() > budget.deadline) {
      throw new Error(`stopped: the expression ran longer than ${JSONATA_MAX_MS} ms`);
    }
  });
  expression.assign(EXIT as unknown as string, (_e: unknown, _i: unknown, frame: Frame) => {
    (frame.lookup(BUDGET) as Budget).depth--;
  });
  return async (scope) => {
    // CPU time spent evaluating, not domain time: the budget holds under a test's fake clock too.
    const budget: Budget = { depth: 0, deadline: performance.now() + JSONATA_MAX_MS };
    let result: unknown;
    try {
      result = (await expression.evaluate(scope, { [BUDGET]: budget })) as unknown;
    } catch (err) {
      const { message } = err as { message?: string };
      throw new Error(message ?? String(err));
    }
    const size = result === undefined ? 0 : (JSON.stringify(result)?.length ?? 0);
    if (size > JSONATA_MAX_RESULT_CHARS) {
      throw new Error(
        `stopped: the result is ${size} characters of JSON, more than ${JSONATA_MAX_RESULT_CHARS}`,
      );
    }
    return result;
  };
}

/** A transform gets this long, this deep and this large a result; past it, its run fails. */
const JSONATA_MAX_MS = 200;
const JSONATA_MAX_DEPTH = 500;
const JSONATA_MAX_RESULT_CHARS = 16 * 1024 * 1024;
const ENTRY = Symbol.for("jsonata.__evaluate_entry");
const EXIT = Symbol.for("jsonata.__evaluate_exit");
const BUDGET = "__hookyard_budget";
interface Budget {
  depth: number;
  deadline: number;
}
interface Frame {
  lookup(name: string): unknown;
}

/** A value as text inside a template: strings as they are, the rest as JSON. */
export function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  return JSON.stringify(value);
}

function describe(value: unknown): string {
  return value === null ? "null" : `a ${Array.isArray(value) ? "list" : typeof value}`;
}

/**
 * CEL values as JSON values: CEL integers are BigInts (numbers where they fit), maps may be Maps,
 * and optionals are unwrapped.
 */
export function plain(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object" && value !== null) {
    const optional = value as { hasValue?: () => boolean; value?: () => unknown };
    if (typeof optional.hasValue === "function" && typeof optional.value === "function") {
      return optional.hasValue() ? plain(optional.value()) : null;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function celMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // The library's message is the error, a blank line, then the expression with a caret.
  return err instanceof ParseError ? message.replace(/\n\s*\n/, "\n") : message;
}
