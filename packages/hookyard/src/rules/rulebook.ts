import { Cron } from "croner";
import { fieldAt } from "../inbound/provider-facts.js";
import { parseDuration } from "./durations.js";
import { fillEnvRefs, maskEnvValues } from "./env-refs.js";
import { fieldName, YamlText, type YamlPath } from "./yaml-files.js";
import {
  compileCel,
  compileCondition,
  compileJsonata,
  compileTemplate,
  compileValue,
  celConjuncts,
  ExpressionError,
  type Compiled,
  type Guard,
  type ExpressionScope,
} from "./expressions.js";

/**
 * Rulebooks: YAML files of rules ("on these events, if this condition holds, do these actions")
 * and of named notifiers. Parsing checks everything it can before any event arrives: unknown
 * keys, types, durations, cron schedules, and every CEL and JSONata expression, each problem
 * with its file, line and field. The README's "Automate" section is the user's reference.
 */

/** Where a rule listens. */
export type RuleSource =
  /** Requests accepted by an inbound source (or bin), by its uid or id. */
  | { kind: "inbound"; source: string }
  /** Messages published to an application; `eventType` may end in `*` (a prefix). */
  | { kind: "outbound"; eventType: string; app: string | null }
  /** A cron schedule (5 or 6 fields, UTC). */
  | { kind: "schedule"; cron: string }
  /** Hookyard's own operational events, such as `endpoint.disabled`. */
  | { kind: "operational"; event: string };

export const OPERATIONAL_EVENTS = ["endpoint.disabled", "rule.failed"] as const;

export interface Throttle {
  /** once_within: act on the first event, then ignore the group's events for the window. */
  /** once_after: collect the group's events for the window, then act once, on the last one. */
  mode: "once_within" | "once_after";
  windowMs: number;
  /** The group key: these expressions' values (e.g. the alert's name). */
  groupBy: Compiled[];
}

export const NOTIFIER_TYPES = ["slack", "discord", "teams", "pagerduty"] as const;
export type NotifierType = (typeof NOTIFIER_TYPES)[number];

export interface Notifier {
  type: NotifierType;
  /** The incoming webhook's URL; PagerDuty's defaults to its Events v2 enqueue URL. */
  url: Compiled;
  /** PagerDuty: the integration's routing key. */
  routingKey: Compiled | null;
}

/** An action as written: what it does. */
export type ActionBody =
  | {
      type: "run";
      argv: Compiled[];
      cwd: Compiled | null;
      env: Record<string, Compiled>;
      timeoutMs: number;
      maxOutputBytes: number;
      /** As written (variables filled), for the run policy (see run-policy.ts). */
      written: { field: string; program: string; cwd: string | null; envNames: string[] };
    }
  | { type: "forward"; url: Compiled; headers: Record<string, Compiled>; body: Compiled | null }
  | { type: "notify"; notifier: Notifier; fields: Record<string, Compiled> }
  | {
      type: "publish";
      app: Compiled;
      eventType: Compiled;
      payload: Compiled;
      channels: Compiled | null;
    }
  | { type: "transform"; expression: (scope: ExpressionScope) => Promise<unknown> }
  | { type: "set"; vars: Record<string, Compiled> }
  | { type: "log"; message: Compiled };
/** An action of a rule: its optional id (its result is `steps.<id>`) and its line. */
export type Action = ActionBody & { id: string | null; line: number };
export type ActionType = Action["type"];
const ACTION_TYPES: readonly ActionType[] = [
  "run",
  "forward",
  "notify",
  "publish",
  "transform",
  "set",
  "log",
];

/** Top-level keys of a config-as-code file (`hookyard apply`) that are not the rulebook's. */
export const APPLY_SECTIONS = ["eventTypes", "applications", "sources"] as const;

