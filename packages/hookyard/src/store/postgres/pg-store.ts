import type {
  ApiKey,
  ApiKeyId,
  AuditEntry,
  AppId,
  Application,
  Attempt,
  AttemptId,
  BackgroundTask,
  BackgroundTaskId,
  BackgroundTaskKind,
  BackgroundTaskStatus,
  Delivery,
  DeliveryId,
  Endpoint,
  EndpointId,
  EndpointStats,
  EventType,
  Message,
  MessageId,
  InboundRequest,
  InboundRequestId,
  InboundStatus,
  RuleRun,
  RuleRunId,
  RuleRunStatus,
  Source,
  SourceId,
} from "../../model.js";
import { ServiceUnavailableError } from "../../errors.js";
import { idFloor } from "../../ids.js";
import * as cfg from "../rows/config-rows.js";
import * as secrets from "../rows/secret-rows.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import * as taskRows from "../rows/background-task-rows.js";
import * as listingSql from "../rows/listing-sql.js";
import * as rows from "../rows/delivery-rows.js";
import * as runRows from "../rows/rule-run-rows.js";
import * as src from "../rows/source-rows.js";
import { toEndpointStats } from "../rows/endpoint-stats.js";
import { STATS_TABLES } from "../rows/tables.js";
import type {
  AppDeliveryCount,
  ApplicationFilter,
  MissingDeliveryQuery,
  AttemptFilter,
  EndpointHealth,
  EndpointMessageFilter,
  CreateMessageRequest,
  CreateMessageResult,
  DeliveryUpdate,
  EndpointMessage,
  IdempotencyRecord,
  LeasedDelivery,
  MessageFilter,
  Page,
  PageRequest,
  PruneResult,
  Store,
  SecretsStatus,
  TableStats,
  ActivityOverview,
  AuditFilter,
  CommitStats,
  DeliveryBacklog,
  StoreChange,
} from "../store.js";
import { ID_TIME_SLACK_MS } from "../store.js";
import { PgWriteBatcher } from "./pg-batcher.js";
import { PgChangeFeed } from "./pg-change-feed.js";
import { Coalescer } from "./pg-coalesce.js";
import { PgRateSlots } from "./pg-rate-slots.js";
import {
  mapPgError,
  openPool,
  type PgConnectOptions,
  type PgParam,
  type PgPool,
  type Queryable,
} from "./pg-driver.js";
import { addTerm, pgPage, pgTerms, type PgTerms } from "./pg-listing.js";
import { migratePg, requireCurrentPgSchema } from "./pg-migrations.js";
import { activityFloors, activityFromRows, activityQueries } from "../rows/activity-queries.js";
import { backlogFromRows, backlogQuery } from "../rows/backlog-rows.js";
import * as access from "../rows/access-rows.js";

const OPEN = "status IN ('pending', 'retrying')";

const APPLICATION_COLUMNS = [
  "id",
  "uid",
  "name",
  "rate_limit",
  "metadata",
  "created_at",
  "updated_at",
];
const EVENT_TYPE_COLUMNS = [
  "name",
  "description",
  "schemas",
  "archived",
  "deprecated",
  "feature_flag",
  "group_name",
  "created_at",
  "updated_at",
];
const ENDPOINT_COLUMNS = [
  "id",
  "app_id",
  "uid",
  "url",
  "description",
  "version",
  "disabled",
  "filter_types",
  "channels",
  "rate_limit",
  "metadata",
  "headers",
  "secret",
  "previous_secrets",
  "payload_filter",
  "accept_302",
  "failing_since",
  "auth",
  "auth_secret",
  "tls",
  "tls_client_key",
  "created_at",
  "updated_at",
];

/** `INSERT INTO table (columns) VALUES ($1, …)`. */
function insertSql(table: string, columns: readonly string[], suffix = ""): string {
  const values = columns.map((_, i) => `$${i + 1}`).join(", ");
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${values})${suffix}`;
}

/** The columns an update binds: all but `created_at`, which never changes. */
function updatable(columns: readonly string[]): string[] {
  return columns.filter((c) => c !== "created_at");
}

/** `UPDATE table SET c = $n, … WHERE key = $k [AND …]`, bound with `updatable(columns)`. */
function updateSql(table: string, columns: readonly string[], keys: readonly string[]): string {
  const bound = updatable(columns);
  const set = bound
    .map((c, i) => [c, i + 1] as const)
    .filter(([c]) => !keys.includes(c))
    .map(([c, n]) => `${c} = $${n}`)
    .join(", ");
  const where = keys.map((k) => `${k} = $${bound.indexOf(k) + 1}`).join(" AND ");
  return `UPDATE ${table} SET ${set} WHERE ${where}`;
}

const SQL = {
  insertApplication: insertSql("application", APPLICATION_COLUMNS),
  updateApplication: updateSql("application", APPLICATION_COLUMNS, ["id"]),
  insertEventType: insertSql("event_type", EVENT_TYPE_COLUMNS),
  updateEventType: updateSql("event_type", EVENT_TYPE_COLUMNS, ["name"]),
  insertEndpoint: insertSql("endpoint", ENDPOINT_COLUMNS),
  updateEndpoint: updateSql("endpoint", ENDPOINT_COLUMNS, ["id", "app_id"]),
  insertMessage: `INSERT INTO message (id, app_id, event_type, event_id, channels, tags, payload,
    inbound_request_id, deliver_at, created_at, traceparent)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
  insertDelivery: `INSERT INTO delivery (id, msg_id, endpoint_id, app_id, status, attempts,
    next_attempt_at, lease_owner, lease_until, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
  updateDelivery: `UPDATE delivery SET status = $1, attempts = $2, next_attempt_at = $3,
    lease_owner = $4, lease_until = $5, updated_at = $6
    WHERE id = $7 AND ${rows.deliveryGuardSql("$8::text", "$9::int")}`,
  insertAttempt: `INSERT INTO attempt (id, delivery_id, msg_id, endpoint_id, app_id, url, succeeded,
    response_status_code, response_body, response_headers, duration_ms, error_class,
    error_message, trigger, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
  insertMessages: `INSERT INTO message (id, app_id, event_type, event_id, channels, tags, payload,
      inbound_request_id, deliver_at, created_at, traceparent)
    SELECT id, app_id, event_type, event_id, channels, tags, payload, inbound_request_id,
      deliver_at, created_at, traceparent
    FROM jsonb_to_recordset($1::jsonb) AS x(id text, app_id text, event_type text, event_id text,
      channels text, tags text, payload text, inbound_request_id text, deliver_at bigint,
      created_at bigint, traceparent text)`,
  insertDeliveries: `INSERT INTO delivery (id, msg_id, endpoint_id, app_id, status, attempts,
      next_attempt_at, lease_owner, lease_until, created_at, updated_at)
    SELECT id, msg_id, endpoint_id, app_id, status, attempts, next_attempt_at, lease_owner,
      lease_until, created_at, updated_at
    FROM jsonb_to_recordset($1::jsonb) AS x(id text, msg_id text, endpoint_id text, app_id text,
      status text, attempts int, next_attempt_at bigint, lease_owner text, lease_until bigint,
      created_at bigint, updated_at bigint)`,
  insertAttempts: `INSERT INTO attempt (id, delivery_id, msg_id, endpoint_id, app_id, url, succeeded,
      response_status_code, response_body, response_headers, duration_ms, error_class,
      error_message, trigger, created_at)
    SELECT id, delivery_id, msg_id, endpoint_id, app_id, url, succeeded, response_status_code,
      response_body, response_headers, duration_ms, error_class, error_message, trigger, created_at
    FROM jsonb_to_recordset($1::jsonb) AS x(id text, delivery_id text, msg_id text,
      endpoint_id text, app_id text, url text, succeeded int, response_status_code int,
      response_body text, response_headers text, duration_ms int, error_class text,
      error_message text, trigger text, created_at bigint)`,
  // Column arrays rather than a JSON recordset: planned afresh on each run (an unnamed statement)
  // with the arrays as constants, PostgreSQL knows how many rows join and takes the primary key
  // once the table is more than a few pages. A plan cached while the table was small scanned the
  // whole table for every group (a hash join), ever slower as deliveries pile up.
  updateDeliveries: `UPDATE delivery d SET status = u.status, attempts = u.attempts,
      next_attempt_at = u.next_attempt_at, lease_owner = u.lease_owner,
      lease_until = u.lease_until, updated_at = u.updated_at
    FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[],
      $7::text[], $8::text[], $9::int[]) AS u(status, attempts, next_attempt_at, lease_owner,
        lease_until, updated_at, id, guard_owner, guard_attempts)
    WHERE d.id = u.id AND ${rows.deliveryGuardSql("u.guard_owner", "u.guard_attempts", "d.")}
    RETURNING d.id`,
  deliveryMessageSelect:
    "SELECT d.*, m.event_type AS m_event_type, m.event_id AS m_event_id, m.channels AS m_channels, " +
    "m.tags AS m_tags, m.payload AS m_payload, m.inbound_request_id AS m_inbound_request_id, " +
    "m.deliver_at AS m_deliver_at, " +
    "m.created_at AS m_created_at, m.traceparent AS m_traceparent " +
    "FROM delivery d JOIN message m ON m.id = d.msg_id",
} as const;

