import { ServiceUnavailableError } from "../../errors.js";
import type { SqliteDatabase, SqliteStatement } from "./sqlite-driver.js";

/** Bounds one transaction, so a burst of writes commits in several steps, not one giant one. */
const MAX_BATCH_OPS = 2_000;

interface PendingWrite {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

interface DoneWrite {
  write: PendingWrite;
  value: unknown;
}

export interface WriteBatcherStats {
  /** Transactions committed (or attempted) by the batcher. */
  transactions: number;
  /** Writes that were committed. */
  writes: number;
  /** Syncs (fdatasync of the log) completed; 0 when COMMIT itself syncs. */
  syncs: number;
}

/**
 * Makes every committed transaction durable, for a connection whose COMMIT does not sync
 * (WAL with synchronous=NORMAL): `sync` runs off the event loop and calls back once all data
 * committed before the call is on disk; `syncNow` does the same synchronously (at close).
 */
export interface CommitSync {
  sync(done: (err: Error | null) => void): void;
  syncNow(): void;
}

interface SyncWaiter {
  commit: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Group commit (DESIGN principle 5): the writes queued in one event-loop turn run in ONE
 * transaction, committed on `setImmediate`. A write that throws is rolled back alone and rejects
 * alone, the others still commit: the batch first runs without savepoints and, only if a write
 * throws, runs again from the start with each write inside its own SAVEPOINT. If COMMIT fails,
 * every write of that transaction rejects.
 *
 * A write's promise resolves only once it is durable. Without a `CommitSync`, COMMIT itself
 * syncs (synchronous=FULL) and blocks the event loop for the disk's flush. With one, COMMIT only
 * appends to the log and the flush runs on libuv's thread pool: the loop keeps serving while the
 * disk works, a write resolves after a sync that began after its COMMIT, and while a sync runs
 * new writes wait in the queue. They could not be acknowledged before the next sync anyway, and
 * one transaction per sync rewrites the shared b-tree pages once instead of once per turn.
 *
 * A write is a synchronous function over the connection; it may read what earlier writes of the
 * same transaction wrote (that is how `createMessage` checks the eventId inside the transaction).
 */
export class WriteBatcher {
  readonly #db: SqliteDatabase;
  readonly #maxBatchOps: number;
  readonly #onCommit: (writes: number, durationMs: number) => void;
  readonly #commitSync: CommitSync | null;
  readonly #begin: SqliteStatement;
  readonly #commit: SqliteStatement;
  readonly #savepoint: SqliteStatement;
  readonly #release: SqliteStatement;
  readonly #rollbackTo: SqliteStatement;
  #queue: PendingWrite[] = [];
  #scheduled: NodeJS.Immediate | null = null;
  #closed = false;
  #transactions = 0;
  #writes = 0;
  #syncs = 0;
  /** Committed writes waiting for a sync to start, and those the running sync covers. */
  #unsynced: DoneWrite[] = [];
  #syncing: DoneWrite[] = [];
  #syncRunning = false;
  /** Number of the last COMMIT, and of the last COMMIT known to be durable. */
  #committed = 0;
  #durable = 0;
  #syncWaiters: SyncWaiter[] = [];
  /** Set once a flush failed: the store refuses everything from then on. */
  #broken: ServiceUnavailableError | null = null;
  #idleWaiters: Array<() => void> = [];

  constructor(deps: {
    db: SqliteDatabase;
    maxBatchOps?: number;
    /**
     * Called after each successful COMMIT with the number of writes it carried and how long the
     * transaction took from BEGIN to COMMIT (ms; the flush that follows is not in it).
     */
    onCommit?: (writes: number, durationMs: number) => void;
    commitSync?: CommitSync;
  }) {
    this.#db = deps.db;
    this.#maxBatchOps = deps.maxBatchOps ?? MAX_BATCH_OPS;
    this.#onCommit = deps.onCommit ?? (() => undefined);
    this.#commitSync = deps.commitSync ?? null;
    this.#begin = deps.db.prepare("BEGIN IMMEDIATE");
    this.#commit = deps.db.prepare("COMMIT");
    this.#savepoint = deps.db.prepare("SAVEPOINT write");
    this.#release = deps.db.prepare("RELEASE write");
    this.#rollbackTo = deps.db.prepare("ROLLBACK TO write");
  }

