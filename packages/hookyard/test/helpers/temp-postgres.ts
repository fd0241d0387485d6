import { randomBytes } from "node:crypto";
import { testSecretBox } from "./secrets.js";
import pg from "pg";
import { onTestFinished } from "vitest";
import { PgStore } from "../../src/store/postgres/pg-store.js";

/**
 * PostgreSQL for tests: `HOOKYARD_TEST_PG_URL`, by default the server every machine of this
 * project runs. Each store gets its own schema, dropped when the test finishes, so test files
 * run in parallel on one database.
 */
export const TEST_PG_URL =
  process.env["HOOKYARD_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * null when PostgreSQL answers, else why not. Under CI=true an unreachable server is an error:
 * the PostgreSQL tests must run there, never skip.
 */
export async function postgresUnavailable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (err) {
    const reason = `PostgreSQL at ${TEST_PG_URL} is not reachable (${err instanceof Error ? err.message : String(err)})`;
    if (process.env["CI"] === "true") throw new Error(`${reason}; under CI=true it must be`);
    process.stderr.write(`skipping PostgreSQL tests: ${reason}\n`);
    return reason;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates a fresh schema and drops it (with everything in it) when the test finishes. */
export async function tempPgSchema(): Promise<string> {
  const schema = `hy_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  onTestFinished(async () => {
    const dropper = new pg.Client({ connectionString: TEST_PG_URL });
    await dropper.connect();
    try {
      await dropper.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await dropper.end();
    }
  });
  return schema;
}

/** The test database's URL with `schema` as the search path, as a user would configure it. */
export function pgUrlWithSchema(schema: string): string {
  const url = new URL(TEST_PG_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

/** A `PgStore` on a fresh schema, closed when the test finishes (before the schema is dropped). */
export async function openTempPgStore(): Promise<PgStore> {
  const schema = await tempPgSchema();
  const store = await PgStore.open({ url: TEST_PG_URL, schema, secrets: testSecretBox() });
  onTestFinished(() => store.close());
  return store;
}
