import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { parseDocument } from "yaml";
import { parseCidr } from "../delivery/ssrf-guard.js";
import { ConfigError } from "./config-error.js";
import type { ConfigSource } from "./config-error.js";
import { CONFIG_KEYS, childrenOf, describeExpected } from "./keys.js";
import type { ConfigKey } from "./keys.js";
import { CONFIG_FILE_SETTING, ConfigSchema } from "./schema.js";
import type { Config } from "./schema.js";

export interface LoadConfigRequest {
  /** Usually `process.env`; only `HOOKYARD_*` names and the tracing keys' `OTEL_*` are read. */
  env: Readonly<Record<string, string | undefined>>;
  /** Raw flag values by long name without dashes (`port`, `database-url`), as parseArgs returns. */
  flags: Readonly<Record<string, string | undefined>>;
  /**
   * The `--config` path. Absent: `HOOKYARD_CONFIG`, else `hookyard.yaml` in `cwd` if it exists.
   * null: read no file at all. A named file that does not exist is an error.
   */
  configFile?: string | null;
  cwd: string;
  /**
   * Defaults of a command, by key path (`server.host`), in place of the schema's: `hookyard dev`
   * starts from its own. The file, environment and flags still override them.
   */
  defaults?: Readonly<Record<string, unknown>>;
}

/** The config being built: sections, and in them values or groups (`server.tls`). */
type Sections = Record<string, Record<string, unknown>>;

/**
 * Builds the configuration from defaults < YAML file < `HOOKYARD_*` env < CLI flags, validates
 * every value where it enters and returns a deeply frozen `Config`.
 * @throws ConfigError naming the key and its source.
 */
export function loadConfig(req: LoadConfigRequest): Config {
  const sections = defaultSections();
  for (const [path, value] of Object.entries(req.defaults ?? {})) {
    const key = CONFIG_KEYS.find((k) => k.path === path);
    if (key === undefined) throw new Error(`config: no key ${path} to default`);
    setValue(sections, key, structuredClone(value));
  }
  const file = locateConfigFile(req);
  if (file !== null) applyFile(sections, file);

  for (const key of CONFIG_KEYS) {
    const raw = req.env[key.env];
    if (raw !== undefined) setValue(sections, key, parseText(key, raw, { kind: "env" }));
  }

  const byFlag = new Map(CONFIG_KEYS.map((key) => [key.flag.slice(2), key]));
  for (const [name, raw] of Object.entries(req.flags)) {
    if (raw === undefined) continue;
    const flag = name.replace(/^--?/, "");
    const key = byFlag.get(flag);
    if (key === undefined) throw new ConfigError(`unknown option --${flag}`);
    setValue(sections, key, parseText(key, raw, { kind: "flag" }));
  }

  if (!Value.Check(ConfigSchema, sections)) {
    // Every value was checked on entry, so this is a bug in this file, not in the operator's input.
    const first = Value.Errors(ConfigSchema, sections).First();
    throw new Error(`config: merged value fails the schema at ${first?.path ?? "?"}`);
  }
  return deepFreeze(sections);
}

/** The configuration with nothing set: every key at its schema default. */
export function configDefaults(): Config {
  return loadConfig({ env: {}, flags: {}, configFile: null, cwd: "." });
}

function defaultSections(): Sections {
  const sections: Sections = {};
  for (const key of CONFIG_KEYS) setValue(sections, key, structuredClone(key.default));
  return sections;
}

function setValue(sections: Sections, key: ConfigKey, value: unknown): void {
  const parts = key.path.split(".");
  let at: Record<string, unknown> = sections;
  for (const part of parts.slice(0, -1)) {
    at[part] ??= {};
    at = at[part] as Record<string, unknown>;
  }
  at[key.name] = value;
}

interface ConfigFile {
  absolutePath: string;
  /** As shown in messages: relative to cwd when inside it. */
  shownAs: string;
}

function locateConfigFile(req: LoadConfigRequest): ConfigFile | null {
  if (req.configFile === null) return null;
  const envFile = req.env[CONFIG_FILE_SETTING.env];
  const named =
    req.configFile !== undefined
      ? { path: req.configFile, from: CONFIG_FILE_SETTING.flag }
      : envFile !== undefined && envFile !== ""
        ? { path: envFile, from: CONFIG_FILE_SETTING.env }
        : null;
  if (named === null) {
    const absolutePath = resolve(req.cwd, CONFIG_FILE_SETTING.defaultFileName);
    return existsSync(absolutePath)
      ? { absolutePath, shownAs: CONFIG_FILE_SETTING.defaultFileName }
      : null;
  }
  const absolutePath = resolve(req.cwd, named.path);
  const inside = relative(req.cwd, absolutePath);
  const shownAs = inside.startsWith("..") || isAbsolute(inside) ? absolutePath : inside;
  if (!existsSync(absolutePath)) {
    throw new ConfigError(`config file not found: ${shownAs} (named by ${named.from})`);
  }
  return { absolutePath, shownAs };
}

