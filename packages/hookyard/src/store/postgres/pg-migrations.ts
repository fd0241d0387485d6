import type { Queryable } from "./pg-driver.js";

/**
 * The PostgreSQL schema as an append-only list of steps, applied at start in one transaction and
 * recorded in `hookyard_schema`. Columns and encodings match the SQLite schema (times BIGINT epoch
 * ms, booleans INTEGER 0/1, JSON as TEXT), so both adapters share the row mapping in ../rows/.
 * Ids, uids and names compare byte-wise (COLLATE "C", as in SQLite), whatever the database's
 * collation: cursor pagination relies on the order of time-sortable ids.
 * Never edit a released step; add one.
 */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

const V1_INITIAL = `
CREATE TABLE settings (
  key TEXT COLLATE "C" PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE application (
  id TEXT COLLATE "C" PRIMARY KEY,
  uid TEXT COLLATE "C",
  name TEXT NOT NULL,
  rate_limit INTEGER,
  metadata TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX application_uid ON application (uid) WHERE uid IS NOT NULL;

CREATE TABLE event_type (
  name TEXT COLLATE "C" PRIMARY KEY,
  description TEXT NOT NULL,
  schemas TEXT,
  archived INTEGER NOT NULL,
  deprecated INTEGER NOT NULL,
  feature_flag TEXT,
  group_name TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE endpoint (
  id TEXT COLLATE "C" PRIMARY KEY,
  app_id TEXT COLLATE "C" NOT NULL REFERENCES application (id),
  uid TEXT COLLATE "C",
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
  failing_since BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX endpoint_app ON endpoint (app_id, id);
CREATE UNIQUE INDEX endpoint_app_uid ON endpoint (app_id, uid) WHERE uid IS NOT NULL;

CREATE TABLE message (
  id TEXT COLLATE "C" PRIMARY KEY,
  app_id TEXT COLLATE "C" NOT NULL REFERENCES application (id),
  event_type TEXT NOT NULL,
  event_id TEXT,
  channels TEXT,
  tags TEXT,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX message_app ON message (app_id, id);
CREATE INDEX message_app_event_id ON message (app_id, event_id, created_at)
  WHERE event_id IS NOT NULL;

-- No foreign keys, as in SQLite: a deleted application's open deliveries stay, cancelled.
CREATE TABLE delivery (
  id TEXT COLLATE "C" PRIMARY KEY,
  msg_id TEXT COLLATE "C" NOT NULL,
  endpoint_id TEXT COLLATE "C" NOT NULL,
  app_id TEXT COLLATE "C" NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT,
  lease_owner TEXT,
  lease_until BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX delivery_msg_endpoint ON delivery (msg_id, endpoint_id);
CREATE INDEX delivery_endpoint_msg ON delivery (endpoint_id, msg_id);
CREATE INDEX delivery_endpoint_created ON delivery (endpoint_id, created_at);
CREATE INDEX delivery_open_due ON delivery (next_attempt_at, lease_until)
  WHERE status IN ('pending', 'retrying');

CREATE TABLE attempt (
  id TEXT COLLATE "C" PRIMARY KEY,
  delivery_id TEXT COLLATE "C" NOT NULL,
  msg_id TEXT COLLATE "C" NOT NULL,
  endpoint_id TEXT COLLATE "C" NOT NULL,
  app_id TEXT COLLATE "C" NOT NULL,
  url TEXT NOT NULL,
  succeeded INTEGER NOT NULL,
  response_status_code INTEGER NOT NULL,
  response_body TEXT NOT NULL,
  response_headers TEXT,
  duration_ms INTEGER NOT NULL,
  error_class TEXT,
  error_message TEXT,
  trigger TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX attempt_msg ON attempt (msg_id, id);
CREATE INDEX attempt_endpoint ON attempt (endpoint_id, id);

CREATE TABLE idempotency (
  key TEXT COLLATE "C" PRIMARY KEY,
  status_code INTEGER NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX idempotency_created ON idempotency (created_at);
`;

// Endpoint rate limits shared by every process: one GCRA theoretical arrival time per key
// (pg-rate-slots.ts). Fractional ms, as 1000 / rateLimit usually is.
const V2_RATE_LIMIT = `
CREATE TABLE rate_limit (
  key TEXT COLLATE "C" PRIMARY KEY,
  tat DOUBLE PRECISION NOT NULL
);
`;

