import { ServiceUnavailableError } from "../../errors.js";
import {
  isLockConflict,
  isUnavailable,
  type PgClient,
  type PgPool,
  type Queryable,
} from "./pg-driver.js";

/** Bounds one transaction, as in SQLite's batcher. */
const MAX_BATCH_OPS = 1_000;
/**
 * Transactions in flight at once. Each waits for its statements' round trips one by one; with
 * several, the next batch starts while one is still going and PostgreSQL flushes their WAL
 * together. Most writes of concurrent batches touch different rows (a delivery is written by the
 * process holding its lease); where they do not (cancelling an endpoint's deliveries while
 * attempts of it are recorded), a deadlock aborts the transaction, the batch runs again with
 * savepoints, and a write that meets a deadlock there is retried on its own (below).
 */
const MAX_CONCURRENT_BATCHES = 4;
/** Runs of one write in the savepoint pass when PostgreSQL aborts it to break a lock cycle. */
const RUNS_AFTER_LOCK_CONFLICT = 3;

export type PgWrite<T> = (db: Queryable) => Promise<T>;

interface PendingWrite {
  fn: PgWrite<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit on PostgreSQL (DESIGN principle 5): the writes queued in one event-loop turn run
 * in one transaction on one pooled connection (up to a few transactions at once), so a burst
 * costs one COMMIT (one WAL flush with synchronous_commit on) instead of one per caller. A write resolves
 * after COMMIT returned. As in the SQLite batcher, the batch first runs without savepoints; if a
 * write throws, the transaction is rolled back and run again with a SAVEPOINT per write, so the
 * failing write is rejected alone. If the connection fails, every write of the batch is rejected
 * with `ServiceUnavailableError` (nothing of it is acknowledged) and the next batch takes a fresh
 * connection from the pool. A connection lost after COMMIT was sent is ambiguous: the writes are
 * refused though they may have committed; a client retrying a publish with its eventId gets the
 * first message back, one without an eventId may store it twice (at-least-once).
 */
export class PgWriteBatcher {
  readonly #pool: PgPool;
  #queue: PendingWrite[] = [];
  #running = 0;
  #gathering = false;
  #closed = false;
  #transactions = 0;
  #idleWaiters: Array<() => void> = [];

  readonly #onCommit: (writes: number, durationMs: number) => void;

  constructor(deps: {
    pool: PgPool;
    /** After each COMMIT: the writes it carried and ms from BEGIN to COMMIT's answer. */
    onCommit?: (writes: number, durationMs: number) => void;
  }) {
    this.#pool = deps.pool;
    this.#onCommit = deps.onCommit ?? (() => undefined);
  }

  get transactions(): number {
    return this.#transactions;
  }

  write<T>(fn: PgWrite<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ServiceUnavailableError("the store is closed"));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.#kick();
    });
  }

  whenIdle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Refuses new writes and waits for the queued ones. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.whenIdle();
  }

  #kick(): void {
    if (this.#gathering || this.#running >= MAX_CONCURRENT_BATCHES || this.#queue.length === 0) {
      return;
    }
    // One turn's writes join the batch: the first write of a burst waits for the rest.
    this.#gathering = true;
    this.#running++;
    setImmediate(() => {
      this.#gathering = false;
      void this.#runBatch().finally(() => {
        this.#running--;
        if (this.#queue.length > 0) this.#kick();
        else if (this.#running === 0) this.#wakeIdle();
      });
      if (this.#queue.length > 0) this.#kick();
    });
  }

  #wakeIdle(): void {
    const waiting = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiting) resolve();
  }

  async #runBatch(): Promise<void> {
    const batch = this.#queue.splice(0, MAX_BATCH_OPS);
    this.#transactions++;
    let client: PgClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      for (const w of batch) w.reject(unavailable(err));
      return;
    }
    let broken: unknown = null;
    // A connection that dies between two statements emits 'error' on the client; without a
    // listener that would crash the process. The statement in flight fails anyway.
    const onClientError = (err: Error): void => {
      broken ??= err;
    };
    client.on("error", onClientError);
    try {
      const began = performance.now();
      const results = await this.#runOptimistically(client, batch);
      const outcome = results ?? (await this.#runWithSavepoints(client, batch));
      // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK: nothing was stored.
      const commit = await client.query("COMMIT");
      if (commit.command !== "COMMIT") throw new Error(`COMMIT answered ${commit.command}`);
      this.#onCommit(outcome.filter((result) => result.ok).length, performance.now() - began);
      outcome.forEach((result, i) => {
        const write = batch[i]!;
        if (result.ok) write.resolve(result.value);
        else write.reject(result.err);
      });
    } catch (err) {
      // BEGIN, COMMIT or the connection failed: nothing of this batch is known to be committed.
      broken = err;
      await client.query("ROLLBACK").catch(() => undefined);
      for (const w of batch) w.reject(isUnavailable(err) ? unavailable(err) : commitFailure(err));
    } finally {
      client.off("error", onClientError);
      client.release(broken !== null && isUnavailable(broken));
    }
  }

  /** All writes in one go; null if one threw (the transaction is then rolled back). */
  async #runOptimistically(
    client: PgClient,
    batch: readonly PendingWrite[],
  ): Promise<Array<{ ok: true; value: unknown }> | null> {
    await client.query("BEGIN");
    const results: Array<{ ok: true; value: unknown }> = [];
    for (const write of batch) {
      try {
        results.push({ ok: true, value: await write.fn(client) });
      } catch (err) {
        if (isUnavailable(err)) throw err;
        await client.query("ROLLBACK");
        return null;
      }
    }
    return results;
  }

  async #runWithSavepoints(
    client: PgClient,
    batch: readonly PendingWrite[],
  ): Promise<Array<{ ok: true; value: unknown } | { ok: false; err: unknown }>> {
    await client.query("BEGIN");
    const results: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
    for (const write of batch) results.push(await this.#runInSavepoint(client, write));
    return results;
  }

  /**
   * One write in its own savepoint. A deadlock or serialization failure is transient: the write
   * runs again (its partner has moved on by then); if it keeps meeting one, it is refused as
   * unavailable (503, retry later), never as a server error.
   */
  async #runInSavepoint(
    client: PgClient,
    write: PendingWrite,
  ): Promise<{ ok: true; value: unknown } | { ok: false; err: unknown }> {
    for (let run = 1; ; run++) {
      await client.query("SAVEPOINT write");
      try {
        const value = await write.fn(client);
        await client.query("RELEASE write");
        return { ok: true, value };
      } catch (err) {
        if (isUnavailable(err)) throw err;
        await client.query("ROLLBACK TO write");
        await client.query("RELEASE write");
        if (!isLockConflict(err)) return { ok: false, err };
        if (run >= RUNS_AFTER_LOCK_CONFLICT) {
          const refusal = "the database kept aborting this write to break a lock conflict";
          return { ok: false, err: new ServiceUnavailableError(refusal, { cause: err }) };
        }
      }
    }
  }
}

function unavailable(cause: unknown): Error {
  return cause instanceof ServiceUnavailableError
    ? cause
    : new ServiceUnavailableError("the database is not available", { cause });
}

function commitFailure(cause: unknown): Error {
  return new Error("the group commit holding this write failed", { cause });
}