/** The hot-path statements run as named (prepared) statements: PostgreSQL parses them once. */
function named(
  statement:
    | "insertMessage"
    | "insertDelivery"
    | "insertAttempt"
    | "updateDelivery"
    | "insertMessages"
    | "insertDeliveries"
    | "insertAttempts",
  values: readonly cfg.SqlParam[],
): { name: string; text: string; values: readonly cfg.SqlParam[] } {
  return { name: `hookyard_${statement}`, text: SQL[statement], values };
}

export interface PgStoreDeps extends PgConnectOptions {
  /** Seals the secrets the store writes and opens those it reads. */
  secrets: SecretBox;
  logger?: { info(obj: object, msg: string): void };
  /** false: never change the schema; refuse a database whose schema is not current. */
  migrate?: boolean;
}

/**
 * The `Store` on PostgreSQL, for several Hookyard processes on one database. Writes are
 * group-committed per process (pg-batcher.ts) and resolve after COMMIT (synchronous_commit on);
 * reads use the pool. Due deliveries are claimed with `FOR UPDATE SKIP LOCKED` and a lease, so
 * processes never take the same delivery while its lease runs. Connection failures surface as
 * `ServiceUnavailableError` (503), never as an acknowledgement. Build it with `PgStore.open`.
 */
export class PgStore implements Store {
  readonly kind = "postgres";
  readonly #pool: PgPool;
  readonly #box: SecretBox;
  readonly #batcher: PgWriteBatcher;
  readonly #commitListeners = new Set<(commit: CommitStats) => void>();
  readonly #feed: PgChangeFeed;
  /** Publishes without an eventId, stored a group at a time (the hot path). */
  readonly #newMessages: Coalescer<CreateMessageRequest>;
  /** Attempts with their delivery's new state, recorded a group at a time. */
  readonly #attempts: Coalescer<{ attempt: Attempt; update: DeliveryUpdate }, boolean>;
  #closing: Promise<void> | null = null;
  #readsInFlight = 0;
  #readWaiters: Array<() => void> = [];

  /** Schema versions this open applied (empty when the schema was current). */
  readonly applied: readonly number[];