  get stats(): WriteBatcherStats {
    return { transactions: this.#transactions, writes: this.#writes, syncs: this.#syncs };
  }

  /** Queues `fn` for the next group commit; resolves with its result once committed and durable. */
  write<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new ServiceUnavailableError("the store is closed"));
    if (this.#broken !== null) return Promise.reject(this.#broken);
    return new Promise<T>((resolve, reject) => {
      // The queue is heterogeneous; `fn`'s result is handed back to this very `resolve`.
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /**
   * null when everything committed is durable, else a promise that resolves once everything
   * committed before the call is: a read waits for it, so it never shows data a crash could
   * still take back.
   */
  whenDurable(): Promise<void> | null {
    if (this.#broken !== null) return Promise.reject(this.#broken);
    if (this.#durable >= this.#committed) return null;
    return new Promise((resolve, reject) => {
      this.#syncWaiters.push({ commit: this.#committed, resolve, reject });
    });
  }

  /** Resolves once nothing is queued, committing or waiting for a sync. */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return (
      this.#queue.length === 0 &&
      this.#scheduled === null &&
      !this.#syncRunning &&
      (this.#broken !== null || this.#durable >= this.#committed)
    );
  }

  #wakeIdleWaiters(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    const waiting = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiting) resolve();
  }

  /** Commits and syncs everything queued now, synchronously, then refuses further writes. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#scheduled !== null) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    // Bounded: nothing can be queued while this runs (writes are refused and the loop is held).
    while (this.#queue.length > 0) this.#flushOnce();
    if (this.#commitSync !== null && this.#broken === null && this.#durable < this.#committed) {
      let err: Error | null = null;
      try {
        this.#commitSync.syncNow();
      } catch (e) {
        err = e instanceof Error ? e : new Error(String(e));
      }
      // The running sync's writes too: this flush covers them, its callback finds nothing left.
      const covered = [...this.#syncing, ...this.#unsynced];
      this.#syncing = [];
      this.#unsynced = [];
      this.#settleSynced(covered, this.#committed, err);
    }
    this.#wakeIdleWaiters();
  }

  #schedule(): void {
    if (this.#scheduled !== null || this.#syncRunning) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = null;
      this.#flushOnce();
      // Whatever exceeded the batch bound goes into the next turn, letting I/O run in between.
      if (this.#queue.length > 0) this.#schedule();
      this.#wakeIdleWaiters();
    });
  }

  #flushOnce(): void {
    const batch = this.#queue.splice(0, this.#maxBatchOps);
    if (batch.length === 0) return;
    const done: DoneWrite[] = [];
    const failed: Array<{ write: PendingWrite; err: unknown }> = [];
    this.#transactions++;
    const began = performance.now();
    try {
      this.#begin.run();
      if (!this.#runAllOptimistically(batch, done)) {
        // A write failed: undo the whole batch and run it again with a savepoint per write, so
        // the failing write is rolled back and rejected alone. Writes are plain functions of
        // the database state, so running them again gives the same results.
        done.length = 0;
        if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
        this.#begin.run();
        for (const write of batch) this.#runOne(write, done, failed);
      }
      this.#commit.run();
    } catch (err) {
      // BEGIN or COMMIT failed (disk full, I/O error): nothing of this batch is durable.
      if (this.#db.inTransaction) this.#rollbackQuietly();
      const ownFailures = new Map(failed.map((f) => [f.write, f.err]));
      for (const write of batch) {
        write.reject(ownFailures.has(write) ? ownFailures.get(write) : commitFailure(err));
      }
      return;
    }
    this.#committed++;
    this.#writes += done.length;
    this.#onCommit(done.length, performance.now() - began);
    // A write that failed alone was rolled back: nothing of it needs to become durable.
    for (const { write, err } of failed) write.reject(err);
    if (this.#commitSync === null) {
      this.#durable = this.#committed;
      for (const { write, value } of done) write.resolve(value);
      return;
    }
    for (const d of done) this.#unsynced.push(d);
    if (!this.#syncRunning && !this.#closed) this.#startSync();
  }

  #startSync(): void {
    const upTo = this.#committed;
    this.#syncing = this.#unsynced;
    this.#unsynced = [];
    this.#syncRunning = true;
    this.#commitSync!.sync((err) => {
      this.#syncRunning = false;
      const covered = this.#syncing;
      this.#syncing = [];
      this.#settleSynced(covered, upTo, err);
      if (this.#broken !== null) this.#failQueued();
      else if (this.#queue.length > 0) this.#schedule();
      else if (this.#durable < this.#committed && !this.#closed) this.#startSync();
      this.#wakeIdleWaiters();
    });
  }

  #failQueued(): void {
    for (const write of this.#queue.splice(0)) write.reject(this.#broken);
  }

  #settleSynced(covered: readonly DoneWrite[], upTo: number, err: Error | null): void {
    this.#syncs++;
    if (err !== null) {
      // After a failed flush the kernel may have dropped the dirty pages, and a later flush can
      // succeed without writing them: nothing committed can be known durable any more. As
      // PostgreSQL does on a failed fsync, stop: every waiting and later write and read fails
      // (503) until the process restarts and SQLite recovers the file from what is on disk.
      this.#broken ??= new ServiceUnavailableError(
        "the database file could not be flushed to disk; restart Hookyard",
        { cause: err },
      );
      for (const { write } of covered) write.reject(commitFailure(err));
      for (const waiter of this.#syncWaiters.splice(0)) waiter.reject(this.#broken);
      return;
    }
    for (const { write, value } of covered) write.resolve(value);
    this.#durable = Math.max(this.#durable, upTo);
    const waiting = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const waiter of waiting) {
      if (waiter.commit <= this.#durable) waiter.resolve();
      else this.#syncWaiters.push(waiter);
    }
  }

  /**
   * Runs every write without savepoints (SAVEPOINT + RELEASE were two extra statements per write
   * on the hot path, where writes almost never fail); false as soon as one throws.
   */
  #runAllOptimistically(batch: readonly PendingWrite[], done: DoneWrite[]): boolean {
    for (const write of batch) {
      try {
        done.push({ write, value: write.fn() });
      } catch {
        // Deliberately dropped: the savepoint pass runs this write again and reports its error.
        return false;
      }
    }
    return true;
  }

  #runOne(
    write: PendingWrite,
    done: DoneWrite[],
    failed: Array<{ write: PendingWrite; err: unknown }>,
  ): void {
    this.#savepoint.run();
    let value: unknown;
    try {
      value = write.fn();
    } catch (err) {
      failed.push({ write, err });
      if (this.#db.inTransaction) {
        this.#rollbackTo.run();
        this.#release.run();
        return;
      }
      // SQLite rolled the whole transaction back (e.g. SQLITE_FULL): the writes before this one
      // are gone too. Fail them and carry on with a fresh transaction for the rest.
      for (const earlier of done.splice(0)) {
        failed.push({ write: earlier.write, err: commitFailure(err) });
      }
      this.#begin.run();
      return;
    }
    this.#release.run();
    done.push({ write, value });
  }

  #rollbackQuietly(): void {
    try {
      this.#db.exec("ROLLBACK");
    } catch {
      // Deliberately swallowed: the original error is what every caller receives.
    }
  }
}

function commitFailure(cause: unknown): Error {
  return new Error("the group commit holding this write failed", { cause });
}
