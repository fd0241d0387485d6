import { randomUUID } from "node:crypto";
import {
  applyOverrides,
  closeMatches,
  FIXTURE_PROVIDERS,
  freshBody,
  loadFixtures,
  parseOverride,
  providerRequest,
  summaryOf,
  type Fixture,
  type FixtureBody,
  type FixtureProvider,
  type Override,
  type ProviderRequest,
  isRecord,
} from "../debug/fixtures.js";
import { latestSchema } from "../outbound/payload-schemas.js";
import { secretProblem } from "../signing/standard-webhooks.js";
import { ApiCallError, ApiClient, DEFAULT_SERVER_URL } from "./api-client.js";
import type { CliIo } from "./cli-io.js";
import { printable } from "./printable.js";

/** What `hookyard trigger` was asked (see renderTriggerHelp). */
export interface TriggerRequest {
  /** `github.push`, `stripe.invoice.paid`, …; undefined with --list or --app. */
  fixture: string | undefined;
  list: boolean;
  /** `--override key=value`, each as typed. */
  overrides: readonly string[];
  secret: string | undefined;
  /** `--to <url>`: any URL instead of a source's ingest URL. */
  to: string | undefined;
  /** `--source <id|uid>`: send to this source's ingest URL. */
  source: string | undefined;
  /** `--app <uid> --event-type <t>`: publish through the Send API from the schema's examples. */
  app: string | undefined;
  eventType: string | undefined;
  json: boolean;
  server: string;
  apiKey: string | undefined;
  io: CliIo;
}

/** Providers answer slowly at times; GitHub gives up after 10 s, a debugging tool waits longer. */
const SEND_TIMEOUT_MS = 30_000;
const PREVIEW_CHARS = 200;

/** Source types that verify a provider's signature, and the fixtures each one accepts. */
const VERIFYING_TYPES: Readonly<Record<string, FixtureProvider>> = {
  github: "github",
  stripe: "stripe",
  slack: "slack",
  shopify: "shopify",
  bearer: "alertmanager",
  "standard-webhooks": "standard-webhooks",
  svix: "standard-webhooks",
};

export function renderTriggerHelp(): string {
  return [
    "Usage: hookyard trigger <fixture> (--source <id|uid> | --to <url>) [options]",
    "       hookyard trigger --list [<provider or prefix>] [--json]",
    "       hookyard trigger [<fixture>] --app <uid> --event-type <type> [options]",
    "",
    "Sends a provider's realistic test event, signed the way that provider signs, to a source's",
    "ingest URL or to any URL, then prints one line: → POST <url> <fixture> <status> (<ms> ms).",
    "Ids and timestamps the provider makes new for each event (Stripe's event id and created,",
    "Slack's event_id and event_time, GitHub's X-GitHub-Delivery, …) are fresh on every send.",
    "",
    "Fixtures: github.<event> and github.<event>.<action> (github.push, github.ping,",
    "github.pull_request.opened, …) are the community's recorded payloads from the",
    "@octokit/webhooks-examples package. stripe.*, slack.*, shopify.*, alertmanager.* and",
    "standard-webhooks.* are written from each provider's documented payload shape; the files",
    "are in the package's fixtures/ directory, each naming the documentation it follows.",
    "",
    "Signing (--secret): GitHub X-Hub-Signature-256 and X-Hub-Signature; Stripe",
    "Stripe-Signature (t=…,v1=…; the whole whsec_… text is the key); Slack X-Slack-Signature",
    "v0 with X-Slack-Request-Timestamp; Shopify X-Shopify-Hmac-Sha256 (base64); Standard",
    "Webhooks webhook-signature (a whsec_… secret); Alertmanager signs nothing, so the secret",
    "goes as Authorization: Bearer <secret> (for a bearer source). Without --secret the event",
    "is sent unsigned. The API never shows a source's secret: pass it to reach a verifying one.",
    "",
    "Options:",
    "  --source <id|uid>       Send to this source's ingest URL (looked up with the API).",
    "  --to <url>              Send to any URL instead.",
    "  --secret <secret>       Sign with this secret (see above).",
    "  --override <key=value>  Set a field of the body before signing, by dotted path",
    "                          (data.object.amount_paid=5000, repository.full_name=acme/api,",
    "                          alerts.0.labels.severity=warning); the value is read as JSON",
    "                          when it is JSON, else as text; missing parents are created.",
    "                          Repeatable. For a form body (slack.slash_command): a field name.",
    "  --list                  List the fixtures (name, provider, description), or those of one",
    "                          provider or name prefix: --list stripe. hookyard trigger <provider>",
    "                          lists them too.",
    "  --app <uid>             Publish a message to this application through the Send API",
    "  --event-type <type>     instead, of this event type: its payload is a fixture's body",
    "                          when one is named, else the first of the event type's schema",
    "                          examples. Prints the message id.",
    "  --json                  Print JSON: for a send {fixture, url, status, durationMs,",
    "                          deliveryId, responseBody}; for --list [{name, provider,",
    "                          description, source}]; for --app {app, eventType, messageId}.",
    `  --server <url>          The Hookyard server (default ${DEFAULT_SERVER_URL}) [HOOKYARD_SERVER_URL]`,
    "  --api-key <key>         The admin API key (for --source and --app) [HOOKYARD_API_KEY]",
    "",
    "Examples:",
    "  hookyard trigger github.push --source gh --secret 'It is a secret'",
    "  hookyard trigger stripe.invoice.paid --to http://localhost:3000/webhooks \\",
    "      --secret whsec_test --override data.object.amount_paid=5000",
    "  hookyard trigger alertmanager.firing --source alerts --secret my-token",
    "  hookyard trigger --list github --json",
    "  hookyard trigger --app acme --event-type invoice.paid",
    "",
    "Exit codes: 0 the target answered 2xx (or the message was published); 1 it answered",
    "otherwise (the server's reason is printed), or it or the server could not be reached, or",
    "the API refused (wrong key, unknown source); 2 wrong usage, an unknown fixture included",
    "(the closest names are suggested).",
    "",
  ].join("\n");
}

