import type { RulesOrigin } from "../rules/rules-in-force.js";
import {
  type ApplicationDecl,
  type Declarations,
  type EndpointDecl,
  type EventTypeDecl,
  type SourceDecl,
} from "./declarations.js";

/**
 * From declarations and what the server has, the steps that make the server match: each says
 * what it does (`+` create, `~` change, `-` delete, `=` unchanged) and carries the API requests
 * that do it. Pure: `hookyard apply --dry-run` prints the steps, `apply` also sends them.
 */

/**
 * The metadata key apply writes on what it manages. Its value is a fingerprint (keyed with the
 * API key) of what the API does not show back (secrets, headers, a source's config), so a change
 * to them is seen; `adopted ` before it marks an object apply found made by other hands, which
 * `--prune` never deletes.
 */
export const APPLY_MARK = "hookyard.apply";
const ADOPTED = "adopted ";

export interface PlanOptions {
  prune: boolean;
  /** A keyed fingerprint (HMAC) of a value: what apply compares hidden parts by. */
  fingerprint: (value: unknown) => string;
}

export interface ApiRequest {
  method: "POST" | "PUT" | "DELETE";
  path: string;
  body?: unknown;
}

export interface Step {
  verb: "+" | "~" | "-" | "=";
  /** What it is about, e.g. `endpoint acme/main`. */
  subject: string;
  /** Which fields change (values only where they are not secret). */
  changes: string[];
  requests: ApiRequest[];
  /** Why this step cannot be done; apply then changes nothing at all. */
  problem?: string;
}

/** What the server has, as its API shows it (fields of the Svix-compatible outputs). */
export interface ServerState {
  eventTypes: Array<{ name: string } & Record<string, unknown>>;
  applications: Array<{
    id: string;
    uid: string | null;
    name: string;
    rateLimit: number | null;
    metadata: Record<string, string>;
    endpoints: ServerEndpoint[];
  }>;
  sources: Array<{
    id: string;
    uid: string | null;
    name: string;
    type: string;
    metadata: Record<string, string>;
    destinations: ServerEndpoint[];
  }>;
  rules: RulesOrigin;
}

export interface ServerEndpoint {
  id: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: boolean;
  filterTypes: string[] | null;
  channels: string[] | null;
  rateLimit: number | null;
  metadata: Record<string, string>;
}

export function planApply(declared: Declarations, server: ServerState, opts: PlanOptions): Step[] {
  const steps: Step[] = [];
  for (const decl of declared.eventTypes) steps.push(eventTypeStep(decl, server));
  for (const decl of declared.applications) steps.push(...applicationSteps(decl, server, opts));
  for (const decl of declared.sources) steps.push(...sourceSteps(decl, server, opts));
  const rules = rulesStep(declared, server.rules, opts);
  if (rules !== null) steps.push(rules);
  if (opts.prune) {
    // What apply made earlier (marked) and the files no longer declare. Event types are never
    // deleted: an event type is archived by declaring `archived: true`.
    for (const src of server.sources) {
      if (!madeByApply(src.metadata) || declared.sources.some((d) => d.uid === src.uid)) continue;
      steps.push({
        verb: "-",
        subject: `source ${src.uid ?? src.id}`,
        changes: ["no longer declared (its destinations and received requests go with it)"],
        requests: [{ method: "DELETE", path: `/ingest/api/v1/source/${src.id}` }],
      });
    }
    for (const app of server.applications) {
      if (!madeByApply(app.metadata) || declared.applications.some((d) => d.uid === app.uid))
        continue;
      steps.push({
        verb: "-",
        subject: `application ${app.uid ?? app.id}`,
        changes: ["no longer declared (its endpoints and messages go with it)"],
        requests: [{ method: "DELETE", path: `/api/v1/app/${app.id}` }],
      });
    }
  }
  return steps;
}

function eventTypeStep(decl: EventTypeDecl, server: ServerState): Step {
  const current = server.eventTypes.find((t) => t.name === decl.name);
  const body = { name: decl.name, ...decl.fields };
  return upsertStep(
    `event type ${decl.name}`,
    { method: "POST", path: "/api/v1/event-type", body },
    { method: "PUT", path: `/api/v1/event-type/${encodeURIComponent(decl.name)}`, body },
    current === undefined ? null : changedFields(decl.fields, current),
  );
}

