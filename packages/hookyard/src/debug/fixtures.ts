import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { signatureHeaders, type SigningScheme } from "../signing/provider-signers.js";
import { editDistance } from "../edit-distance.js";

/**
 * The events `hookyard trigger` sends: GitHub's from `@octokit/webhooks-examples` (the
 * community's recorded payloads), the other providers' from the JSON files in `fixtures/`, each
 * written from the provider's documented payload shape and naming that documentation. Everything
 * but the loaders is pure: time and ids are inputs. One module past 400 lines on purpose: a
 * provider's fixtures, fresh ids, headers and serialisation are read and changed together.
 */

export const FIXTURE_PROVIDERS = [
  "github",
  "stripe",
  "slack",
  "shopify",
  "alertmanager",
  "standard-webhooks",
] as const;
export type FixtureProvider = (typeof FIXTURE_PROVIDERS)[number];

export type FixtureBody =
  { kind: "json"; value: unknown } | { kind: "form"; fields: Record<string, string> };

export interface FixtureSummary {
  /** `github.pull_request.opened`, `stripe.invoice.paid`, `shopify.orders/create`, … */
  name: string;
  provider: FixtureProvider;
  description?: string;
  /** Where the payload's shape comes from: a package or the provider's documentation. */
  source: string;
}

export interface Fixture extends FixtureSummary {
  /** The provider's name for the event, as its headers carry it (GitHub's event, Shopify's topic). */
  event: string;
  body: FixtureBody;
}

// --- loading ---

const FIXTURES_DIR = fileURLToPath(new URL("../../fixtures/", import.meta.url));
const GITHUB_DOCS = "https://docs.github.com/en/webhooks/webhook-events-and-payloads";

