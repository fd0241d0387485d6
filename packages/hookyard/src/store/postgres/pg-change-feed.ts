import { randomBytes } from "node:crypto";
import type { StoreChange } from "../store.js";
import { connectClient, type PgConnectOptions } from "./pg-driver.js";

/** How long to wait before listening again after the connection was lost. */
const RECONNECT_MS = 1_000;

interface Notification {
  origin: string;
  change: StoreChange;
}

/**
 * Cross-process invalidation of the configuration caches over LISTEN/NOTIFY. Writers call
 * `notifySql`/`notifyParams` inside their transaction, so the notification goes out with COMMIT
 * and never for a rolled-back change. One connection per process listens (started with the first
 * subscriber); the channel is per schema, so processes on other schemas of the same database hear
 * nothing. A process ignores its own notifications (it updated its caches itself). After the
 * connection drops, it listens again and tells subscribers to `resync`: what was committed
 * meanwhile was not heard.
 */
export class PgChangeFeed {
  readonly origin = randomBytes(8).toString("hex");
  readonly #connect: PgConnectOptions;
  readonly #channel: string;
  readonly #listeners = new Set<(change: StoreChange) => void>();
  #client: Awaited<ReturnType<typeof connectClient>> | null = null;
  #starting: Promise<void> | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(deps: { connect: PgConnectOptions; schema: string }) {
    this.#connect = deps.connect;
    this.#channel = `hookyard:${deps.schema}`;
  }

  /** `SELECT pg_notify($1, $2)` with `notifyParams(change)`. */
  readonly notifySql = "SELECT pg_notify($1, $2)";

  notifyParams(change: StoreChange): [string, string] {
    const note: Notification = { origin: this.origin, change };
    return [this.#channel, JSON.stringify(note)];
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    this.#starting ??= this.#listen(false);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
    await this.#starting?.catch(() => undefined);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }

  async #listen(afterLoss: boolean): Promise<void> {
    if (this.#closed) return;
    let client: Awaited<ReturnType<typeof connectClient>> | null = null;
    try {
      client = await connectClient(this.#connect);
      const listening = client;
      client.on("notification", (msg) => this.#onNotification(msg.payload));
      client.on("error", () => this.#lost(listening));
      client.on("end", () => this.#lost(listening));
      await client.query(`LISTEN "${this.#channel.replace(/"/g, '""')}"`);
      if (this.#closed) {
        await client.end();
        return;
      }
      this.#client = client;
      if (afterLoss) this.#emit({ kind: "resync" });
    } catch {
      // A connection that could not LISTEN is closed before the next try, never leaked.
      if (client !== null && this.#client !== client) await client.end().catch(() => undefined);
      this.#scheduleRetry();
    }
  }

  #lost(client: unknown): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = null;
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry !== null) return;
    // A real timer on purpose: it paces reconnects to a real server, not domain time.
    // eslint-disable-next-line no-restricted-globals -- reconnect pacing, see above
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#starting = this.#listen(true);
    }, RECONNECT_MS);
    this.#retry.unref();
  }

  #onNotification(payload: string | undefined): void {
    if (payload === undefined) return;
    let note: Notification;
    try {
      note = JSON.parse(payload) as Notification;
    } catch {
      return; // not ours
    }
    if (note.origin === this.origin) return;
    this.#emit(note.change);
  }

  #emit(change: StoreChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}
