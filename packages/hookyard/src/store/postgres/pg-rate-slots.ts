import type { RateSlots } from "../../delivery/engine.js";
import { mapPgError, type Queryable } from "./pg-driver.js";

/**
 * An endpoint's `rateLimit` across every process on the database: the same GCRA as the
 * in-memory limiter (delivery/rate-limiter.ts), with each key's theoretical arrival time (TAT)
 * in the `rate_limit` table, advanced by one atomic upsert per reservation. Two processes
 * reserving at once get consecutive slots, never the same one. Times come from the injected
 * clock (each process's own), never from the database's now().
 */
export class PgRateSlots implements RateSlots {
  readonly #db: Queryable;
  readonly #now: () => number;

  constructor(deps: { db: Queryable; now: () => number }) {
    this.#db = deps.db;
    this.#now = deps.now;
  }

  async reserve(key: string, perSecond: number): Promise<number> {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) return 0;
    const now = this.#now();
    const intervalMs = 1000 / perSecond;
    const burstToleranceMs = (Math.max(1, Math.floor(perSecond)) - 1) * intervalMs;
    let tat: number;
    try {
      const { rows } = await this.#db.query<{ tat: number }>(
        `INSERT INTO rate_limit (key, tat) VALUES ($1, $2::float8 + $3::float8)
         ON CONFLICT (key) DO UPDATE SET tat = GREATEST(rate_limit.tat, $2::float8) + $3::float8
         RETURNING tat`,
        [key, now, intervalMs],
      );
      tat = rows[0]?.tat ?? now + intervalMs;
    } catch (err) {
      throw mapPgError(err);
    }
    // The slot reserved is the TAT before this reservation.
    const sendAt = Math.max(now, tat - intervalMs - burstToleranceMs);
    return Math.ceil(sendAt - now);
  }

  async refund(key: string, perSecond: number): Promise<void> {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) return;
    try {
      await this.#db.query(
        "UPDATE rate_limit SET tat = GREATEST($2::float8, tat - $3::float8) WHERE key = $1",
        [key, this.#now(), 1000 / perSecond],
      );
    } catch (err) {
      throw mapPgError(err);
    }
  }
}
