import { Worker } from "node:worker_threads";
import { driverEntryPath, type SqliteDatabase } from "./sqlite-driver.js";
import type { StoreLogger } from "./store-logger.js";

/**
 * Checkpoints the WAL off the commit path (perf.md "checkpoint": SQLite's automatic checkpoint
 * runs inside the committing call and dominates tail latency). The store sets
 * `wal_autocheckpoint=0` and tells this class about each commit; once roughly
 * `thresholdPages` pages have been appended, a PASSIVE checkpoint runs on a worker thread with
 * its own connection, so the event loop keeps serving while pages are copied and synced. PASSIVE
 * never blocks writers; frames still being read are left for the next round.
 *
 * The worker starts lazily (a store that never writes much never starts one). If it cannot run,
 * checkpoints fall back to the main connection on `setImmediate`, still outside any commit.
 */
const DEFAULT_CHECKPOINT_THRESHOLD_PAGES = 1_000;

// better-sqlite3 exposes no WAL hook, so appended pages are estimated. Measured on this schema:
// a commit carrying one createMessage (two deliveries) appends ≈ 15 pages, while a batch of 1,000
// such writes with 1 KiB payloads appends ≈ 600 (shared b-tree pages are written once).
const PAGES_PER_COMMIT = 12;
const PAGES_PER_WRITE = 1;

// Plain CommonJS, evaluated in the worker (sources run as .ts under vitest, so the worker cannot
// be a module file next to this one). It loads the same driver build as the main thread.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driverPath);
const db = new Database(workerData.path, { fileMustExist: true, timeout: 5000 });
parentPort.on("message", (command) => {
  if (command === "close") {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [result] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ ok: true, busy: result.busy, log: result.log, checkpointed: result.checkpointed });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message ? err.message : err) });
  }
});
`;

interface CheckpointReply {
  ok: boolean;
  busy?: number;
  log?: number;
  checkpointed?: number;
  error?: string;
}

export class WalCheckpointer {
  readonly #path: string;
  readonly #db: SqliteDatabase;
  readonly #log: StoreLogger;
  readonly #thresholdPages: number;
  readonly #useWorker: boolean;
  #worker: Worker | null = null;
  #workerBroken = false;
  #fallback: NodeJS.Immediate | null = null;
  #pendingPages = 0;
  #inFlight = false;
  #closed = false;
  #checkpoints = 0;

  constructor(deps: {
    path: string;
    db: SqliteDatabase;
    logger: StoreLogger;
    thresholdPages?: number;
    /** false runs checkpoints on the main connection (still on setImmediate, off the commit). */
    useWorker?: boolean;
  }) {
    this.#path = deps.path;
    this.#db = deps.db;
    this.#log = deps.logger;
    this.#thresholdPages = deps.thresholdPages ?? DEFAULT_CHECKPOINT_THRESHOLD_PAGES;
    this.#useWorker = deps.useWorker ?? true;
  }

  /** Checkpoints completed so far. */
  get checkpoints(): number {
    return this.#checkpoints;
  }

  /** Called after each COMMIT of the main connection. */
  noteCommit(writes: number): void {
    this.#pendingPages += PAGES_PER_COMMIT + PAGES_PER_WRITE * writes;
    if (this.#pendingPages >= this.#thresholdPages && !this.#inFlight && !this.#closed) {
      this.#start();
    }
  }

  /** Waits for a running checkpoint and stops the worker. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#fallback !== null) clearImmediate(this.#fallback);
    this.#fallback = null;
    const worker = this.#worker;
    this.#worker = null;
    if (worker === null) return;
    // Not events.once: that would reject if the worker reported an error while closing.
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.postMessage("close");
    await exited;
  }

  #start(): void {
    this.#inFlight = true;
    this.#pendingPages = 0;
    const worker = this.#useWorker && !this.#workerBroken ? this.#ensureWorker() : null;
    if (worker !== null) {
      worker.postMessage("checkpoint");
      return;
    }
    this.#fallback = setImmediate(() => {
      this.#fallback = null;
      try {
        this.#db.pragma("wal_checkpoint(PASSIVE)");
        this.#checkpoints++;
      } catch (err) {
        this.#log.warn({ err }, "wal checkpoint failed");
      }
      this.#inFlight = false;
    });
  }

  #ensureWorker(): Worker | null {
    if (this.#worker !== null) return this.#worker;
    try {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { path: this.#path, driverPath: driverEntryPath() },
      });
      worker.unref();
      worker.on("message", (reply: CheckpointReply) => this.#onReply(reply));
      worker.on("error", (err) => this.#onWorkerError(err));
      this.#worker = worker;
      return worker;
    } catch (err) {
      this.#onWorkerError(err);
      return null;
    }
  }

  #onReply(reply: CheckpointReply): void {
    this.#inFlight = false;
    if (reply.ok) {
      this.#checkpoints++;
    } else {
      this.#log.warn({ err: reply.error }, "wal checkpoint failed");
    }
  }

  #onWorkerError(err: unknown): void {
    this.#log.warn({ err }, "wal checkpoint worker failed; checkpointing on the main thread");
    this.#workerBroken = true;
    this.#worker = null;
    this.#inFlight = false;
  }
}
