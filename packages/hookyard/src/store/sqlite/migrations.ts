import type { SqliteDatabase } from "./sqlite-driver.js";

/**
 * The SQLite schema as an append-only list of steps, in ascending version order; each brings the
 * database to its version, kept in `PRAGMA user_version`. Versions may skip numbers (parallel
 * branches take theirs in advance). Never edit a released step; add one.
 *
 * Conventions: times are INTEGER epoch ms, booleans INTEGER 0/1, JSON-valued fields TEXT holding
 * JSON (SQL NULL for a null field, never the text 'null').
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

// Open deliveries are the ones the engine still has to send; the partial index keeps the
// lease/due queries (`leaseDueDeliveries`, `nextDueAt`) proportional to the backlog, not to history.
// Its WHERE clause must stay textually identical to OPEN_DELIVERY in statements.ts.
const V1_INITIAL = `
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE application (
  id TEXT PRIMARY KEY,
  uid TEXT,
  name TEXT NOT NULL,
  rate_limit INTEGER,
  metadata TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX application_uid ON application (uid) WHERE uid IS NOT NULL;

CREATE TABLE event_type (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  schemas TEXT,
  archived INTEGER NOT NULL,
  deprecated INTEGER NOT NULL,
  feature_flag TEXT,
  group_name TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE endpoint (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES application (id),
  uid TEXT,
  url TEXT NOT NULL,
  description TEXT NOT NULL,
  version INTEGER NOT NULL,
  disabled INTEGER NOT NULL,
  filter_types TEXT,
  channels TEXT,
  rate_limit INTEGER,
  metadata TEXT NOT NULL,
  headers TEXT NOT NULL,
  secret TEXT NOT NULL,
  previous_secrets TEXT NOT NULL,
  accept_302 INTEGER NOT NULL,
  failing_since INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX endpoint_app ON endpoint (app_id, id);
CREATE UNIQUE INDEX endpoint_app_uid ON endpoint (app_id, uid) WHERE uid IS NOT NULL;

CREATE TABLE message (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES application (id),
  event_type TEXT NOT NULL,
  event_id TEXT,
  channels TEXT,
  tags TEXT,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX message_app ON message (app_id, id);
CREATE INDEX message_app_event_id ON message (app_id, event_id, created_at)
  WHERE event_id IS NOT NULL;

-- No foreign keys: when an application is deleted its open deliveries stay, cancelled, so a
-- delivery the engine still holds ends in a known state.
CREATE TABLE delivery (
  id TEXT PRIMARY KEY,
  msg_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER,
  lease_owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX delivery_msg_endpoint ON delivery (msg_id, endpoint_id);
CREATE INDEX delivery_endpoint_msg ON delivery (endpoint_id, msg_id);
CREATE INDEX delivery_endpoint_created ON delivery (endpoint_id, created_at);
CREATE INDEX delivery_open_due ON delivery (next_attempt_at, lease_until)
  WHERE status IN ('pending', 'retrying');

CREATE TABLE attempt (
  id TEXT PRIMARY KEY,
  delivery_id TEXT NOT NULL,
  msg_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  url TEXT NOT NULL,
  succeeded INTEGER NOT NULL,
  response_status_code INTEGER NOT NULL,
  response_body TEXT NOT NULL,
  response_headers TEXT,
  duration_ms INTEGER NOT NULL,
  error_class TEXT,
  error_message TEXT,
  trigger TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX attempt_msg ON attempt (msg_id, id);
CREATE INDEX attempt_endpoint ON attempt (endpoint_id, id);

CREATE TABLE idempotency (
  key TEXT PRIMARY KEY,
  status_code INTEGER NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX idempotency_created ON idempotency (created_at);
`;

// Inbound sources (Svix Ingest) and the tokens of their ingest URLs (rows/source-rows.ts).
const V2_SOURCES = `
CREATE TABLE source (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL,
  uid TEXT,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  config TEXT NOT NULL,
  metadata TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX source_uid ON source (uid) WHERE uid IS NOT NULL;

CREATE TABLE source_token (
  token TEXT PRIMARY KEY,
  source_id TEXT NOT NULL,
  expires_at INTEGER
);
CREATE INDEX source_token_source ON source_token (source_id);

CREATE TABLE inbound_request (
  id TEXT PRIMARY KEY,
  source_id TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  query TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  source_ip TEXT NOT NULL,
  dedup_key TEXT,
  event_type TEXT,
  duplicate_of TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX inbound_request_source ON inbound_request (source_id, id);
-- The message that forwards a received request to the source's destinations points at it.
ALTER TABLE message ADD COLUMN inbound_request_id TEXT;
CREATE INDEX message_inbound_request ON message (inbound_request_id)
  WHERE inbound_request_id IS NOT NULL;

CREATE INDEX inbound_request_dedup ON inbound_request (source_id, dedup_key, created_at)
  WHERE status = 'accepted' AND dedup_key IS NOT NULL;
`;

/** v3: runs of rules (Automate), with the event they ran for and each action's outcome. */
const V3_RULE_RUNS = `
CREATE TABLE rule_run (
  id TEXT PRIMARY KEY,
  rule TEXT NOT NULL,
  status TEXT NOT NULL,
  event TEXT NOT NULL,
  actions TEXT NOT NULL,
  error TEXT,
  owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
);
CREATE INDEX rule_run_rule ON rule_run (rule, id);
CREATE INDEX rule_run_open ON rule_run (lease_until) WHERE status IN ('queued', 'running');
`;

