import { createHmac, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { createRequire } from "node:module";

/**
 * Phase (d), `--floor`: the least a server of this design can do per message, to show in the same
 * run how far the ceiling ratio can go on this machine. It speaks just enough of the publish API
 * for phase (b)'s driver (health, create app, create endpoint, publish) and does only the
 * essential work: node:http, JSON.parse, a group commit of the message and its delivery before the
 * acknowledgement, a Standard Webhooks signature and an undici POST per message, and the attempt
 * recorded. No validation, no auth, no indexes beyond primary keys, no retries, no egress guard,
 * no logging: not a product, a lower bound for one.
 *
 * `HOOKYARD_DATABASE_URL` picks the store: `sqlite:<file>` (WAL, synchronous=FULL, one group
 * commit per event-loop turn) or `postgres://…` (with `--postgres`: up to 4 transactions at once
 * as Hookyard's group commit, each table's rows of a group in one multi-row `unnest` statement,
 * the next group gathering while they commit; synchronous_commit as the server has it).
 */
const require = createRequire(new URL("../../packages/hookyard/package.json", import.meta.url));
const { Pool } = require("undici");

const TABLES = `
CREATE TABLE message (id TEXT PRIMARY KEY, event_type TEXT, payload TEXT, created_at BIGINT);
CREATE TABLE delivery (id TEXT PRIMARY KEY, msg_id TEXT, status TEXT, updated_at BIGINT);
CREATE TABLE attempt (id TEXT PRIMARY KEY, delivery_id TEXT, status INTEGER, created_at BIGINT);`;

/** Rows waiting for the next group commit, per statement, and the callbacks to run after it. */
function emptyGroup() {
  return { messages: [], deliveries: [], attempts: [], finishes: [], done: [] };
}

let group = emptyGroup();
/** PostgreSQL transactions at once (Hookyard's group commit allows 4). */
const TRANSACTIONS = Number(process.env.FLOOR_PG_TRANSACTIONS ?? 4);
let seq = 0;
const newId = (prefix) => `${prefix}_${Date.now().toString(36)}${(seq++).toString(36)}`;

const url = process.env.HOOKYARD_DATABASE_URL;
const commitGroup = url.startsWith("postgres") ? await postgresStore(url) : sqliteStore(url);

/** Adds rows to the next group commit; `done` runs after its COMMIT. */
function write(rows, done) {
  for (const key of ["messages", "deliveries", "attempts", "finishes"])
    if (rows[key]) group[key].push(rows[key]);
  group.done.push(done);
  commitGroup.schedule();
}

function sqliteStore(databaseUrl) {
  const Database = require("better-sqlite3");
  const db = new Database(databaseUrl.replace(/^sqlite:/, ""));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(TABLES);
  const statements = {
    messages: db.prepare("INSERT INTO message VALUES (?, ?, ?, ?)"),
    deliveries: db.prepare("INSERT INTO delivery VALUES (?, ?, 'pending', ?)"),
    attempts: db.prepare("INSERT INTO attempt VALUES (?, ?, ?, ?)"),
    finishes: db.prepare("UPDATE delivery SET status = ?, updated_at = ? WHERE id = ?"),
  };
  let scheduled = false;
  const commit = () => {
    scheduled = false;
    const batch = group;
    group = emptyGroup();
    db.exec("BEGIN");
    for (const [key, statement] of Object.entries(statements))
      for (const row of batch[key]) statement.run(...row);
    db.exec("COMMIT");
    for (const done of batch.done) done();
  };
  return {
    schedule() {
      if (scheduled) return;
      scheduled = true;
      setImmediate(commit);
    },
  };
}

async function postgresStore(databaseUrl) {
  const pg = require("pg");
  const pool = new pg.Pool({ connectionString: databaseUrl, max: TRANSACTIONS });
  await pool.query(TABLES);
  // One statement per table and group; the arrays are columns (row i = element i of each).
  const statements = {
    messages: `INSERT INTO message SELECT * FROM unnest($1::text[], $2::text[], $3::text[],
      $4::bigint[])`,
    deliveries: `INSERT INTO delivery SELECT i, m, 'pending', t FROM unnest($1::text[],
      $2::text[], $3::bigint[]) AS r(i, m, t)`,
    attempts: `INSERT INTO attempt SELECT * FROM unnest($1::text[], $2::text[], $3::int[],
      $4::bigint[])`,
    finishes: `UPDATE delivery d SET status = r.s, updated_at = r.t FROM unnest($1::text[],
      $2::bigint[], $3::text[]) AS r(s, t, i) WHERE d.id = r.i`,
  };
  let running = 0;
  const commit = async () => {
    running++;
    const client = await pool.connect();
    while (group.done.length > 0) {
      const batch = group;
      group = emptyGroup();
      await client.query("BEGIN");
      for (const [key, sql] of Object.entries(statements)) {
        const rows = batch[key];
        if (rows.length === 0) continue;
        await client.query(
          sql,
          rows[0].map((_, column) => rows.map((row) => row[column])),
        );
      }
      await client.query("COMMIT");
      for (const done of batch.done) done();
    }
    client.release();
    running--;
  };
  return {
    schedule() {
      if (running < TRANSACTIONS) void commit();
    },
  };
}

const secret = randomBytes(24);
let pool = null;

function deliver(msgId, deliveryId, payload) {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", secret)
    .update(`${msgId}.${timestamp}.${payload}`)
    .digest("base64");
  const headers = {
    "content-type": "application/json",
    "webhook-id": msgId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": `v1,${signature}`,
  };
  pool.request({ path: "/", method: "POST", headers, body: payload }).then(
    async (res) => {
      await res.body.text();
      const now = Date.now();
      write(
        {
          attempts: [newId("atmpt"), deliveryId, res.statusCode, now],
          finishes: [res.statusCode < 300 ? "success" : "fail", now, deliveryId],
        },
        noop,
      );
    },
    (err) => process.stderr.write(`delivery failed: ${err.message}\n`),
  );
}

function noop() {}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const path = req.url.split("?")[0];
    if (req.method === "GET") return reply(res, 200, {});
    const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString()) : {};
    if (path.endsWith("/msg")) {
      const msgId = newId("msg");
      const deliveryId = newId("dlv");
      const payload = JSON.stringify(body.payload);
      const now = Date.now();
      write(
        {
          messages: [msgId, body.eventType, payload, now],
          deliveries: [deliveryId, msgId, now],
        },
        () => {
          reply(res, 202, { id: msgId, eventType: body.eventType });
          deliver(msgId, deliveryId, payload);
        },
      );
      return;
    }
    if (path.endsWith("/endpoint")) {
      pool = new Pool(new URL(body.url).origin, { connections: 64, pipelining: 1 });
      return reply(res, 201, { id: newId("ep") });
    }
    if (path === "/api/v1/app") return reply(res, 201, { id: newId("app") });
    reply(res, 404, {});
  });
}).listen(Number(process.env.HOOKYARD_PORT), process.env.HOOKYARD_HOST ?? "127.0.0.1");

// A normal exit on the bench's SIGTERM, so that `--cpu-prof` (profile-stages.mjs) writes its file.
process.once("SIGTERM", () => process.exit(0));
