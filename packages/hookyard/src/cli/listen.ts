import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { LISTENER_NAME } from "../debug/listeners.js";
import { ApiCallError, ApiClient } from "./api-client.js";
import type { CliIo } from "./cli-io.js";
import { FORWARD_TIMEOUT_MS } from "./local-forward.js";
import { Listener } from "./listener-client.js";

export interface ListenRequest {
  forwardTo: string | undefined;
  source: string | undefined;
  app: string | undefined;
  endpoint: string | undefined;
  name: string | undefined;
  json: boolean;
  server: string;
  apiKey: string | undefined;
  io: CliIo;
  /** Backoff before the n-th retry (1-based), in ms; tests shorten it. */
  retryDelayMs?: (attempt: number) => number;
}

const MAX_BACKOFF_MS = 30_000;

const USAGE = 2;
/**
 * A message whose signature is older than this is fetched again, freshly signed, before it is
 * forwarded: receivers refuse a Standard Webhooks timestamp more than 5 minutes old.
 */
const RESIGN_AFTER_MS = 4 * 60_000;

export function renderListenHelp(): string {
  return [
    "Usage: hookyard listen --forward-to <url> --source <id|uid> [options]",
    "       hookyard listen --forward-to <url> --app <uid> --endpoint <id|uid> [options]",
    "",
    "Forwards every request a source or request bin accepts to a URL on this machine, byte-exact",
    "(method, the path after the ingest token, query, headers and body), one at a time and in",
    "the order received, and prints a line per request: time, method, path, the local app's",
    "status and how long it took. With --app and --endpoint it forwards the messages that",
    "endpoint is sent, as their deliveries send them (the endpoint's headers and a Standard",
    "Webhooks signature made with its secret), beside the deliveries to its URL. It connects",
    "out to the server (Server-Sent Events), so it works where this machine accepts no inbound",
    "connections.",
    "",
    "Nothing is lost: the server keeps the requests, and a listener (by --name) resumes after",
    "the last one its app answered — requests that arrived while it was stopped, killed or",
    "disconnected are forwarded first, and a summary says how many. A request the local app",
    `answers with 5xx, does not answer within ${FORWARD_TIMEOUT_MS / 1000} s, or cannot take (not listening) is retried`,
    "with backoff (0.5 s doubling to 30 s) until it answers; a 2xx, 3xx or 4xx answer counts as",
    "delivered. Two listeners with different names each get every request. Ctrl-C stops cleanly.",
    "",
    "Options:",
    "  --forward-to <url>   Where to send requests, e.g. http://localhost:3000/webhooks. The",
    "                       request's own path after the ingest token is appended, its query too.",
    "  --source <id|uid>    The source or request bin to listen to.",
    "  --app <uid> --endpoint <id|uid>",
    "                       Or: the endpoint whose messages to forward (its filters apply).",
    "  --name <name>        The listener's name (its cursor on the server). Default: this host's",
    "                       name and a digest of --forward-to, so a restart resumes.",
    "  --json               One JSON object per line instead of text (see below).",
    "  --server <url>       The Hookyard server [HOOKYARD_SERVER_URL, default http://127.0.0.1:8080].",
    "  --api-key <key>      The API key [HOOKYARD_API_KEY].",
    "",
    "JSON lines: {type: 'listening', to, name, forwardTo}; {type: 'request', id, method, path,",
    "query, status, durationMs, tries, replayed, receivedAt}; {type: 'retry', id, error | status,",
    "durationMs, retryInMs}; {type: 'caught-up', replayed, answered2xx?, answeredOther?};",
    "{type: 'disconnected', error, retryInMs}; {type: 'resign', id}; {type: 'stopped', forwarded,",
    "lastAcknowledged}.",
    "",
    "Delivery is at least once: a listener killed after its app answered but before the server",
    "heard so forwards that one request again when it restarts (providers' delivery ids, e.g.",
    "X-GitHub-Delivery, are forwarded unchanged for the app to de-duplicate on).",
    "",
    "A second listen under the same name takes over: the first stops (exit 1). The server keeps",
    "what the source keeps: a request bin its newest 500 requests, every source the retention",
    "window.",
    "",
    "Exit codes: 0 stopped with Ctrl-C; 1 the server refused (unknown source, wrong key, an",
    "acknowledgement refused, the name taken over) or cannot be reached at start; 2 wrong usage.",
    "",
    "Example:",
    "  hookyard bin create my-bin",
    "  hookyard listen --source my-bin --forward-to http://localhost:3000/webhooks",
    "",
  ].join("\n");
}