  private constructor(
    pool: PgPool,
    feed: PgChangeFeed,
    applied: readonly number[],
    box: SecretBox,
  ) {
    this.applied = applied;
    this.#pool = pool;
    this.#box = box;
    this.#feed = feed;
    this.#batcher = new PgWriteBatcher({
      pool,
      onCommit: (writes, durationMs) => {
        for (const listener of this.#commitListeners) listener({ writes, durationMs });
      },
    });
    this.#newMessages = new Coalescer({
      write: (fn) => this.#write(fn),
      many: async (db, reqs) => {
        await insertMessages(db, reqs);
        return reqs.map(() => undefined);
      },
      one: async (req) => void (await this.#createMessageAlone(req)),
    });
    this.#attempts = new Coalescer({
      write: (fn) => this.#write(fn),
      many: async (db, items) => {
        if (items.length === 1) {
          // Alone (low load), the prepared single-row statements are quicker.
          const [{ attempt, update }] = items as [{ attempt: Attempt; update: DeliveryUpdate }];
          await db.query(named("insertAttempt", rows.attemptParams(attempt)));
          return this.#applyUpdates(db, [update]);
        }
        await db.query(
          named("insertAttempts", [jsonRows(items.map((i) => attemptRow(i.attempt)))]),
        );
        // The last update of a delivery wins, as if they had run one after the other.
        const last = new Map(items.map((i) => [i.update.id, i.update]));
        const { rows: updated } = await db.query<{ id: string }>(
          SQL.updateDeliveries,
          columnArrays([...last.values()].map(rows.deliveryUpdateParams)),
        );
        const applied = new Set(updated.map((r) => r.id));
        await this.#notifyDue(
          db,
          [...last.values()].filter((u) => applied.has(u.id)),
        );
        return items.map((i) => last.get(i.update.id) === i.update && applied.has(i.update.id));
      },
      one: ({ attempt, update }) => this.#recordAttemptAlone(attempt, update),
    });
  }

  /** Connects and migrates (advisory lock: safe with several processes starting at once). */
  static async open(deps: PgStoreDeps): Promise<PgStore> {
    const pool = openPool(deps);
    // An idle client that loses its connection must not crash the process: the next query
    // reconnects, and queries in flight fail as ServiceUnavailableError.
    pool.on("error", () => undefined);
    try {
      const client = await pool.connect();
      let schema: string;
      let applied: number[];
      try {
        if (deps.migrate === false) {
          await requireCurrentPgSchema(client);
          applied = [];
        } else {
          applied = await migratePg(client);
        }
        if (applied.length > 0) deps.logger?.info({ applied }, "postgres schema migrated");
        const { rows: found } = await client.query<{ schema: string }>(
          "SELECT current_schema() AS schema",
        );
        schema = found[0]?.schema ?? "public";
      } finally {
        client.release();
      }
      return new PgStore(pool, new PgChangeFeed({ connect: deps, schema }), applied, deps.secrets);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#batcher.close();
      await this.#feed.close();
      await this.#pool.end();
    })();
    return this.#closing;
  }

  /** Endpoint rate limits shared by every process on this database. */
  rateSlots(now: () => number): PgRateSlots {
    return new PgRateSlots({ db: this.#pool, now });
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#feed.subscribe(listener);
  }

  /** Reads are I/O here too: idle means no write queued and no read in flight. */
  async whenIdle(): Promise<void> {
    for (;;) {
      if (this.#readsInFlight > 0) {
        await new Promise<void>((resolve) => this.#readWaiters.push(resolve));
        continue;
      }
      await this.#batcher.whenIdle();
      if (this.#readsInFlight === 0) return;
    }
  }

  // --- API keys and the audit log ---

  insertApiKey(key: ApiKey): Promise<void> {
    return this.#write(async (db) => {
      await db.query(
        access.insertSql("api_key", access.API_KEY_COLUMNS, (n) => `$${n}`),
        access.apiKeyValues(key),
      );
      await this.#notify(db, { kind: "api-keys" });
    });
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return (await this.#rows<Record<string, unknown>>("SELECT * FROM api_key ORDER BY id")).map(
      access.rowToApiKey,
    );
  }

  revokeApiKey(id: ApiKeyId, at: number): Promise<boolean> {
    return this.#write(async (db) => {
      const result = await db.query(
        "UPDATE api_key SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        [at, id],
      );
      if ((result.rowCount ?? 0) === 0) return false;
      await this.#notify(db, { kind: "api-keys" });
      return true;
    });
  }

  insertAuditEntry(entry: AuditEntry): Promise<void> {
    return this.#write(async (db) => {
      await db.query(
        access.insertSql("audit_log", access.AUDIT_COLUMNS, (n) => `$${n}`),
        access.auditValues(entry),
      );
    });
  }

  async listAuditEntries(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry>> {
    const { sql, params } = access.auditListQuery(filter, page, (n) => `$${n}`);
    const rows = await this.#rows<Record<string, unknown>>(sql, params);
    return access.auditPage(rows, page.limit);
  }

  pruneAuditEntries(before: number): Promise<number> {
    return this.#write(async (db) => {
      const result = await db.query("DELETE FROM audit_log WHERE id < $1", [
        idFloor("audit", before),
      ]);
      return result.rowCount ?? 0;
    });
  }

  // --- settings ---

  async getSetting(key: string): Promise<string | null> {
    const [row] = await this.#rows<{ value: string }>("SELECT value FROM settings WHERE key = $1", [
      key,
    ]);
    return secrets.openSetting(this.#box, key, row?.value ?? null);
  }

  setSetting(key: string, value: string): Promise<void> {
    return this.#write(async (db) => {
      await db.query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, secrets.sealSetting(this.#box, key, value)],
      );
    });
  }

  // --- secrets at rest ---

  async secretsStatus(): Promise<SecretsStatus> {
    const sql = secrets.SEALED_TABLES.map(secrets.statusSql).join(" UNION ALL ");
    return secrets.secretsStatus(await this.#rows<{ key_id: string; n: string }>(sql));
  }

  resealSecrets(limit: number): Promise<number> {
    const box = this.#box;
    // Through the group commit like any write; the compare-and-set update makes it safe beside
    // other processes doing the same pass or writing these rows through the API.
    return this.#write(async (db) => {
      let found = 0;
      for (const t of secrets.SEALED_TABLES) {
        if (found >= limit) break;
        const stale = await db.query<Record<string, string | null>>(
          secrets.staleRowsSql(t, box.current.id, limit - found),
        );
        for (const row of stale.rows) {
          const update = secrets.resealUpdate(box, t, row, (n) => `$${n}`);
          found += (await db.query(update.sql, update.params)).rowCount;
        }
      }
      return found;
    });
  }

  // --- inbound sources ---

  insertSource(source: Source): Promise<void> {
    return this.#write(async (db) => {
      await conflictOn(
        (async () => {
          await db.query(
            insertSql("source", src.SOURCE_COLUMNS),
            cfg.rowValues(src.sourceToRow(source, this.#box), src.SOURCE_COLUMNS),
          );
          await insertSourceTokens(db, source);
        })(),
        () => `source uid "${source.uid}" or one of its tokens is already taken`,
      );
      await this.#notify(db, { kind: "sources" });
    });
  }

  async getSource(idOrUid: string): Promise<Source | null> {
    const [row] = await this.#rows<SourceWithTokensRow>(
      `${SOURCE_SELECT} WHERE id = $1 UNION ALL ${SOURCE_SELECT} WHERE uid = $1 LIMIT 1`,
      [idOrUid],
    );
    return row === undefined ? null : rowToSourceWithTokens(row, this.#box);
  }

  async getSourceByToken(token: string, now: number): Promise<Source | null> {
    const [row] = await this.#rows<SourceWithTokensRow>(
      `${SOURCE_SELECT} WHERE id = (SELECT source_id FROM source_token
        WHERE token = $1 AND (expires_at IS NULL OR expires_at > $2))`,
      [token, now],
    );
    return row === undefined ? null : rowToSourceWithTokens(row, this.#box);
  }

  listSources(page: PageRequest): Promise<Page<Source>> {
    return this.#page({
      select: SOURCE_SELECT,
      terms: pgTerms(),
      cursorColumn: "id",
      page,
      defaultOrder: "ascending",
      map: (row: SourceWithTokensRow) => rowToSourceWithTokens(row, this.#box),
      cursorOf: (source) => source.id,
    });
  }

  updateSource(source: Source): Promise<void> {
    return this.#write(async (db) => {
      await conflictOn(
        (async () => {
          await db.query(
            updateSql("source", src.SOURCE_COLUMNS, ["id"]),
            cfg.rowValues(src.sourceToRow(source, this.#box), updatable(src.SOURCE_COLUMNS)),
          );
          await db.query("DELETE FROM source_token WHERE source_id = $1", [source.id]);
          await insertSourceTokens(db, source);
        })(),
        () => `source uid "${source.uid}" or one of its tokens is already taken`,
      );
      await this.#notify(db, { kind: "sources" });
    });
  }

  deleteSource(id: SourceId): Promise<void> {
    return this.#write(async (db) => {
      await db.query("DELETE FROM inbound_request WHERE source_id = $1", [id]);
      await db.query("DELETE FROM source_token WHERE source_id = $1", [id]);
      await db.query("DELETE FROM source WHERE id = $1", [id]);
      await this.#notify(db, { kind: "sources" });
    });
  }

  insertInboundRequest(
    request: InboundRequest,
    dedupSince: number,
    forward?: { message: Message; deliveries: Delivery[] },
    ruleRuns?: readonly RuleRun[],
  ): Promise<InboundRequest> {
    return this.#write(async (db) => {
      let stored = request;
      const replayKey = request.replayKey ?? null;
      if (request.status === "accepted" && (request.dedupKey !== null || replayKey !== null)) {
        // Other processes receive the same delivery concurrently: serialise on each of its keys
        // until COMMIT, taking the locks in one order so that two requests sharing one key
        // (a replay with a fresh delivery id) never wait on each other in a cycle.
        const keys = [
          ...(request.dedupKey === null ? [] : [`${request.sourceId}/${request.dedupKey}`]),
          ...(replayKey === null ? [] : [`${request.sourceId}/replay/${replayKey}`]),
        ];
        await db.query(
          `SELECT pg_advisory_xact_lock(k) FROM
            (SELECT DISTINCT hashtext(key) AS k FROM unnest($1::text[]) AS key ORDER BY k) AS l`,
          [keys],
        );
        const { rows: first } = await db.query<{ id: InboundRequestId }>(
          `SELECT id, created_at FROM inbound_request WHERE source_id = $1 AND dedup_key = $2
             AND status = 'accepted' AND dedup_key IS NOT NULL AND created_at >= $4
           UNION ALL SELECT id, created_at FROM inbound_request WHERE source_id = $1
             AND replay_key = $3 AND status = 'accepted' AND replay_key IS NOT NULL
             AND created_at >= $4
           ORDER BY created_at LIMIT 1`,
          [request.sourceId, request.dedupKey, replayKey, dedupSince],
        );
        if (first[0] !== undefined) {
          stored = { ...request, status: "duplicate", duplicateOf: first[0].id };
        }
      }
      await conflictOn(
        db.query(
          insertSql("inbound_request", src.INBOUND_REQUEST_COLUMNS),
          cfg.rowValues(src.inboundRequestToRow(stored), src.INBOUND_REQUEST_COLUMNS),
        ),
        () => `inbound request ${request.id} already exists`,
      );
      if (stored.status === "accepted" && forward !== undefined) {
        await db.query(named("insertMessage", rows.messageParams(forward.message)));
        for (const d of forward.deliveries) {
          await db.query(named("insertDelivery", rows.deliveryParams(d)));
        }
      }
      if (stored.status === "accepted" && ruleRuns !== undefined) {
        await insertRuleRuns(db, ruleRuns, stored);
      }
      return stored;
    });
  }

  // --- rule runs ---

  insertRuleRuns(runs: readonly RuleRun[]): Promise<void> {
    return this.#write((db) => insertRuleRuns(db, runs));
  }

  updateRuleRun(run: RuleRun): Promise<void> {
    const row = runRows.ruleRunToRow(run);
    return this.#write(async (db) => {
      await db.query(
        `UPDATE rule_run SET status = $2, actions = $3, error = $4, owner = $5, lease_until = $6,
           started_at = $7, finished_at = $8 WHERE id = $1`,
        [
          row.id,
          row.status,
          row.actions,
          row.error,
          row.owner,
          row.lease_until,
          row.started_at,
          row.finished_at,
        ],
      );
    });
  }

  async getRuleRun(id: RuleRunId): Promise<RuleRun | null> {
    const [row] = await this.#rows<runRows.RuleRunEventRow>(
      `${runRows.RULE_RUN_SELECT} WHERE r.id = $1`,
      [id],
    );
    return row === undefined ? null : runRows.rowToRuleRun(row);
  }

  listRuleRuns(
    filter: { rule?: string; status?: RuleRunStatus },
    page: PageRequest,
  ): Promise<Page<RuleRun>> {
    const terms = pgTerms();
    if (filter.rule !== undefined) addTerm(terms, "r.rule = $?", filter.rule);
    if (filter.status !== undefined) addTerm(terms, "r.status = $?", filter.status);
    return this.#page({
      select: runRows.RULE_RUN_SELECT,
      terms,
      cursorColumn: "r.id",
      page,
      defaultOrder: "descending",
      map: runRows.rowToRuleRun,
      cursorOf: (r) => r.id,
    });
  }

  takeExpiredRuleRuns(req: {
    owner: string;
    now: number;
    leaseUntil: number;
    limit: number;
  }): Promise<RuleRun[]> {
    return this.#write(async (db) => {
      const { rows: taken } = await db.query<runRows.RuleRunEventRow>(
        `UPDATE rule_run SET owner = $1, lease_until = $2
          WHERE id IN (SELECT id FROM rule_run WHERE status IN ('queued', 'running')
            AND lease_until < $3 ORDER BY lease_until LIMIT $4 FOR UPDATE SKIP LOCKED)
          ${runRows.RULE_RUN_RETURNING}`,
        [req.owner, req.leaseUntil, req.now, req.limit],
      );
      return taken.map(runRows.rowToRuleRun).sort((a, b) => (a.id < b.id ? -1 : 1));
    });
  }

  deleteRuleRunsBefore(before: number, limit: number): Promise<number> {
    return this.#write(async (db) => {
      const { rows: gone } = await db.query<{ event_id: string }>(
        `DELETE FROM rule_run WHERE id IN (SELECT id FROM rule_run
           WHERE id < $1 AND ${runRows.FINISHED_RULE_RUN} ORDER BY id LIMIT $2)
         RETURNING event_id`,
        [idFloor("rrun", before), limit],
      );
      if (gone.length > 0) {
        // The events the deleted runs pointed at that no other run points at.
        await db.query(
          `DELETE FROM rule_event e WHERE e.id = ANY($1::text[])
             AND NOT EXISTS (SELECT 1 FROM rule_run r WHERE r.event_id = e.id)`,
          [[...new Set(gone.map((r) => r.event_id))]],
        );
      }
      return gone.length;
    });
  }

  async getInboundRequest(
    sourceId: SourceId,
    id: InboundRequestId,
  ): Promise<InboundRequest | null> {
    const [row] = await this.#rows<src.InboundRequestRow>(
      "SELECT * FROM inbound_request WHERE source_id = $1 AND id = $2",
      [sourceId, id],
    );
    return row === undefined ? null : src.rowToInboundRequest(row);
  }

  deleteInboundRequest(sourceId: SourceId, id: InboundRequestId): Promise<boolean> {
    return this.#write(async (db) => {
      const { rowCount } = await db.query(
        "DELETE FROM inbound_request WHERE source_id = $1 AND id = $2",
        [sourceId, id],
      );
      return rowCount === 1;
    });
  }

  trimInboundRequests(sourceId: SourceId, keep: number, status?: InboundStatus): Promise<number> {
    // A null status keeps the newest `keep` of any status.
    return this.#write(async (db) => {
      const { rowCount } = await db.query(
        `DELETE FROM inbound_request WHERE id IN (SELECT r.id FROM inbound_request r
          WHERE r.source_id = $1 AND ($3::text IS NULL OR r.status = $3)
            AND NOT EXISTS (SELECT 1 FROM message m WHERE m.inbound_request_id = r.id)
            AND r.id < (SELECT id FROM inbound_request WHERE source_id = $1
              AND ($3::text IS NULL OR status = $3) ORDER BY id DESC LIMIT 1 OFFSET $2))`,
        [sourceId, keep - 1, status ?? null],
      );
      return rowCount;
    });
  }

  async getInboundRequestById(id: InboundRequestId): Promise<InboundRequest | null> {
    const [row] = await this.#rows<src.InboundRequestRow>(
      "SELECT * FROM inbound_request WHERE id = $1",
      [id],
    );
    return row === undefined ? null : src.rowToInboundRequest(row);
  }

  async listInboundRequestIds(
    sourceId: SourceId,
    status: InboundStatus,
    afterId: string,
    limit: number,
  ): Promise<InboundRequestId[]> {
    const rows = await this.#rows<{ id: InboundRequestId }>(
      "SELECT id FROM inbound_request WHERE source_id = $1 AND status = $2 AND id > $3 ORDER BY id LIMIT $4",
      [sourceId, status, afterId, limit],
    );
    return rows.map((row) => row.id);
  }

  listInboundRequests(
    sourceId: SourceId,
    filter: { status?: InboundStatus },
    page: PageRequest,
  ): Promise<Page<InboundRequest>> {
    const terms = pgTerms();
    addTerm(terms, "source_id = $?", sourceId);
    if (filter.status !== undefined) addTerm(terms, "status = $?", filter.status);
    return this.#page({
      select: "SELECT * FROM inbound_request",
      terms,
      cursorColumn: "id",
      page,
      defaultOrder: "descending",
      map: src.rowToInboundRequest,
      cursorOf: (r) => r.id,
    });
  }

  // --- applications ---

  insertApplication(app: Application): Promise<void> {
    return this.#write(async (db) => {
      await conflictOn(
        db.query(
          SQL.insertApplication,
          cfg.rowValues(cfg.applicationToRow(app), APPLICATION_COLUMNS),
        ),
        () => `application uid "${app.uid}" or id ${app.id} is already taken`,
      );
      await this.#notify(db, { kind: "application", appId: app.id });
    });
  }

  async getApplication(idOrUid: string): Promise<Application | null> {
    const [row] = await this.#rows<cfg.ApplicationRow>(
      "SELECT * FROM application WHERE id = $1 UNION ALL SELECT * FROM application WHERE uid = $1 LIMIT 1",
      [idOrUid],
    );
    return row === undefined ? null : cfg.rowToApplication(row);
  }

  listApplications(page: PageRequest, filter: ApplicationFilter = {}): Promise<Page<Application>> {
    const terms = pgTerms();
    for (const term of cfg.applicationFilterTerms(filter)) addTerm(terms, term);
    return this.#page({
      select: "SELECT * FROM application",
      terms,
      cursorColumn: "id",
      page,
      defaultOrder: "ascending",
      map: cfg.rowToApplication,
      cursorOf: (app) => app.id,
    });
  }

  updateApplication(app: Application): Promise<void> {
    return this.#write(async (db) => {
      await conflictOn(
        db.query(
          SQL.updateApplication,
          cfg.rowValues(cfg.applicationToRow(app), updatable(APPLICATION_COLUMNS)),
        ),
        () => `application uid "${app.uid}" is already taken`,
      );
      await this.#notify(db, { kind: "application", appId: app.id });
    });
  }

  deleteApplication(id: AppId): Promise<void> {
    return this.#write(async (db) => {
      await db.query(`DELETE FROM delivery WHERE app_id = $1 AND NOT ${OPEN}`, [id]);
      await db.query(
        `UPDATE delivery SET status = 'cancelled', next_attempt_at = NULL, lease_owner = NULL,
          lease_until = NULL WHERE ${OPEN} AND app_id = $1`,
        [id],
      );
      await db.query("DELETE FROM attempt WHERE app_id = $1", [id]);
      await db.query("DELETE FROM message WHERE app_id = $1", [id]);
      await db.query("DELETE FROM endpoint WHERE app_id = $1", [id]);
      await db.query("DELETE FROM application WHERE id = $1", [id]);
      await this.#notify(db, { kind: "application", appId: id });
    });
  }

  // --- event types ---

  insertEventType(eventType: EventType): Promise<void> {
    return this.#write(async (db) => {
      await conflictOn(
        db.query(
          SQL.insertEventType,
          cfg.rowValues(cfg.eventTypeToRow(eventType), EVENT_TYPE_COLUMNS),
        ),
        () => `event type "${eventType.name}" already exists`,
      );
      await this.#notify(db, { kind: "event-type", name: eventType.name });
    });
  }

  async getEventType(name: string): Promise<EventType | null> {
    const [row] = await this.#rows<cfg.EventTypeRow>("SELECT * FROM event_type WHERE name = $1", [
      name,
    ]);
    return row === undefined ? null : cfg.rowToEventType(row);
  }

  listEventTypes(req: { page: PageRequest; includeArchived: boolean }): Promise<Page<EventType>> {
    const terms = pgTerms();
    if (!req.includeArchived) addTerm(terms, "archived = 0");
    return this.#page({
      select: "SELECT * FROM event_type",
      terms,
      cursorColumn: "name",
      page: req.page,
      defaultOrder: "ascending",
      map: cfg.rowToEventType,
      cursorOf: (et) => et.name,
    });
  }

  updateEventType(eventType: EventType): Promise<void> {
    return this.#write(async (db) => {
      await db.query(
        SQL.updateEventType,
        cfg.rowValues(cfg.eventTypeToRow(eventType), updatable(EVENT_TYPE_COLUMNS)),
      );
      await this.#notify(db, { kind: "event-type", name: eventType.name });
    });
  }

  // --- endpoints ---

  insertEndpoint(endpoint: Endpoint): Promise<void> {
    return this.#write(async (db) => {
      await conflictOn(
        db.query(
          SQL.insertEndpoint,
          cfg.rowValues(cfg.endpointToRow(endpoint, this.#box), ENDPOINT_COLUMNS),
        ),
        () => `endpoint uid "${endpoint.uid}" or id ${endpoint.id} is already taken`,
      );
      await this.#notify(db, { kind: "endpoints", appId: endpoint.appId });
    });
  }

  async getEndpoint(appId: AppId, idOrUid: string): Promise<Endpoint | null> {
    const [row] = await this.#rows<cfg.EndpointRow>(
      `SELECT * FROM endpoint WHERE app_id = $1 AND id = $2
       UNION ALL SELECT * FROM endpoint WHERE app_id = $1 AND uid = $2 LIMIT 1`,
      [appId, idOrUid],
    );
    return row === undefined ? null : cfg.rowToEndpoint(row, this.#box);
  }

  listEndpoints(appId: AppId, page: PageRequest): Promise<Page<Endpoint>> {
    const terms = pgTerms();
    addTerm(terms, "app_id = $?", appId);
    return this.#page({
      select: "SELECT * FROM endpoint",
      terms,
      cursorColumn: "id",
      page,
      defaultOrder: "ascending",
      map: (row: cfg.EndpointRow) => cfg.rowToEndpoint(row, this.#box),
      cursorOf: (ep) => ep.id,
    });
  }

  async listAllEndpoints(appId: AppId): Promise<Endpoint[]> {
    const found = await this.#rows<cfg.EndpointRow>(
      "SELECT * FROM endpoint WHERE app_id = $1 ORDER BY id",
      [appId],
    );
    return found.map((row) => cfg.rowToEndpoint(row, this.#box));
  }

  updateEndpoint(endpoint: Endpoint): Promise<void> {
    return this.#write(async (db) => {
      await conflictOn(
        db.query(
          SQL.updateEndpoint,
          cfg.rowValues(cfg.endpointToRow(endpoint, this.#box), updatable(ENDPOINT_COLUMNS)),
        ),
        () => `endpoint uid "${endpoint.uid}" is already taken`,
      );
      await this.#notify(db, { kind: "endpoints", appId: endpoint.appId });
    });
  }

  updateEndpointHealth(appId: AppId, id: EndpointId, health: EndpointHealth): Promise<void> {
    return this.#write(async (db) => {
      if (health.failingSince !== undefined) {
        await db.query(
          "UPDATE endpoint SET failing_since = $1, updated_at = $2 WHERE app_id = $3 AND id = $4",
          [health.failingSince, health.updatedAt, appId, id],
        );
      }
      if (health.disabled === true) {
        await db.query(
          "UPDATE endpoint SET disabled = 1, updated_at = $1 WHERE app_id = $2 AND id = $3",
          [health.updatedAt, appId, id],
        );
      }
      await this.#notify(db, { kind: "endpoints", appId });
    });
  }

  deleteEndpoint(appId: AppId, id: EndpointId): Promise<void> {
    return this.#write(async (db) => {
      const deleted = await db.query("DELETE FROM endpoint WHERE app_id = $1 AND id = $2", [
        appId,
        id,
      ]);
      if (deleted.rowCount > 0) {
        await db.query(
          `UPDATE delivery SET status = 'cancelled', next_attempt_at = NULL, lease_owner = NULL,
            lease_until = NULL WHERE endpoint_id = $1 AND ${OPEN}`,
          [id],
        );
      }
      await this.#notify(db, { kind: "endpoints", appId });
    });
  }

  // --- messages and deliveries ---

  async createMessage(req: CreateMessageRequest): Promise<CreateMessageResult> {
    // A message with an eventId checks for an earlier one, and one with rule runs writes them:
    // both alone, not in a coalesced multi-row insert.
    if (req.message.eventId !== null || (req.ruleRuns?.length ?? 0) > 0) {
      return this.#createMessageAlone(req);
    }
    await this.#newMessages.add(req);
    return { created: true, message: req.message };
  }

  #createMessageAlone(req: CreateMessageRequest): Promise<CreateMessageResult> {
    const { message, deliveries, eventIdSince } = req;
    return this.#write(async (db): Promise<CreateMessageResult> => {
      if (message.eventId !== null) {
        // Other processes publish the same eventId concurrently: serialise on it until COMMIT.
        await db.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
          `${message.appId}/${message.eventId}`,
        ]);
        const { rows: existing } = await db.query<rows.MessageRow>(
          `SELECT * FROM message WHERE app_id = $1 AND event_id = $2 AND created_at >= $3
           ORDER BY created_at LIMIT 1`,
          [message.appId, message.eventId, eventIdSince],
        );
        if (existing[0] !== undefined) {
          return { created: false, message: rows.rowToMessage(existing[0]) };
        }
      }
      const conflict = () => `message ${message.id} or one of its deliveries already exists`;
      await conflictOn(db.query(named("insertMessage", rows.messageParams(message))), conflict);
      for (const d of deliveries) {
        await conflictOn(db.query(named("insertDelivery", rows.deliveryParams(d))), conflict);
      }
      if (req.ruleRuns !== undefined && req.ruleRuns.length > 0) {
        await insertRuleRuns(db, req.ruleRuns);
      }
      return { created: true, message };
    });
  }

  async getMessage(appId: AppId, msgId: MessageId): Promise<Message | null> {
    const [row] = await this.#rows<rows.MessageRow>(
      "SELECT * FROM message WHERE id = $1 AND app_id = $2",
      [msgId, appId],
    );
    return row === undefined ? null : rows.rowToMessage(row);
  }

  listMessages(appId: AppId, filter: MessageFilter, page: PageRequest): Promise<Page<Message>> {
    const terms = pgTerms();
    addTerm(terms, "app_id = $?", appId);
    messageFieldTerms(terms, "message", filter);
    if (filter.inboundRequestId !== undefined) {
      addTerm(terms, "inbound_request_id = $?", filter.inboundRequestId);
    }
    timeTerms(terms, "created_at", filter);
    return this.#page({
      select: "SELECT * FROM message",
      terms,
      cursorColumn: "id",
      page,
      defaultOrder: "descending",
      map: rows.rowToMessage,
      cursorOf: (msg) => msg.id,
    });
  }

  insertDeliveries(deliveries: Delivery[]): Promise<void> {
    return this.#write(async (db) => {
      for (const d of deliveries) {
        await conflictOn(
          db.query(named("insertDelivery", rows.deliveryParams(d))),
          () => "a delivery of that message to that endpoint already exists",
        );
      }
    });
  }

  async getDelivery(msgId: MessageId, endpointId: EndpointId): Promise<Delivery | null> {
    const [row] = await this.#rows<rows.DeliveryRow>(
      "SELECT * FROM delivery WHERE msg_id = $1 AND endpoint_id = $2",
      [msgId, endpointId],
    );
    return row === undefined ? null : rows.rowToDelivery(row);
  }

  async listDeliveriesOfMessage(msgId: MessageId): Promise<Delivery[]> {
    const found = await this.#rows<rows.DeliveryRow>(
      "SELECT * FROM delivery WHERE msg_id = $1 ORDER BY id",
      [msgId],
    );
    return found.map(rows.rowToDelivery);
  }

  listEndpointMessages(
    endpointId: EndpointId,
    filter: EndpointMessageFilter,
    page: PageRequest,
  ): Promise<Page<EndpointMessage>> {
    const terms = pgTerms();
    addTerm(terms, "d.endpoint_id = $?", endpointId);
    if (filter.statuses !== undefined) {
      addTerm(
        terms,
        "d.status IN (SELECT jsonb_array_elements_text($?::jsonb))",
        JSON.stringify(filter.statuses),
      );
    }
    messageFieldTerms(terms, "m", filter);
    if (filter.statusCodeClass !== undefined) {
      const code = filter.statusCodeClass;
      addTerm(
        terms,
        `EXISTS (SELECT 1 FROM attempt a WHERE a.msg_id = d.msg_id AND a.endpoint_id = d.endpoint_id AND ${listingSql.statusCodeClassSql("a.response_status_code", "$?::int")})`,
        code,
        code,
      );
    }
    timeTerms(terms, "m.created_at", filter);
    return this.#page({
      select: SQL.deliveryMessageSelect,
      terms,
      cursorColumn: "d.msg_id",
      page,
      defaultOrder: "descending",
      map: rows.rowToDeliveryMessage,
      cursorOf: (item) => item.message.id,
    });
  }

  async listMessagesWithoutDelivery(req: MissingDeliveryQuery): Promise<Message[]> {
    // Ids are time-sortable (ids.ts): the window is an id range of the message_app index.
    const found = await this.#rows<rows.MessageRow>(
      `SELECT * FROM message m
       WHERE m.app_id = $1 AND m.id > $2 AND m.id < $3 AND m.created_at >= $4
         AND m.created_at < $5
         AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.msg_id = m.id AND d.endpoint_id = $6)
       ORDER BY m.id LIMIT $7`,
      [
        req.appId,
        req.afterId ?? idFloor("msg", req.since - 1),
        idFloor("msg", req.until + ID_TIME_SLACK_MS),
        req.since,
        req.until,
        req.endpointId,
        req.limit,
      ],
    );
    return found.map(rows.rowToMessage);
  }

  expungeMessageContent(appId: AppId, msgId: MessageId, now: number): Promise<boolean> {
    return this.#write(async (db) => {
      const { rowCount } = await db.query(
        "UPDATE message SET payload = '' WHERE id = $1 AND app_id = $2",
        [msgId, appId],
      );
      if (rowCount === 0) return false;
      await this.#notify(db, { kind: "message-expunged", msgId });
      await db.query(
        `UPDATE delivery SET status = 'cancelled', next_attempt_at = NULL, lease_owner = NULL,
           lease_until = NULL, updated_at = $1
         WHERE msg_id = $2 AND ${OPEN}`,
        [now, msgId],
      );
      return true;
    });
  }

  async countDeliveriesByApp(req: {
    since: number;
    until: number;
    appIds: AppId[] | null;
  }): Promise<AppDeliveryCount[]> {
    const counts = await this.#rows<{ app_id: string; n: string }>(
      `SELECT app_id, count(*) AS n FROM delivery
       WHERE created_at >= $1 AND created_at < $2
         AND ($3::jsonb IS NULL OR app_id IN (SELECT jsonb_array_elements_text($3::jsonb)))
       GROUP BY app_id ORDER BY app_id`,
      [req.since, req.until, req.appIds === null ? null : JSON.stringify(req.appIds)],
    );
    return counts.map((c) => ({ appId: c.app_id as AppId, deliveries: Number(c.n) }));
  }

  async listFailedDeliveries(
    endpointId: EndpointId,
    since: number,
    until: number,
  ): Promise<Delivery[]> {
    const found = await this.#rows<rows.DeliveryRow>(
      `SELECT * FROM delivery WHERE endpoint_id = $1 AND status = 'failed'
       AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id`,
      [endpointId, since, until],
    );
    return found.map(rows.rowToDelivery);
  }

  async leaseDueDeliveries(req: {
    now: number;
    limit: number;
    leaseMs: number;
    owner: string;
    skipEndpoints?: readonly EndpointId[];
  }): Promise<LeasedDelivery[]> {
    const { now, owner } = req;
    // Look first: the periodic sweep mostly finds nothing and need not open a transaction.
    const any = await this.#rows(
      `SELECT 1 FROM delivery WHERE ${OPEN} AND next_attempt_at <= $1
       AND (lease_until IS NULL OR lease_until <= $1)
       AND endpoint_id NOT IN (SELECT jsonb_array_elements_text($2::jsonb)) LIMIT 1`,
      [now, JSON.stringify(req.skipEndpoints ?? [])],
    );
    if (any.length === 0) return [];
    return this.#write(async (db) => {
      // SKIP LOCKED: rows another process is claiming right now are left to it.
      const { rows: leased } = await db.query<rows.DeliveryMessageRow>(
        `WITH due AS (
           SELECT id FROM delivery
           WHERE ${OPEN} AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
             AND endpoint_id <> ALL($5::text[])
           ORDER BY next_attempt_at LIMIT $2
           FOR UPDATE SKIP LOCKED),
         leased AS (
           UPDATE delivery d SET lease_owner = $3, lease_until = $4 FROM due
           WHERE d.id = due.id RETURNING d.*)
         SELECT leased.*, m.event_type AS m_event_type, m.event_id AS m_event_id,
           m.channels AS m_channels, m.tags AS m_tags, m.payload AS m_payload,
           m.inbound_request_id AS m_inbound_request_id, m.deliver_at AS m_deliver_at,
           m.created_at AS m_created_at, m.traceparent AS m_traceparent
         FROM leased JOIN message m ON m.id = leased.msg_id
         ORDER BY leased.next_attempt_at, leased.id`,
        [now, req.limit, owner, now + req.leaseMs, req.skipEndpoints ?? []],
      );
      return leased.map(rows.rowToDeliveryMessage);
    });
  }

  renewLeases(req: {
    owner: string;
    ids: DeliveryId[];
    leaseUntil: number;
  }): Promise<DeliveryId[]> {
    if (req.ids.length === 0) return Promise.resolve([]);
    return this.#write(async (db) => {
      const { rows: renewed } = await db.query<{ id: DeliveryId }>(
        `UPDATE delivery SET lease_until = $1
         WHERE lease_owner = $2 AND id IN (SELECT jsonb_array_elements_text($3::jsonb))
         RETURNING id`,
        [req.leaseUntil, req.owner, JSON.stringify(req.ids)],
      );
      return renewed.map((r) => r.id);
    });
  }

  releaseForeignLeases(owner: string): Promise<number> {
    return this.#write(async (db) => {
      const result = await db.query(
        `UPDATE delivery SET lease_owner = NULL, lease_until = NULL
         WHERE ${OPEN} AND lease_owner IS NOT NULL AND lease_owner != $1`,
        [owner],
      );
      return result.rowCount;
    });
  }

  async nextDueAt(): Promise<number | null> {
    const [row] = await this.#rows<{ next_attempt_at: number }>(
      `SELECT next_attempt_at FROM delivery
       WHERE ${OPEN} AND next_attempt_at IS NOT NULL AND lease_owner IS NULL
       ORDER BY next_attempt_at LIMIT 1`,
    );
    return row?.next_attempt_at ?? null;
  }

  recordAttempt(attempt: Attempt, update: DeliveryUpdate): Promise<boolean> {
    return this.#attempts.add({ attempt, update });
  }

  #recordAttemptAlone(attempt: Attempt, delivery: DeliveryUpdate): Promise<boolean> {
    return this.#write(async (db) => {
      await conflictOn(
        db.query(named("insertAttempt", rows.attemptParams(attempt))),
        () => `attempt ${attempt.id} already exists`,
      );
      const [applied] = await this.#applyUpdates(db, [delivery]);
      return applied === true;
    });
  }

  updateDeliveries(updates: DeliveryUpdate[]): Promise<void> {
    return this.#write(async (db) => void (await this.#applyUpdates(db, updates)));
  }

  /**
   * Deliveries' new states, one statement each (false where a guard did not hold), then one
   * "due" note for those applied that are due.
   */
  async #applyUpdates(db: Queryable, updates: readonly DeliveryUpdate[]): Promise<boolean[]> {
    const applied: boolean[] = [];
    for (const u of updates) {
      const { rowCount } = await db.query(named("updateDelivery", rows.deliveryUpdateParams(u)));
      applied.push(rowCount === 1);
    }
    await this.#notifyDue(
      db,
      updates.filter((_, i) => applied[i]),
    );
    return applied;
  }

  async listOpenDeliveriesOfEndpoint(endpointId: EndpointId): Promise<Delivery[]> {
    const found = await this.#rows<rows.DeliveryRow>(
      `SELECT * FROM delivery WHERE endpoint_id = $1 AND ${OPEN} ORDER BY id`,
      [endpointId],
    );
    return found.map(rows.rowToDelivery);
  }

  // --- attempts ---

  async getAttempt(appId: AppId, attemptId: AttemptId): Promise<Attempt | null> {
    const [row] = await this.#rows<rows.AttemptRow>(
      "SELECT * FROM attempt WHERE id = $1 AND app_id = $2",
      [attemptId, appId],
    );
    return row === undefined ? null : rows.rowToAttempt(row);
  }

  listAttemptsByMessage(
    appId: AppId,
    msgId: MessageId,
    filter: AttemptFilter,
    page: PageRequest,
  ): Promise<Page<Attempt>> {
    const terms = pgTerms();
    addTerm(terms, "msg_id = $?", msgId);
    addTerm(terms, "app_id = $?", appId);
    return this.#attemptPage(terms, filter, page);
  }

  listAttemptsByEndpoint(
    appId: AppId,
    endpointId: EndpointId,
    filter: AttemptFilter,
    page: PageRequest,
  ): Promise<Page<Attempt>> {
    const terms = pgTerms();
    addTerm(terms, "endpoint_id = $?", endpointId);
    addTerm(terms, "app_id = $?", appId);
    return this.#attemptPage(terms, filter, page);
  }

  expungeAttemptContent(appId: AppId, attemptId: AttemptId): Promise<boolean> {
    return this.#write(async (db) => {
      const { rowCount } = await db.query(
        `UPDATE attempt SET response_body = $1, response_headers = NULL
         WHERE id = $2 AND app_id = $3`,
        [listingSql.EXPUNGED_RESPONSE, attemptId, appId],
      );
      return rowCount > 0;
    });
  }

  async endpointStats(
    endpointId: EndpointId,
    since: number | null,
    until: number | null,
  ): Promise<EndpointStats> {
    const counts = await this.#rows<{ status: string; n: number }>(
      `SELECT status, count(*) AS n FROM delivery
       WHERE endpoint_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY status`,
      [endpointId, since ?? Number.MIN_SAFE_INTEGER, until ?? Number.MAX_SAFE_INTEGER],
    );
    return toEndpointStats(counts);
  }

  // --- visibility ---

  async activityOverview(since: number, bucketMs: number): Promise<ActivityOverview> {
    const q = activityQueries((n) => `$${n}`);
    const floors = activityFloors(since);
    type Row = Record<string, unknown>;
    const bucketed = (sql: string, floor: string) => this.#rows<Row>(sql, [since, bucketMs, floor]);
    const [messages, attempts, received, ruleRuns, bySource, backlog, failing, failingCount] =
      await Promise.all([
        bucketed(q.messages, floors.msg),
        bucketed(q.attempts, floors.atmpt),
        bucketed(q.received, floors.req),
        bucketed(q.ruleRuns, floors.rrun),
        this.#rows<Row>(q.bySource, [floors.req]),
        this.#rows<Row>(q.backlog),
        this.#rows<Row>(q.failing),
        this.#rows<Row>(q.failingCount),
      ]);
    return activityFromRows({
      messages,
      attempts,
      received,
      ruleRuns,
      bySource,
      backlog,
      failing,
      failingCount,
    });
  }

  async deliveryBacklog(now: number): Promise<DeliveryBacklog[]> {
    return backlogFromRows(
      await this.#rows(
        backlogQuery(() => "$1"),
        [now],
      ),
    );
  }

  onCommit(listener: (commit: CommitStats) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  async tableStats(): Promise<TableStats[]> {
    const found = await this.#rows<{ table: string; estimate: number; bytes: number }>(
      `SELECT c.relname AS table, c.reltuples::float8 AS estimate,
         pg_total_relation_size(c.oid)::float8 AS bytes
       FROM pg_class c
       WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
         AND c.relname IN (SELECT jsonb_array_elements_text($1::jsonb))`,
      [JSON.stringify(STATS_TABLES)],
    );
    const byName = new Map(found.map((r) => [r.table, r]));
    const stats: TableStats[] = [];
    for (const table of STATS_TABLES) {
      const row = byName.get(table);
      if (row === undefined) continue;
      // A table never analysed has no estimate (-1): count it (it is new, so small).
      const rows =
        row.estimate >= 0
          ? Math.round(row.estimate)
          : ((await this.#rows<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]?.n ?? 0);
      stats.push({ table, rows, bytes: row.bytes });
    }
    return stats;
  }

  // --- retention ---

  pruneBefore(req: { before: number; limit: number }): Promise<PruneResult> {
    const { before, limit } = req;
    return this.#write(async (db) => {
      const attempts = await db.query(
        "DELETE FROM attempt WHERE id IN (SELECT id FROM attempt WHERE id < $1 ORDER BY id LIMIT $2)",
        [idFloor("atmpt", before), limit],
      );
      const deliveries = await db.query(
        `DELETE FROM delivery WHERE id IN (SELECT id FROM delivery
         WHERE id < $1 AND NOT ${OPEN} ORDER BY id LIMIT $2)`,
        [idFloor("dlv", before), limit],
      );
      const messages = await db.query(
        `DELETE FROM message WHERE id IN (SELECT m.id FROM message m
         WHERE m.id < $1 AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.msg_id = m.id)
         ORDER BY m.id LIMIT $2)`,
        [idFloor("msg", before), limit],
      );
      const inboundRequests = await db.query(
        `DELETE FROM inbound_request WHERE id IN (SELECT r.id FROM inbound_request r
         WHERE r.id < $1 AND NOT EXISTS (SELECT 1 FROM message m WHERE m.inbound_request_id = r.id)
         ORDER BY r.id LIMIT $2)`,
        [idFloor("req", before), limit],
      );
      const backgroundTasks = await db.query(
        `DELETE FROM background_task WHERE id IN (SELECT id FROM background_task
         WHERE id < $1 AND status <> 'running' ORDER BY id LIMIT $2)`,
        [idFloor("qtask", before), limit],
      );
      return {
        attempts: attempts.rowCount,
        deliveries: deliveries.rowCount,
        messages: messages.rowCount,
        inboundRequests: inboundRequests.rowCount,
        backgroundTasks: backgroundTasks.rowCount,
      };
    });
  }

  // --- background tasks ---

  insertBackgroundTask(task: BackgroundTask): Promise<void> {
    return this.#write(async (db) => {
      const row = taskRows.backgroundTaskToRow(task);
      await conflictOn(
        db.query(insertSql("background_task", TASK_COLUMNS), cfg.rowValues(row, TASK_COLUMNS)),
        () => `background task ${task.id} already exists`,
      );
    });
  }

  updateBackgroundTask(task: BackgroundTask): Promise<void> {
    return this.#write(async (db) => {
      await db.query(
        "UPDATE background_task SET status = $1, data = $2, updated_at = $3 WHERE id = $4",
        [task.status, JSON.stringify(task.data), task.updatedAt, task.id],
      );
    });
  }

  async getBackgroundTask(id: BackgroundTaskId): Promise<BackgroundTask | null> {
    const [row] = await this.#rows<taskRows.BackgroundTaskRow>(
      "SELECT * FROM background_task WHERE id = $1",
      [id],
    );
    return row === undefined ? null : taskRows.rowToBackgroundTask(row);
  }

  listBackgroundTasks(
    filter: { status?: BackgroundTaskStatus; task?: BackgroundTaskKind },
    page: PageRequest,
  ): Promise<Page<BackgroundTask>> {
    const terms = pgTerms();
    if (filter.status !== undefined) addTerm(terms, "status = $?", filter.status);
    if (filter.task !== undefined) addTerm(terms, "task = $?", filter.task);
    return this.#page({
      select: "SELECT * FROM background_task",
      terms,
      cursorColumn: "id",
      page,
      defaultOrder: "descending",
      map: taskRows.rowToBackgroundTask,
      cursorOf: (task) => task.id,
    });
  }

  failRunningBackgroundTasks(now: number, error: string): Promise<number> {
    return this.#write(async (db) => {
      const { rowCount } = await db.query(
        `UPDATE background_task SET status = 'failed', updated_at = $1,
           data = (data::jsonb || jsonb_build_object('error', $2::text))::text
         WHERE status = 'running'`,
        [now, error],
      );
      return rowCount;
    });
  }

  // --- idempotency keys ---

  async getIdempotencyRecord(key: string): Promise<IdempotencyRecord | null> {
    const [row] = await this.#rows<cfg.IdempotencyRow>("SELECT * FROM idempotency WHERE key = $1", [
      key,
    ]);
    return row === undefined ? null : cfg.rowToIdempotency(row);
  }

  putIdempotencyRecord(record: IdempotencyRecord): Promise<void> {
    return this.#write(async (db) => {
      await db.query(
        `INSERT INTO idempotency (key, status_code, body, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO NOTHING`,
        [record.key, record.statusCode, record.body, record.createdAt],
      );
    });
  }

  pruneIdempotencyRecords(before: number): Promise<number> {
    return this.#write(async (db) => {
      const result = await db.query("DELETE FROM idempotency WHERE created_at < $1", [before]);
      return result.rowCount;
    });
  }

  // --- plumbing ---

  #attemptPage(terms: PgTerms, filter: AttemptFilter, page: PageRequest): Promise<Page<Attempt>> {
    if (filter.endpointId !== undefined) addTerm(terms, "endpoint_id = $?", filter.endpointId);
    if (filter.succeeded !== undefined) addTerm(terms, "succeeded = $?", filter.succeeded ? 1 : 0);
    if (filter.statusCodeClass !== undefined) {
      const code = filter.statusCodeClass;
      addTerm(terms, listingSql.statusCodeClassSql("response_status_code", "$?::int"), code, code);
    }
    const onMessage = pgTerms();
    messageFieldTerms(onMessage, "m", filter);
    if (onMessage.where.length > 0) {
      addTerm(
        terms,
        `EXISTS (SELECT 1 FROM message m WHERE m.id = attempt.msg_id AND ${onMessage.where.join(" AND ")})`,
        ...onMessage.params,
      );
    }
    timeTerms(terms, "created_at", filter);
    return this.#page({
      select: "SELECT * FROM attempt",
      terms,
      cursorColumn: "id",
      page,
      defaultOrder: "descending",
      map: rows.rowToAttempt,
      cursorOf: (a) => a.id,
    });
  }

  #rows<R>(sql: string, params: readonly cfg.SqlParam[] = []): Promise<R[]> {
    return this.#read(async () => (await this.#pool.query<R>(sql, params)).rows);
  }

  #page<TRow, T>(q: Parameters<typeof pgPage<TRow, T>>[1]): Promise<Page<T>> {
    return this.#read(() => pgPage(this.#pool, q));
  }

  async #read<T>(fn: () => Promise<T>): Promise<T> {
    this.#checkOpen();
    this.#readsInFlight++;
    try {
      return await fn();
    } catch (err) {
      throw mapPgError(err);
    } finally {
      if (--this.#readsInFlight === 0) {
        const waiting = this.#readWaiters;
        this.#readWaiters = [];
        for (const resolve of waiting) resolve();
      }
    }
  }

  /** Open deliveries left unleased: the other processes sweep for them when they fall due. */
  async #notifyDue(db: Queryable, updates: readonly DeliveryUpdate[]): Promise<void> {
    let at = Infinity;
    for (const u of updates) {
      const open = u.status === "pending" || u.status === "retrying";
      if (open && u.leaseOwner === null && u.nextAttemptAt !== null)
        at = Math.min(at, u.nextAttemptAt);
    }
    if (at !== Infinity) await this.#notify(db, { kind: "due", at });
  }

  /** Tells the other processes, when this transaction commits (LISTEN/NOTIFY). */
  async #notify(db: Queryable, change: StoreChange): Promise<void> {
    await db.query(this.#feed.notifySql, this.#feed.notifyParams(change));
  }

  #write<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    if (this.#closing !== null) {
      return Promise.reject(new ServiceUnavailableError("the store is closed"));
    }
    return this.#batcher.write(fn);
  }

  #checkOpen(): void {
    if (this.#closing !== null) throw new ServiceUnavailableError("the store is closed");
  }
}

