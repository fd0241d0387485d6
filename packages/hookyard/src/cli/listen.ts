import { createHash } from "node:crypto";
import { request as httpRequest, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { hostname } from "node:os";
import { ApiCallError, ApiClient } from "./api-client.js";
import type { CliIo } from "./cli-io.js";
import { serverSentEvents } from "./sse.js";
import { printable } from "./tail.js";

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

/** What the server streams for each request (an InboundRequestOut). */
interface StreamedRequest {
  id: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
  bodyEncoding: "utf8" | "base64";
  receivedAt: string;
}

/** Headers about one hop's connection, not the request: the local request makes its own. */
const HOP_HEADERS = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "content-length",
  "expect",
]);
/** A local app that takes longer than this is treated as down (the request is retried). */
const FORWARD_TIMEOUT_MS = 30_000;
const MAX_BACKOFF_MS = 30_000;
/** Acknowledged ids remembered, so a request sent again after a reconnect is not forwarded twice. */
const REMEMBERED_IDS = 10_000;

const USAGE = 2;
/**
 * A message retried this long is fetched again, freshly signed: receivers refuse a
 * Standard Webhooks timestamp more than 5 minutes old.
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
    "answers with 5xx, does not answer within 30 s, or cannot take (not listening) is retried",
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
    "retryInMs}; {type: 'caught-up', replayed}; {type: 'disconnected', error, retryInMs};",
    "{type: 'stopped', forwarded}.",
    "",
    "Delivery is at least once: a listener killed after its app answered but before the server",
    "heard so forwards that one request again when it restarts (providers' delivery ids, e.g.",
    "X-GitHub-Delivery, are forwarded unchanged for the app to de-duplicate on).",
    "",
    "Exit codes: 0 stopped with Ctrl-C; 1 the server refused (unknown source, wrong key) or",
    "cannot be reached at start; 2 wrong usage.",
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
  if (req.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(req.name)) {
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

interface ForwardResult {
  status: number | null;
  error: string | null;
  durationMs: number;
}

class Listener {
  readonly #client: ApiClient;
  readonly #base: string;
  readonly #forwardTo: URL;
  readonly #io: CliIo;
  readonly #json: boolean;
  readonly #retryDelayMs: (attempt: number) => number;
  readonly #resignAfterMs: number | null;
  readonly #abort = new AbortController();
  /** Acknowledged ids (oldest first), so one sent again after a reconnect is skipped. */
  readonly #done = new Set<string>();
  #forwarded = 0;
  #replayedOk = 0;
  #replayedFailed = 0;
  #caughtUp = false;
  #lastAcknowledged: string | null = null;

  constructor(deps: {
    client: ApiClient;
    base: string;
    forwardTo: URL;
    io: CliIo;
    json: boolean;
    retryDelayMs: (attempt: number) => number;
    resignAfterMs: number | null;
  }) {
    this.#resignAfterMs = deps.resignAfterMs;
    this.#client = deps.client;
    this.#base = deps.base;
    this.#forwardTo = deps.forwardTo;
    this.#io = deps.io;
    this.#json = deps.json;
    this.#retryDelayMs = deps.retryDelayMs;
  }

  stop(): void {
    this.#abort.abort();
  }

  /** Connects, forwards, reconnects after a lost connection; returns the exit code. */
  async run(): Promise<number> {
    const signal = this.#abort.signal;
    let failures = 0;
    let connected = false;
    while (!signal.aborted) {
      let response: Response;
      try {
        response = await this.#client.send("GET", `${this.#base}/stream`, {
          accept: "text/event-stream",
          signal,
        });
      } catch (err) {
        if (signal.aborted) break;
        if (!(err instanceof ApiCallError)) throw err;
        // Before the first connection a failure is the answer (wrong key, no server); after it, a
        // server that restarts or a network that drops is waited out.
        if (!connected) {
          this.#io.stderr.write(`hookyard listen: ${err.message}\n`);
          return 1;
        }
        failures++;
        await this.#disconnected(err.message, failures);
        continue;
      }
      connected = true;
      failures = 0;
      // The server sends unacknowledged requests again on a new connection: a fresh replay count.
      this.#caughtUp = false;
      try {
        await this.#follow(response.body!);
        if (!signal.aborted) await this.#disconnected("the server closed the stream", 1);
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        await this.#disconnected(err instanceof Error ? err.message : String(err), failures);
      }
    }
    this.#print(
      { type: "stopped", forwarded: this.#forwarded, lastAcknowledged: this.#lastAcknowledged },
      `stopped after forwarding ${this.#forwarded} request${this.#forwarded === 1 ? "" : "s"}` +
        (this.#lastAcknowledged === null ? "" : `; last acknowledged ${this.#lastAcknowledged}`),
    );
    return 0;
  }

  async #follow(body: ReadableStream<Uint8Array>): Promise<void> {
    for await (const event of serverSentEvents(body)) {
      if (this.#abort.signal.aborted) return;
      if (event.event === "caught-up") {
        this.#caughtUp = true;
        const { replayed } = JSON.parse(event.data) as { replayed: number };
        this.#summary(replayed);
        continue;
      }
      if (event.event !== "request") continue;
      const request = JSON.parse(event.data) as StreamedRequest;
      if (this.#done.has(request.id)) {
        await this.#acknowledge(request.id);
        continue;
      }
      const result = await this.#deliver(request);
      if (result === null) return;
      await this.#acknowledge(request.id);
    }
  }

  /**
   * Forwards until the local app answers below 500; null if stopped first, or (a message) when
   * its signature has grown old: the caller reconnects and gets it again, freshly signed.
   */
  async #deliver(request: StreamedRequest): Promise<ForwardResult | null> {
    const since = performance.now();
    for (let tries = 1; ; tries++) {
      if (this.#resignAfterMs !== null && performance.now() - since > this.#resignAfterMs) {
        return null;
      }
      const result = await forward(this.#forwardTo, request, this.#abort.signal);
      if (this.#abort.signal.aborted) return null;
      if (result.status !== null && result.status < 500) {
        this.#forwarded++;
        if (!this.#caughtUp) {
          if (result.status < 300) this.#replayedOk++;
          else this.#replayedFailed++;
        }
        this.#line(request, result, tries);
        return result;
      }
      const retryInMs = this.#retryDelayMs(tries);
      this.#print(
        {
          type: "retry",
          id: request.id,
          ...(result.status === null ? { error: result.error } : { status: result.status }),
          durationMs: result.durationMs,
          retryInMs,
        },
        `${clockTime()}  ${request.method} ${printable(target(request))}  ${
          result.status ?? result.error
        }  ${result.durationMs} ms  ${request.id}  (retrying in ${seconds(retryInMs)})`,
      );
      if (!(await this.#wait(retryInMs))) return null;
    }
  }

  async #acknowledge(id: string): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        await this.#client.json("POST", `${this.#base}/ack`, { requestId: id });
        break;
      } catch (err) {
        if (!(err instanceof ApiCallError) || this.#abort.signal.aborted) throw err;
        // The app has the request: keep telling the server, or the next start forwards it again.
        if (!(await this.#wait(this.#retryDelayMs(tries)))) return;
      }
    }
    this.#lastAcknowledged = id;
    this.#done.add(id);
    if (this.#done.size > REMEMBERED_IDS) {
      this.#done.delete(this.#done.values().next().value!);
    }
  }

  #summary(replayed: number): void {
    if (replayed === 0) {
      this.#print(
        { type: "caught-up", replayed: 0 },
        "ready: new requests are forwarded as they arrive",
      );
      return;
    }
    const text =
      `caught up: ${replayed} request${replayed === 1 ? "" : "s"} received while this listener ` +
      `was away ${replayed === 1 ? "was" : "were"} forwarded` +
      ` (${this.#replayedOk} answered 2xx` +
      (this.#replayedFailed > 0 ? `, ${this.#replayedFailed} answered 3xx/4xx` : "") +
      "); new requests are forwarded as they arrive";
    this.#print(
      {
        type: "caught-up",
        replayed,
        answered2xx: this.#replayedOk,
        answeredOther: this.#replayedFailed,
      },
      text,
    );
    this.#replayedOk = 0;
    this.#replayedFailed = 0;
  }

  #line(request: StreamedRequest, result: ForwardResult, tries: number): void {
    const replayed = !this.#caughtUp;
    this.#print(
      {
        type: "request",
        id: request.id,
        method: request.method,
        path: request.path,
        query: request.query,
        status: result.status,
        durationMs: result.durationMs,
        tries,
        replayed,
        receivedAt: request.receivedAt,
      },
      `${clockTime()}  ${request.method} ${printable(target(request))}  ${result.status}  ` +
        `${result.durationMs} ms  ${request.id}${replayed ? "  (replayed)" : ""}` +
        (tries > 1 ? `  (after ${tries} tries)` : ""),
    );
  }

  async #disconnected(error: string, failures: number): Promise<void> {
    const retryInMs = Math.min(10_000, this.#retryDelayMs(failures));
    this.#print(
      { type: "disconnected", error, retryInMs },
      `connection to the server lost (${error}); reconnecting in ${seconds(retryInMs)}`,
      "stderr",
    );
    await this.#wait(retryInMs);
  }

  #print(json: Record<string, unknown>, text: string, to: "stdout" | "stderr" = "stdout"): void {
    if (this.#json) this.#io.stdout.write(`${JSON.stringify(json)}\n`);
    else this.#io[to].write(`${text}\n`);
  }

  /** Waits `ms`; false if stopped meanwhile. */
  #wait(ms: number): Promise<boolean> {
    const signal = this.#abort.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve(!signal.aborted);
      };
      // eslint-disable-next-line no-restricted-globals -- the CLI's own backoff, not domain time
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
    });
  }
}

