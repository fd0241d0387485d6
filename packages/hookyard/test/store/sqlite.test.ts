import { dirname, join } from "node:path";
import { testSecretBox } from "../helpers/secrets.js";
import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { ServiceUnavailableError } from "../../src/errors.js";
import type { Message, RuleEvent, RuleRun } from "../../src/model.js";
import { MIGRATIONS, migrate } from "../../src/store/sqlite/migrations.js";
import { openDatabase } from "../../src/store/sqlite/sqlite-driver.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { WriteBatcher, type CommitSync } from "../../src/store/sqlite/write-batcher.js";
import { Seed, seedAppWithEndpoint } from "../helpers/seed.js";
import { openTempSqliteStore, tempSqlitePath } from "../helpers/temp-sqlite.js";
import { describeStoreContract } from "./store.contract.js";

describeStoreContract("sqlite", openTempSqliteStore);

function recordingLogger(): {
  lines: Array<{ level: string; obj: object; msg: string }>;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
} {
  const lines: Array<{ level: string; obj: object; msg: string }> = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: "info", obj, msg }),
    warn: (obj, msg) => lines.push({ level: "warn", obj, msg }),
  };
}

describe("sqlite store: files and schema", () => {
  it("keeps committed data across close and reopen of the same file", async () => {
    const path = await tempSqlitePath();
    const seed = new Seed();
    const first = await openTempSqliteStore({ path });
    const { app, endpoint } = await seedAppWithEndpoint(first, seed);
    const message = seed.message(app);
    const delivery = seed.delivery(message, endpoint);
    await first.createMessage({ message, deliveries: [delivery], eventIdSince: 0 });
    await first.close();

    const second = await openTempSqliteStore({ path });
    expect(await second.getApplication(app.id)).toEqual(app);
    expect(await second.getMessage(app.id, message.id)).toEqual(message);
    expect(await second.listDeliveriesOfMessage(message.id)).toEqual([delivery]);
  });

  it("creates the parent directory of a new database file", async () => {
    const base = await tempSqlitePath();
    const path = join(dirname(base), "nested", "deeper", "hookyard.db");
    const store = await openTempSqliteStore({ path });
    await store.setSetting("k", "v");
    expect(await store.getSetting("k")).toBe("v");
  });

  it("migrates a new file once and not again on reopen", async () => {
    const path = await tempSqlitePath();
    const log = recordingLogger();
    const first = await openTempSqliteStore({ path, logger: log });
    await first.close();
    await openTempSqliteStore({ path, logger: log });
    const migrated = log.lines.filter((l) => l.msg === "sqlite schema migrated");
    expect(migrated.map((l) => l.obj)).toEqual([
      { path, applied: MIGRATIONS.map((m) => m.version) },
    ]);
  });

  it("refuses a database whose schema is newer than this code", async () => {
    const path = await tempSqlitePath();
    const raw = new Database(path);
    raw.pragma(`user_version = ${MIGRATIONS.at(-1)!.version + 1}`);
    raw.close();
    expect(() => SqliteStore.open({ path, secrets: testSecretBox() })).toThrow(
      /newer than this Hookyard supports/,
    );
  });
});