/**
 * Each distinct event of `runs` once (kept as stored if an earlier batch stored it), then the
 * runs pointing at it: rows/rule-run-rows.ts.
 */
async function insertRuleRuns(
  db: Queryable,
  runs: readonly RuleRun[],
  request: InboundRequest | null = null,
): Promise<void> {
  for (const event of runRows.ruleEventRows(runs, request)) {
    await db.query(
      insertSql("rule_event", runRows.RULE_EVENT_COLUMNS, " ON CONFLICT (id) DO NOTHING"),
      cfg.rowValues(event, runRows.RULE_EVENT_COLUMNS),
    );
  }
  for (const run of runs) {
    await conflictOn(
      db.query(
        insertSql("rule_run", runRows.RULE_RUN_COLUMNS),
        cfg.rowValues(runRows.ruleRunToRow(run), runRows.RULE_RUN_COLUMNS),
      ),
      () => `rule run ${run.id} already exists`,
    );
  }
}

/** A source row with its tokens as a JSON array (one query for a source and its tokens). */
const SOURCE_SELECT = `SELECT *, (SELECT coalesce(json_agg(json_build_object('token', t.token,
    'source_id', t.source_id, 'expires_at', t.expires_at)), '[]')::text
  FROM source_token t WHERE t.source_id = source.id) AS tokens FROM source`;

