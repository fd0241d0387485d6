import { isDeepStrictEqual } from "node:util";
import { parseDocument } from "yaml";
import { ValidationError } from "../errors.js";
import type { EventType } from "../model.js";

/**
 * Svix's `POST /event-type/import/openapi`, the pure half: an OpenAPI document (3.1 `webhooks` or
 * 3.0 `x-webhooks`) becomes event types. Each webhook's key is the event type's name, and its
 * operation gives the description, `deprecated`, the group (first tag) and the schema (the JSON
 * request body's, local `$ref`s inlined, stored as `{"1": schema}`). Every refusal is a
 * ValidationError whose `loc` names the field or webhook at fault.
 */

/** Largest `specRaw` accepted, in characters (the default HTTP body limit is 1 MiB as well). */
export const MAX_SPEC_RAW_CHARS = 1_048_576;

/** Svix's event type name pattern (the same as the route schemas' `ID_PATTERN`). */
const NAME_PATTERN = /^[a-zA-Z0-9\-_.]{1,256}$/;
/** The `description` limit of the event type routes. */
const MAX_DESCRIPTION_CHARS = 4096;
/**
 * Schema nodes the whole document may have once `$ref`s are inlined. Refs used many times
 * multiply, so a small text could otherwise ask for billions; and every schema is then compiled
 * by Ajv, which takes seconds per ten thousand nodes. Real catalogs stay far below this.
 */
const MAX_INLINED_NODES = 50_000;
/**
 * Nodes one event type's schema may have once inlined: Ajv's compile time grows faster than the
 * schema (≈ 1.5 s for 8,000 nodes here), and it runs on the event loop.
 */
const MAX_SCHEMA_NODES = 5_000;
/** Nesting allowed while inlining; deeper is either an attack or a cycle through long chains. */
const MAX_DEPTH = 128;
/** YAML aliases expanded at most this often, so a "billion laughs" text stays small. */
const MAX_YAML_ALIASES = 100;
/** Where a path item's operation is looked for, first match wins. */
const OPERATION_METHODS = ["post", "put", "patch", "get", "delete", "options", "head", "trace"];
const WEBHOOK_KEYS = ["webhooks", "x-webhooks"] as const;

/** The body of the import request: exactly one of the two must be given. */
export interface OpenApiSource {
  /** The document as a JSON object. */
  spec?: Record<string, unknown> | null;
  /** The document as JSON or YAML text. */
  specRaw?: string | null;
}

/** A parsed document and where it came from (`["body", "spec"]` or `["body", "specRaw"]`). */
export interface OpenApiDocument {
  value: Record<string, unknown>;
  loc: string[];
}

/** An event type as a document describes it, in the shape of Svix's `EventTypeFromOpenApi`. */
export interface ImportedEventType {
  name: string;
  description: string;
  /** `{"1": <JSON Schema>}`, or null when the webhook has no JSON request body. */
  schemas: Record<string, unknown> | null;
  deprecated: boolean;
  groupName: string | null;
  /** Always null: OpenAPI has no feature flags, and the import leaves a stored one as it is. */
  featureFlags: string[] | null;
}

/** One webhook of the document: its event type and the `loc` that problems with it name. */
export interface ImportedWebhook {
  eventType: ImportedEventType;
  loc: string[];
}

/** @throws ValidationError unless exactly one of `spec` / `specRaw` holds an object document. */
export function parseOpenApiSource(source: OpenApiSource): OpenApiDocument {
  const hasSpec = source.spec !== undefined && source.spec !== null;
  const hasRaw = source.specRaw !== undefined && source.specRaw !== null;
  if (hasSpec && hasRaw) {
    throw ValidationError.field(["body", "specRaw"], "give either spec or specRaw, not both");
  }
  if (!hasSpec && !hasRaw) {
    throw ValidationError.field(["body", "spec"], "either spec or specRaw must be given");
  }
  const loc = hasSpec ? ["body", "spec"] : ["body", "specRaw"];
  const value = hasSpec ? source.spec : parseRaw(source.specRaw ?? "", loc);
  if (!isObject(value)) {
    throw ValidationError.field(loc, "must be an OpenAPI document (a mapping at the top)");
  }
  return { value, loc };
}

