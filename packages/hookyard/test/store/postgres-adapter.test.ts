import pg from "pg";
import { describe, expect, it, onTestFinished } from "vitest";
import { ServiceUnavailableError } from "../../src/errors.js";
import { PgStore } from "../../src/store/postgres/pg-store.js";
import { PG_MIGRATIONS } from "../../src/store/postgres/pg-migrations.js";
import { cuttableProxy } from "../helpers/pg-proxy.js";
import { Seed, seedAppWithEndpoint } from "../helpers/seed.js";
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

  it("shares an endpoint's rate-limit slots between the processes on one database", async () => {
    const schema = await tempPgSchema();
    const [one, two] = [await openOn(schema), await openOn(schema)];
    const now = 1_700_000_000_000;
    const slots = [one.rateSlots(() => now), two.rateSlots(() => now)];
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) waits.push(await slots[i % 2]!.reserve("ep_1", 5));
    expect(waits, "one budget of 5/s for both, as one process would have").toEqual([
      0, 0, 0, 0, 0, 200, 400, 600,
    ]);
    await slots[0]!.refund("ep_1", 5);
    expect(await slots[1]!.reserve("ep_1", 5), "the refunded slot, not the next").toBe(600);
    expect(await slots[0]!.reserve("ep_2", 5), "each endpoint its own budget").toBe(0);
  });

  it("stores a burst of 1,200 concurrent publishes, several groups of multi-row statements", async () => {
    const store = await openOn(await tempPgSchema());
    const seed = new Seed();
    const { app, endpoint } = await seedAppWithEndpoint(store, seed);
    const messages = Array.from({ length: 1_200 }, () => seed.message(app));
    const results = await Promise.all(
      messages.map((message) =>
        store.createMessage({
          message,
          deliveries: [seed.delivery(message, endpoint)],
          eventIdSince: 0,
        }),
      ),
    );
    expect(results.every((r) => r.created)).toBe(true);
    expect(await store.listOpenDeliveriesOfEndpoint(endpoint.id)).toHaveLength(1_200);
    const listed = await store.listMessages(app.id, {}, { limit: 1_300, iterator: null });
    expect(listed.data).toHaveLength(1_200);
  });
});