/**
 * v4: a run's event is stored once (`rule_event`, keyed by the event's id) and runs point at it,
 * instead of a copy in every run rewritten by every update of it. Existing runs keep their event
 * under the run's own id. The table is rebuilt (ALTER TABLE cannot drop a column into a NOT NULL
 * one), now WITHOUT ROWID: runs are found by their id, so one B-tree fewer per insert. The event
 * of a run is written before it in the same transaction; no foreign key checks it on each insert.
 */
const V4_RULE_EVENTS = `
CREATE TABLE rule_event (
  id TEXT PRIMARY KEY,
  event TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
INSERT INTO rule_event (id, event, created_at) SELECT id, event, created_at FROM rule_run;

CREATE TABLE rule_run_v4 (
  id TEXT PRIMARY KEY,
  rule TEXT NOT NULL,
  status TEXT NOT NULL,
  event_id TEXT NOT NULL,
  actions TEXT NOT NULL,
  error TEXT,
  owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
) WITHOUT ROWID;
INSERT INTO rule_run_v4 (id, rule, status, event_id, actions, error, owner, lease_until,
    created_at, started_at, finished_at)
  SELECT id, rule, status, id, actions, error, owner, lease_until, created_at, started_at,
    finished_at
  FROM rule_run;
DROP TABLE rule_run;
ALTER TABLE rule_run_v4 RENAME TO rule_run;

CREATE INDEX rule_run_rule ON rule_run (rule, id);
-- Lists runs by status. Succeeded runs, nearly all of them, are left out: each insert would
-- pay for it, and a listing of succeeded runs finds them scanning newest first.
CREATE INDEX rule_run_status ON rule_run (status, id) WHERE status <> 'succeeded';
CREATE INDEX rule_run_open ON rule_run (lease_until) WHERE status IN ('queued', 'running');
-- Finds the runs still pointing at an event when runs are deleted (retention).
CREATE INDEX rule_run_event ON rule_run (event_id);
`;

/**
 * v5 (svix SDK 2.x calls): an endpoint's payload filter (a CEL condition), a message's scheduled
 * delivery time, and background tasks (recover, replays, statistics) that callers poll.
 * An expunged message keeps its row with an empty payload (never valid JSON, so never a real one).
 */
const V5_SDK2 = `
ALTER TABLE endpoint ADD COLUMN payload_filter TEXT;
ALTER TABLE message ADD COLUMN deliver_at INTEGER;

CREATE TABLE background_task (
  id TEXT PRIMARY KEY,
  task TEXT NOT NULL,
  status TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
`;

/**
 * v6 (issue 18): the second de-duplication key of an accepted request (a digest of what its
 * source verified, so a replay with a fresh unsigned delivery id is still a duplicate), and the
 * length a rejected request's body had before it was cut to its first bytes. Rejected requests
 * are kept per source up to a cap, found newest first by the status index.
 */
