import { KindGuard } from "@sinclair/typebox";
import type { TSchema } from "@sinclair/typebox";
import { ConfigSchema } from "./schema.js";

/**
 * The config schema flattened to its leaves, in declaration order. `load.ts` parses and validates
 * through it and `cli/help.ts` renders it, so both always agree with `schema.ts`.
 */

/** How a leaf's value is written as text (env var, CLI flag) and described in messages. */
export type ValueShape =
  | { kind: "integer"; minimum: number | undefined; maximum: number | undefined }
  | { kind: "number"; positive: boolean }
  | { kind: "string" }
  | { kind: "boolean" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "number-list" }
  | { kind: "string-list" };

export interface ConfigKey {
  /** Dotted path as written in hookyard.yaml, e.g. `server.port` or `server.tls.cert`. */
  path: string;
  /** The top-level mapping the key is in (`server`). */
  section: string;
  /** The last part of the path (`port`, `cert`). */
  name: string;
  schema: TSchema;
  shape: ValueShape;
  nullable: boolean;
  description: string;
  default: unknown;
  env: string;
  /** With its leading dashes, e.g. `--port`. */
  flag: string;
  /** Values are never echoed in messages. */
  secret: boolean;
}

function numberOption(schema: TSchema, key: string): number | undefined {
  const value: unknown = schema[key];
  return typeof value === "number" ? value : undefined;
}

function stringMeta(schema: TSchema, key: string, path: string): string {
  const value: unknown = schema[key];
  if (typeof value !== "string") throw new Error(`config schema: ${path} has no "${key}"`);
  return value;
}

function shapeOf(schema: TSchema, path: string): ValueShape {
  if (KindGuard.IsInteger(schema)) {
    return {
      kind: "integer",
      minimum: numberOption(schema, "minimum"),
      maximum: numberOption(schema, "maximum"),
    };
  }
  if (KindGuard.IsNumber(schema)) {
    return { kind: "number", positive: numberOption(schema, "exclusiveMinimum") === 0 };
  }
  if (KindGuard.IsString(schema)) return { kind: "string" };
  if (KindGuard.IsBoolean(schema)) return { kind: "boolean" };
  if (KindGuard.IsUnion(schema) && schema.anyOf.every((s) => KindGuard.IsLiteral(s))) {
    return { kind: "enum", values: schema.anyOf.map((s) => String(s["const"])) };
  }
  if (KindGuard.IsArray(schema)) {
    if (KindGuard.IsNumber(schema.items)) return { kind: "number-list" };
    if (KindGuard.IsString(schema.items)) return { kind: "string-list" };
  }
  throw new Error(`config schema: ${path} has a shape the loader cannot read from text`);
}

function leafOf(section: string, path: string, schema: TSchema): ConfigKey {
  const name = path.slice(path.lastIndexOf(".") + 1);
  const nonNull =
    KindGuard.IsUnion(schema) && schema.anyOf.some((s) => KindGuard.IsNull(s))
      ? schema.anyOf.filter((s) => !KindGuard.IsNull(s))
      : [schema];
  const inner = nonNull.length === 1 ? nonNull[0] : undefined;
  if (inner === undefined) throw new Error(`config schema: ${path} must have one non-null type`);
  return {
    path,
    section,
    name,
    schema,
    shape: shapeOf(inner, path),
    nullable: inner !== schema,
    description: stringMeta(schema, "description", path),
    default: schema.default as unknown,
    env: stringMeta(schema, "env", path),
    flag: stringMeta(schema, "flag", path),
    secret: schema["secret"] === true,
  };
}

function flatten(): readonly ConfigKey[] {
  const keys: ConfigKey[] = [];
  // A group (`server.tls`) is an object without a setting's metadata; its leaves are keys.
  const walk = (section: string, at: string, schema: TSchema) => {
    for (const [name, child] of Object.entries(schema.properties as Record<string, TSchema>)) {
      const path = `${at}.${name}`;
      if (KindGuard.IsObject(child) && child["env"] === undefined) walk(section, path, child);
      else keys.push(leafOf(section, path, child));
    }
  };
  for (const [section, sectionSchema] of Object.entries(ConfigSchema.properties)) {
    walk(section, section, sectionSchema);
  }
  return Object.freeze(keys);
}

/** The names directly under `at` (`server`, `server.tls`), keys and groups, in order. */
export function childrenOf(at: string): string[] {
  const names = CONFIG_KEYS.filter((key) => key.path.startsWith(`${at}.`)).map(
    (key) => key.path.slice(at.length + 1).split(".")[0] ?? "",
  );
  return [...new Set(names)];
}

export const CONFIG_KEYS: readonly ConfigKey[] = flatten();

/** A human phrase for what a key accepts, e.g. `an integer 0–65535`. `text` is the env/flag form. */
export function describeExpected(key: ConfigKey, form: "text" | "yaml"): string {
  const base = describeShape(key.shape, form);
  if (!key.nullable) return base;
  return form === "text" ? `${base} (empty for none)` : `${base} or null`;
}

function describeShape(shape: ValueShape, form: "text" | "yaml"): string {
  switch (shape.kind) {
    case "integer": {
      const { minimum, maximum } = shape;
      if (minimum !== undefined && maximum !== undefined) {
        return `an integer ${minimum}–${maximum}`;
      }
      if (minimum !== undefined) return `an integer ≥ ${minimum}`;
      return "an integer";
    }
    case "number":
      return shape.positive ? "a positive number" : "a number";
    case "string":
      return "a non-empty string";
    case "boolean":
      return "true or false";
    case "enum":
      return `one of ${shape.values.join(", ")}`;
    case "number-list":
      return form === "text"
        ? "a comma-separated list of positive numbers"
        : "a list of positive numbers";
    case "string-list":
      return form === "text" ? "a comma-separated list" : "a list of strings";
    default: {
      const unhandled: never = shape;
      return unhandled;
    }
  }
}

/** The `<placeholder>` shown after a flag in `--help`. */
export function placeholderOf(key: ConfigKey): string {
  switch (key.shape.kind) {
    case "integer":
      return "<int>";
    case "number":
      return "<number>";
    case "string":
      return "<string>";
    case "boolean":
      return "<true|false>";
    case "enum":
      return `<${key.shape.values.join("|")}>`;
    case "number-list":
      return "<n,n,...>";
    case "string-list":
      return "<a,b,...>";
    default: {
      const unhandled: never = key.shape;
      return unhandled;
    }
  }
}