function applicationSteps(decl: ApplicationDecl, server: ServerState, opts: PlanOptions): Step[] {
  const current = server.applications.find((a) => a.uid === decl.uid);
  const metadata = {
    ...decl.fields.metadata,
    [APPLY_MARK]: markFor(opts.fingerprint({}), current),
  };
  const body = { uid: decl.uid, ...decl.fields, metadata };
  const path = `/api/v1/app/${encodeURIComponent(decl.uid)}`;
  return [
    upsertStep(
      `application ${decl.uid}`,
      { method: "POST", path: "/api/v1/app", body },
      { method: "PUT", path, body },
      current === undefined ? null : changedFields({ ...decl.fields, metadata }, current),
    ),
    ...endpointSteps(
      decl.endpoints,
      current?.endpoints ?? [],
      `${path}/endpoint`,
      `endpoint ${decl.uid}/`,
      opts,
    ),
  ];
}

function sourceSteps(decl: SourceDecl, server: ServerState, opts: PlanOptions): Step[] {
  const current = server.sources.find((s) => s.uid === decl.uid);
  const metadata = {
    ...decl.fields.metadata,
    [APPLY_MARK]: markFor(opts.fingerprint(decl.config), current),
  };
  const body = { uid: decl.uid, ...decl.fields, config: decl.config, metadata };
  const path = `/ingest/api/v1/source/${encodeURIComponent(decl.uid)}`;
  const changes =
    current === undefined
      ? null
      : changedFields({ ...decl.fields, metadata }, current).map((field) =>
          field.startsWith("metadata") && metadataOnlyMark(decl.fields.metadata, current.metadata)
            ? "config (its secrets are not shown, so it is compared by fingerprint)"
            : field,
        );
  return [
    upsertStep(
      `source ${decl.uid}`,
      { method: "POST", path: "/ingest/api/v1/source", body },
      { method: "PUT", path, body },
      changes,
    ),
    ...endpointSteps(
      decl.destinations,
      current?.destinations ?? [],
      `${path}/endpoint`,
      `destination ${decl.uid}/`,
      opts,
    ),
  ];
}

/**
 * `+` (create) when the server lacks the object (`changes` null), else `~` (update) when some
 * field differs, else `=`.
 */
function upsertStep(
  subject: string,
  create: ApiRequest,
  update: ApiRequest,
  changes: string[] | null,
): Step {
  if (changes === null) return { verb: "+", subject, changes: [], requests: [create] };
  return {
    verb: changes.length === 0 ? "=" : "~",
    subject,
    changes,
    requests: changes.length === 0 ? [] : [update],
  };
}

/** An application's endpoints or a source's destinations (the same API under `base`). */
function endpointSteps(
  declared: readonly EndpointDecl[],
  current: readonly ServerEndpoint[],
  base: string,
  label: string,
  opts: PlanOptions,
): Step[] {
  const steps: Step[] = [];
  const matched = new Set<ServerEndpoint>();
  for (const decl of declared) {
    const found = current.find((e) =>
      decl.uid !== null ? e.uid === decl.uid : e.uid === null && e.url === decl.fields.url,
    );
    const mark = markFor(opts.fingerprint(decl.hidden), found);
    const metadata = { ...decl.fields.metadata, [APPLY_MARK]: mark };
    const fields = { ...decl.fields, metadata };
    const subject = `${label}${decl.key}`;
    if (found === undefined) {
      steps.push({
        verb: "+",
        subject,
        changes: [],
        requests: [
          {
            method: "POST",
            path: base,
            body: {
              ...fields,
              ...(decl.uid !== null && { uid: decl.uid }),
              ...(decl.hidden.secret !== null && { secret: decl.hidden.secret }),
              headers: decl.hidden.headers,
            },
          },
        ],
      });
      continue;
    }
    matched.add(found);
    const path = `${base}/${found.id}`;
    const hiddenChanged = found.metadata[APPLY_MARK] !== mark;
    const changes = changedFields(fields, found).filter(
      (field) =>
        !(field.startsWith("metadata") && metadataOnlyMark(decl.fields.metadata, found.metadata)),
    );
    const requests: ApiRequest[] = [];
    if (hiddenChanged) {
      changes.push("headers or secret (not shown by the server, so compared by fingerprint)");
      requests.push({
        method: "PUT",
        path: `${path}/headers`,
        body: { headers: decl.hidden.headers },
      });
      if (decl.hidden.secret !== null) {
        requests.push({
          method: "POST",
          path: `${path}/secret/rotate`,
          body: { key: decl.hidden.secret },
        });
      }
    }
    // Last, as it carries the new fingerprint: if a request before it fails, the next apply
    // still sees the change and sends it again.
    if (changes.length > 0 || hiddenChanged) {
      requests.push({ method: "PUT", path, body: { ...fields, uid: decl.uid } });
    }
    steps.push({ verb: requests.length === 0 ? "=" : "~", subject, changes, requests });
  }
  if (opts.prune) {
    for (const endpoint of current) {
      if (matched.has(endpoint) || !madeByApply(endpoint.metadata)) continue;
      steps.push({
        verb: "-",
        // Not its URL: a URL may carry a token.
        subject: `${label}${endpoint.uid ?? endpoint.id}`,
        changes: ["no longer declared"],
        requests: [{ method: "DELETE", path: `${base}/${endpoint.id}` }],
      });
    }
  }
  return steps;
}