interface SourceWithTokensRow extends src.SourceRow {
  tokens: string;
}

function rowToSourceWithTokens(row: SourceWithTokensRow, box: SecretBox): Source {
  return src.rowToSource(row, JSON.parse(row.tokens) as src.SourceTokenRow[], box);
}

async function insertSourceTokens(db: Queryable, source: Source): Promise<void> {
  for (const token of src.sourceTokenRows(source)) {
    await db.query("INSERT INTO source_token (token, source_id, expires_at) VALUES ($1, $2, $3)", [
      token.token,
      token.source_id,
      token.expires_at,
    ]);
  }
}

function timeTerms(terms: PgTerms, column: string, f: { before?: number; after?: number }): void {
  if (f.before !== undefined) addTerm(terms, `${column} < $?`, f.before);
  if (f.after !== undefined) addTerm(terms, `${column} > $?`, f.after);
}

/** Awaits a statement, turning a unique violation into `ConflictError(message())`. */
async function conflictOn<T>(query: Promise<T>, message: () => string): Promise<T> {
  try {
    return await query;
  } catch (err) {
    throw mapPgError(err, message);
  }
}

/** One JSON array of row objects: the single parameter of the multi-row statements. */
function jsonRows(objects: readonly Record<string, cfg.SqlParam>[]): string {
  return JSON.stringify(objects);
}