export interface Rule {
  name: string;
  file: string;
  line: number;
  /**
   * Where a `run` action's relative cwd (and so a `./script` program) starts: the directory of
   * the rule's file when it was read from disk; null (the server's working directory) for an
   * uploaded rulebook.
   */
  dir: string | null;
  /**
   * Where the rule was read from: a rulebook file on the server's disk, or an upload (the API,
   * `hookyard apply`) — which may start programs only as the host's run policy allows.
   */
  origin: "file" | "upload";
  enabled: boolean;
  /** Why a rule is not in force though its rulebook says enabled (the run policy); else null. */
  disabledReason: string | null;
  sources: RuleSource[];
  /** Null: every event of the rule's sources. */
  condition: ((scope: ExpressionScope) => boolean) | null;
  /** Parts of the condition an index can test without evaluating it (see RuleIndex). */
  guards: Guard[];
  /** The guards are the whole condition: when their values are texts, they decide it. */
  decidedByGuards: boolean;
  throttle: Throttle | null;
  /** Runs of this rule at the same time; the rest wait in the rule's queue. */
  concurrency: number;
  actions: Action[];
}

export interface Rulebook {
  rules: Rule[];
  /** The files it was read from, for reloads and messages. */
  files: string[];
  /** The values `${env:NAME}` filled, by name: what a dry run must not print. */
  secrets: Map<string, string>;
}

export interface RulebookProblem {
  file: string;
  line: number;
  /** The field's path, e.g. `rules[2].actions[0].run.timeout`. */
  field: string;
  message: string;
}

/** The problem a `${env:NAME}` without a value (and without a default) is reported as. */
export function unsetVariable(name: string): string {
  return `environment variable ${name} is not set`;
}

/** A rulebook that cannot be used, with every problem found. */
export class RulebookError extends Error {
  readonly problems: RulebookProblem[];

  constructor(problems: RulebookProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.problems = problems;
  }
}

export function formatProblem(p: RulebookProblem): string {
  return `${p.file}:${p.line}: ${p.field === "" ? "" : `${p.field}: `}${p.message}`;
}

const RUN_DEFAULT_TIMEOUT_MS = 60_000;
const RUN_MAX_TIMEOUT_MS = 24 * 3_600_000;
const RUN_DEFAULT_OUTPUT_BYTES = 64 * 1024;
const RUN_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const MAX_CONCURRENCY = 64;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

type Path = YamlPath;

/** One file's text, parsed and checked; `env` fills `${env:NAME}` (secrets stay out of files). */
export function parseRulebookFiles(
  files: ReadonlyArray<{ name: string; text: string }>,
  env: Readonly<Record<string, string | undefined>>,
): Rulebook {
  const problems: RulebookProblem[] = [];
  const rules: Rule[] = [];
  const notifiers = new Map<string, { notifier: Notifier; file: string }>();
  const parsed = files.map((file) => new FileReader(file.name, file.text, env, problems));
  // Notifiers first: a rule in one file may name a notifier of another.
  for (const reader of parsed) {
    for (const [name, notifier] of reader.notifiers()) {
      const seen = notifiers.get(name);
      if (seen !== undefined) {
        reader.problem(["notifiers", name], `notifier "${name}" is also declared in ${seen.file}`);
      } else notifiers.set(name, { notifier, file: reader.file });
    }
  }
  const names = new Map<string, string>();
  for (const reader of parsed) rules.push(...reader.rules(notifiers, names));
  const secrets = new Map<string, string>();
  for (const reader of parsed) for (const [name, value] of reader.secrets) secrets.set(name, value);
  if (problems.length > 0) {
    // A problem may quote an expression with a secret filled in: it says ${env:NAME} instead.
    const mask = maskEnvValues(secrets);
    throw new RulebookError(problems.map((p) => ({ ...p, message: mask(p.message) })));
  }
  return { rules, files: files.map((f) => f.name), secrets };
}

/** Reads one file, recording each problem with its line instead of stopping at the first. */
class FileReader {
  readonly #yaml: YamlText;
  readonly #root: Record<string, unknown>;
  readonly file: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly problems: RulebookProblem[];
  readonly secrets = new Map<string, string>();

  constructor(
    file: string,
    text: string,
    env: Readonly<Record<string, string | undefined>>,
    problems: RulebookProblem[],
  ) {
    this.file = file;
    this.env = env;
    this.problems = problems;
    this.#yaml = new YamlText(text);
    const { syntaxError, value: root } = this.#yaml;
    if (syntaxError !== null) {
      problems.push({ file, line: syntaxError.line, field: "", message: syntaxError.message });
      this.#root = {};
    } else if (root === null || root === undefined) {
      this.#root = {};
    } else if (typeof root !== "object" || Array.isArray(root)) {
      this.problem([], "a rulebook is a map with `rules` (and optionally `notifiers`)");
      this.#root = {};
    } else {
      this.#root = root as Record<string, unknown>;
      // A file of `hookyard apply` also declares what the rules act on; those parts are apply's.
      this.#keys([], this.#root, ["rules", "notifiers", ...APPLY_SECTIONS]);
    }
  }

