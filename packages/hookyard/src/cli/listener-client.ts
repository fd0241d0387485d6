import { ApiCallError, type ApiClient } from "./api-client.js";
import type { CliIo } from "./cli-io.js";
import type { ListenedRequest } from "../debug/listener-feeds.js";
import { forward, type ForwardResult } from "./local-forward.js";
import { serverSentEvents } from "./sse.js";
import { printable } from "./printable.js";

/** How a stream ended: the connection went (reconnect), the listener must stop, or re-sign. */
type StreamEnd =
  | { kind: "ended" }
  | { kind: "final"; reason: string }
  | { kind: "resign"; id: string; reason: string };

/** Acknowledged ids remembered, so a request sent again after a reconnect is not forwarded twice. */
const REMEMBERED_IDS = 10_000;

/**
 * One `hookyard listen` session: follows the listener's stream, forwards each request to the
 * local URL and acknowledges it once the local app has answered, so the server's cursor only
 * moves past requests the app has seen; reconnects when the connection drops.
 */
export class Listener {
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
      let end: StreamEnd;
      try {
        end = await this.#follow(response.body!);
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        await this.#disconnected(err instanceof Error ? err.message : String(err), failures);
        continue;
      }
      if (signal.aborted) break;
      if (end.kind === "final") {
        this.#io.stderr.write(`hookyard listen: ${end.reason}\n`);
        this.#stopped();
        return 1;
      }
      if (end.kind === "resign") {
        this.#print({ type: "resign", id: end.id }, `${end.id}: ${end.reason}`, "stderr");
        continue;
      }
      await this.#disconnected("the server closed the stream", 1);
    }
    this.#stopped();
    return 0;
  }

  #stopped(): void {
    this.#print(
      { type: "stopped", forwarded: this.#forwarded, lastAcknowledged: this.#lastAcknowledged },
      `stopped after forwarding ${this.#forwarded} request${this.#forwarded === 1 ? "" : "s"}` +
        (this.#lastAcknowledged === null ? "" : `; last acknowledged ${this.#lastAcknowledged}`),
    );
  }

  async #follow(body: ReadableStream<Uint8Array>): Promise<StreamEnd> {
    for await (const event of serverSentEvents(body)) {
      if (this.#abort.signal.aborted) return { kind: "ended" };
      if (event.event === "replaced") {
        return {
          kind: "final",
          reason:
            "another hookyard listen connected with the same name and took over (give each one its own --name)",
        };
      }
      if (event.event === "caught-up") {
        this.#caughtUp = true;
        const { replayed } = JSON.parse(event.data) as { replayed: number };
        this.#summary(replayed);
        continue;
      }
      if (event.event !== "request") continue;
      const request = JSON.parse(event.data) as ListenedRequest;
      if (!this.#done.has(request.id)) {
        const delivered = await this.#deliver(request);
        if (delivered !== "delivered") return delivered;
      }
      const refused = await this.#acknowledge(request.id);
      if (refused !== null) return { kind: "final", reason: refused };
    }
    return { kind: "ended" };
  }

  /**
   * Forwards until the local app answers below 500. A message whose signature has grown old
   * is not sent again as it is: the stream is opened again and sends it freshly signed.
   */
  async #deliver(request: ListenedRequest): Promise<"delivered" | StreamEnd> {
    for (let tries = 1; ; tries++) {
      const signedAt = Number(request.headers["webhook-timestamp"]);
      // eslint-disable-next-line no-restricted-syntax -- compared with the server's wall clock, as a receiver does
      const ageMs = Date.now() - signedAt * 1000;
      if (
        this.#resignAfterMs !== null &&
        Number.isFinite(signedAt) &&
        ageMs > this.#resignAfterMs
      ) {
        return {
          kind: "resign",
          id: request.id,
          reason: `signed ${Math.round(ageMs / 1000)} s ago; fetching it again, freshly signed`,
        };
      }
      const result = await forward(this.#forwardTo, request, this.#abort.signal);
      if (this.#abort.signal.aborted) return { kind: "ended" };
      if (result.status !== null && result.status < 500) {
        this.#forwarded++;
        if (!this.#caughtUp) {
          if (result.status < 300) this.#replayedOk++;
          else this.#replayedFailed++;
        }
        this.#line(request, result, tries);
        return "delivered";
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
      if (!(await this.#wait(retryInMs))) return { kind: "ended" };
    }
  }

  /**
   * Tells the server the app has `id`, until it hears it (the next start would forward it
   * again otherwise); null once done or stopped, or why the server refused it (a 4xx: the
   * listener was deleted, or the id is not its).
   */
  async #acknowledge(id: string): Promise<string | null> {
    for (let tries = 1; ; tries++) {
      try {
        await this.#client.json(
          "POST",
          `${this.#base}/ack`,
          { requestId: id },
          { signal: this.#abort.signal },
        );
        break;
      } catch (err) {
        if (!(err instanceof ApiCallError) || this.#abort.signal.aborted) return null;
        if (err.status !== null && err.status < 500) {
          return `the server refused to acknowledge ${id}: ${err.message}`;
        }
        if (!(await this.#wait(this.#retryDelayMs(tries)))) return null;
      }
    }
    this.#lastAcknowledged = id;
    this.#done.add(id);
    if (this.#done.size > REMEMBERED_IDS) {
      this.#done.delete(this.#done.values().next().value!);
    }
    return null;
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

  #line(request: ListenedRequest, result: ForwardResult, tries: number): void {
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
function target(request: ListenedRequest): string {
  return `/${request.path}${request.query === "" ? "" : `?${request.query}`}`;
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