// Inbound sources (Svix Ingest) and the tokens of their ingest URLs (rows/source-rows.ts).
const V3_SOURCES = `
CREATE TABLE source (
  id TEXT COLLATE "C" PRIMARY KEY,
  app_id TEXT NOT NULL,
  uid TEXT COLLATE "C",
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  config TEXT NOT NULL,
  metadata TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX source_uid ON source (uid) WHERE uid IS NOT NULL;

CREATE TABLE source_token (
  token TEXT COLLATE "C" PRIMARY KEY,
  source_id TEXT COLLATE "C" NOT NULL,
  expires_at BIGINT
);
CREATE INDEX source_token_source ON source_token (source_id);

CREATE TABLE inbound_request (
  id TEXT COLLATE "C" PRIMARY KEY,
  source_id TEXT COLLATE "C" NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  query TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BYTEA NOT NULL,
  source_ip TEXT NOT NULL,
  dedup_key TEXT,
  event_type TEXT,
  duplicate_of TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX inbound_request_source ON inbound_request (source_id, id);
-- The message that forwards a received request to the source's destinations points at it.
ALTER TABLE message ADD COLUMN inbound_request_id TEXT;
CREATE INDEX message_inbound_request ON message (inbound_request_id)
  WHERE inbound_request_id IS NOT NULL;

CREATE INDEX inbound_request_dedup ON inbound_request (source_id, dedup_key, created_at)
  WHERE status = 'accepted' AND dedup_key IS NOT NULL;
`;

/** v4: runs of rules (Automate), with the event they ran for and each action's outcome. */
const V4_RULE_RUNS = `
CREATE TABLE rule_run (
  id TEXT PRIMARY KEY,
  rule TEXT NOT NULL,
  status TEXT NOT NULL,
  event TEXT NOT NULL,
  actions TEXT NOT NULL,
  error TEXT,
  owner TEXT,
  lease_until BIGINT,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT
);
CREATE INDEX rule_run_rule ON rule_run (rule, id);
CREATE INDEX rule_run_open ON rule_run (lease_until) WHERE status IN ('queued', 'running');
`;

/**
 * v5: a run's event is stored once (`rule_event`, keyed by the event's id) and runs point at it,
 * instead of a copy in every run rewritten by every update of it. Existing runs keep their event
 * under the run's own id. Ids and rule names of runs now compare byte-wise too (v4 left them in
 * the database's collation), as the listing's cursor expects.
 */
const V5_RULE_EVENTS = `
CREATE TABLE rule_event (
  id TEXT COLLATE "C" PRIMARY KEY,
  event TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
INSERT INTO rule_event (id, event, created_at) SELECT id, event, created_at FROM rule_run;

ALTER TABLE rule_run ADD COLUMN event_id TEXT COLLATE "C";
UPDATE rule_run SET event_id = id;
ALTER TABLE rule_run
  ALTER COLUMN event_id SET NOT NULL,
  ADD CONSTRAINT rule_run_event_fk FOREIGN KEY (event_id) REFERENCES rule_event (id),
  DROP COLUMN event,
  ALTER COLUMN id TYPE TEXT COLLATE "C",
  ALTER COLUMN rule TYPE TEXT COLLATE "C";

-- Lists runs by status. Succeeded runs, nearly all of them, are left out: each insert would
-- pay for it, and a listing of succeeded runs finds them scanning newest first.
CREATE INDEX rule_run_status ON rule_run (status, id) WHERE status <> 'succeeded';
-- Finds the runs still pointing at an event when runs are deleted (retention, foreign key).
CREATE INDEX rule_run_event ON rule_run (event_id);
`;

/** v6: as SQLite's v5 (payload filters, scheduled messages, background tasks). */
const V6_SDK2 = `
ALTER TABLE endpoint ADD COLUMN payload_filter TEXT;
ALTER TABLE message ADD COLUMN deliver_at BIGINT;

CREATE TABLE background_task (
  id TEXT COLLATE "C" PRIMARY KEY,
  task TEXT NOT NULL,
  status TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
`;

/** v7 (issue 18): as SQLite's v6, replay keys and capped rejected requests. */
const V7_REPLAY_KEYS = `
ALTER TABLE inbound_request ADD COLUMN replay_key TEXT;
ALTER TABLE inbound_request ADD COLUMN body_bytes_received INTEGER;
CREATE INDEX inbound_request_replay ON inbound_request (source_id, replay_key, created_at)
  WHERE status = 'accepted' AND replay_key IS NOT NULL;
CREATE INDEX inbound_request_status ON inbound_request (source_id, status, id);
`;