  problem(path: Path, message: string, line = this.#lineOf(path)): void {
    this.problems.push({ file: this.file, line, field: fieldName(path), message });
  }

  #lineOf(path: Path): number {
    return this.#yaml.lineOf(path);
  }

  /** Unknown keys are typos more often than not: each is a problem. */
  #keys(path: Path, value: Record<string, unknown>, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.problem(
          [...path, key],
          `unknown key; expected one of ${allowed.join(", ")}`,
          this.#yaml.keyLineOf([...path, key]),
        );
      }
    }
  }

  /** `${env:NAME}` in a string, filled from the environment; a missing variable is a problem. */
  #fill(path: Path, value: unknown): unknown {
    if (typeof value === "string") {
      return fillEnvRefs(
        value,
        this.env,
        (name) => this.problem(path, unsetVariable(name)),
        (name, filled) => this.secrets.set(name, filled),
      );
    }
    if (Array.isArray(value)) return value.map((item, i) => this.#fill([...path, i], item));
    if (typeof value === "object" && value !== null) {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.#fill([...path, k], v)]),
      );
    }
    return value;
  }

  #compile<T>(path: Path, compile: () => T): T | null {
    try {
      return compile();
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      this.problem(path, err.message);
      return null;
    }
  }

  #template(path: Path, value: unknown, what = "a text"): Compiled | null {
    if (typeof value === "number" || typeof value === "boolean") value = String(value);
    if (typeof value !== "string") {
      this.problem(path, `must be ${what}`);
      return null;
    }
    return this.#compile(path, () => compileTemplate(this.#fill(path, value) as string));
  }

  #templates(path: Path, value: unknown): Record<string, Compiled> {
    if (value === undefined) return {};
    if (!isMap(value)) {
      this.problem(path, "must map names to texts");
      return {};
    }
    const out: Record<string, Compiled> = {};
    for (const [k, v] of Object.entries(value)) {
      const compiled = this.#template([...path, k], v);
      if (compiled !== null) out[k] = compiled;
    }
    return out;
  }

  notifiers(): Array<[string, Notifier]> {
    const section = this.#root["notifiers"];
    if (section === undefined) return [];
    if (!isMap(section)) {
      this.problem(["notifiers"], "must map names to notifiers");
      return [];
    }
    const out: Array<[string, Notifier]> = [];
    for (const [name, spec] of Object.entries(section)) {
      if (!NAME.test(name)) {
        this.problem(["notifiers", name], "a notifier's name is letters, digits, _ . : -");
        continue;
      }
      const notifier = this.#notifier(["notifiers", name], spec, ["type", "url", "routingKey"]);
      if (notifier !== null) out.push([name, notifier]);
    }
    return out;
  }

  #notifier(path: Path, spec: unknown, allowed: readonly string[]): Notifier | null {
    if (!isMap(spec)) {
      this.problem(path, `must be a map with type (${NOTIFIER_TYPES.join(", ")}) and url`);
      return null;
    }
    this.#keys(path, spec, allowed);
    const type = spec["type"];
    if (!NOTIFIER_TYPES.includes(type as NotifierType)) {
      this.problem([...path, "type"], `must be one of ${NOTIFIER_TYPES.join(", ")}`);
      return null;
    }
    const pagerduty = type === "pagerduty";
    if (!pagerduty && spec["url"] === undefined) {
      this.problem(path, `a ${String(type)} notifier needs url (its incoming webhook URL)`);
      return null;
    }
    if (pagerduty && spec["routingKey"] === undefined) {
      this.problem(path, "a pagerduty notifier needs routingKey (its integration key)");
      return null;
    }
    const url = this.#template([...path, "url"], spec["url"] ?? PAGERDUTY_EVENTS_URL);
    const routingKey = pagerduty
      ? this.#template([...path, "routingKey"], spec["routingKey"])
      : null;
    if (url === null || (pagerduty && routingKey === null)) return null;
    return { type: type as NotifierType, url, routingKey };
  }

  /** The file's rules; `names` (name → where) spans the files, for names declared twice. */
  rules(
    notifiers: ReadonlyMap<string, { notifier: Notifier }>,
    names: Map<string, string>,
  ): Rule[] {
    const section = this.#root["rules"];
    if (section === undefined) return [];
    if (!Array.isArray(section)) {
      this.problem(["rules"], "must be a list of rules");
      return [];
    }
    const rules: Rule[] = [];
    section.forEach((spec: unknown, i) => {
      const rule = this.#rule(["rules", i], spec, notifiers);
      if (rule === null) return;
      const seen = names.get(rule.name);
      if (seen !== undefined) {
        this.problem(["rules", i, "name"], `rule "${rule.name}" is also declared in ${seen}`);
      } else names.set(rule.name, `${rule.file}:${rule.line}`);
      rules.push(rule);
    });
    return rules;
  }

  #rule(
    path: Path,
    spec: unknown,
    notifiers: ReadonlyMap<string, { notifier: Notifier }>,
  ): Rule | null {
    if (!isMap(spec)) {
      this.problem(path, "a rule is a map with name, sources, condition and actions");
      return null;
    }
    this.#keys(path, spec, [
      "name",
      "sources",
      "condition",
      "throttle",
      "concurrency",
      "enabled",
      "actions",
    ]);
    const before = this.problems.length;
    const name = spec["name"];
    if (typeof name !== "string" || !NAME.test(name)) {
      this.problem([...path, "name"], "required: letters, digits, _ . : - (at most 128)");
    }
    const enabled = spec["enabled"] ?? true;
    if (typeof enabled !== "boolean") this.problem([...path, "enabled"], "must be true or false");
    const sources = this.#sources([...path, "sources"], spec["sources"]);
    const condition = this.#condition([...path, "condition"], spec["condition"]);
    const throttle = this.#throttle([...path, "throttle"], spec["throttle"]);
    const concurrency = spec["concurrency"] ?? 1;
    if (
      typeof concurrency !== "number" ||
      !Number.isInteger(concurrency) ||
      concurrency < 1 ||
      concurrency > MAX_CONCURRENCY
    ) {
      this.problem([...path, "concurrency"], `must be an integer from 1 to ${MAX_CONCURRENCY}`);
    }
    const actions = this.#actions([...path, "actions"], spec["actions"], notifiers);
    if (this.problems.length > before) return null;
    return {
      name: name as string,
      file: this.file,
      line: this.#lineOf(path),
      dir: null,
      origin: "upload",
      enabled: enabled as boolean,
      disabledReason: null,
      sources,
      condition,
      ...guardsOf(spec["condition"], (text) => this.#fill(path, text) as string),
      throttle,
      concurrency: concurrency as number,
      actions,
    };
  }

  #sources(path: Path, spec: unknown): RuleSource[] {
    if (!Array.isArray(spec) || spec.length === 0) {
      this.problem(
        path,
        "required: a list of what the rule listens to (a source uid, or inbound:, outbound:, schedule:, operational:)",
      );
      return [];
    }
    const out: RuleSource[] = [];
    spec.forEach((item: unknown, i) => {
      const at = [...path, i];
      if (typeof item === "string" && item !== "") {
        out.push({ kind: "inbound", source: item });
        return;
      }
      if (!isMap(item) || Object.keys(item).length === 0) {
        this.problem(
          at,
          "must be a source uid or a map with inbound, outbound, schedule or operational",
        );
        return;
      }
      const kinds = ["inbound", "outbound", "schedule", "operational"].filter((k) => k in item);
      if (kinds.length !== 1) {
        this.problem(at, "must have exactly one of inbound, outbound, schedule, operational");
        return;
      }
      const kind = kinds[0]!;
      this.#keys(at, item, kind === "outbound" ? ["outbound", "app"] : [kind]);
      const value = item[kind];
      if (typeof value !== "string" || value === "") {
        this.problem([...at, kind], "must be a non-empty text");
        return;
      }
      switch (kind) {
        case "inbound":
          out.push({ kind, source: value });
          break;
        case "outbound": {
          const app = item["app"];
          if (app !== undefined && (typeof app !== "string" || app === "")) {
            this.problem([...at, "app"], "must be an application's uid or id");
            return;
          }
          if (!/^(\*|[A-Za-z0-9_.-]+(\.\*|\*)?)$/.test(value)) {
            this.problem([...at, kind], 'an event type, a prefix ending in "*", or "*"');
            return;
          }
          out.push({ kind, eventType: value, app: app ?? null });
          break;
        }
        case "schedule":
          try {
            new Cron(value, { paused: true, timezone: "UTC" });
            out.push({ kind, cron: value });
          } catch (err) {
            this.problem([...at, kind], `not a cron schedule: ${(err as Error).message}`);
          }
          break;
        default:
          if (!OPERATIONAL_EVENTS.includes(value as (typeof OPERATIONAL_EVENTS)[number])) {
            this.problem([...at, kind], `one of ${OPERATIONAL_EVENTS.join(", ")}`);
            return;
          }
          out.push({ kind: "operational", event: value });
      }
    });
    return out;
  }

  /**
   * A CEL expression, or `all:` / `any:` of conditions, or a match on a header or payload field:
   * `{header: x-github-event, equals: push}`, `{field: payload.ref, matches: "^refs/tags/"}`.
   */
  #condition(path: Path, spec: unknown): ((scope: ExpressionScope) => boolean) | null {
    if (spec === undefined || spec === null) return null;
    if (typeof spec === "boolean") return () => spec;
    if (typeof spec === "string") {
      return this.#compile(path, () => compileCondition(this.#fill(path, spec) as string));
    }
    if (!isMap(spec)) {
      this.problem(path, "must be a CEL expression, all:, any:, or a header/field match");
      return null;
    }
    if ("all" in spec || "any" in spec) {
      const kind = "all" in spec ? "all" : "any";
      this.#keys(path, spec, [kind]);
      const list = spec[kind];
      if (!Array.isArray(list) || list.length === 0) {
        this.problem([...path, kind], "must be a non-empty list of conditions");
        return null;
      }
      const parts = list.map((item: unknown, i) => this.#condition([...path, kind, i], item));
      if (parts.some((p) => p === null)) return null;
      const checks = parts as Array<(scope: ExpressionScope) => boolean>;
      return kind === "all" ? settled(checks, false) : settled(checks, true);
    }
    return this.#match(path, spec);
  }

  #match(path: Path, spec: Record<string, unknown>): ((scope: ExpressionScope) => boolean) | null {
    this.#keys(path, spec, ["header", "field", "equals", "matches", "exists"]);
    const header = spec["header"];
    const field = spec["field"];
    if ((header === undefined) === (field === undefined)) {
      this.problem(path, "a match names either header or field (a dotted path into the event)");
      return null;
    }
    const where = header ?? field;
    if (typeof where !== "string" || where === "") {
      this.problem(
        [...path, header === undefined ? "field" : "header"],
        "must be a non-empty text",
      );
      return null;
    }
    const read =
      header !== undefined
        ? (scope: ExpressionScope) =>
            (scope.event as { headers?: Record<string, unknown> }).headers?.[where.toLowerCase()]
        : (scope: ExpressionScope) => fieldAt(scope.event, where);
    const tests = ["equals", "matches", "exists"].filter((k) => k in spec);
    if (tests.length !== 1) {
      this.problem(path, "a match has exactly one of equals, matches, exists");
      return null;
    }
    if ("exists" in spec) {
      const wanted = spec["exists"];
      if (typeof wanted !== "boolean") {
        this.problem([...path, "exists"], "must be true or false");
        return null;
      }
      return (scope) => (read(scope) !== undefined) === wanted;
    }
    if ("equals" in spec) {
      const wanted = this.#fill([...path, "equals"], spec["equals"]);
      return (scope) => {
        const value = read(scope);
        return typeof wanted === "object"
          ? JSON.stringify(value) === JSON.stringify(wanted)
          : value === wanted || (typeof value === "number" && String(value) === wanted);
      };
    }
    const pattern = spec["matches"];
    let regex: RegExp;
    try {
      if (typeof pattern !== "string") throw new Error("must be a regular expression");
      regex = new RegExp(pattern);
    } catch (err) {
      this.problem([...path, "matches"], `not a regular expression: ${(err as Error).message}`);
      return null;
    }
    return (scope) => {
      const value = read(scope);
      return (typeof value === "string" || typeof value === "number") && regex.test(String(value));
    };
  }

  #throttle(path: Path, spec: unknown): Throttle | null {
    if (spec === undefined) return null;
    if (!isMap(spec)) {
      this.problem(path, "must be a map with once_within or once_after, and group_by");
      return null;
    }
    this.#keys(path, spec, ["once_within", "once_after", "group_by"]);
    const modes = (["once_within", "once_after"] as const).filter((m) => m in spec);
    if (modes.length !== 1) {
      this.problem(path, "needs exactly one of once_within, once_after");
      return null;
    }
    const mode = modes[0]!;
    const windowMs = parseDuration(spec[mode]);
    if (windowMs === null || windowMs <= 0) {
      this.problem([...path, mode], "must be a duration such as 30s, 5m, 1h");
      return null;
    }
    const groupSpec = spec["group_by"] ?? [];
    if (!Array.isArray(groupSpec)) {
      this.problem([...path, "group_by"], "must be a list of CEL expressions");
      return null;
    }
    const groupBy: Compiled[] = [];
    groupSpec.forEach((expression: unknown, i) => {
      if (typeof expression !== "string") {
        this.problem(
          [...path, "group_by", i],
          "must be a CEL expression such as event.payload.alertname",
        );
        return;
      }
      const compiled = this.#compile([...path, "group_by", i], () => compileCel(expression));
      if (compiled !== null) groupBy.push(compiled);
    });
    return { mode, windowMs, groupBy };
  }

  #actions(
    path: Path,
    spec: unknown,
    notifiers: ReadonlyMap<string, { notifier: Notifier }>,
  ): Action[] {
    if (!Array.isArray(spec) || spec.length === 0) {
      this.problem(path, `required: a list of actions (${ACTION_TYPES.join(", ")})`);
      return [];
    }
    const out: Action[] = [];
    const ids = new Set<string>();
    spec.forEach((item: unknown, i) => {
      const at = [...path, i];
      if (!isMap(item)) {
        this.problem(at, `an action is a map with one of ${ACTION_TYPES.join(", ")}`);
        return;
      }
      const types = ACTION_TYPES.filter((t) => t in item);
      if (types.length !== 1) {
        this.problem(at, `needs exactly one of ${ACTION_TYPES.join(", ")}`);
        return;
      }
      const type = types[0]!;
      this.#keys(at, item, [type, "id"]);
      const id = item["id"];
      if (id !== undefined) {
        if (typeof id !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(id)) {
          this.problem([...at, "id"], "letters, digits and _, not starting with a digit");
          return;
        }
        if (ids.has(id)) this.problem([...at, "id"], `another action of this rule is "${id}"`);
        ids.add(id);
      }
      const action = this.#action([...at, type], type, item[type], notifiers);
      if (action !== null) {
        out.push({ ...action, id: id ?? null, line: this.#lineOf(at) });
      }
    });
    return out;
  }

  #action(
    path: Path,
    type: ActionType,
    spec: unknown,
    notifiers: ReadonlyMap<string, { notifier: Notifier }>,
  ): ActionBody | null {
    switch (type) {
      case "run":
        return this.#run(path, spec);
      case "forward": {
        const value = typeof spec === "string" ? { url: spec } : spec;
        if (!isMap(value)) {
          this.problem(path, "must be a URL or a map with url, headers, body");
          return null;
        }
        this.#keys(path, value, ["url", "headers", "body"]);
        const url = this.#template([...path, "url"], value["url"], "the URL to send to");
        const headers = this.#templates([...path, "headers"], value["headers"]);
        const body =
          value["body"] === undefined
            ? null
            : this.#compile([...path, "body"], () =>
                compileValue(this.#fill([...path, "body"], value["body"])),
              );
        return url === null ? null : { type, url, headers, body };
      }
      case "notify": {
        if (!isMap(spec)) {
          this.problem(path, "must be a map: to (a notifier's name) or type and url, then text");
          return null;
        }
        let notifier: Notifier | null;
        const rest: Record<string, unknown> = { ...spec };
        if (spec["to"] !== undefined) {
          const to = typeof spec["to"] === "string" ? spec["to"] : JSON.stringify(spec["to"]);
          const named = notifiers.get(to);
          if (named === undefined) {
            this.problem([...path, "to"], `no notifier named "${to}"`);
            return null;
          }
          notifier = named.notifier;
          delete rest["to"];
        } else {
          const inline: Record<string, unknown> = {};
          for (const key of ["type", "url", "routingKey"]) {
            if (key in rest) inline[key] = rest[key];
            delete rest[key];
          }
          notifier = this.#notifier(path, inline, ["type", "url", "routingKey"]);
        }
        if (notifier === null) return null;
        const allowed = NOTIFY_FIELDS[notifier.type];
        this.#keys(path, rest, allowed);
        const required = notifier.type === "pagerduty" ? "summary" : "text";
        const action = rest["action"];
        const needsSummary =
          notifier.type !== "pagerduty" || action === undefined || action === "trigger";
        if (needsSummary && rest[required] === undefined) {
          this.problem(path, `a ${notifier.type} notification needs ${required}`);
          return null;
        }
        const fields: Record<string, Compiled> = {};
        for (const [key, value] of Object.entries(rest)) {
          if (!allowed.includes(key)) continue;
          const compiled = this.#compile([...path, key], () =>
            compileValue(this.#fill([...path, key], value)),
          );
          if (compiled !== null) fields[key] = compiled;
        }
        return { type, notifier, fields };
      }
      case "publish": {
        if (!isMap(spec)) {
          this.problem(path, "must be a map with app, eventType and payload");
          return null;
        }
        this.#keys(path, spec, ["app", "eventType", "payload", "channels"]);
        const app = this.#template([...path, "app"], spec["app"], "an application's uid or id");
        const eventType = this.#template(
          [...path, "eventType"],
          spec["eventType"],
          "an event type",
        );
        const payload = this.#compile([...path, "payload"], () =>
          compileValue(this.#fill([...path, "payload"], spec["payload"] ?? "{{ event.payload }}")),
        );
        const channels =
          spec["channels"] === undefined
            ? null
            : this.#compile([...path, "channels"], () => compileValue(spec["channels"]));
        if (app === null || eventType === null || payload === null) return null;
        return { type, app, eventType, payload, channels };
      }
      case "transform": {
        if (typeof spec !== "string" || spec.trim() === "") {
          this.problem(path, "must be a JSONata expression giving the new payload");
          return null;
        }
        const expression = this.#compile(path, () => compileJsonata(spec));
        return expression === null ? null : { type, expression };
      }
      case "set": {
        if (!isMap(spec) || Object.keys(spec).length === 0) {
          this.problem(path, "must map variable names to values ({{ }} templates allowed)");
          return null;
        }
        const vars: Record<string, Compiled> = {};
        for (const [name, value] of Object.entries(spec)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
            this.problem([...path, name], "a variable's name is letters, digits and _");
            continue;
          }
          const compiled = this.#compile([...path, name], () =>
            compileValue(this.#fill([...path, name], value)),
          );
          if (compiled !== null) vars[name] = compiled;
        }
        return { type, vars };
      }
      case "log": {
        const message = this.#template(path, spec, "the text to log");
        return message === null ? null : { type: "log", message };
      }
    }
  }

  #run(path: Path, spec: unknown): ActionBody | null {
    if (Array.isArray(spec) || typeof spec === "string") spec = { argv: spec };
    if (!isMap(spec)) {
      this.problem(path, "must be a map with argv (a list: the program, then its arguments)");
      return null;
    }
    this.#keys(path, spec, ["argv", "cwd", "env", "timeout", "maxOutputBytes"]);
    const argvSpec = spec["argv"];
    if (!Array.isArray(argvSpec) || argvSpec.length === 0) {
      this.problem(
        [...path, "argv"],
        typeof argvSpec === "string"
          ? "must be a list (the program, then each argument), never a shell line"
          : "required: a list, the program then its arguments",
      );
      return null;
    }
    const argv = argvSpec.map((arg: unknown, i) => this.#template([...path, "argv", i], arg));
    const cwd = spec["cwd"] === undefined ? null : this.#template([...path, "cwd"], spec["cwd"]);
    const env = this.#templates([...path, "env"], spec["env"]);
    const timeoutMs =
      spec["timeout"] === undefined ? RUN_DEFAULT_TIMEOUT_MS : parseDuration(spec["timeout"]);
    if (timeoutMs === null || timeoutMs <= 0 || timeoutMs > RUN_MAX_TIMEOUT_MS) {
      this.problem([...path, "timeout"], "must be a duration from 1ms to 24h, such as 30s or 5m");
      return null;
    }
    const maxOutputBytes = spec["maxOutputBytes"] ?? RUN_DEFAULT_OUTPUT_BYTES;
    if (
      typeof maxOutputBytes !== "number" ||
      !Number.isInteger(maxOutputBytes) ||
      maxOutputBytes < 0 ||
      maxOutputBytes > RUN_MAX_OUTPUT_BYTES
    ) {
      this.problem(
        [...path, "maxOutputBytes"],
        `must be an integer from 0 to ${RUN_MAX_OUTPUT_BYTES}`,
      );
      return null;
    }
    if (argv.some((a) => a === null)) return null;
    // Filled again, quietly: #template has reported any variable that is not set.
    const filled = (value: unknown) => fillEnvRefs(String(value), this.env, () => undefined);
    const written = {
      field: fieldName(path),
      program: filled(argvSpec[0]),
      cwd: spec["cwd"] === undefined ? null : filled(spec["cwd"]),
      envNames: Object.keys(env),
    };
    // The event may fill arguments, never choose the program: a sender must not pick what runs.
    if (written.program.includes("{{")) {
      this.problem(
        [...path, "argv", 0],
        "the program must be written out, not a {{ }} template: an event may fill arguments, never choose what runs",
      );
      return null;
    }
    return { type: "run", argv: argv as Compiled[], cwd, env, timeoutMs, maxOutputBytes, written };
  }
}