function applyFile(sections: Sections, file: ConfigFile): void {
  const source: ConfigSource = { kind: "file", file: file.shownAs };
  let text: string;
  try {
    text = readFileSync(file.absolutePath, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file.shownAs}: ${errorText(err)}`, {
      source,
      cause: err,
    });
  }
  const doc = parseDocument(text);
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const firstLine = yamlError.message.split("\n")[0] ?? "";
    throw new ConfigError(`invalid YAML in ${file.shownAs}: ${firstLine}`, { source });
  }
  const root: unknown = doc.toJS();
  if (root === null || root === undefined) return; // empty or comments only
  if (!isMapping(root)) {
    throw new ConfigError(`invalid ${file.shownAs}: expected a mapping of sections at the top`, {
      source,
    });
  }
  for (const [section, body] of Object.entries(root)) {
    const known = CONFIG_KEYS.filter((key) => key.section === section);
    if (known.length === 0) {
      throw new ConfigError(
        `unknown key "${section}" in ${file.shownAs} (sections: ${sectionNames().join(", ")})`,
        { key: section, source },
      );
    }
    if (body === null) continue; // a section whose keys are all commented out
    if (!isMapping(body)) {
      throw new ConfigError(`invalid ${section} (${file.shownAs}): expected a mapping of keys`, {
        key: section,
        source,
      });
    }
    applyMapping(sections, section, body, source, file.shownAs);
  }
}

/** The keys and groups of the mapping at `at` (`server`, `server.tls`) in the file. */
function applyMapping(
  sections: Sections,
  at: string,
  body: Record<string, unknown>,
  source: ConfigSource,
  shownAs: string,
): void {
  const children = childrenOf(at);
  for (const [name, value] of Object.entries(body)) {
    const path = `${at}.${name}`;
    const key = CONFIG_KEYS.find((k) => k.path === path);
    if (key !== undefined) {
      setValue(sections, key, checkValue(key, value, value, source));
    } else if (children.includes(name)) {
      if (value === null) continue; // a group whose keys are all commented out
      if (!isMapping(value)) {
        throw new ConfigError(`invalid ${path} (${shownAs}): expected a mapping of keys`, {
          key: path,
          source,
        });
      }
      applyMapping(sections, path, value, source, shownAs);
    } else {
      throw new ConfigError(
        `unknown key "${path}" in ${shownAs} (keys in ${at}: ${children.join(", ")})`,
        { key: path, source },
      );
    }
  }
}

/** Parses the text form used by env vars and flags, then checks it like any other value. */
function parseText(key: ConfigKey, raw: string, source: ConfigSource): unknown {
  const text = raw.trim();
  const parsed = textToValue(key, text);
  if (parsed === INVALID) throw invalid(key, source, `expected ${expected(key, source)}`, raw);
  return checkValue(key, parsed, raw, source);
}

const INVALID = Symbol("invalid");

function textToValue(key: ConfigKey, text: string): unknown {
  if (key.nullable && text === "") return null;
  switch (key.shape.kind) {
    case "integer":
      return /^[+-]?\d+$/.test(text) ? Number(text) : INVALID;
    case "number":
      return toNumber(text);
    case "string":
    case "enum":
      return text;
    case "boolean":
      return text === "true" ? true : text === "false" ? false : INVALID;
    case "number-list": {
      const items = listItems(text);
      if (items === null) return INVALID;
      const numbers = items.map(toNumber);
      return numbers.includes(INVALID) ? INVALID : numbers;
    }
    case "string-list":
      return listItems(text) ?? INVALID;
    default: {
      const unhandled: never = key.shape;
      return unhandled;
    }
  }
}

function toNumber(text: string): number | typeof INVALID {
  const value = Number(text);
  return text !== "" && Number.isFinite(value) ? value : INVALID;
}

/** `""` is the empty list; an empty item (`"1,,2"`) makes the whole list invalid. */
function listItems(text: string): string[] | null {
  if (text === "") return [];
  const items = text.split(",").map((item) => item.trim());
  return items.includes("") ? null : items;
}

/** Schema check plus the rules JSON Schema cannot say; returns the value to store. */
function checkValue(key: ConfigKey, value: unknown, shown: unknown, source: ConfigSource): unknown {
  if (!Value.Check(key.schema, value)) {
    throw invalid(key, source, `expected ${expected(key, source)}`, shown);
  }
  const problem = SEMANTIC_CHECKS[key.path]?.(value) ?? null;
  if (problem !== null) throw invalid(key, source, problem, NOT_SHOWN);
  return value;
}

/** A configured admin key this short could be guessed; generated keys are longer. */
export const MIN_API_KEY_LENGTH = 32;

const SEMANTIC_CHECKS: Readonly<Record<string, (value: unknown) => string | null>> = {
  "database.url": (value) => {
    const url = typeof value === "string" ? value : "";
    if (/^postgres(ql)?:/i.test(url)) {
      // Never echoed: the URL may carry a password.
      const parsed = URL.canParse(url) ? new URL(url) : null;
      return parsed !== null && parsed.hostname !== ""
        ? null
        : "expected postgres://user[:password]@host[:port]/database (the value is not shown: it may hold a password)";
    }
    if (url.replace(/^sqlite:(\/\/)?/, "") === url || !/^sqlite:(\/\/)?./.test(url)) {
      return `expected sqlite:<path> or postgres://user@host:port/database, got ${show(url)}`;
    }
    return null;
  },
  "tracing.endpoint": collectorUrlProblem,
  "tracing.tracesEndpoint": collectorUrlProblem,
  "server.publicUrl": (value) => {
    if (typeof value !== "string") return null; // null: no public URL
    const text = value;
    const protocol = URL.canParse(text) ? new URL(text).protocol : null;
    return protocol === "http:" || protocol === "https:"
      ? null
      : `expected an http(s) URL, got ${show(value)}`;
  },
  "auth.apiKey": (value) =>
    typeof value === "string" && value.length < MIN_API_KEY_LENGTH
      ? `must be at least ${MIN_API_KEY_LENGTH} characters (the value is not shown); generate one with \`openssl rand -hex 24\`, or leave it unset to have one generated`
      : null,
  "rules.allowedCommands": (value) => {
    const entries: readonly unknown[] = Array.isArray(value) ? value : [];
    const bad = entries.find((entry) => typeof entry !== "string" || !isAbsolute(entry));
    return bad === undefined
      ? null
      : `each entry must be an absolute path of a program, got ${show(bad)}`;
  },
  "server.portalFrameAncestors": (value) => {
    const entries: readonly unknown[] = Array.isArray(value) ? value : [];
    // A source list of CSP: an origin or a scheme, no spaces or semicolons that would end it.
    const bad = entries.find(
      (entry) =>
        typeof entry !== "string" || !/^(?:'self'|https?:\/\/[^\s;,']+|https?:|\*)$/.test(entry),
    );
    return bad === undefined
      ? null
      : `each entry must be an origin like https://app.example.com (or 'self'; no wildcards: any site could frame the portal), got ${show(bad)}`;
  },
  "delivery.egressAllow": cidrListProblem,
  "inbound.trustProxy": cidrListProblem,
};

function collectorUrlProblem(value: unknown): string | null {
  if (typeof value !== "string") return null; // null: no tracing
  const protocol = URL.canParse(value) ? new URL(value).protocol : null;
  return protocol === "http:" || protocol === "https:"
    ? null
    : `expected the http(s) URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318, got ${show(value)}`;
}

function cidrListProblem(value: unknown): string | null {
  const entries: readonly unknown[] = Array.isArray(value) ? value : [];
  for (const entry of entries) {
    try {
      parseCidr(typeof entry === "string" ? entry : "");
    } catch (err) {
      return errorText(err);
    }
  }
  return null;
}

function expected(key: ConfigKey, source: ConfigSource): string {
  return describeExpected(key, source.kind === "file" ? "yaml" : "text");
}

const NOT_SHOWN = Symbol("not shown");

function invalid(
  key: ConfigKey,
  source: ConfigSource,
  problem: string,
  shown: unknown,
): ConfigError {
  const got = shown === NOT_SHOWN ? "" : `, got ${key.secret ? "(hidden)" : show(shown)}`;
  return new ConfigError(`invalid ${labelOf(key, source)}: ${problem}${got}`, {
    key: key.path,
    source,
  });
}

/** `HOOKYARD_PORT (env)`, `--port (flag)`, `server.port (hookyard.yaml)`. */
function labelOf(key: ConfigKey, source: ConfigSource): string {
  switch (source.kind) {
    case "env":
      return `${key.env} (env)`;
    case "flag":
      return `${key.flag} (flag)`;
    case "file":
      return `${key.path} (${source.file})`;
    case "default":
      return `${key.path} (default)`;
    default: {
      const unhandled: never = source;
      return unhandled;
    }
  }
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sectionNames(): string[] {
  return [...new Set(CONFIG_KEYS.map((key) => key.section))];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