const attemptRow = (a: Attempt) => rows.byColumn(rows.ATTEMPT_COLUMNS, rows.attemptParams(a));

/** Rows of parameters as one array per column (the parameters of an `unnest(…)` statement). */
function columnArrays(paramRows: readonly (readonly cfg.SqlParam[])[]): PgParam[] {
  const width = paramRows[0]?.length ?? 0;
  return Array.from({ length: width }, (_, column) => paramRows.map((r) => r[column] ?? null));
}

async function insertMessages(db: Queryable, reqs: readonly CreateMessageRequest[]): Promise<void> {
  if (reqs.length === 1) {
    // Alone (low load), the prepared single-row statements are quicker than a JSON recordset.
    const [{ message, deliveries }] = reqs as [CreateMessageRequest];
    await db.query(named("insertMessage", rows.messageParams(message)));
    for (const d of deliveries) await db.query(named("insertDelivery", rows.deliveryParams(d)));
    return;
  }
  await db.query(
    named("insertMessages", [
      jsonRows(reqs.map((r) => rows.byColumn(rows.MESSAGE_COLUMNS, rows.messageParams(r.message)))),
    ]),
  );
  const deliveries = reqs.flatMap((r) => r.deliveries);
  if (deliveries.length > 0) {
    await db.query(
      named("insertDeliveries", [
        jsonRows(
          deliveries.map((d) => rows.byColumn(rows.DELIVERY_COLUMNS, rows.deliveryParams(d))),
        ),
      ]),
    );
  }
}

const TASK_COLUMNS = ["id", "task", "status", "data", "created_at", "updated_at"];

/** The message-side filters (event types, channel, tag) on the message table aliased `m`. */
function messageFieldTerms(
  terms: PgTerms,
  m: string,
  filter: { eventTypes?: string[]; channel?: string; tag?: string },
): void {
  if (filter.eventTypes !== undefined && filter.eventTypes.length > 0) {
    addTerm(
      terms,
      `${m}.event_type IN (SELECT jsonb_array_elements_text($?::jsonb))`,
      JSON.stringify(filter.eventTypes),
    );
  }
  if (filter.channel !== undefined) {
    addTerm(terms, `${m}.channels::jsonb @> jsonb_build_array($?::text)`, filter.channel);
  }
  if (filter.tag !== undefined) {
    addTerm(terms, `${m}.tags::jsonb @> jsonb_build_array($?::text)`, filter.tag);
  }
}