function rulesStep(declared: Declarations, server: RulesOrigin, opts: PlanOptions): Step | null {
  // --prune empties only an upload apply made (one with its fingerprint).
  const rules =
    declared.rules ??
    (opts.prune && server.origin === "api" && server.fingerprint !== null
      ? { files: [], env: {} }
      : null);
  if (rules === null) return null;
  const subject = `rules (${rules.files.length} file(s))`;
  if (server.origin === "files") {
    return {
      verb: "~",
      subject,
      changes: [],
      requests: [],
      problem: `the server reads its rules from files (${server.path}): start it without --rules to apply rules, or leave them out of these files`,
    };
  }
  const fingerprint = opts.fingerprint({ files: rules.files, env: rules.env });
  if (server.fingerprint === fingerprint) return { verb: "=", subject, changes: [], requests: [] };
  const before = new Map(server.files.map((f) => [f.name, f.text]));
  const changes = rules.files.flatMap((f) =>
    !before.has(f.name) ? [`+ ${f.name}`] : before.get(f.name) !== f.text ? [`~ ${f.name}`] : [],
  );
  for (const name of before.keys()) {
    if (!rules.files.some((f) => f.name === name)) changes.push(`- ${name}`);
  }
  if (changes.length === 0) changes.push("the values of ${env:…} variables");
  return {
    verb: server.origin === "none" ? "+" : "~",
    subject,
    changes,
    requests: [
      {
        method: "PUT",
        path: "/api/v1/rules",
        body: { files: rules.files, env: rules.env, fingerprint },
      },
    ],
  };
}

/** Names (and, for plain values, old → new) of the declared fields the server has otherwise. */
function changedFields(declared: object, current: object): string[] {
  const changes: string[] = [];
  for (const [field, want] of Object.entries(declared)) {
    const have: unknown = (current as Record<string, unknown>)[field] ?? null;
    if (same(want, have)) continue;
    // Values only of fields that never hold a secret (a URL may carry a token).
    changes.push(
      SHOWN_FIELDS.has(field)
        ? `${field}: ${JSON.stringify(have)} → ${JSON.stringify(want)}`
        : field,
    );
  }
  return changes;
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => same(v, b[i]));
  }
  if (isMap(a) && isMap(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => same(a[k] ?? null, b[k] ?? null));
  }
  return a === b || (a ?? null) === (b ?? null);
}

/** True when two metadata maps differ only in the apply mark (a hidden part changed). */
function metadataOnlyMark(
  declared: Record<string, string>,
  current: Record<string, string>,
): boolean {
  const rest = { ...current };
  delete rest[APPLY_MARK];
  return same(declared, rest);
}

/** Fields whose old and new values a plan shows. */
const SHOWN_FIELDS = new Set([
  "name",
  "description",
  "disabled",
  "rateLimit",
  "archived",
  "deprecated",
  "featureFlag",
  "groupName",
  "type",
]);

/** The mark for an object apply manages: adopted when apply found it unmarked or adopted. */
function markFor(fingerprint: string, current: { metadata: Record<string, string> } | undefined) {
  const had = current?.metadata[APPLY_MARK];
  const adopted = current !== undefined && (had === undefined || had.startsWith(ADOPTED));
  return adopted ? `${ADOPTED}${fingerprint}` : fingerprint;
}

/** Made by apply (not adopted): what --prune may delete. */
function madeByApply(metadata: Record<string, string>): boolean {
  const mark = metadata[APPLY_MARK];
  return mark !== undefined && !mark.startsWith(ADOPTED);
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