/** The request's path after the ingest token and its query, as it arrived. */
function target(request: StreamedRequest): string {
  return `/${request.path}${request.query === "" ? "" : `?${request.query}`}`;
}

/** The local URL: --forward-to, then the request's own path and query. */
export function forwardUrl(forwardTo: URL, request: { path: string; query: string }): URL {
  const url = new URL(forwardTo.href);
  if (request.path !== "") {
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/${request.path}`;
  }
  if (request.query !== "") {
    url.search = url.search === "" ? `?${request.query}` : `${url.search}&${request.query}`;
  }
  return url;
}

/** Sends one request to the local app with node:http, so nothing rewrites its headers. */
function forward(
  forwardTo: URL,
  request: StreamedRequest,
  signal: AbortSignal,
): Promise<ForwardResult> {
  const url = forwardUrl(forwardTo, request);
  const body = Buffer.from(request.body, request.bodyEncoding === "base64" ? "base64" : "utf8");
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!HOP_HEADERS.has(name)) headers[name] = value;
  }
  if (body.length > 0 || !["GET", "HEAD", "DELETE", "OPTIONS"].includes(request.method)) {
    headers["content-length"] = String(body.length);
  }
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const outgoing = send(url, { method: request.method, headers, signal }, (res) => {
      res.resume();
      res.once("end", () =>
        resolve({ status: res.statusCode ?? 0, error: null, durationMs: elapsed() }),
      );
      res.once("error", (err) =>
        resolve({ status: null, error: describe(err), durationMs: elapsed() }),
      );
    });
    outgoing.setTimeout(FORWARD_TIMEOUT_MS, () => {
      outgoing.destroy(new Error(`no answer within ${FORWARD_TIMEOUT_MS / 1000} s`));
    });
    outgoing.once("error", (err) =>
      resolve({ status: null, error: describe(err), durationMs: elapsed() }),
    );
    outgoing.end(body);
  });
}

function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (code === "ECONNREFUSED") return "connection refused (is the local app running?)";
  if (code === "ECONNRESET") return "connection reset by the local app";
  if (code === "ENOTFOUND") return "the local host name does not resolve";
  return err.message;
}

function clockTime(): string {
  // eslint-disable-next-line no-restricted-syntax -- the wall-clock time printed beside a line
  const now = new Date();
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
