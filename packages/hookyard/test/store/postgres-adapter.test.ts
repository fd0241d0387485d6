import pg from "pg";
import { testSecretBox } from "../helpers/secrets.js";
import { describe, expect, it, onTestFinished } from "vitest";
import { ServiceUnavailableError } from "../../src/errors.js";
import type { RuleEvent, RuleRun } from "../../src/model.js";
import { PgStore } from "../../src/store/postgres/pg-store.js";
import { PgWriteBatcher } from "../../src/store/postgres/pg-batcher.js";
import { openPool, type Queryable } from "../../src/store/postgres/pg-driver.js";
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

/** A client on `schema`, ended when the test finishes. */
async function clientOn(schema: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: pgUrlWithSchema(schema) });
  await client.connect();
  onTestFinished(() => client.end());
  return client;
}

const EVENT: RuleEvent = {
  kind: "inbound",
  id: "req_1",
  source: "github",
  type: "push",
  payload: { ref: "main" },
  headers: { "x-github-event": "push" },
  body: '{"ref":"main"}',
  method: "POST",
  path: "/",
  query: {},
  receivedAt: "2025-01-01T00:00:00.000Z",
};

/** A finished run of `rule` for EVENT, older than any time-sortable id. */
function finishedRun(id: string, rule: string): RuleRun {
  return {
    id: `rrun_0${id}`,
    rule,
    status: "succeeded",
    event: EVENT,
    actions: [],
    error: null,
    owner: null,
    leaseUntil: null,
    createdAt: 1_000,
    startedAt: 1_001,
    finishedAt: 1_002,
  };
}