export async function runTrigger(req: TriggerRequest): Promise<number> {
  const { io } = req;
  const usage = (message: string) => {
    io.stderr.write(`hookyard trigger: ${message}\n`);
    return 2;
  };
  const failed = (message: string) => {
    io.stderr.write(`hookyard trigger: ${message}\n`);
    return 1;
  };

  const publishing = req.app !== undefined || req.eventType !== undefined;
  if (publishing && (req.app === undefined || req.eventType === undefined)) {
    return usage("--app and --event-type go together");
  }
  if (publishing && (req.to !== undefined || req.source !== undefined)) {
    return usage("--app publishes through the Send API: leave out --to and --source");
  }
  if (req.to !== undefined && req.source !== undefined) {
    return usage("give --to or --source, not both");
  }
  const overrides: Override[] = [];
  for (const text of req.overrides) {
    const parsed = parseOverride(text);
    if (!parsed.ok) return usage(parsed.problem);
    overrides.push(parsed.value);
  }

  let fixtures: Fixture[];
  try {
    fixtures = loadFixtures();
  } catch (err) {
    return failed(`cannot load the fixtures (${err instanceof Error ? err.message : String(err)})`);
  }
  const wanted = req.fixture;
  const isProvider = (FIXTURE_PROVIDERS as readonly string[]).includes(wanted ?? "");
  if (req.list || (isProvider && !publishing)) return list(fixtures, wanted, req.json, io);

  let fixture: Fixture | undefined;
  if (wanted !== undefined) {
    fixture = fixtures.find((f) => f.name === wanted);
    if (fixture === undefined) {
      const near = closeMatches(
        wanted,
        fixtures.map((f) => f.name),
      );
      const hint =
        near.length > 0 ? `; did you mean ${near.join(", ")}?` : " (hookyard trigger --list)";
      return usage(`unknown fixture "${wanted}"${hint}`);
    }
  }
  if (req.app !== undefined && req.eventType !== undefined) {
    return publish({ ...req, app: req.app, eventType: req.eventType }, fixture, overrides, {
      usage,
      failed,
    });
  }
  if (fixture === undefined) {
    return usage("name a fixture (hookyard trigger --list shows them) or --app and --event-type");
  }
  if (req.to !== undefined && !isHttpUrl(req.to)) {
    return usage(`--to "${req.to}" is not an http(s) URL`);
  }
  if (req.secret !== undefined && fixture.provider === "standard-webhooks") {
    const problem = secretProblem(req.secret, { prefix: "optional" });
    if (problem !== null) return usage(`--secret: a Standard Webhooks secret ${problem}`);
  }

  const ctx = sendContext(req.secret);
  const checked = applyOverrides(freshBody(fixture, ctx), overrides);
  if (!checked.ok) return usage(checked.problem);
  const request = providerRequest(fixture, checked.value, ctx);

  let url = req.to;
  if (url === undefined) {
    if (req.source === undefined) {
      return usage("say where to send it: --source <id|uid> or --to <url>");
    }
    try {
      url = await ingestUrlOf(req.source, fixture, req);
    } catch (err) {
      if (err instanceof ApiCallError) return failed(err.message);
      throw err;
    }
  }
  if (req.secret === undefined) {
    io.stderr.write(`note: no --secret: ${fixture.name} is sent unsigned\n`);
  }
  return send(url, fixture, request, req, failed);
}

/** The source's ingest URL; a note when the source verifies another provider's signatures. */
async function ingestUrlOf(source: string, fixture: Fixture, req: TriggerRequest): Promise<string> {
  const client = new ApiClient(req.server, req.apiKey);
  const found = await client.json<{ ingestUrl: string; type: string }>(
    "GET",
    `/ingest/api/v1/source/${encodeURIComponent(source)}`,
  );
  const accepts = VERIFYING_TYPES[found.type];
  if (accepts !== undefined && accepts !== fixture.provider) {
    req.io.stderr.write(
      `note: source ${source} verifies ${found.type} requests; ${fixture.name} is sent the ${fixture.provider} way\n`,
    );
  }
  return found.ingestUrl;
}

