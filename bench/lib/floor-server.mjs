import { createHmac, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { createRequire } from "node:module";

/**
 * Phase (d), `--floor`: the least a server of this design can do per message, to show in the same
 * run how far the ceiling ratio can go on this machine. It speaks just enough of the publish API
 * for phase (b)'s driver (health, create app, create endpoint, publish) and does only the
 * essential work: node:http, JSON.parse, one SQLite file (WAL, synchronous=FULL, one group commit
 * per event-loop turn, acknowledged after COMMIT), a Standard Webhooks signature and an undici
 * POST per message, and the attempt recorded. No validation, no auth, no indexes beyond primary
 * keys, no retries, no egress guard, no logging: not a product, a lower bound for one.
 */
const require = createRequire(new URL("../../packages/hookyard/package.json", import.meta.url));
const Database = require("better-sqlite3");
const { Pool } = require("undici");

const db = new Database(process.env.HOOKYARD_DATABASE_URL.replace(/^sqlite:/, ""));
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.exec(`
CREATE TABLE message (id TEXT PRIMARY KEY, event_type TEXT, payload TEXT, created_at INTEGER);
CREATE TABLE delivery (id TEXT PRIMARY KEY, msg_id TEXT, status TEXT, updated_at INTEGER);
CREATE TABLE attempt (id TEXT PRIMARY KEY, delivery_id TEXT, status INTEGER, created_at INTEGER);`);
const insertMessage = db.prepare("INSERT INTO message VALUES (?, ?, ?, ?)");
const insertDelivery = db.prepare("INSERT INTO delivery VALUES (?, ?, 'pending', ?)");
const insertAttempt = db.prepare("INSERT INTO attempt VALUES (?, ?, ?, ?)");
const finishDelivery = db.prepare("UPDATE delivery SET status = ?, updated_at = ? WHERE id = ?");

let queue = [];
let seq = 0;
const newId = (prefix) => `${prefix}_${Date.now().toString(36)}${(seq++).toString(36)}`;

/** Runs `fn` in the next group commit and calls `done` after COMMIT. */
function write(fn, done) {
  queue.push([fn, done]);
  if (queue.length === 1) setImmediate(commit);
}

function commit() {
  const batch = queue;
  queue = [];
  db.exec("BEGIN");
  for (const [fn] of batch) fn();
  db.exec("COMMIT");
  for (const [, done] of batch) done();
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
      write(() => {
        insertAttempt.run(newId("atmpt"), deliveryId, res.statusCode, now);
        finishDelivery.run(res.statusCode < 300 ? "success" : "fail", now, deliveryId);
      }, noop);
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
        () => {
          insertMessage.run(msgId, body.eventType, payload, now);
          insertDelivery.run(deliveryId, msgId, now);
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