/** v8 (issue 16): as SQLite's v7, endpoint authentication and TLS options. */
const V8_ENDPOINT_AUTH = `
ALTER TABLE endpoint
  ADD COLUMN auth TEXT,
  ADD COLUMN auth_secret TEXT,
  ADD COLUMN tls TEXT,
  ADD COLUMN tls_client_key TEXT;
`;

/** v9 (issue 16): as SQLite's v8, the trace context of messages. */
const V9_MESSAGE_TRACEPARENT = `
ALTER TABLE message ADD COLUMN traceparent TEXT;
`;

/** v10 (issue 16): as SQLite's v9, API keys and the audit log. */
const V10_ACCESS = `
CREATE TABLE api_key (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT COLLATE "C" NOT NULL UNIQUE,
  app_id TEXT,
  read_only INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);

CREATE TABLE audit_log (
  id TEXT COLLATE "C" PRIMARY KEY,
  actor TEXT COLLATE "C" NOT NULL,
  actor_name TEXT,
  method TEXT NOT NULL,
  route TEXT NOT NULL,
  path TEXT NOT NULL,
  status INTEGER NOT NULL,
  app_id TEXT COLLATE "C",
  object_id TEXT COLLATE "C",
  changes TEXT NOT NULL,
  request_id TEXT NOT NULL,
  ip TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_app ON audit_log (app_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_object ON audit_log (object_id, id);
`;

export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 1, name: "initial outbound schema", sql: V1_INITIAL },
  { version: 2, name: "cluster-wide endpoint rate limits", sql: V2_RATE_LIMIT },
  { version: 3, name: "inbound sources", sql: V3_SOURCES },
  { version: 4, name: "rule runs", sql: V4_RULE_RUNS },
  { version: 5, name: "rule events stored once", sql: V5_RULE_EVENTS },
  { version: 6, name: "payload filters, scheduled messages, background tasks", sql: V6_SDK2 },
  { version: 7, name: "replay keys and capped rejected requests", sql: V7_REPLAY_KEYS },
  { version: 8, name: "endpoint authentication and TLS options", sql: V8_ENDPOINT_AUTH },
  { version: 9, name: "trace context of messages", sql: V9_MESSAGE_TRACEPARENT },
  { version: 10, name: "api keys and the audit log", sql: V10_ACCESS },
];

/** An arbitrary constant: the advisory lock every Hookyard migrating this schema takes. */
const MIGRATION_LOCK = 0x48_6f_6f_6b; // "Hook"

/**
 * Brings the current schema (search_path) to the latest version. Several processes starting at
 * once serialise on a transaction-level advisory lock (keyed by the schema's name): the first
 * applies the steps, the others find them applied. All steps and their records commit together.
 * Returns the versions this call applied.
 */
export async function migratePg(db: Queryable): Promise<number[]> {
  await db.query("BEGIN");
  try {
    await db.query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", [
      MIGRATION_LOCK,
    ]);
    await db.query(
      "CREATE TABLE IF NOT EXISTS hookyard_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    );
    const { rows } = await db.query<{ version: number | null }>(
      "SELECT max(version) AS version FROM hookyard_schema",
    );
    const current = rows[0]?.version ?? 0;
    const latest = PG_MIGRATIONS.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new Error(
        `the database schema is at version ${current}, newer than this Hookyard supports (${latest}); upgrade Hookyard`,
      );
    }
    const applied: number[] = [];
    for (const step of PG_MIGRATIONS) {
      if (step.version <= current) continue;
      await db.query(step.sql);
      await db.query("INSERT INTO hookyard_schema (version, name) VALUES ($1, $2)", [
        step.version,
        step.name,
      ]);
      applied.push(step.version);
    }
    await db.query("COMMIT");
    return applied;
  } catch (err) {
    await db.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/**
 * For readers that must not change the database (`hookyard stats`): throws unless the schema
 * exists and is at this code's version.
 */
export async function requireCurrentPgSchema(db: Queryable): Promise<void> {
  const { rows: table } = await db.query<{ found: string | null }>(
    "SELECT to_regclass('hookyard_schema')::text AS found",
  );
  let current: number | null = null;
  if (table[0]?.found != null) {
    const { rows } = await db.query<{ version: number | null }>(
      "SELECT max(version) AS version FROM hookyard_schema",
    );
    current = rows[0]?.version ?? null;
  }
  const latest = PG_MIGRATIONS.at(-1)?.version ?? 0;
  if (current !== latest) {
    throw new Error(
      current === null
        ? "the database has no Hookyard tables yet; start a server or run hookyard migrate"
        : `the database schema is at version ${current}, this Hookyard expects ${latest}; run hookyard migrate`,
    );
  }
}
