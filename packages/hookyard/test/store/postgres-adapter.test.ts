import { once } from "node:events";
import { createServer, Socket, type Server } from "node:net";
import pg from "pg";
import { describe, expect, it, onTestFinished } from "vitest";
import { ServiceUnavailableError } from "../../src/errors.js";
import { PgStore } from "../../src/store/postgres/pg-store.js";
import { PG_MIGRATIONS } from "../../src/store/postgres/pg-migrations.js";
import {
  postgresUnavailable,
  pgUrlWithSchema,
  tempPgSchema,
  TEST_PG_URL,
} from "../helpers/temp-postgres.js";

const unavailable = await postgresUnavailable();

async function openOn(schema: string, url = TEST_PG_URL): Promise<PgStore> {
  const store = await PgStore.open({ url, schema });
  onTestFinished(() => store.close());
  return store;
}

/**
 * A TCP proxy in front of PostgreSQL that the test can cut (every connection reset, new ones
 * refused) and restore: the database "goes away" for this store only.
 */
async function cuttableProxy(): Promise<{
  url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
}> {
  const target = new URL(TEST_PG_URL);
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (typeof address === "object" && address !== null) port = address.port;
  };
  await listen();
  const close = async () => {
    for (const s of sockets) s.destroy();
    const s = server;
    server = null;
    if (s !== null) await new Promise((resolve) => s.close(resolve));
  };
  onTestFinished(close);
  const url = new URL(TEST_PG_URL);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return { url: url.toString(), cut: close, restore: listen };
}

describe.skipIf(unavailable !== null)("postgres adapter", () => {
  it("migrates once when several processes start on one database at the same time", async () => {
    const schema = await tempPgSchema();
    const stores = await Promise.all(Array.from({ length: 5 }, () => openOn(schema)));
    expect(stores).toHaveLength(5);
    const client = new pg.Client({ connectionString: pgUrlWithSchema(schema) });
    await client.connect();
    onTestFinished(() => client.end());
    const { rows } = await client.query("SELECT version FROM hookyard_schema ORDER BY version");
    expect(rows.map((r: { version: number }) => r.version)).toEqual(
      PG_MIGRATIONS.map((m) => m.version),
    );
  });

  it("refuses a database whose schema is newer than this code", async () => {
    const schema = await tempPgSchema();
    await openOn(schema);
    const client = new pg.Client({ connectionString: pgUrlWithSchema(schema) });
    await client.connect();
    onTestFinished(() => client.end());
    await client.query("INSERT INTO hookyard_schema (version, name) VALUES ($1, 'future')", [
      PG_MIGRATIONS.length + 1,
    ]);
    await expect(PgStore.open({ url: TEST_PG_URL, schema })).rejects.toThrow(
      /newer than this Hookyard supports/,
    );
  });

  it("answers ServiceUnavailable while the database is away, commits nothing, and recovers", async () => {
    const schema = await tempPgSchema();
    const proxy = await cuttableProxy();
    const store = await openOn(schema, proxy.url);
    await store.setSetting("before", "1");
    await proxy.cut();
    await expect(store.setSetting("during", "1")).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(store.getSetting("before")).rejects.toBeInstanceOf(ServiceUnavailableError);
    await proxy.restore();
    await expect
      .poll(() => store.getSetting("before").catch(() => "away"), { timeout: 5_000 })
      .toBe("1");
    expect(await store.getSetting("during"), "the refused write was never committed").toBeNull();
    await store.setSetting("after", "1");
    expect(await store.getSetting("after")).toBe("1");
  });
});