/** The fields a notification of each service takes (besides `to`, or `type`/`url`). */
const NOTIFY_FIELDS: Record<NotifierType, readonly string[]> = {
  slack: ["text", "blocks", "username", "icon_emoji"],
  discord: ["text", "embeds", "username"],
  teams: ["text", "title"],
  pagerduty: [
    "summary",
    "severity",
    "source",
    "action",
    "dedupKey",
    "component",
    "group",
    "class",
    "details",
  ],
};

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The guards of a condition that checked (see Guard): `all:` has those of each part; and whether
 * they are the whole condition (`decidedByGuards`).
 */
function guardsOf(
  spec: unknown,
  fill: (text: string) => string,
): { guards: Guard[]; decidedByGuards: boolean } {
  const none = { guards: [], decidedByGuards: false };
  if (typeof spec === "string") {
    const { guards, complete } = celConjuncts(fill(spec));
    return { guards, decidedByGuards: complete };
  }
  if (!isMap(spec)) return none;
  const all = spec["all"];
  if (Array.isArray(all)) {
    const parts = all.map((item: unknown) => guardsOf(item, fill));
    return {
      guards: parts.flatMap((p) => p.guards),
      decidedByGuards: parts.every((p) => p.decidedByGuards),
    };
  }
  const equals = spec["equals"];
  if (typeof equals !== "string") return none;
  const { header, field } = spec;
  if (typeof header === "string") {
    return {
      guards: [{ path: ["headers", header.toLowerCase()], value: fill(equals) }],
      decidedByGuards: true,
    };
  }
  if (typeof field === "string") {
    return { guards: [{ path: field.split("."), value: fill(equals) }], decidedByGuards: true };
  }
  return none;
}

/**
 * `all:` (stop = false) or `any:` (stop = true) with CEL's `&&` / `||` semantics: a part that
 * gives `stop` decides, even when another part errs; an error counts only when nothing decided.
 * This is what lets the rule index skip a rule by any guard of an `all:`.
 */
function settled(
  checks: ReadonlyArray<(scope: ExpressionScope) => boolean>,
  stop: boolean,
): (scope: ExpressionScope) => boolean {
  return (scope) => {
    let failure: { err: unknown } | null = null;
    for (const check of checks) {
      try {
        if (check(scope) === stop) return stop;
      } catch (err) {
        failure ??= { err };
      }
    }
    if (failure !== null) throw failure.err;
    return !stop;
  };
}