/** Every fixture, in FIXTURE_PROVIDERS order, then by name. */
export function loadFixtures(): Fixture[] {
  const require = createRequire(import.meta.url);
  const index = require.resolve("@octokit/webhooks-examples");
  const github = githubFixtures(JSON.parse(readFileSync(index, "utf8")) as unknown);
  const files = FIXTURE_PROVIDERS.filter((p) => p !== "github").flatMap((provider) => {
    const dir = join(FIXTURES_DIR, provider);
    const names = readdirSync(dir).filter((file) => file.endsWith(".json"));
    return names.map((file) =>
      fileFixture(provider, file, JSON.parse(readFileSync(join(dir, file), "utf8")) as unknown),
    );
  });
  const order = (f: Fixture) => FIXTURE_PROVIDERS.indexOf(f.provider);
  return [...github, ...files].sort(
    (a, b) => order(a) - order(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/**
 * `github.<event>` (its first example) and `github.<event>.<action>` (the first example with
 * that action) for each event of the package's api.github.com set.
 */
export function githubFixtures(definitions: unknown): Fixture[] {
  if (!Array.isArray(definitions)) throw new Error("@octokit/webhooks-examples: not a list");
  const fixtures: Fixture[] = [];
  for (const definition of definitions as unknown[]) {
    if (!isRecord(definition) || typeof definition["name"] !== "string") continue;
    const event = definition["name"];
    const examples = Array.isArray(definition["examples"]) ? definition["examples"] : [];
    const about = firstSentence(definition["description"]);
    const source = `@octokit/webhooks-examples (api.github.com); ${GITHUB_DOCS}#${event}`;
    const add = (name: string, example: unknown, description: string | undefined) =>
      fixtures.push({
        name,
        provider: "github",
        event,
        ...(description !== undefined && { description }),
        source,
        body: { kind: "json", value: example },
      });
    const actions = new Set<string>();
    examples.forEach((example: unknown, i) => {
      if (!isRecord(example)) return;
      if (i === 0) add(`github.${event}`, example, about);
      const action = example["action"];
      if (typeof action !== "string" || actions.has(action)) return;
      actions.add(action);
      add(
        `github.${event}.${action}`,
        example,
        `${shorten(about ?? event, 72 - action.length)} (${action})`,
      );
    });
  }
  return fixtures;
}

/** A `fixtures/<provider>/<file>.json`: `{event, description, source, contentType?, body}`. */
export function fileFixture(provider: FixtureProvider, file: string, json: unknown): Fixture {
  const bad = (why: string) => new Error(`fixtures/${provider}/${file}: ${why}`);
  if (!isRecord(json)) throw bad("not a JSON object");
  const { event, description, source, contentType, body } = json;
  if (typeof event !== "string" || event === "") throw bad('"event" must be a string');
  if (typeof source !== "string" || source === "") throw bad('"source" must name the docs');
  if (!isRecord(body)) throw bad('"body" must be an object');
  let fixtureBody: FixtureBody = { kind: "json", value: body };
  if (contentType === "application/x-www-form-urlencoded") {
    if (!Object.values(body).every((v) => typeof v === "string")) {
      throw bad("a form body's fields must be strings");
    }
    fixtureBody = { kind: "form", fields: body as Record<string, string> };
  } else if (contentType !== undefined) {
    throw bad(`unsupported "contentType" ${JSON.stringify(contentType)}`);
  }
  return {
    name: `${provider}.${event}`,
    provider,
    event,
    ...(typeof description === "string" && { description }),
    source,
    body: fixtureBody,
  };
}

export function summaryOf(fixture: Fixture): FixtureSummary {
  const { name, provider, description, source } = fixture;
  return { name, provider, ...(description !== undefined && { description }), source };
}

/** Up to `limit` names close to `wanted`: by edit distance, names it starts or ends first. */
export function closeMatches(wanted: string, names: readonly string[], limit = 5): string[] {
  const scored = names.map((name) => {
    const distance = editDistance(wanted, name);
    const prefix = name.startsWith(wanted) || wanted.startsWith(name);
    return { name, score: prefix ? Math.min(distance, 1) : distance };
  });
  const budget = Math.max(2, Math.floor(wanted.length / 3));
  return scored
    .filter((s) => s.score <= budget)
    .sort((a, b) => a.score - b.score || a.name.length - b.name.length)
    .slice(0, limit)
    .map((s) => s.name);
}

// --- overrides ---

/** `--override key=value`: a dotted path into the body and the value to put there. */
export interface Override {
  text: string;
  path: string[];
  /** As typed after `=`; read as JSON when it is JSON, else taken as a string. */
  raw: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

export function parseOverride(text: string): Checked<Override> {
  const eq = text.indexOf("=");
  if (eq < 0) return { ok: false, problem: `override "${text}" is not key=value` };
  const path = text.slice(0, eq).split(".");
  if (path.some((key) => key === "")) {
    return { ok: false, problem: `override "${text}" has an empty key in its path` };
  }
  return { ok: true, value: { text, path, raw: text.slice(eq + 1) } };
}

/** `body` with each override set, in order; a missing parent is created as an object. */
export function applyOverrides(
  body: FixtureBody,
  overrides: readonly Override[],
): Checked<FixtureBody> {
  if (body.kind === "form") {
    const fields = { ...body.fields };
    const nested = overrides.find((o) => o.path.length > 1);
    if (nested) return { ok: false, problem: `override "${nested.text}": a form has no nesting` };
    for (const o of overrides) setOwn(fields, o.path[0]!, o.raw);
    return { ok: true, value: { kind: "form", fields } };
  }
  const root = structuredClone(body.value);
  for (const o of overrides) {
    const problem = setPath(root, o.path, jsonOrText(o.raw));
    if (problem !== null) return { ok: false, problem: `override "${o.text}": ${problem}` };
  }
  return { ok: true, value: { kind: "json", value: root } };
}

function setPath(root: unknown, path: readonly string[], value: unknown): string | null {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const where = path.slice(0, i).join(".") || "the body";
    if (typeof node !== "object" || node === null) return `${where} is not an object`;
    if (Array.isArray(node) && !/^\d+$/.test(key)) return `${where} is a list: use an index`;
    if (Array.isArray(node) && Number(key) > node.length)
      return `${where} has ${node.length} item(s): the next index is ${node.length}`;
    if (i === path.length - 1) {
      setOwn(node as Record<string, unknown>, key, value);
      return null;
    }
    // Own properties only: `__proto__.x=1` names a key of the body, not Object.prototype.
    let child = Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
    if (child === undefined || child === null) {
      child = {};
      setOwn(node as Record<string, unknown>, key, child);
    }
    node = child;
  }
  return null;
}

const OWN = { enumerable: true, writable: true, configurable: true } as const;

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, ...OWN });
}

