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
}

/**
 * Group commit (DESIGN principle 5): every write queued in one event-loop turn runs in ONE
 * transaction, committed on `setImmediate`; each write's promise settles only after COMMIT
 * returned, so a resolved write is durable. A write that throws is rolled back alone and rejects
 * alone, the others still commit: the batch first runs without savepoints and, only if a write
 * throws, runs again from the start with each write inside its own SAVEPOINT. If COMMIT fails,
 * every write of that transaction rejects.
 *
 * A write is a synchronous function over the connection; it may read what earlier writes of the
 * same transaction wrote (that is how `createMessage` checks the eventId inside the transaction).
 */
export class WriteBatcher {
  readonly #db: SqliteDatabase;
  readonly #maxBatchOps: number;
  readonly #onCommit: (writes: number) => void;
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

  constructor(deps: {
    db: SqliteDatabase;
    maxBatchOps?: number;
    /** Called after each successful COMMIT with the number of writes it carried. */
    onCommit?: (writes: number) => void;
  }) {
    this.#db = deps.db;
    this.#maxBatchOps = deps.maxBatchOps ?? MAX_BATCH_OPS;
    this.#onCommit = deps.onCommit ?? (() => undefined);
    this.#begin = deps.db.prepare("BEGIN IMMEDIATE");
    this.#commit = deps.db.prepare("COMMIT");
    this.#savepoint = deps.db.prepare("SAVEPOINT write");
    this.#release = deps.db.prepare("RELEASE write");
    this.#rollbackTo = deps.db.prepare("ROLLBACK TO write");
  }

  get stats(): WriteBatcherStats {
    return { transactions: this.#transactions, writes: this.#writes };
  }

  /** Queues `fn` for the next group commit; resolves with its result once committed. */
  write<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new ServiceUnavailableError("the store is closed"));
    return new Promise<T>((resolve, reject) => {
      // The queue is heterogeneous; `fn`'s result is handed back to this very `resolve`.
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Commits everything queued now, synchronously, then refuses further writes. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#scheduled !== null) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    // Bounded: nothing can be queued while this runs (writes are refused and the loop is held).
    while (this.#queue.length > 0) this.#flushOnce();
  }

  #schedule(): void {
    if (this.#scheduled !== null) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = null;
      this.#flushOnce();
      // Whatever exceeded the batch bound goes into the next turn, letting I/O run in between.
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  #flushOnce(): void {
    const batch = this.#queue.splice(0, this.#maxBatchOps);
    if (batch.length === 0) return;
    const done: DoneWrite[] = [];
    const failed: Array<{ write: PendingWrite; err: unknown }> = [];
    this.#transactions++;
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
    this.#writes += done.length;
    for (const { write, value } of done) write.resolve(value);
    for (const { write, err } of failed) write.reject(err);
    this.#onCommit(done.length);
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
