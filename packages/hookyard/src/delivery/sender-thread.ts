import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Sender } from "./engine.js";
import type { SendOutcome, SendRequest } from "./http-sender.js";

/**
 * A `Sender` that runs the `HttpSender` on a worker thread. The main thread parses publishes and
 * commits to the store; the HTTP client work of a delivery (writing the request, parsing the
 * response, the egress guard, connection pools) is about a third of its time per message
 * (bench/README.md), so it moves to a second core. Requests and outcomes cross in batches, one
 * `postMessage` per event-loop turn each way, so the hand-over costs a few µs per message.
 *
 * `send` never throws, like `HttpSender`: if the thread dies, the sends it held fail with
 * errorClass "network" (the engine retries them on schedule) and the next send starts a new one.
 */

/** How long closing waits for the thread to hand back its last outcomes and exit. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface SenderWorkerData {
  egressAllow: readonly string[];
  timeoutMs: number;
  connectionsPerOrigin: number;
  maxResponseBodyBytes: number;
}

export type ToWorker =
  { type: "send"; requests: (SendRequest & { id: number })[] } | { type: "close" };

export interface ToMain {
  ids: number[];
  outcomes: SendOutcome[];
}

/** The compiled worker entry. Under vitest this module runs from src/*.ts; the worker is always JS. */
export function senderWorkerEntry(): string {
  const here = import.meta.url;
  const relative = here.endsWith(".ts")
    ? "../../dist/delivery/sender-worker.js"
    : "./sender-worker.js";
  return fileURLToPath(new URL(relative, here));
}

export class ThreadedSender implements Sender {
  readonly #data: SenderWorkerData;
  readonly #onFailure: (err: unknown) => void;
  readonly #entry: string;
  #worker: Worker | null = null;
  readonly #pending = new Map<number, (outcome: SendOutcome) => void>();
  #nextId = 0;
  #outbox: (SendRequest & { id: number })[] = [];
  #flushScheduled = false;
  #closed = false;

  constructor(
    data: SenderWorkerData,
    opts: {
      /** Told when the thread cannot start or dies (sends already failed as values). */
      onFailure: (err: unknown) => void;
      /** The worker module; tests wrap the real one. */
      entry?: string;
    },
  ) {
    this.#data = data;
    this.#onFailure = opts.onFailure;
    this.#entry = opts.entry ?? senderWorkerEntry();
    // The thread starts with the first send: a server that sends nothing never holds its
    // isolate (≈ 15 MB of RSS, bench/README.md "memory"). Booting takes tens of ms, which that
    // first delivery waits for once.
  }

  /** Whether the sending thread is running (it starts with the first send). */
  get running(): boolean {
    return this.#worker !== null;
  }

  send(req: SendRequest): Promise<SendOutcome> {
    if (this.#closed) return Promise.resolve(failure("the sender is closed"));
    const id = ++this.#nextId;
    this.#outbox.push({
      id,
      url: req.url,
      headers: req.headers,
      body: req.body,
      ...(req.method !== undefined && { method: req.method }),
      ...(req.tls !== undefined && { tls: req.tls }),
    });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    return new Promise((resolve) => this.#pending.set(id, resolve));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const worker = this.#worker;
    if (worker !== null) {
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      if (this.#outbox.length > 0) this.#flush();
      worker.postMessage({ type: "close" } satisfies ToWorker);
      // Bounded: a thread that does not finish closing is stopped (its sends fail below).
      // A real timer on purpose: it bounds a real thread's shutdown, not domain time.
      // eslint-disable-next-line no-restricted-globals -- shutdown bound, see above
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    for (const id of [...this.#pending.keys()]) this.#settle(id, failure("the sender is closed"));
  }

  #flush(): void {
    this.#flushScheduled = false;
    // Closed before this turn's flush: its sends were failed by close, none may start a thread.
    if (this.#closed) this.#outbox = [];
    if (this.#outbox.length === 0) return;
    const requests = this.#outbox;
    this.#outbox = [];
    const worker = this.#ensureWorker();
    if (worker === null) {
      for (const { id } of requests) this.#settle(id, failure("the sending thread cannot start"));
      return;
    }
    worker.postMessage({ type: "send", requests } satisfies ToWorker);
  }

  #ensureWorker(): Worker | null {
    if (this.#worker !== null) return this.#worker;
    try {
      const worker = new Worker(this.#entry, { workerData: this.#data });
      worker.on("message", (batch: ToMain) => {
        for (let i = 0; i < batch.ids.length; i++) {
          this.#settle(batch.ids[i]!, batch.outcomes[i]!);
        }
      });
      worker.on("error", (err) => this.#onWorkerGone(worker, err));
      worker.on("exit", (code) => {
        if (!this.#closed) this.#onWorkerGone(worker, new Error(`exited with code ${code}`));
      });
      this.#worker = worker;
      return worker;
    } catch (err) {
      this.#onFailure(err);
      return null;
    }
  }

  #onWorkerGone(worker: Worker, err: unknown): void {
    if (this.#worker !== worker) return;
    this.#worker = null;
    this.#onFailure(err);
    // Every send handed over was lost with that thread; those still queued here go to the new
    // thread the next flush starts.
    const queued = new Set(this.#outbox.map((r) => r.id));
    const reason = `the sending thread failed: ${err instanceof Error ? err.message : String(err)}`;
    for (const id of [...this.#pending.keys()]) {
      if (!queued.has(id)) this.#settle(id, failure(reason));
    }
  }

  #settle(id: number, outcome: SendOutcome): void {
    const resolve = this.#pending.get(id);
    if (resolve === undefined) return;
    this.#pending.delete(id);
    resolve(outcome);
  }
}

function failure(message: string): SendOutcome {
  return {
    statusCode: 0,
    headers: null,
    body: "",
    durationMs: 0,
    errorClass: "network",
    errorMessage: message,
  };
}
