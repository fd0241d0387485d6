import type { Logger } from "pino";
import type { Store } from "../store/store.js";

/** Rows per transaction: small, so the pass never holds up the writes of the API and engine. */
const BATCH_ROWS = 100;

/**
 * The background pass that leaves no secret in the database but sealed with the current key
 * (issue 16): it seals values written before encryption and re-seals those of a previous key
 * after a rotation, a batch at a time through the store's normal (group-committed) writes. Safe
 * beside other processes doing the same: each row is rewritten only if unchanged since read.
 */
export class SecretsResealer {
  readonly #store: Pick<Store, "resealSecrets">;
  readonly #log: Logger;
  readonly #batchRows: number;
  #closed = false;
  #running: Promise<number> | null = null;

  constructor(deps: { store: Pick<Store, "resealSecrets">; logger: Logger; batchRows?: number }) {
    this.#store = deps.store;
    this.#log = deps.logger.child({ component: "secrets" });
    this.#batchRows = deps.batchRows ?? BATCH_ROWS;
  }

  /** Starts the pass (once); resolves with the rows re-sealed when it is done or closed. */
  start(): Promise<number> {
    this.#running ??= this.#run().catch((err: unknown) => {
      this.#log.error({ err }, "re-sealing secrets failed; the next start tries again");
      return 0;
    });
    return this.#running;
  }

  async #run(): Promise<number> {
    let total = 0;
    for (;;) {
      if (this.#closed) return total;
      const found = await this.#store.resealSecrets(this.#batchRows);
      total += found;
      if (found < this.#batchRows) break;
    }
    if (total > 0) this.#log.info({ rows: total }, "secrets re-sealed with the current key");
    return total;
  }

  /** Stops after the batch in flight. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running;
  }
}