function jsonOrText(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

// --- sending ---

/** A fixture as the provider would send it now: headers (lower-case names) and the body's bytes. */
export interface ProviderRequest {
  headers: Record<string, string>;
  body: Buffer;
  /** The id the provider gives this delivery (header or body), or null when it gives none. */
  deliveryId: string | null;
}

export interface SendContext {
  nowMs: number;
  /** A fresh random UUID per call (delivery ids, event ids). */
  uuid: () => string;
  /** Signs the request the provider's way; Alertmanager sends it as a bearer token. */
  secret: string | undefined;
}

/** The fixture's body with what the provider makes new for each event: ids and timestamps. */
export function freshBody(fixture: Fixture, ctx: Pick<SendContext, "nowMs" | "uuid">): FixtureBody {
  if (fixture.body.kind === "form") return fixture.body;
  const value = structuredClone(fixture.body.value);
  if (!isRecord(value)) return { kind: "json", value };
  const seconds = Math.floor(ctx.nowMs / 1000);
  const token = () => ctx.uuid().replaceAll("-", "");
  switch (fixture.provider) {
    case "stripe":
      value["id"] = `evt_${token().slice(0, 24)}`;
      value["created"] = seconds;
      break;
    case "slack":
      if (value["type"] === "event_callback") {
        value["event_id"] = `Ev${token().slice(0, 10).toUpperCase()}`;
        value["event_time"] = seconds;
        const ts = `${seconds}.${String(parseInt(token().slice(0, 5), 16) % 1e6).padStart(6, "0")}`;
        if (isRecord(value["event"])) Object.assign(value["event"], { ts, event_ts: ts });
      } else if (value["type"] === "url_verification") {
        value["challenge"] = token() + token().slice(0, 20);
      }
      break;
    case "standard-webhooks":
      value["timestamp"] = new Date(ctx.nowMs).toISOString();
      break;
    case "github":
    case "shopify":
    case "alertmanager":
      // Their bodies carry no per-delivery id: the delivery's headers do.
      break;
  }
  return { kind: "json", value };
}

/** How the provider serialises: Stripe pretty-prints, Go's encoder (Alertmanager) ends in \n. */
export function serializeBody(provider: FixtureProvider, body: FixtureBody): Buffer {
  if (body.kind === "form")
    return Buffer.from(new URLSearchParams(Object.entries(body.fields)).toString());
  if (provider === "stripe") return Buffer.from(JSON.stringify(body.value, null, 2));
  if (provider === "alertmanager") return Buffer.from(`${JSON.stringify(body.value)}\n`);
  return Buffer.from(JSON.stringify(body.value));
}

/** The request for `body` (fresh and overridden already) with the provider's headers, signed. */
export function providerRequest(
  fixture: Fixture,
  body: FixtureBody,
  ctx: SendContext,
): ProviderRequest {
  const bytes = serializeBody(fixture.provider, body);
  const json = body.kind === "json" && isRecord(body.value) ? body.value : {};
  const seconds = Math.floor(ctx.nowMs / 1000);
  const contentType =
    body.kind === "form" ? "application/x-www-form-urlencoded" : "application/json";
  let headers: Record<string, string>;
  let deliveryId: string | null = null;
  switch (fixture.provider) {
    case "github": {
      deliveryId = ctx.uuid();
      const repository = isRecord(json["repository"]) ? json["repository"]["id"] : undefined;
      const hookId = typeof json["hook_id"] === "number" ? json["hook_id"] : 123456789;
      headers = {
        "user-agent": "GitHub-Hookshot/044aadd",
        "content-type": "application/json",
        "x-github-event": fixture.event,
        "x-github-delivery": deliveryId,
        "x-github-hook-id": String(hookId),
        ...(typeof repository === "number" && {
          "x-github-hook-installation-target-type": "repository",
          "x-github-hook-installation-target-id": String(repository),
        }),
      };
      break;
    }
    case "stripe":
      deliveryId = typeof json["id"] === "string" ? json["id"] : null;
      headers = {
        "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "content-type": "application/json; charset=utf-8",
        "cache-control": "no-cache",
        accept: "*/*; q=0.5, application/xml",
      };
      break;
    case "slack":
      deliveryId = typeof json["event_id"] === "string" ? json["event_id"] : null;
      headers = {
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "content-type": contentType,
        "x-slack-request-timestamp": String(seconds),
      };
      break;
    case "shopify":
      deliveryId = ctx.uuid();
      headers = {
        "user-agent": "Shopify-Captain-Hook",
        "content-type": "application/json",
        "x-shopify-topic": fixture.event,
        "x-shopify-shop-domain": "hookyard-demo.myshopify.com",
        "x-shopify-api-version": "2025-07",
        "x-shopify-webhook-id": ctx.uuid(),
        "x-shopify-event-id": deliveryId,
        "x-shopify-triggered-at": new Date(ctx.nowMs).toISOString(),
      };
      break;
    case "alertmanager":
      headers = { "user-agent": "Alertmanager/0.28.1", "content-type": "application/json" };
      break;
    case "standard-webhooks":
      deliveryId = `msg_${ctx.uuid().replaceAll("-", "")}`;
      headers = {
        "content-type": "application/json",
        "webhook-id": deliveryId,
        "webhook-timestamp": String(seconds),
      };
      break;
  }
  if (ctx.secret !== undefined) {
    const scheme: SigningScheme =
      fixture.provider === "alertmanager"
        ? { type: "bearer", token: ctx.secret }
        : { type: fixture.provider, secret: ctx.secret };
    const msgId = headers["webhook-id"] ?? "";
    Object.assign(
      headers,
      signatureHeaders(scheme, { body: bytes, timestampSeconds: seconds, msgId }),
    );
  }
  return { headers, body: bytes, deliveryId };
}

// --- helpers ---

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The first sentence of a GitHub event description, links reduced to their text. */
function firstSentence(text: unknown): string | undefined {
  if (typeof text !== "string" || text === "") return undefined;
  const plain = text.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replaceAll('"', "");
  return shorten((plain.split(/(?<=\.)\s/)[0] ?? plain).replace(/\.$/, ""), 80);
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}