function parseRaw(text: string, loc: string[]): unknown {
  if (text.length > MAX_SPEC_RAW_CHARS) {
    throw ValidationError.field(loc, `must be at most ${MAX_SPEC_RAW_CHARS} characters`);
  }
  // Most documents are JSON: parse them exactly as JSON, and let YAML (a superset) take the rest.
  if (text.trimStart().startsWith("{")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Not strict JSON (a trailing comma, a comment): YAML's flow syntax may still read it.
    }
  }
  const doc = parseDocument(text, { prettyErrors: false });
  const [first] = doc.errors;
  if (first !== undefined) {
    throw ValidationError.field(loc, `is neither valid JSON nor YAML: ${firstLine(first.message)}`);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown;
  } catch (err) {
    // Too many aliases and the like: the text's fault, so a 422 rather than a crash.
    const reason = err instanceof Error ? firstLine(err.message) : String(err);
    throw problem(loc, `is not a usable YAML document: ${reason}`, err);
  }
}

/**
 * The document's webhooks as event types, `webhooks` before `x-webhooks`, each in document order.
 * @throws ValidationError for a document without webhooks, a name that is not a valid event type
 *   name (or appears twice), a `$ref` that is external, dangling or cyclic, or a too long description.
 */
export function webhookEventTypes(document: OpenApiDocument): ImportedWebhook[] {
  const root = document.value;
  const present = WEBHOOK_KEYS.filter((key) => root[key] !== undefined && root[key] !== null);
  if (present.length === 0) {
    throw ValidationError.field(
      document.loc,
      "defines no webhooks: expected `webhooks` (OpenAPI 3.1) or `x-webhooks` (OpenAPI 3.0)",
    );
  }
  const out: ImportedWebhook[] = [];
  const seen = new Set<string>();
  const budget = { nodes: 0 };
  for (const key of present) {
    const webhooks = root[key];
    const mapLoc = [...document.loc, key];
    if (!isObject(webhooks)) {
      throw ValidationError.field(mapLoc, "must map event type names to path items");
    }
    for (const [name, pathItem] of Object.entries(webhooks)) {
      const loc = [...mapLoc, shortened(name)];
      if (!NAME_PATTERN.test(name)) {
        throw ValidationError.field(
          loc,
          `"${shortened(name)}" is not a valid event type name: 1 to 256 letters, digits, "-", "_" or "."`,
        );
      }
      if (seen.has(name)) {
        throw ValidationError.field(loc, `"${name}" is defined under both webhooks and x-webhooks`);
      }
      seen.add(name);
      out.push({ eventType: fromPathItem(name, pathItem, { root, loc, budget }), loc });
    }
  }
  return out;
}

/**
 * True when the stored event type already says what the import says (and is not archived), so
 * importing it again would change nothing. The feature flag is not compared: OpenAPI has none.
 */
export function matchesStored(stored: EventType, imported: ImportedEventType): boolean {
  return (
    !stored.archived &&
    stored.description === imported.description &&
    stored.deprecated === imported.deprecated &&
    stored.groupName === imported.groupName &&
    // Key order is not kept by every store (PostgreSQL's jsonb sorts keys).
    isDeepStrictEqual(stored.schemas, imported.schemas)
  );
}

interface Context {
  root: Record<string, unknown>;
  /** The webhook's, which every problem found while reading it names. */
  loc: string[];
  /** Shared by all webhooks of the document (MAX_INLINED_NODES). */
  budget: { nodes: number };
}

function fromPathItem(name: string, pathItem: unknown, ctx: Context): ImportedEventType {
  const item = follow(pathItem, ctx);
  if (!isObject(item)) throw ValidationError.field(ctx.loc, "must be a path item object");
  const method = OPERATION_METHODS.find((m) => isObject(item[m]));
  // A path item without an operation still names an event type; its own texts describe it.
  const operation = method === undefined ? item : follow(item[method], ctx);
  if (!isObject(operation)) throw ValidationError.field(ctx.loc, `${method} must be an operation`);
  const description = textOf(operation["description"]) ?? textOf(operation["summary"]) ?? "";
  if (description.length > MAX_DESCRIPTION_CHARS) {
    throw ValidationError.field(
      ctx.loc,
      `the description is longer than ${MAX_DESCRIPTION_CHARS} characters`,
    );
  }
  const tags = operation["tags"];
  const firstTag: unknown = Array.isArray(tags) ? tags[0] : undefined;
  const schema = method === undefined ? undefined : requestSchema(operation, ctx);
  const nodesBefore = ctx.budget.nodes;
  const inlined = schema === undefined ? undefined : inline(schema, ctx, [], 0);
  if (ctx.budget.nodes - nodesBefore > MAX_SCHEMA_NODES) {
    throw ValidationError.field(
      ctx.loc,
      `the schema has more than ${MAX_SCHEMA_NODES} nodes once $refs are inlined`,
    );
  }
  return {
    name,
    description,
    schemas: inlined === undefined ? null : { "1": inlined },
    deprecated: operation["deprecated"] === true,
    groupName: typeof firstTag === "string" && NAME_PATTERN.test(firstTag) ? firstTag : null,
    featureFlags: null,
  };
}