const V6_REPLAY_KEYS = `
ALTER TABLE inbound_request ADD COLUMN replay_key TEXT;
ALTER TABLE inbound_request ADD COLUMN body_bytes_received INTEGER;
CREATE INDEX inbound_request_replay ON inbound_request (source_id, replay_key, created_at)
  WHERE status = 'accepted' AND replay_key IS NOT NULL;
CREATE INDEX inbound_request_status ON inbound_request (source_id, status, id);
`;

/**
 * v7 (issue 16): how Hookyard authenticates to an endpoint. `auth` and `tls` are the JSON of the
 * parts that are not secret; the secrets (token, password or client secret; the client key's
 * PEM) have columns of their own so that they can be encrypted at rest without touching the rest.
 */
const V7_ENDPOINT_AUTH = `
ALTER TABLE endpoint ADD COLUMN auth TEXT;
ALTER TABLE endpoint ADD COLUMN auth_secret TEXT;
ALTER TABLE endpoint ADD COLUMN tls TEXT;
ALTER TABLE endpoint ADD COLUMN tls_client_key TEXT;
`;

/**
 * v8 (issue 16): the W3C traceparent of the span that published a message, so its attempts
 * (retries hours later, after a restart) join that trace. NULL with tracing off.
 */
const V8_MESSAGE_TRACEPARENT = `
ALTER TABLE message ADD COLUMN traceparent TEXT;
`;

/**
 * v9 (issue 16): API keys beside the admin key (only their SHA-256 is kept; an app-scoped key
 * names its application) and the audit log of changes, found newest first per application,
 * actor or object.
 */
const V9_ACCESS = `
CREATE TABLE api_key (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  app_id TEXT,
  read_only INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

CREATE TABLE audit_log (
  id TEXT PRIMARY KEY,
  actor TEXT NOT NULL,
  actor_name TEXT,
  method TEXT NOT NULL,
  route TEXT NOT NULL,
  path TEXT NOT NULL,
  status INTEGER NOT NULL,
  app_id TEXT,
  object_id TEXT,
  changes TEXT NOT NULL,
  request_id TEXT NOT NULL,
  ip TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_app ON audit_log (app_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_object ON audit_log (object_id, id);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "initial outbound schema", sql: V1_INITIAL },
  { version: 2, name: "inbound sources", sql: V2_SOURCES },
  { version: 3, name: "rule runs", sql: V3_RULE_RUNS },
  { version: 4, name: "rule events stored once", sql: V4_RULE_EVENTS },
  { version: 5, name: "payload filters, scheduled messages, background tasks", sql: V5_SDK2 },
  { version: 6, name: "replay keys and capped rejected requests", sql: V6_REPLAY_KEYS },
  { version: 7, name: "endpoint authentication and TLS options", sql: V7_ENDPOINT_AUTH },
  { version: 8, name: "trace context of messages", sql: V8_MESSAGE_TRACEPARENT },
  { version: 9, name: "api keys and the audit log", sql: V9_ACCESS },
];

/**
 * Brings the database to the latest version in one transaction, so a crash mid-way leaves the
 * previous version intact. Returns the versions applied.
 */
export function migrate(
  db: SqliteDatabase,
  migrations: readonly Migration[] = MIGRATIONS,
): number[] {
  const latest = migrations.at(-1)?.version ?? 0;
  const applied: number[] = [];
  db.exec("BEGIN IMMEDIATE");
  try {
    const current = Number(db.pragma("user_version", { simple: true }));
    if (current > latest) {
      throw new Error(
        `database schema version ${current} is newer than this Hookyard supports (${latest})`,
      );
    }
    for (const step of migrations) {
      if (step.version <= current) continue;
      db.exec(step.sql);
      applied.push(step.version);
    }
    // user_version lives in the file header, so it commits or rolls back with the steps.
    if (applied.length > 0) db.exec(`PRAGMA user_version = ${latest}`);
    db.exec("COMMIT");
  } catch (err) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw err;
  }
  return applied;
}
