import { join } from "node:path";
import { existsSync } from "node:fs";
import { SecretBox } from "../../src/secrets/secret-box.js";
import { readKeyFile } from "../../src/secrets/secrets-keys.js";
import { testSecretBox } from "./secrets.js";
import { onTestFinished } from "vitest";
import { PgStore } from "../../src/store/postgres/pg-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { pgUrlWithSchema, tempPgSchema } from "./temp-postgres.js";

/**
 * Which store the integration tests run on: vitest.config.ts runs test/integration twice, once
 * as is (SQLite) and once with HOOKYARD_TEST_STORE=postgres.
 */
export const TEST_STORE: "sqlite" | "postgres" =
  process.env["HOOKYARD_TEST_STORE"] === "postgres" ? "postgres" : "sqlite";

/**
 * `HOOKYARD_DATABASE_URL` for a test server whose files live in `dir`: a SQLite file there, or
 * a fresh PostgreSQL schema (dropped when the test finishes; pass `schema` to restart on one).
 */
export async function testDatabaseUrl(dir: string, schema?: string): Promise<string> {
  if (TEST_STORE === "sqlite") return `sqlite:${join(dir, "hookyard.db")}`;
  return pgUrlWithSchema(schema ?? (await tempPgSchema()));
}

/** Opens the store behind `databaseUrl` directly (no server), closed when the test finishes. */
export async function openStoreAt(databaseUrl: string, secrets?: SecretBox): Promise<Store> {
  const path = databaseUrl.startsWith("sqlite:") ? databaseUrl.slice("sqlite:".length) : null;
  // A SQLite test server seals with the key file it made beside its database, as in production.
  const box =
    secrets ??
    (path !== null && existsSync(`${path}.key`) ? keyFileBox(`${path}.key`) : testSecretBox());
  const store: Store =
    path !== null
      ? SqliteStore.open({ path, secrets: box })
      : await PgStore.open({ url: databaseUrl, secrets: box });
  onTestFinished(() => store.close());
  return store;
}

/** A box with the keys of a key file (current first, as the server reads it). */
export function keyFileBox(path: string): SecretBox {
  const [current, ...previous] = readKeyFile(path);
  return new SecretBox(current, previous);
}
