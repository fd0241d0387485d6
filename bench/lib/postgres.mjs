import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * Runs `fn(databaseUrl)` on a fresh schema of the PostgreSQL at `baseUrl` (as a user would
 * configure it: `?options=-c search_path=<schema>`), then drops the schema, also on failure.
 */
export async function withPgSchema(baseUrl, fn) {
  const schema = `hookyard_bench_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(baseUrl);
    url.searchParams.set("options", `-c search_path=${schema}`);
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end().catch(() => {});
  }
}