async function openOn(schema: string, url = TEST_PG_URL): Promise<PgStore> {
  const store = await PgStore.open({ url, schema, secrets: testSecretBox() });
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
      PG_MIGRATIONS.at(-1)!.version + 1,
    ]);
    await expect(
      PgStore.open({ url: TEST_PG_URL, schema, secrets: testSecretBox() }),
    ).rejects.toThrow(/newer than this Hookyard supports/);
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

  it("accepts one request of each replay key sent by two processes at once, with fresh delivery ids", async () => {
    const schema = await tempPgSchema();
    const [one, two] = [await openOn(schema), await openOn(schema)];
    const seed = new Seed();
    const source = seed.source();
    await one.insertSource(source);
    const pairs = Array.from({ length: 40 }, (_, i) =>
      Promise.all(
        [one, two].map((store, p) =>
          store.insertInboundRequest(
            seed.inboundRequest(source, { dedupKey: `d-${i}-${p}`, replayKey: `r-${i}` }),
            0,
          ),
        ),
      ),
    );
    const accepted = (await Promise.all(pairs)).map(
      (pair) => pair.filter((r) => r.status === "accepted").length,
    );
    expect(accepted, "accepted requests per replay key").toEqual(accepted.map(() => 1));
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

  it("runs again a write that PostgreSQL aborts to break a deadlock, and refuses it with 503 if it keeps on", async () => {
    const schema = await tempPgSchema();
    const pool = openPool({ url: TEST_PG_URL, schema });
    onTestFinished(() => pool.end());
    const other = new pg.Client({ connectionString: pgUrlWithSchema(schema) });
    await other.connect();
    onTestFinished(() => other.end());
    await pool.query("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
    await pool.query("INSERT INTO t VALUES (1, 0), (2, 0), (3, 0)");
    // The other session checks for deadlocks only after 10 s, the write's after 50 ms: the
    // write is the one PostgreSQL aborts.
    await other.query("SET deadlock_timeout = '10s'");
    const { rows: pidRows } = await other.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const otherPid = pidRows[0]!.pid;
    const batcher = new PgWriteBatcher({ pool });
    onTestFinished(() => batcher.close());

    /** A write that meets a deadlock in its first `deadlocks` runs, then adds 1 to row 1. */
    const deadlocking = (deadlocks: number) => {
      let runs = 0;
      // The other session's transaction of the run before, until it has rolled back.
      let otherIdle: Promise<unknown> = Promise.resolve();
      const write = async (db: Queryable): Promise<number> => {
        runs++;
        await otherIdle;
        await db.query("SET LOCAL deadlock_timeout = '50ms'");
        await db.query("UPDATE t SET v = v + 1 WHERE id = 1");
        if (runs > deadlocks) return runs;
        await other.query("BEGIN");
        await other.query("UPDATE t SET v = v + 1 WHERE id = 2");
        // The other session waits for row 1 (ours), and we for row 2 (its): a cycle.
        const otherWaits = other.query("UPDATE t SET v = v + 1 WHERE id = 1");
        otherIdle = otherWaits.then(() => other.query("ROLLBACK"));
        // Only once it waits does our wait close the cycle PostgreSQL's check (after 50 ms) finds.
        await expect
          .poll(
            async () =>
              (
                await pool.query<{ w: string | null }>(
                  "SELECT wait_event_type AS w FROM pg_stat_activity WHERE pid = $1",
                  [otherPid],
                )
              ).rows[0]?.w,
            { timeout: 5_000, interval: 10 },
          )
          .toBe("Lock");
        await db.query("UPDATE t SET v = v + 1 WHERE id = 2");
        return runs;
      };
      return { write, runs: () => runs, otherIdle: () => otherIdle };
    };

    // First run in the optimistic pass, second in the savepoint pass, third succeeds.
    const twice = deadlocking(2);
    const bystander = batcher.write((db) => db.query("UPDATE t SET v = v + 10 WHERE id = 3"));
    await expect(batcher.write(twice.write)).resolves.toBe(3);
    await bystander;
    expect(twice.runs()).toBe(3);
    const { rows } = await pool.query<{ id: number; v: number }>("SELECT * FROM t ORDER BY id");
    expect(rows, "each write applied once").toEqual([
      { id: 1, v: 1 },
      { id: 2, v: 0 },
      { id: 3, v: 10 },
    ]);

    const always = deadlocking(Infinity);
    await expect(batcher.write(always.write)).rejects.toThrow(ServiceUnavailableError);
    expect(always.runs(), "one optimistic run and 3 in the savepoint pass").toBe(4);
    // The other session's last transaction ends before its connection is closed.
    await always.otherIdle();
  });

  it("stores the event of several runs once", async () => {
    const schema = await tempPgSchema();
    const store = await openOn(schema);
    await store.insertRuleRuns(["a", "b", "c"].map((id) => finishedRun(id, id)));
    const client = await clientOn(schema);
    expect((await client.query("SELECT id FROM rule_event")).rows).toEqual([{ id: "req_1" }]);
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM rule_run WHERE event_id = 'req_1'",
    );
    expect(rows).toEqual([{ n: 3 }]);
  });

  it("carries the runs of a version 4 schema over, each with its event", async () => {
    const schema = await tempPgSchema();
    const client = await clientOn(schema);
    await client.query(
      "CREATE TABLE hookyard_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    );
    for (const step of PG_MIGRATIONS.filter((m) => m.version <= 4)) {
      await client.query(step.sql);
      await client.query("INSERT INTO hookyard_schema (version, name) VALUES ($1, $2)", [
        step.version,
        step.name,
      ]);
    }
    const runs = [finishedRun("a", "deploy"), finishedRun("b", "notify")];
    for (const r of runs) {
      await client.query(
        `INSERT INTO rule_run (id, rule, status, event, actions, created_at, started_at,
           finished_at) VALUES ($1, $2, $3, $4, '[]', $5, $6, $7)`,
        [r.id, r.rule, r.status, JSON.stringify(r.event), r.createdAt, r.startedAt, r.finishedAt],
      );
    }
    const store = await openOn(schema);
    for (const r of runs) expect(await store.getRuleRun(r.id)).toEqual(r);
    expect(
      await store.listRuleRuns({ rule: "notify" }, { limit: 5, iterator: null }),
    ).toMatchObject({ data: [runs[1]] });
    expect(await store.deleteRuleRunsBefore(Number.MAX_SAFE_INTEGER, 10)).toBe(2);
    const { rows } = await client.query("SELECT count(*)::int AS n FROM rule_event");
    expect(rows).toEqual([{ n: 0 }]);
  });
});
