import { mkdtemp, rm } from "node:fs/promises";
import { testSecretBox } from "./secrets.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { SqliteStore, type SqliteStoreDeps } from "../../src/store/sqlite/sqlite-store.js";

/**
 * A path for a database file in a fresh temp directory (a real file: WAL and locking behave
 * differently in `:memory:`). The directory is removed when the test finishes.
 */
export async function tempSqlitePath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hookyard-sqlite-"));
  // onTestFinished hooks run in reverse order: stores registered later close before this runs.
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return join(dir, "hookyard.db");
}

/**
 * Opens a `SqliteStore` on a fresh temp file (or on `path`, to reopen one) and closes it when the
 * test finishes.
 */
export async function openTempSqliteStore(
  opts: Partial<SqliteStoreDeps> = {},
): Promise<SqliteStore> {
  const path = opts.path ?? (await tempSqlitePath());
  const store = SqliteStore.open({ secrets: testSecretBox(), ...opts, path });
  onTestFinished(() => store.close());
  return store;
}