/** The operation's JSON request body schema, `$ref`s not yet inlined; undefined when it has none. */
function requestSchema(operation: Record<string, unknown>, ctx: Context): unknown {
  const body = follow(operation["requestBody"], ctx);
  if (!isObject(body)) return undefined;
  const content = follow(body["content"], ctx);
  if (!isObject(content)) return undefined;
  const type = Object.hasOwn(content, "application/json")
    ? "application/json"
    : Object.keys(content).find((t) => /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(t));
  const media = type === undefined ? undefined : follow(content[type], ctx);
  return isObject(media) ? media["schema"] : undefined;
}

/** `value`, or what its `$ref` (chain) points at, for OpenAPI objects that are not schemas. */
function follow(value: unknown, ctx: Context): unknown {
  const seen: string[] = [];
  let current = value;
  while (isObject(current) && typeof current["$ref"] === "string") {
    const ref = current["$ref"];
    if (seen.includes(ref)) throw cyclic(ctx, [...seen, ref]);
    seen.push(ref);
    current = pointer(ctx, ref);
  }
  return current;
}

/** A copy of `value` with every `$ref` replaced by what it points at. */
function inline(value: unknown, ctx: Context, stack: readonly string[], depth: number): unknown {
  if (depth > MAX_DEPTH) {
    throw ValidationError.field(ctx.loc, `the schema nests deeper than ${MAX_DEPTH} levels`);
  }
  if (++ctx.budget.nodes > MAX_INLINED_NODES) {
    throw ValidationError.field(
      ctx.loc,
      `the document's schemas have more than ${MAX_INLINED_NODES} nodes once $refs are inlined`,
    );
  }
  if (Array.isArray(value)) return value.map((v) => inline(v, ctx, stack, depth + 1));
  if (!isObject(value)) return value;
  // fromEntries defines own properties, so a "__proto__" key stays data and never a prototype.
  const copy = (entries: Array<[string, unknown]>) =>
    Object.fromEntries(entries.map(([k, v]) => [k, inline(v, ctx, stack, depth + 1)]));
  const ref = value["$ref"];
  if (typeof ref !== "string") return copy(Object.entries(value));
  if (stack.includes(ref)) throw cyclic(ctx, [...stack.slice(stack.indexOf(ref)), ref]);
  const target = inline(pointer(ctx, ref), ctx, [...stack, ref], depth + 1);
  const siblings = copy(Object.entries(value).filter(([k]) => k !== "$ref"));
  if (Object.keys(siblings).length === 0) return target;
  // OpenAPI 3.1 lets keywords sit next to a $ref (a description, mostly): merged when they do not
  // collide with the target's, else both apply through allOf, as the two schemas would have.
  if (isObject(target) && Object.keys(siblings).every((k) => !Object.hasOwn(target, k))) {
    return { ...target, ...siblings };
  }
  return { allOf: [target], ...siblings };
}

/** What a local `$ref` (`#/components/schemas/Pet`, RFC 6901) points at in the document. */
function pointer(ctx: Context, ref: string): unknown {
  if (!ref.startsWith("#")) {
    throw ValidationError.field(
      ctx.loc,
      `$ref "${ref}" is not local: only references into the document (#/...) are resolved`,
    );
  }
  let tokens: string[];
  try {
    tokens = decodeURIComponent(ref.slice(1))
      .split("/")
      .slice(1)
      .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
  } catch (err) {
    throw problem(ctx.loc, `$ref "${ref}" is not a valid JSON pointer`, err);
  }
  let current: unknown = ctx.root;
  for (const token of tokens) {
    // Own properties only: "#/constructor" must not reach Object.prototype.
    const next: unknown =
      Array.isArray(current) && /^(0|[1-9]\d*)$/.test(token)
        ? current[Number(token)]
        : isObject(current) && Object.hasOwn(current, token)
          ? current[token]
          : undefined;
    if (next === undefined) {
      throw ValidationError.field(ctx.loc, `$ref "${ref}" points at nothing in the document`);
    }
    current = next;
  }
  return current;
}

function cyclic(ctx: Context, chain: string[]): ValidationError {
  return ValidationError.field(
    ctx.loc,
    `$ref cycle ${chain.join(" → ")}: a recursive schema cannot be inlined`,
  );
}

function problem(loc: string[], msg: string, cause: unknown): ValidationError {
  return new ValidationError([{ loc, msg, type: "value_error" }], { cause });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function textOf(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}

/** A name as problems quote it: a 1 MB key is not echoed back whole. */
function shortened(name: string): string {
  return name.length > 260 ? `${name.slice(0, 257)}...` : name;
}
