import { closeSync, fdatasync, fdatasyncSync, openSync } from "node:fs";
import type { CommitSync } from "./write-batcher.js";

/**
 * Flushes the WAL file with fdatasync on libuv's thread pool. The connection runs with
 * synchronous=NORMAL, so COMMIT appends its frames to the WAL without waiting for the disk; a
 * flush of the same file afterwards makes them exactly as durable as synchronous=FULL would have
 * (FULL is that same flush, inside COMMIT). Checkpoints (wal-checkpointer.ts) sync the WAL and
 * the database file themselves, as SQLite always does.
 *
 * SQLite keeps the WAL file, and so this descriptor, valid while a connection is open: it is
 * rewritten from the start after a checkpoint, never unlinked or truncated (no
 * journal_size_limit), so it is opened once, at the first sync, when the first COMMIT has
 * created it.
 */
export class WalSync implements CommitSync {
  readonly #walPath: string;
  #fd: number | null = null;

  constructor(dbPath: string) {
    this.#walPath = `${dbPath}-wal`;
  }

  sync(done: (err: Error | null) => void): void {
    let fd: number;
    try {
      fd = this.#open();
    } catch (err) {
      done(err as Error);
      return;
    }
    fdatasync(fd, (err) => done(err));
  }

  syncNow(): void {
    fdatasyncSync(this.#open());
  }

  /** Closes the descriptor (after the last sync). Idempotent. */
  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  #open(): number {
    // Read-only is enough: fdatasync flushes the file's dirty pages whoever wrote them.
    this.#fd ??= openSync(this.#walPath, "r");
    return this.#fd;
  }
}
