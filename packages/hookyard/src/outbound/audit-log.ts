import type { Clock } from "../clock.js";
import type { IdGenerator } from "../ids.js";
import type { AuditEntry } from "../model.js";
import type { AuditFilter, Page, PageRequest, Store } from "../store/store.js";

/**
 * The audit log (issue 16): one entry per change made through the API — who (the admin key, an
 * API key, an app portal token), what (route, object, changed fields with secrets masked), when.
 * Entries are kept `retentionDays` and pruned with the rest of the expired data.
 */
export class AuditLog {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;

  constructor(deps: { store: Store; clock: Clock; ids: IdGenerator }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
  }

  async record(entry: Omit<AuditEntry, "id" | "createdAt">): Promise<AuditEntry> {
    const full: AuditEntry = {
      ...entry,
      id: this.#ids.next("audit"),
      createdAt: this.#clock.now(),
    };
    await this.#store.insertAuditEntry(full);
    return full;
  }

  list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry>> {
    return this.#store.listAuditEntries(filter, page);
  }

  /** Deletes entries older than `retentionDays`; returns how many. */
  prune(retentionDays: number): Promise<number> {
    return this.#store.pruneAuditEntries(this.#clock.now() - retentionDays * 86_400_000);
  }
}
