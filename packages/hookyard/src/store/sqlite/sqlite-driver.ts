import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { ConflictError } from "../../errors.js";

/**
 * The slice of better-sqlite3 the SQLite adapter uses (STYLE 2.3: the consumer declares its seam).
 * This file is the only one that imports the driver; everything else in store/sqlite/ speaks
 * these interfaces.
 */
export type SqlParam = string | number | bigint | Buffer | null;

export interface SqliteStatement {
  run(...params: SqlParam[] | [Readonly<Record<string, SqlParam>>]): { changes: number };
  get(...params: SqlParam[] | [Readonly<Record<string, SqlParam>>]): unknown;
  all(...params: SqlParam[] | [Readonly<Record<string, SqlParam>>]): unknown[];
}

export interface SqliteDatabase {
  readonly inTransaction: boolean;
  readonly open: boolean;
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  pragma(sql: string, options?: { simple: boolean }): unknown;
  close(): void;
}

/** Opens (creating it and its parent directory if missing) the database file at `path`. */
export function openDatabase(path: string, opts: { busyTimeoutMs: number }): SqliteDatabase {
  mkdirSync(dirname(path), { recursive: true });
  return new Database(path, { timeout: opts.busyTimeoutMs });
}

/** Where the driver module lives, so a worker thread can load the same build of it. */
export function driverEntryPath(): string {
  return createRequire(import.meta.url).resolve("better-sqlite3");
}

/** True for UNIQUE and PRIMARY KEY violations, the errors that become `ConflictError`. */
function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof Error) || !("code" in err)) return false;
  const { code } = err;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** Binds a boolean as SQLite stores it (the driver refuses JS booleans). */
export function sqlBool(value: boolean): number {
  return value ? 1 : 0;
}

/** Runs `fn`, turning a UNIQUE/PRIMARY KEY violation into `ConflictError(message())`. */
export function conflictOn<T>(fn: () => T, message: () => string): T {
  try {
    return fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(message(), { cause: err });
    throw err;
  }
}