/**
 * `hookyard listen`: follows a listener's stream and forwards each request to the local URL,
 * acknowledging it once the local app has answered, so the server's cursor only moves past
 * requests the app has seen.
 */
export async function runListen(req: ListenRequest): Promise<number> {
  const { io } = req;
  const problem = usageProblem(req);
  if (problem !== null) {
    io.stderr.write(`hookyard listen: ${problem}\nRun "hookyard listen --help" for usage.\n`);
    return USAGE;
  }
  const forwardTo = new URL(req.forwardTo!);
  const name = req.name ?? defaultName(forwardTo.href);
  let client: ApiClient;
  let base: string;
  let what: string;
  try {
    client = new ApiClient(req.server, req.apiKey);
    if (req.source !== undefined) {
      const source = await client.json<{ id: string }>(
        "GET",
        `/ingest/api/v1/source/${encodeURIComponent(req.source)}`,
      );
      base = `/ingest/api/v1/source/${encodeURIComponent(source.id)}`;
      what = req.source;
    } else {
      const app = encodeURIComponent(req.app!);
      const endpoint = await client.json<{ id: string }>(
        "GET",
        `/api/v1/app/${app}/endpoint/${encodeURIComponent(req.endpoint!)}`,
      );
      base = `/api/v1/app/${app}/endpoint/${encodeURIComponent(endpoint.id)}`;
      what = `endpoint ${req.endpoint!} of ${req.app!}`;
    }
  } catch (err) {
    if (!(err instanceof ApiCallError)) throw err;
    io.stderr.write(`hookyard listen: ${err.message}\n`);
    return 1;
  }
  const listener = new Listener({
    client,
    base: `${base}/listener/${encodeURIComponent(name)}`,
    forwardTo,
    io,
    json: req.json,
    retryDelayMs: req.retryDelayMs ?? backoff,
    // Messages are signed when streamed; one retried for minutes would carry a stale timestamp.
    resignAfterMs: req.source === undefined ? RESIGN_AFTER_MS : null,
  });
  const stopped = io.waitForShutdownSignal().then(() => listener.stop());
  if (req.json) {
    io.stdout.write(
      `${JSON.stringify({ type: "listening", to: what, name, forwardTo: forwardTo.href })}\n`,
    );
  } else {
    io.stderr.write(
      `listening to ${what} as "${name}", forwarding to ${forwardTo.href} (Ctrl-C to stop)\n`,
    );
  }
  const code = await listener.run();
  await stopped.catch(() => undefined);
  return code;
}

function usageProblem(req: ListenRequest): string | null {
  if (req.forwardTo === undefined) return "--forward-to <url> is needed";
  let url: URL;
  try {
    url = new URL(req.forwardTo);
  } catch {
    return `--forward-to "${req.forwardTo}" is not a URL (e.g. http://localhost:3000/webhooks)`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `--forward-to must be an http or https URL, not ${url.protocol}`;
  }
  const endpoint = req.app !== undefined || req.endpoint !== undefined;
  if (endpoint && req.source !== undefined) {
    return "--source or --app with --endpoint, not both";
  }
  if (endpoint && (req.app === undefined || req.endpoint === undefined)) {
    return "--app <uid> and --endpoint <id|uid> go together";
  }
  if (!endpoint && req.source === undefined) {
    return "--source <id|uid> (or --app <uid> --endpoint <id|uid>) is needed";
  }
  if (req.name !== undefined && !LISTENER_NAME.test(req.name)) {
    return `--name "${req.name}" must be 1 to 128 letters, digits or . _ : @ - (starting with a letter or digit)`;
  }
  return null;
}

/** This host and the target: the same command on the same machine resumes the same cursor. */
function defaultName(forwardTo: string): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, "-")
      .replace(/^[^A-Za-z0-9]+/, "") || "host";
  const digest = createHash("sha256").update(forwardTo).digest("hex").slice(0, 8);
  return `${host.slice(0, 100)}-${digest}`;
}

function backoff(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, 500 * 2 ** (attempt - 1));
}
