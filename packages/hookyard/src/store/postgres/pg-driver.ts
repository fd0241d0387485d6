import pg from "pg";
import { ConflictError, ServiceUnavailableError } from "../../errors.js";
import type { SqlParam } from "../rows/config-rows.js";

/** A statement parameter: a JS array is sent as a PostgreSQL array (for `unnest($n::type[])`). */
export type PgParam = SqlParam | readonly SqlParam[];

/**
 * The slice of node-postgres the PostgreSQL adapter uses (STYLE 2.3: the consumer declares its
 * seam). This file is the only one that imports the driver.
 */
export interface Queryable {
  query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly PgParam[],
  ): Promise<{ rows: R[]; rowCount: number; command: string }>;
  /** A named statement: parsed and planned once per connection, then only bound and run. */
  query<R = Record<string, unknown>>(statement: {
    name: string;
    text: string;
    values: readonly SqlParam[];
  }): Promise<{ rows: R[]; rowCount: number; command: string }>;
}

export interface PgClient extends Queryable {
  release(err?: Error | boolean): void;
  on(event: "error", listener: (err: Error) => void): unknown;
  off(event: "error", listener: (err: Error) => void): unknown;
}

export interface PgPool extends Queryable {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
}

/** PostgreSQL's type id of BIGINT (int8). */
const INT8_OID = 20;

// Times are epoch ms in BIGINT columns: far below 2^53, so they come back as numbers, not text.
const parseInt8 = (text: string): number => Number(text);
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary"): unknown =>
    oid === INT8_OID
      ? parseInt8
      : (pg.types.getTypeParser(oid, format) as unknown)) as pg.CustomTypesConfig["getTypeParser"],
};

export interface PgConnectOptions {
  url: string;
  /** Schema every connection uses (`search_path`); tests give each store its own. */
  schema?: string;
  max?: number;
  connectTimeoutMs?: number;
}

export function openPool(opts: PgConnectOptions): PgPool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    types,
    ...(opts.schema !== undefined && { options: `-c search_path=${opts.schema}` }),
  });
  return pool;
}

/** A dedicated connection outside the pool (LISTEN, advisory locks). */
export async function connectClient(opts: PgConnectOptions): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: opts.url,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
    types,
    ...(opts.schema !== undefined && { options: `-c search_path=${opts.schema}` }),
  });
  await client.connect();
  return client;
}

function sqlState(err: unknown): string | null {
  if (typeof err !== "object" || err === null || !("code" in err)) return null;
  return typeof err.code === "string" ? err.code : null;
}

/** Connection-level failures: the database is away (restart, network, too many clients). */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof ServiceUnavailableError) return true;
  const code = sqlState(err);
  if (code !== null) {
    // Connection exceptions, insufficient resources, operator intervention (shutdown, restart),
    // system errors; not 08P01, a protocol violation, which is a bug.
    if (/^(08|53|57|58)/.test(code) && code.length === 5 && code !== "08P01" && code !== "57014") {
      return true; // 57014 is a cancelled statement (statement_timeout), not the database away
    }
    if (/^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE…
  }
  const message = err instanceof Error ? err.message : "";
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
    message,
  );
}

/**
 * Turns driver errors into the store's: a unique violation becomes `ConflictError(message())`,
 * a connection failure `ServiceUnavailableError`; anything else is rethrown as it is.
 */
export function mapPgError(err: unknown, conflictMessage?: () => string): unknown {
  if (sqlState(err) === "23505" && conflictMessage !== undefined) {
    return new ConflictError(conflictMessage(), { cause: err });
  }
  if (isUnavailable(err)) {
    return new ServiceUnavailableError("the database is not available", { cause: err });
  }
  return err;
}

/** PostgreSQL aborted the statement to break a deadlock or a serialization conflict (transient). */
export function isLockConflict(err: unknown): boolean {
  const code = sqlState(err);
  return code === "40P01" || code === "40001";
}

export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === "23505";
}
