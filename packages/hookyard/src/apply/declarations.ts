import { createHmac } from "node:crypto";
import { dirname, relative } from "node:path";
import { envRefNames, fillEnvRefs } from "../rules/env-refs.js";
import { notAllowedMessage, type EnvAllowList } from "./env-allow-list.js";
import type { RulebookFile } from "../rules/rules-in-force.js";
import {
  parseRulebookFiles,
  RulebookError,
  unsetVariable,
  type RulebookProblem,
} from "../rules/rulebook.js";
import {
  fieldName,
  readYamlFiles,
  YamlReadError,
  YamlText,
  type YamlPath,
} from "../rules/yaml-files.js";

/**
 * What `hookyard apply` files declare: event types, applications with their endpoints, inbound
 * sources with their destinations, and a rulebook (`notifiers`, `rules`), read from one YAML file
 * or every *.yaml / *.yml of a directory. `${env:NAME}` is filled from the environment of the
 * one running apply, for the names it allows (env-allow-list.ts); the values it filled are
 * remembered so that nothing printed shows them.
 */
export interface Declarations {
  eventTypes: EventTypeDecl[];
  applications: ApplicationDecl[];
  sources: SourceDecl[];
  /** The files that hold rules or notifiers (null: none does, the rules are left alone). */
  rules: { files: RulebookFile[]; env: Record<string, string> } | null;
  /** Every value `${env:NAME}` filled, by name. */
  secrets: Map<string, string>;
}

export interface Located {
  file: string;
  line: number;
}

export interface EventTypeDecl {
  at: Located;
  name: string;
  fields: {
    description: string;
    schemas: Record<string, unknown> | null;
    archived: boolean;
    deprecated: boolean;
    featureFlag: string | null;
    groupName: string | null;
  };
}

export interface EndpointDecl {
  at: Located;
  /** How it is found on the server: its uid, else its URL. */
  key: string;
  uid: string | null;
  fields: {
    url: string;
    description: string;
    disabled: boolean;
    filterTypes: string[] | null;
    channels: string[] | null;
    rateLimit: number | null;
    metadata: Record<string, string>;
  };
  /** Parts the server does not show back (compared by fingerprint). */
  hidden: { secret: string | null; headers: Record<string, string> };
}

export interface ApplicationDecl {
  at: Located;
  uid: string;
  fields: { name: string; rateLimit: number | null; metadata: Record<string, string> };
  endpoints: EndpointDecl[];
}

export interface SourceDecl {
  at: Located;
  uid: string;
  fields: { name: string; type: string; metadata: Record<string, string> };
  /** Hidden: the server shows a source's config without its secrets. */
  config: Record<string, unknown>;
  destinations: EndpointDecl[];
}

/** Problems of the files, each with file, line and field, as `rules check` reports them. */
export class DeclarationsError extends Error {
  readonly problems: RulebookProblem[];

  constructor(problems: RulebookProblem[]) {
    super(`${problems.length} problem(s) in the declarations`);
    this.problems = problems;
  }
}

/**
 * Fingerprints of what the server cannot show back, kept in objects' metadata: HMAC-SHA256 keyed
 * with the API key, so that whoever reads the metadata without the key cannot test guesses of a
 * secret against it.
 */