function sendContext(secret: string | undefined) {
  // eslint-disable-next-line no-restricted-syntax -- a test event is signed at the wall-clock time, as the provider would sign it
  return { nowMs: Date.now(), uuid: randomUUID, secret };
}

function list(fixtures: Fixture[], filter: string | undefined, json: boolean, io: CliIo): number {
  const shown = fixtures.filter(
    (f) => filter === undefined || f.provider === filter || f.name.startsWith(filter),
  );
  if (json) {
    io.stdout.write(`${JSON.stringify(shown.map(summaryOf), null, 2)}\n`);
    return 0;
  }
  if (shown.length === 0) {
    io.stderr.write(`hookyard trigger: no fixture starts with "${filter}"\n`);
    return 1;
  }
  const width = Math.max(...shown.map((f) => f.name.length)) + 2;
  const providerWidth = Math.max(...shown.map((f) => f.provider.length)) + 2;
  for (const f of shown) {
    const line = `${f.name.padEnd(width)}${f.provider.padEnd(providerWidth)}${f.description ?? ""}`;
    io.stdout.write(`${line.trimEnd()}\n`);
  }
  return 0;
}

async function send(
  url: string,
  fixture: Fixture,
  request: ProviderRequest,
  req: TriggerRequest,
  failed: (message: string) => number,
): Promise<number> {
  const { io } = req;
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    // eslint-disable-next-line no-restricted-globals -- the CLI plays the provider sending a test event (as curl would), not webhook egress
    response = await fetch(url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (err) {
    if (err instanceof Error && err.name === "TimeoutError") {
      return failed(`no answer from ${url} within ${SEND_TIMEOUT_MS / 1000} s`);
    }
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : "";
    return failed(`cannot reach ${url}${cause ? ` (${cause})` : ""}`);
  }
  const durationMs = Math.round(performance.now() - started);
  const answer = parseJson(text);
  if (req.json) {
    const out = {
      fixture: fixture.name,
      url,
      status: response.status,
      durationMs,
      deliveryId: request.deliveryId,
      ...(text !== "" && { responseBody: answer === undefined ? text : answer }),
    };
    io.stdout.write(`${JSON.stringify(out)}\n`);
  } else {
    const preview = oneLine(text);
    io.stdout.write(
      `→ POST ${url} ${fixture.name} ${response.status} (${durationMs} ms)${preview ? ` ${preview}` : ""}\n`,
    );
  }
  if (response.ok) {
    if (isRecord(answer) && answer["status"] === "duplicate") {
      io.stderr.write(
        "note: the source kept it as a duplicate of an earlier request (same signed content within its dedup window); --override a field to send a new one\n",
      );
    }
    return 0;
  }
  const detail =
    isRecord(answer) && typeof answer["detail"] === "string" ? printable(answer["detail"]) : "";
  const unsigned =
    response.status === 401 && req.secret === undefined
      ? " (it was sent unsigned: pass the source's secret with --secret)"
      : "";
  return failed(`${url} answered ${response.status}${detail ? `: ${detail}` : ""}${unsigned}`);
}

/** `--app --event-type`: a message through the Send API, its payload a fixture or an example. */
async function publish(
  req: TriggerRequest & { app: string; eventType: string },
  fixture: Fixture | undefined,
  overrides: readonly Override[],
  { usage, failed }: { usage: (message: string) => number; failed: (message: string) => number },
): Promise<number> {
  const { app, eventType } = req;
  try {
    const client = new ApiClient(req.server, req.apiKey);
    let body: FixtureBody;
    if (fixture !== undefined) {
      body = freshBody(fixture, sendContext(undefined));
      if (body.kind === "form") return usage(`${fixture.name} is a form, not a JSON payload`);
    } else {
      const type = await client.json<{ schemas: Record<string, unknown> | null }>(
        "GET",
        `/api/v1/event-type/${encodeURIComponent(eventType)}`,
      );
      const examples = latestSchema(type.schemas)?.["examples"];
      if (!Array.isArray(examples) || examples.length === 0) {
        return failed(
          `event type "${eventType}" has no schema examples; name a fixture to send its body`,
        );
      }
      body = { kind: "json", value: examples[0] as unknown };
    }
    const checked = applyOverrides(body, overrides);
    if (!checked.ok) return usage(checked.problem);
    const payload = checked.value.kind === "json" ? checked.value.value : null;
    const message = await client.json<{ id: string }>(
      "POST",
      `/api/v1/app/${encodeURIComponent(app)}/msg`,
      { eventType, payload },
    );
    if (req.json) {
      req.io.stdout.write(`${JSON.stringify({ app, eventType, messageId: message.id })}\n`);
    } else {
      req.io.stdout.write(`${message.id}\n`);
      const from = fixture === undefined ? "the schema's first example" : fixture.name;
      req.io.stderr.write(`published ${eventType} to ${app} (payload: ${from})\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof ApiCallError) return failed(err.message);
    throw err;
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The answer's body on one line, shortened (a page of HTML should not flood the terminal). */
function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return printable(flat.length > PREVIEW_CHARS ? `${flat.slice(0, PREVIEW_CHARS - 1)}…` : flat);
}
