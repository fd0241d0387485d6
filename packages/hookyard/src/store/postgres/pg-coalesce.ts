import { isUnavailable, type Queryable } from "./pg-driver.js";

/** Rows per group: bounds one statement's parameter (a JSON array) and the transaction. */
const MAX_GROUP = 500;

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Calls of one kind made while a group is forming share one write of the group commit, which
 * stores all of them with one multi-row statement per table (`many`) instead of a statement per
 * row: on PostgreSQL every statement is a network round trip, and the driver's per-statement work
 * dominated the hot path. If the group's statement fails (a conflict), every call is retried on
 * its own (`one`), so one caller's failure never fails another's write (store.ts rules); if the
 * database is away, all fail together, as they would have alone. `many` answers one result per
 * item, in order; each call resolves with its own.
 */
export class Coalescer<T, R = void> {
  readonly #write: (fn: (db: Queryable) => Promise<R[]>) => Promise<R[]>;
  readonly #many: (db: Queryable, items: readonly T[]) => Promise<R[]>;
  readonly #one: (item: T) => Promise<R>;
  #pending: Pending<T, R>[] = [];

  constructor(deps: {
    write: (fn: (db: Queryable) => Promise<R[]>) => Promise<R[]>;
    many: (db: Queryable, items: readonly T[]) => Promise<R[]>;
    one: (item: T) => Promise<R>;
  }) {
    this.#write = deps.write;
    this.#many = deps.many;
    this.#one = deps.one;
  }

  add(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length === 1) this.#schedule();
    });
  }

  #schedule(): void {
    // The group closes when the batcher runs this write (a later turn), so every call made until
    // then joins it; the batcher may run the function twice (savepoint pass): same group.
    let group: Pending<T, R>[] | null = null;
    const take = (): Pending<T, R>[] => {
      if (group === null) {
        group = this.#pending.splice(0, MAX_GROUP);
        // A burst bigger than one group continues in the next write.
        if (this.#pending.length > 0) this.#schedule();
      }
      return group;
    };
    this.#write((db) =>
      this.#many(
        db,
        take().map((p) => p.item),
      ),
    ).then(
      (results) => {
        for (const [i, p] of take().entries()) p.resolve(results[i] as R);
      },
      (err: unknown) => {
        const members = take();
        if (isUnavailable(err)) {
          for (const p of members) p.reject(err);
          return;
        }
        for (const p of members) this.#one(p.item).then(p.resolve, p.reject);
      },
    );
  }
}