export function keyedFingerprint(key: string): (value: unknown) => string {
  return (value) => createHmac("sha256", key).update(canonical(value)).digest("hex");
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

type Path = YamlPath;
const RULEBOOK_KEYS = ["notifiers", "rules"];

/** Reads and checks the files at `path` (a file or a directory). */
export async function readDeclarations(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  allowed: EnvAllowList,
): Promise<Declarations> {
  let files: RulebookFile[];
  try {
    files = await readYamlFiles(path);
  } catch (err) {
    if (!(err instanceof YamlReadError)) throw err;
    throw new DeclarationsError([{ file: err.path, line: 1, field: "", message: err.message }]);
  }
  // Uploaded rulebook files are named from the folder given (or the file's own folder), so the
  // same files applied from another checkout are the same upload.
  const base = files.length === 1 && files[0]!.name === path ? dirname(path) : path;
  return parseDeclarations(files, env, allowed, (name) => relative(base, name));
}

/**
 * Checks declarations given as texts; throws DeclarationsError listing every problem. A
 * `${env:NAME}` that `allowed` does not allow is a problem (also with a default), never filled.
 */
export function parseDeclarations(
  files: readonly RulebookFile[],
  processEnv: Readonly<Record<string, string | undefined>>,
  allowed: EnvAllowList,
  uploadName: (name: string) => string = (name) => name,
): Declarations {
  const env = Object.fromEntries(
    Object.entries(processEnv).filter(([name]) => allowed.allows(name)),
  );
  const problems: RulebookProblem[] = [];
  const secrets = new Map<string, string>();
  const out: Declarations = { eventTypes: [], applications: [], sources: [], rules: null, secrets };
  const ruleFiles: RulebookFile[] = [];
  const ruleEnv: Record<string, string> = {};
  // What the rulebook check says of a variable refused above: said once already, and better.
  const refused = new Set<string>();
  for (const file of files) {
    const reader = new DeclarationReader(file, env, allowed, problems, secrets);
    reader.read(out);
    if (reader.hasRulebook) {
      ruleFiles.push(file);
      for (const name of new Set(reader.rulebookEnvNames)) {
        if (!allowed.allows(name)) {
          problems.push({
            file: file.name,
            line: lineOfRef(file.text, name),
            field: "",
            message: notAllowedMessage(name),
          });
          refused.add(unsetVariable(name));
          continue;
        }
        const value = env[name];
        if (value === undefined) continue;
        ruleEnv[name] = value;
        secrets.set(name, value);
      }
    }
  }
  if (ruleFiles.length > 0) {
    // The server checks the rulebook too; checking it here gives the same lines before any change.
    try {
      parseRulebookFiles(ruleFiles, env);
    } catch (err) {
      if (!(err instanceof RulebookError)) throw err;
      problems.push(...err.problems.filter((p) => !refused.has(p.message)));
    }
    out.rules = {
      files: ruleFiles.map((f) => ({ name: uploadName(f.name), text: f.text })),
      env: ruleEnv,
    };
  }
  unique(problems, out.eventTypes, (d) => d.name, "event type");
  unique(problems, out.applications, (d) => d.uid, "application");
  unique(problems, out.sources, (d) => d.uid, "source");
  for (const app of out.applications) unique(problems, app.endpoints, (d) => d.key, "endpoint");
  for (const src of out.sources) unique(problems, src.destinations, (d) => d.key, "destination");
  if (problems.length > 0) throw new DeclarationsError(problems);
  return out;
}

function unique<T extends { at: Located }>(
  problems: RulebookProblem[],
  items: readonly T[],
  key: (item: T) => string,
  what: string,
): void {
  const seen = new Map<string, Located>();
  for (const item of items) {
    const first = seen.get(key(item));
    if (first !== undefined) {
      problems.push({
        ...item.at,
        field: "",
        message: `${what} "${key(item)}" is also declared at ${first.file}:${first.line}`,
      });
    } else seen.set(key(item), item.at);
  }
}

/** The line of the first `${env:name` in `text` (1 if none). */
function lineOfRef(text: string, name: string): number {
  const at = text.indexOf(`\${env:${name}`);
  return at < 0 ? 1 : text.slice(0, at).split("\n").length;
}

class DeclarationReader {
  readonly #file: RulebookFile;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #allowed: EnvAllowList;
  readonly #problems: RulebookProblem[];
  readonly #secrets: Map<string, string>;
  #yaml: YamlText | null = null;
  hasRulebook = false;
  rulebookEnvNames: string[] = [];

  constructor(
    file: RulebookFile,
    env: Readonly<Record<string, string | undefined>>,
    allowed: EnvAllowList,
    problems: RulebookProblem[],
    secrets: Map<string, string>,
  ) {
    this.#file = file;
    this.#env = env;
    this.#allowed = allowed;
    this.#problems = problems;
    this.#secrets = secrets;
  }

  read(out: Declarations): void {
    this.#yaml = new YamlText(this.#file.text);
    const { syntaxError, value: root } = this.#yaml;
    if (syntaxError !== null) {
      this.#problems.push({ file: this.#file.name, ...syntaxError, field: "" });
      return;
    }
    if (root === null || root === undefined) return;
    if (!isMap(root)) {
      this.#problem([], "a file is a map of eventTypes, applications, sources, notifiers, rules");
      return;
    }
    this.#keys([], root, ["eventTypes", "applications", "sources", ...RULEBOOK_KEYS]);
    if (RULEBOOK_KEYS.some((key) => key in root)) {
      this.hasRulebook = true;
      const text = JSON.stringify(RULEBOOK_KEYS.map((key) => root[key]));
      this.rulebookEnvNames = envRefNames(text);
    }
    for (const [i, item] of this.#list(["eventTypes"], root["eventTypes"]).entries()) {
      const decl = this.#eventType(["eventTypes", i], item);
      if (decl !== null) out.eventTypes.push(decl);
    }
    for (const [i, item] of this.#list(["applications"], root["applications"]).entries()) {
      const decl = this.#application(["applications", i], item);
      if (decl !== null) out.applications.push(decl);
    }
    for (const [i, item] of this.#list(["sources"], root["sources"]).entries()) {
      const decl = this.#source(["sources", i], item);
      if (decl !== null) out.sources.push(decl);
    }
  }

  #eventType(path: Path, spec: unknown): EventTypeDecl | null {
    const m = this.#map(path, spec, [
      "name",
      "description",
      "schemas",
      "archived",
      "deprecated",
      "featureFlag",
      "groupName",
    ]);
    if (m === null) return null;
    const name = this.#text(path, m, "name", true);
    const schemas = m["schemas"] ?? null;
    if (schemas !== null && !isMap(schemas)) {
      this.#problem([...path, "schemas"], 'must map versions to JSON Schemas: {"1": {…}}');
    }
    return name === null
      ? null
      : {
          at: this.#at(path),
          name,
          fields: {
            description: this.#text(path, m, "description", false) ?? "",
            schemas: isMap(schemas) ? schemas : null,
            archived: this.#bool(path, m, "archived", false),
            deprecated: this.#bool(path, m, "deprecated", false),
            featureFlag: this.#text(path, m, "featureFlag", false),
            groupName: this.#text(path, m, "groupName", false),
          },
        };
  }

  #application(path: Path, spec: unknown): ApplicationDecl | null {
    const m = this.#map(path, spec, ["uid", "name", "rateLimit", "metadata", "endpoints"]);
    if (m === null) return null;
    const uid = this.#text(path, m, "uid", true);
    const endpoints = this.#list([...path, "endpoints"], m["endpoints"]).flatMap((item, i) => {
      const decl = this.#endpoint([...path, "endpoints", i], item);
      return decl === null ? [] : [decl];
    });
    return uid === null
      ? null
      : {
          at: this.#at(path),
          uid,
          fields: {
            name: this.#text(path, m, "name", false) ?? uid,
            rateLimit: this.#int(path, m, "rateLimit"),
            metadata: this.#strings(path, m, "metadata"),
          },
          endpoints,
        };
  }

  #endpoint(path: Path, spec: unknown): EndpointDecl | null {
    const m = this.#map(path, spec, [
      "uid",
      "url",
      "description",
      "disabled",
      "eventTypes",
      "filterTypes",
      "channels",
      "throttleRate",
      "rateLimit",
      "metadata",
      "headers",
      "secret",
    ]);
    if (m === null) return null;
    this.#oneName(path, m, "eventTypes", "filterTypes");
    this.#oneName(path, m, "throttleRate", "rateLimit");
    const url = this.#text(path, m, "url", true);
    const uid = this.#text(path, m, "uid", false);
    if (url === null) return null;
    return {
      at: this.#at(path),
      key: uid ?? url,
      uid,
      fields: {
        url,
        description: this.#text(path, m, "description", false) ?? "",
        disabled: this.#bool(path, m, "disabled", false),
        filterTypes: this.#textList(path, m, "eventTypes" in m ? "eventTypes" : "filterTypes"),
        channels: this.#textList(path, m, "channels"),
        rateLimit: this.#int(path, m, "throttleRate" in m ? "throttleRate" : "rateLimit"),
        metadata: this.#strings(path, m, "metadata"),
      },
      hidden: {
        secret: this.#text(path, m, "secret", false),
        headers: this.#strings(path, m, "headers"),
      },
    };
  }

  #source(path: Path, spec: unknown): SourceDecl | null {
    const m = this.#map(path, spec, ["uid", "name", "type", "config", "metadata", "destinations"]);
    if (m === null) return null;
    const uid = this.#text(path, m, "uid", true);
    const type = this.#text(path, m, "type", true);
    const config = this.#fill([...path, "config"], m["config"] ?? {});
    if (!isMap(config))
      this.#problem([...path, "config"], "must be a map (the source type's settings)");
    const destinations = this.#list([...path, "destinations"], m["destinations"]).flatMap(
      (item, i) => {
        const decl = this.#endpoint([...path, "destinations", i], item);
        return decl === null ? [] : [decl];
      },
    );
    if (uid === null || type === null) return null;
    return {
      at: this.#at(path),
      uid,
      fields: {
        name: this.#text(path, m, "name", false) ?? uid,
        type,
        metadata: this.#strings(path, m, "metadata"),
      },
      config: isMap(config) ? config : {},
      destinations,
    };
  }

  #map(path: Path, spec: unknown, allowed: readonly string[]): Record<string, unknown> | null {
    if (!isMap(spec)) {
      this.#problem(path, `must be a map with ${allowed.slice(0, 3).join(", ")}, …`);
      return null;
    }
    this.#keys(path, spec, allowed);
    return spec;
  }

  #list(path: Path, spec: unknown): unknown[] {
    if (spec === undefined || spec === null) return [];
    if (!Array.isArray(spec)) {
      this.#problem(path, "must be a list");
      return [];
    }
    return spec;
  }

  #text(path: Path, m: Record<string, unknown>, key: string, required: boolean): string | null {
    const value = m[key];
    if (value === undefined || value === null) {
      if (required) this.#problem([...path, key], "required");
      return null;
    }
    if (typeof value !== "string" || value === "") {
      this.#problem([...path, key], "must be a non-empty text");
      return null;
    }
    return this.#fill([...path, key], value) as string;
  }

  #bool(path: Path, m: Record<string, unknown>, key: string, fallback: boolean): boolean {
    const value = m[key] ?? fallback;
    if (typeof value !== "boolean") this.#problem([...path, key], "must be true or false");
    return value === true;
  }

  #int(path: Path, m: Record<string, unknown>, key: string): number | null {
    const value = m[key] ?? null;
    if (value !== null && (typeof value !== "number" || !Number.isInteger(value) || value < 1)) {
      this.#problem([...path, key], "must be a whole number ≥ 1");
      return null;
    }
    return value;
  }

  /** svix SDK 2 renamed a few endpoint fields; a declaration may use either name, not both. */
  #oneName(path: Path, m: Record<string, unknown>, current: string, old: string): void {
    if (current in m && old in m) {
      this.#problem([...path, old], `the same as ${current}: give one of the two`);
    }
  }

  #textList(path: Path, m: Record<string, unknown>, key: string): string[] | null {
    const value = m[key] ?? null;
    if (value === null) return null;
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v === "")) {
      this.#problem([...path, key], "must be a list of texts");
      return null;
    }
    // The server keeps an empty list as none (null): the same here, or every apply would differ.
    return value.length === 0 ? null : (value as string[]);
  }

  #strings(path: Path, m: Record<string, unknown>, key: string): Record<string, string> {
    const value = m[key] ?? {};
    if (!isMap(value) || Object.values(value).some((v) => typeof v !== "string")) {
      this.#problem([...path, key], "must map names to texts");
      return {};
    }
    return this.#fill([...path, key], value) as Record<string, string>;
  }

  /**
   * `${env:NAME}` in every text of `value`, from the environment; one not allowed or not set is
   * a problem.
   */
  #fill(path: Path, value: unknown): unknown {
    if (typeof value === "string") {
      const refused = new Set(envRefNames(value).filter((name) => !this.#allowed.allows(name)));
      for (const name of refused) this.#problem(path, notAllowedMessage(name));
      return fillEnvRefs(
        value,
        this.#env,
        (name) => {
          if (!refused.has(name)) this.#problem(path, unsetVariable(name));
        },
        (name, filled) => this.#secrets.set(name, filled),
      );
    }
    if (Array.isArray(value)) return value.map((item, i) => this.#fill([...path, i], item));
    if (isMap(value)) {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.#fill([...path, k], v)]),
      );
    }
    return value;
  }

  #keys(path: Path, value: Record<string, unknown>, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.#problem(
          [...path, key],
          `unknown key (expected one of: ${allowed.join(", ")})`,
          this.#yaml?.keyLineOf([...path, key]),
        );
      }
    }
  }

  #at(path: Path): Located {
    return { file: this.#file.name, line: this.#yaml?.lineOf(path) ?? 1 };
  }

  #problem(path: Path, message: string, line = this.#yaml?.lineOf(path) ?? 1): void {
    this.#problems.push({ file: this.#file.name, line, field: fieldName(path), message });
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