describe("sqlite store: rule runs", () => {
  const event: RuleEvent = {
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
  const run = (id: string, rule: string): RuleRun => ({
    id: `rrun_0${id}`, // older than any time-sortable id
    rule,
    status: "succeeded",
    event,
    actions: [],
    error: null,
    owner: null,
    leaseUntil: null,
    createdAt: 1_000,
    startedAt: 1_001,
    finishedAt: 1_002,
  });

  it("stores the event of several runs once", async () => {
    const path = await tempSqlitePath();
    const store = await openTempSqliteStore({ path });
    await store.insertRuleRuns(["a", "b", "c"].map((id) => run(id, id)));
    const raw = new Database(path, { readonly: true });
    onTestFinished(() => {
      raw.close();
    });
    expect(raw.prepare("SELECT id FROM rule_event").all()).toEqual([{ id: "req_1" }]);
    expect(
      raw.prepare("SELECT count(*) AS n FROM rule_run WHERE event_id = 'req_1'").get(),
    ).toEqual({ n: 3 });
  });

  it("carries the runs of a version 3 database over, each with its event", async () => {
    const path = await tempSqlitePath();
    const old = new Database(path);
    migrate(old, MIGRATIONS.slice(0, 3));
    const runs = [run("a", "deploy"), run("b", "notify")];
    for (const r of runs) {
      old
        .prepare(
          `INSERT INTO rule_run (id, rule, status, event, actions, error, owner, lease_until,
            created_at, started_at, finished_at) VALUES (?, ?, ?, ?, '[]', NULL, NULL, NULL, ?, ?, ?)`,
        )
        .run(
          r.id,
          r.rule,
          r.status,
          JSON.stringify(r.event),
          r.createdAt,
          r.startedAt,
          r.finishedAt,
        );
    }
    old.close();
    const store = await openTempSqliteStore({ path });
    for (const r of runs) expect(await store.getRuleRun(r.id)).toEqual(r);
    expect(
      await store.listRuleRuns({ rule: "notify" }, { limit: 5, iterator: null }),
    ).toMatchObject({ data: [runs[1]] });
    expect(await store.deleteRuleRunsBefore(Number.MAX_SAFE_INTEGER, 10)).toBe(2);
    const raw = new Database(path, { readonly: true });
    onTestFinished(() => {
      raw.close();
    });
    expect(raw.prepare("SELECT count(*) AS n FROM rule_event").get()).toEqual({ n: 0 });
  });
});

describe("sqlite store: group commit", () => {
  it("commits 5,000 concurrent messages in a few transactions and resolves them all", async () => {
    const store = await openTempSqliteStore();
    const seed = new Seed();
    const { app, endpoint } = await seedAppWithEndpoint(store, seed);
    const before = store.stats;
    const messages: Message[] = [];
    const writes = [];
    for (let i = 0; i < 5_000; i++) {
      const message = seed.message(app);
      messages.push(message);
      const deliveries = [seed.delivery(message, endpoint)];
      writes.push(store.createMessage({ message, deliveries, eventIdSince: 0 }));
    }
    const results = await Promise.all(writes);
    expect(results.every((r) => r.created)).toBe(true);
    const after = store.stats;
    expect(after.writes - before.writes).toBe(5_000);
    expect(
      after.transactions - before.transactions,
      "5,000 writes of one burst at 2,000 per transaction",
    ).toBeLessThanOrEqual(3);
    const newest = await store.listMessages(app.id, {}, { limit: 1, iterator: null });
    expect(newest.data).toEqual([messages.at(-1)]);
    expect(await store.listOpenDeliveriesOfEndpoint(endpoint.id)).toHaveLength(5_000);
  });

  it("rejects a write that throws without failing the rest of its batch", async () => {
    const store = await openTempSqliteStore();
    const seed = new Seed();
    const app = seed.application();
    // The message's application does not exist: a foreign-key failure, not a conflict.
    const orphan = seed.message(seed.application());
    const results = await Promise.allSettled([
      store.insertApplication(app),
      store.createMessage({ message: orphan, deliveries: [], eventIdSince: 0 }),
      store.setSetting("k", "v"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(await store.getApplication(app.id)).toEqual(app);
    expect(await store.getSetting("k")).toBe("v");
  });
});

describe("sqlite write batcher", () => {
  it("rejects every write of a batch whose COMMIT fails and commits the next batch", async () => {
    const db = openDatabase(await tempSqlitePath(), { busyTimeoutMs: 1_000 });
    onTestFinished(() => db.close());
    db.exec(`PRAGMA foreign_keys = ON;
      CREATE TABLE parent (id TEXT PRIMARY KEY);
      CREATE TABLE child (id TEXT PRIMARY KEY, parent_id TEXT REFERENCES parent (id));`);
    const batcher = new WriteBatcher({ db });
    onTestFinished(() => batcher.close());
    const insertChild = db.prepare("INSERT INTO child (id, parent_id) VALUES (?, ?)");
    // A deferred foreign-key check fails at COMMIT, after every write of the batch succeeded.
    const results = await Promise.allSettled([
      batcher.write(() => db.pragma("defer_foreign_keys = ON")),
      batcher.write(() => insertChild.run("c1", "missing")),
      batcher.write(() => insertChild.run("c2", null)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(db.inTransaction, "the failed transaction was rolled back").toBe(false);
    await batcher.write(() => insertChild.run("c3", null));
    expect(db.prepare("SELECT id FROM child ORDER BY id").all()).toEqual([{ id: "c3" }]);
    expect(batcher.stats).toEqual({ transactions: 2, writes: 1, syncs: 0 });
  });
});

/** A CommitSync the test completes by hand: `pending` holds the callbacks of syncs in flight. */
function manualSync(): CommitSync & { pending: Array<(err: Error | null) => void>; now: number } {
  const sync = {
    pending: [] as Array<(err: Error | null) => void>,
    now: 0,
    sync(done: (err: Error | null) => void) {
      sync.pending.push(done);
    },
    syncNow() {
      sync.now++;
    },
  };
  return sync;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

async function batcherWithSync() {
  const db = openDatabase(await tempSqlitePath(), { busyTimeoutMs: 1_000 });
  onTestFinished(() => db.close());
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  const sync = manualSync();
  const batcher = new WriteBatcher({ db, commitSync: sync });
  onTestFinished(() => batcher.close());
  const insert = db.prepare("INSERT INTO t (id) VALUES (?)");
  const count = () => (db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n;
  return { db, sync, batcher, insert, count };
}

describe("sqlite write batcher with a background sync", () => {
  it("resolves a write only after the sync that follows its commit", async () => {
    const { sync, batcher, insert, count } = await batcherWithSync();
    let resolved = false;
    const write = batcher.write(() => insert.run(1)).then(() => (resolved = true));
    await nextTurn();
    expect(count(), "committed").toBe(1);
    expect(sync.pending).toHaveLength(1);
    expect(resolved, "not acknowledged before the flush").toBe(false);
    sync.pending.shift()!(null);
    await write;
    expect(batcher.stats).toEqual({ transactions: 1, writes: 1, syncs: 1 });
  });

  it("holds new writes while a sync runs and commits them together after it", async () => {
    const { sync, batcher, insert, count } = await batcherWithSync();
    const first = batcher.write(() => insert.run(1));
    await nextTurn();
    const later = [2, 3, 4].map((id) => batcher.write(() => insert.run(id)));
    await nextTurn();
    await nextTurn();
    expect(count(), "no commit while the first sync runs").toBe(1);
    sync.pending.shift()!(null);
    await first;
    await nextTurn();
    expect(count()).toBe(4);
    expect(batcher.stats.transactions, "the three waiting writes in one transaction").toBe(2);
    sync.pending.shift()!(null);
    await Promise.all(later);
    expect(batcher.stats).toEqual({ transactions: 2, writes: 4, syncs: 2 });
  });

  it("after a failed sync, rejects what it covered and refuses every later write and read", async () => {
    const { sync, batcher, insert } = await batcherWithSync();
    const lost = batcher.write(() => insert.run(1));
    await nextTurn();
    sync.pending.shift()!(Object.assign(new Error("EIO: i/o error"), { code: "EIO" }));
    await expect(lost).rejects.toThrow("the group commit holding this write failed");
    // A later flush could "succeed" without the pages the kernel dropped: nothing is trusted.
    await expect(batcher.write(() => insert.run(2))).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    await expect(batcher.whenDurable()).rejects.toThrow(/could not be flushed to disk/);
    expect(sync.pending, "no further flush is attempted").toHaveLength(0);
    await batcher.whenIdle();
  });

  it("makes reads wait for the flush of what is committed (whenDurable)", async () => {
    const { sync, batcher, insert } = await batcherWithSync();
    expect(batcher.whenDurable(), "nothing committed: nothing to wait for").toBeNull();
    void batcher.write(() => insert.run(1));
    await nextTurn();
    let durable = false;
    void batcher.whenDurable()!.then(() => (durable = true));
    await nextTurn();
    expect(durable).toBe(false);
    sync.pending.shift()!(null);
    await nextTurn();
    expect(durable).toBe(true);
    expect(batcher.whenDurable()).toBeNull();
  });

  it("commits and flushes synchronously on close, resolving every write", async () => {
    const { sync, batcher, insert, count } = await batcherWithSync();
    const committed = batcher.write(() => insert.run(1));
    await nextTurn(); // committed, its sync still running
    const queued = batcher.write(() => insert.run(2));
    batcher.close();
    expect(count()).toBe(2);
    expect(sync.now, "one synchronous flush at close").toBe(1);
    await expect(Promise.all([committed, queued])).resolves.toHaveLength(2);
  });
});

describe("sqlite store: WAL checkpoints", () => {
  for (const checkpointInWorker of [true, false]) {
    it(`checkpoints the WAL after enough writes (${checkpointInWorker ? "worker thread" : "main thread"})`, async () => {
      const log = recordingLogger();
      const store = await openTempSqliteStore({
        checkpointThresholdPages: 50,
        checkpointInWorker,
        logger: log,
      });
      const seed = new Seed();
      const { app, endpoint } = await seedAppWithEndpoint(store, seed);
      for (let round = 0; round < 10; round++) {
        const message = seed.message(app, { payload: JSON.stringify({ pad: "x".repeat(2_000) }) });
        await store.createMessage({
          message,
          deliveries: [seed.delivery(message, endpoint)],
          eventIdSince: 0,
        });
      }
      await expect
        .poll(() => store.stats.checkpoints, { timeout: 5_000, message: "checkpoints completed" })
        .toBeGreaterThan(0);
      expect(
        log.lines.filter((l) => l.level === "warn"),
        "no checkpoint failed",
      ).toEqual([]);
      // Writes keep working after (and while) checkpoints run.
      await store.setSetting("after", "checkpoint");
      expect(await store.getSetting("after")).toBe("checkpoint");
    });
  }
});
