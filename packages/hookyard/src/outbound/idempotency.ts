import type { Clock } from "../clock.js";
import type { IdempotencyRecord, Store } from "../store/store.js";
import type { IdempotencyService } from "./services.js";

/** Svix caches responses per `Idempotency-Key` for 12 h; we keep them 24 h and prune older ones. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export class Idempotency implements IdempotencyService {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(deps: { store: Store; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
  }

  async get(key: string): Promise<IdempotencyRecord | null> {
    const record = await this.#store.getIdempotencyRecord(key);
    return record !== null && record.createdAt > this.#clock.now() - IDEMPOTENCY_TTL_MS
      ? record
      : null;
  }

  put(key: string, statusCode: number, body: string): Promise<void> {
    return this.#store.putIdempotencyRecord({
      key,
      statusCode,
      body,
      createdAt: this.#clock.now(),
    });
  }

  prune(): Promise<number> {
    return this.#store.pruneIdempotencyRecords(this.#clock.now() - IDEMPOTENCY_TTL_MS);
  }
}
