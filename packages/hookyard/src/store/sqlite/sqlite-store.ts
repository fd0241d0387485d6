import { ServiceUnavailableError } from "../../errors.js";
import { activityFloors, activityFromRows, activityQueries } from "../rows/activity-queries.js";
import { idFloor } from "../../ids.js";
import { backlogFromRows, backlogQuery } from "../rows/backlog-rows.js";
import * as access from "../rows/access-rows.js";
import * as secrets from "../rows/secret-rows.js";
import type { SecretBox } from "../../secrets/secret-box.js";
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
import type {
  ActivityOverview,
  AuditFilter,
  CommitStats,
  DeliveryBacklog,
  AppDeliveryCount,
  ApplicationFilter,
  AttemptFilter,
  CreateMessageRequest,
  CreateMessageResult,
  DeliveryUpdate,
  EndpointMessage,
  EndpointHealth,
  EndpointMessageFilter,
  IdempotencyRecord,
  LeasedDelivery,
  MessageFilter,
  MissingDeliveryQuery,
  Page,
  PageRequest,
  PruneResult,
  SecretsStatus,
  TableStats,
  Store,
} from "../store.js";
import * as attempts from "./attempt-ops.js";
import * as tasks from "./background-task-ops.js";
import * as catalog from "./catalog-ops.js";
import { ListingQueries } from "./listing-queries.js";
import * as messages from "./message-ops.js";
import * as ruleRuns from "./rule-run-ops.js";
import * as sources from "./source-ops.js";
import { migrate } from "./migrations.js";
import { openDatabase, type SqliteDatabase } from "./sqlite-driver.js";
import { prepareStatements, type SqliteContext } from "./statements.js";
import { SILENT_LOGGER, type StoreLogger } from "./store-logger.js";
import { WalCheckpointer } from "./wal-checkpointer.js";
import { STATS_TABLES } from "../rows/tables.js";
import { WalSync } from "./wal-sync.js";
import { WriteBatcher } from "./write-batcher.js";

export interface SqliteStoreDeps {
  /** The database file; it and its parent directory are created when missing. */
  path: string;
  /** Seals the secrets the store writes and opens those it reads. */
  secrets: SecretBox;
  logger?: StoreLogger;
  busyTimeoutMs?: number;
  /** Writes per group-commit transaction at most (default 2,000). */
  maxBatchOps?: number;
  /** Estimated WAL pages between checkpoints (default 1,000). */
  checkpointThresholdPages?: number;
  /** Checkpoint from a worker thread with its own connection (default true). */
  checkpointInWorker?: boolean;
}

/** Counters for tests and metrics; a snapshot. */
export interface SqliteStoreStats {
  /** Group-commit transactions run. */
  transactions: number;
  /** Writes committed. */
  writes: number;
  /** WAL checkpoints completed. */
  checkpoints: number;
}

/**
 * The `Store` on one SQLite file (WAL). Writes are group-committed by `WriteBatcher` and made
 * durable by `WalSync` before they resolve; reads run synchronously on the same connection, see
 * committed data only (no transaction stays open between event-loop turns) and wait until that
 * data is durable. Build it with `SqliteStore.open`.
 *
 * Deleting an application deletes its endpoints, messages, attempts and finished deliveries; its
 * open deliveries stay, cancelled. Cancelling on delete keeps a delivery's `updatedAt` (the store
 * has no clock; the engine's own cancel path passes a time through `updateDeliveries`).
 */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #ctx: SqliteContext;
  readonly #batcher: WriteBatcher;
  readonly #commitListeners = new Set<(commit: CommitStats) => void>();
  readonly #checkpointer: WalCheckpointer;
  readonly #walSync: WalSync;
  #closing: Promise<void> | null = null;

  /** Schema versions this open applied (empty when the file was current). */
  readonly applied: readonly number[];

  private constructor(
    db: SqliteDatabase,
    deps: SqliteStoreDeps,
    applied: readonly number[],
    wal: boolean,
  ) {
    this.applied = applied;
    this.path = deps.path;
    this.#db = db;
    this.#ctx = {
      s: prepareStatements(db),
      listings: new ListingQueries({ db }),
      box: deps.secrets,
    };
    this.#walSync = new WalSync(deps.path);
    this.#checkpointer = new WalCheckpointer({
      path: deps.path,
      db,
      logger: deps.logger ?? SILENT_LOGGER,
      ...(deps.checkpointThresholdPages === undefined
        ? {}
        : { thresholdPages: deps.checkpointThresholdPages }),
      ...(deps.checkpointInWorker === undefined ? {} : { useWorker: deps.checkpointInWorker }),
    });
    this.#batcher = new WriteBatcher({
      db,
      ...(deps.maxBatchOps === undefined ? {} : { maxBatchOps: deps.maxBatchOps }),
      onCommit: (writes, durationMs) => {
        this.#checkpointer.noteCommit(writes);
        for (const listener of this.#commitListeners) listener({ writes, durationMs });
      },
      // Without WAL (a file system that cannot do it), COMMIT itself syncs: synchronous=FULL.
      ...(wal && { commitSync: this.#walSync }),
    });
  }

  /** Opens (creating and migrating as needed) the database at `deps.path`. */
  static open(deps: SqliteStoreDeps): SqliteStore {
    const log = deps.logger ?? SILENT_LOGGER;
    const db = openDatabase(deps.path, { busyTimeoutMs: deps.busyTimeoutMs ?? 5_000 });
    try {
      const mode = String(db.pragma("journal_mode = WAL", { simple: true }));
      const wal = mode === "wal";
      if (!wal) log.warn({ path: deps.path, mode }, "sqlite could not switch to WAL");
      // Acknowledged = committed and synced (DESIGN principle 2): COMMIT appends to the WAL and
      // WalSync flushes it off the event loop before any write resolves (write-batcher.ts).
      db.pragma(wal ? "synchronous = NORMAL" : "synchronous = FULL");
      db.pragma("foreign_keys = ON");
      // Zeroes deleted content where that costs no extra I/O: a secret re-sealed in place
      // (issue 16) should not stay readable in the page's free space.
      db.pragma("secure_delete = FAST");
      db.pragma("wal_autocheckpoint = 0"); // WalCheckpointer runs them off the commit path
      db.pragma("temp_store = MEMORY");
      db.pragma("cache_size = -65536"); // 64 MiB of page cache
      const applied = migrate(db);
      if (applied.length > 0) log.info({ path: deps.path, applied }, "sqlite schema migrated");
      return new SqliteStore(db, deps, applied, wal);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  get stats(): SqliteStoreStats {
    return { ...this.#batcher.stats, checkpoints: this.#checkpointer.checkpoints };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#batcher.close(); // commits and syncs what is queued
      this.#walSync.close();
      await this.#checkpointer.close();
      this.#db.close(); // the last connection checkpoints and removes the WAL
    })();
    return this.#closing;
  }

  whenIdle(): Promise<void> {
    return this.#batcher.whenIdle();
  }

  /** One process per file: nobody else changes anything. */
  onChange(): () => void {
    return () => undefined;
  }

  insertApiKey(key: ApiKey): Promise<void> {
    return this.#write(() => {
      this.#db
        .prepare(access.insertSql("api_key", access.API_KEY_COLUMNS, () => "?"))
        .run(...access.apiKeyValues(key));
    });
  }

  listApiKeys(): Promise<ApiKey[]> {
    return this.#read(() =>
      (
        this.#db.prepare("SELECT * FROM api_key ORDER BY id").all() as Record<string, unknown>[]
      ).map(access.rowToApiKey),
    );
  }

  revokeApiKey(id: ApiKeyId, at: number): Promise<boolean> {
    return this.#write(
      () =>
        this.#db
          .prepare("UPDATE api_key SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
          .run(at, id).changes > 0,
    );
  }

  insertAuditEntry(entry: AuditEntry): Promise<void> {
    return this.#write(() => {
      this.#db
        .prepare(access.insertSql("audit_log", access.AUDIT_COLUMNS, () => "?"))
        .run(...access.auditValues(entry));
    });
  }

  listAuditEntries(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry>> {
    return this.#read(() => {
      const { sql, params } = access.auditListQuery(filter, page, () => "?");
      const rows = this.#db.prepare(sql).all(...params) as Record<string, unknown>[];
      return access.auditPage(rows, page.limit);
    });
  }

  pruneAuditEntries(before: number): Promise<number> {
    return this.#write(
      () =>
        this.#db.prepare("DELETE FROM audit_log WHERE id < ?").run(idFloor("audit", before))
          .changes,
    );
  }

  secretsStatus(): Promise<SecretsStatus> {
    return this.#read(() =>
      secrets.secretsStatus(
        secrets.SEALED_TABLES.flatMap(
          (t) => this.#db.prepare(secrets.statusSql(t)).all() as { key_id: string; n: number }[],
        ),
      ),
    );
  }

  resealSecrets(limit: number): Promise<number> {
    const { box } = this.#ctx;
    return this.#write(() => {
      let found = 0;
      for (const t of secrets.SEALED_TABLES) {
        if (found >= limit) break;
        const sql = secrets.staleRowsSql(t, box.current.id, limit - found);
        for (const row of this.#db.prepare(sql).all() as Record<string, string | null>[]) {
          const update = secrets.resealUpdate(box, t, row, () => "?");
          found += this.#db.prepare(update.sql).run(...update.params).changes;
        }
      }
      return found;
    });
  }

  getSetting(key: string): Promise<string | null> {
    return this.#read(() => catalog.getSetting(this.#ctx, key));
  }

  setSetting(key: string, value: string): Promise<void> {
    return this.#write(() => catalog.setSetting(this.#ctx, key, value));
  }

  insertApplication(app: Application): Promise<void> {
    return this.#write(() => catalog.insertApplication(this.#ctx, app));
  }

  getApplication(idOrUid: string): Promise<Application | null> {
    return this.#read(() => catalog.getApplication(this.#ctx, idOrUid));
  }

  listApplications(page: PageRequest, filter: ApplicationFilter = {}): Promise<Page<Application>> {
    return this.#read(() => catalog.listApplications(this.#ctx, page, filter));
  }

  updateApplication(app: Application): Promise<void> {
    return this.#write(() => catalog.updateApplication(this.#ctx, app));
  }

  deleteApplication(id: AppId): Promise<void> {
    return this.#write(() => catalog.deleteApplication(this.#ctx, id));
  }

  insertSource(source: Source): Promise<void> {
    return this.#write(() => sources.insertSource(this.#ctx, source));
  }

  getSource(idOrUid: string): Promise<Source | null> {
    return this.#read(() => sources.getSource(this.#ctx, idOrUid));
  }

  getSourceByToken(token: string, now: number): Promise<Source | null> {
    return this.#read(() => sources.getSourceByToken(this.#ctx, token, now));
  }

  listSources(page: PageRequest): Promise<Page<Source>> {
    return this.#read(() => sources.listSources(this.#ctx, page));
  }

  updateSource(source: Source): Promise<void> {
    return this.#write(() => sources.updateSource(this.#ctx, source));
  }

  deleteSource(id: SourceId): Promise<void> {
    return this.#write(() => sources.deleteSource(this.#ctx, id));
  }

  insertInboundRequest(
    request: InboundRequest,
    dedupSince: number,
    forward?: { message: Message; deliveries: Delivery[] },
    ruleRuns?: readonly RuleRun[],
  ): Promise<InboundRequest> {
    return this.#write(() =>
      sources.insertInboundRequest(this.#ctx, request, dedupSince, forward, ruleRuns),
    );
  }

  insertRuleRuns(runs: readonly RuleRun[]): Promise<void> {
    return this.#write(() => ruleRuns.insertRuleRuns(this.#ctx, runs));
  }

  updateRuleRun(run: RuleRun): Promise<void> {
    return this.#write(() => ruleRuns.updateRuleRun(this.#ctx, run));
  }

  getRuleRun(id: RuleRunId): Promise<RuleRun | null> {
    return this.#read(() => ruleRuns.getRuleRun(this.#ctx, id));
  }

  listRuleRuns(
    filter: { rule?: string; status?: RuleRunStatus },
    page: PageRequest,
  ): Promise<Page<RuleRun>> {
    return this.#read(() => ruleRuns.listRuleRuns(this.#ctx, filter, page));
  }

  takeExpiredRuleRuns(req: {
    owner: string;
    now: number;
    leaseUntil: number;
    limit: number;
  }): Promise<RuleRun[]> {
    return this.#write(() => ruleRuns.takeExpiredRuleRuns(this.#ctx, req));
  }

  deleteRuleRunsBefore(before: number, limit: number): Promise<number> {
    return this.#write(() => ruleRuns.deleteRuleRunsBefore(this.#ctx, before, limit));
  }

  getInboundRequest(sourceId: SourceId, id: InboundRequestId): Promise<InboundRequest | null> {
    return this.#read(() => sources.getInboundRequest(this.#ctx, sourceId, id));
  }

  deleteInboundRequest(sourceId: SourceId, id: InboundRequestId): Promise<boolean> {
    return this.#write(() => sources.deleteInboundRequest(this.#ctx, sourceId, id));
  }

  trimInboundRequests(sourceId: SourceId, keep: number, status?: InboundStatus): Promise<number> {
    return this.#write(() => sources.trimInboundRequests(this.#ctx, sourceId, keep, status));
  }

  listInboundRequestIds(
    sourceId: SourceId,
    status: InboundStatus,
    afterId: string,
    limit: number,
  ): Promise<InboundRequestId[]> {
    return this.#read(() =>
      sources.listInboundRequestIds(this.#ctx, sourceId, status, afterId, limit),
    );
  }

  getInboundRequestById(id: InboundRequestId): Promise<InboundRequest | null> {
    return this.#read(() => sources.getInboundRequestById(this.#ctx, id));
  }

  listInboundRequests(
    sourceId: SourceId,
    filter: { status?: InboundStatus },
    page: PageRequest,
  ): Promise<Page<InboundRequest>> {
    return this.#read(() => sources.listInboundRequests(this.#ctx, sourceId, filter, page));
  }

  insertEventType(eventType: EventType): Promise<void> {
    return this.#write(() => catalog.insertEventType(this.#ctx, eventType));
  }

  getEventType(name: string): Promise<EventType | null> {
    return this.#read(() => catalog.getEventType(this.#ctx, name));
  }

  listEventTypes(req: { page: PageRequest; includeArchived: boolean }): Promise<Page<EventType>> {
    return this.#read(() => catalog.listEventTypes(this.#ctx, req));
  }

  updateEventType(eventType: EventType): Promise<void> {
    return this.#write(() => catalog.updateEventType(this.#ctx, eventType));
  }

  insertEndpoint(endpoint: Endpoint): Promise<void> {
    return this.#write(() => catalog.insertEndpoint(this.#ctx, endpoint));
  }

  getEndpoint(appId: AppId, idOrUid: string): Promise<Endpoint | null> {
    return this.#read(() => catalog.getEndpoint(this.#ctx, appId, idOrUid));
  }

  listEndpoints(appId: AppId, page: PageRequest): Promise<Page<Endpoint>> {
    return this.#read(() => catalog.listEndpoints(this.#ctx, appId, page));
  }

  listAllEndpoints(appId: AppId): Promise<Endpoint[]> {
    return this.#read(() => catalog.listAllEndpoints(this.#ctx, appId));
  }

  updateEndpoint(endpoint: Endpoint): Promise<void> {
    return this.#write(() => catalog.updateEndpoint(this.#ctx, endpoint));
  }

  updateEndpointHealth(appId: AppId, id: EndpointId, health: EndpointHealth): Promise<void> {
    return this.#write(() => catalog.updateEndpointHealth(this.#ctx, appId, id, health));
  }

  deleteEndpoint(appId: AppId, id: EndpointId): Promise<void> {
    return this.#write(() => catalog.deleteEndpoint(this.#ctx, appId, id));
  }

  createMessage(req: CreateMessageRequest): Promise<CreateMessageResult> {
    return this.#write(() => messages.createMessage(this.#ctx, req));
  }

  getMessage(appId: AppId, msgId: MessageId): Promise<Message | null> {
    return this.#read(() => messages.getMessage(this.#ctx, appId, msgId));
  }

  listMessages(appId: AppId, filter: MessageFilter, page: PageRequest): Promise<Page<Message>> {
    return this.#read(() => messages.listMessages(this.#ctx, appId, filter, page));
  }

  insertDeliveries(deliveries: Delivery[]): Promise<void> {
    return this.#write(() => messages.insertDeliveries(this.#ctx, deliveries));
  }

  getDelivery(msgId: MessageId, endpointId: EndpointId): Promise<Delivery | null> {
    return this.#read(() => messages.getDelivery(this.#ctx, msgId, endpointId));
  }

  listDeliveriesOfMessage(msgId: MessageId): Promise<Delivery[]> {
    return this.#read(() => messages.listDeliveriesOfMessage(this.#ctx, msgId));
  }

  listEndpointMessages(
    endpointId: EndpointId,
    filter: EndpointMessageFilter,
    page: PageRequest,
  ): Promise<Page<EndpointMessage>> {
    return this.#read(() => messages.listEndpointMessages(this.#ctx, endpointId, filter, page));
  }

  listMessagesWithoutDelivery(req: MissingDeliveryQuery): Promise<Message[]> {
    return this.#read(() => messages.listMessagesWithoutDelivery(this.#ctx, req));
  }

  expungeMessageContent(appId: AppId, msgId: MessageId, now: number): Promise<boolean> {
    return this.#write(() => messages.expungeMessageContent(this.#ctx, appId, msgId, now));
  }

  countDeliveriesByApp(req: {
    since: number;
    until: number;
    appIds: AppId[] | null;
  }): Promise<AppDeliveryCount[]> {
    return this.#read(() => messages.countDeliveriesByApp(this.#ctx, req));
  }

  listFailedDeliveries(endpointId: EndpointId, since: number, until: number): Promise<Delivery[]> {
    return this.#read(() => messages.listFailedDeliveries(this.#ctx, endpointId, since, until));
  }

  async leaseDueDeliveries(req: {
    now: number;
    limit: number;
    leaseMs: number;
    owner: string;
    skipEndpoints?: readonly EndpointId[];
  }): Promise<LeasedDelivery[]> {
    // The periodic sweep mostly finds nothing: look first, so an idle server does not commit
    // (and flush) an empty transaction every sweep.
    if (!(await this.#read(() => messages.anyDue(this.#ctx, req.now, req.skipEndpoints)))) {
      return [];
    }
    return this.#write(() => messages.leaseDueDeliveries(this.#ctx, req));
  }

  renewLeases(req: {
    owner: string;
    ids: DeliveryId[];
    leaseUntil: number;
  }): Promise<DeliveryId[]> {
    return this.#write(() => messages.renewLeases(this.#ctx, req));
  }

  releaseForeignLeases(owner: string): Promise<number> {
    return this.#write(() => messages.releaseForeignLeases(this.#ctx, owner));
  }

  nextDueAt(): Promise<number | null> {
    return this.#read(() => messages.nextDueAt(this.#ctx));
  }

  recordAttempt(attempt: Attempt, delivery: DeliveryUpdate): Promise<boolean> {
    return this.#write(() => attempts.recordAttempt(this.#ctx, attempt, delivery));
  }

  updateDeliveries(updates: DeliveryUpdate[]): Promise<void> {
    return this.#write(() => messages.updateDeliveries(this.#ctx, updates));
  }

  listOpenDeliveriesOfEndpoint(endpointId: EndpointId): Promise<Delivery[]> {
    return this.#read(() => messages.listOpenDeliveriesOfEndpoint(this.#ctx, endpointId));
  }

  getAttempt(appId: AppId, attemptId: AttemptId): Promise<Attempt | null> {
    return this.#read(() => attempts.getAttempt(this.#ctx, appId, attemptId));
  }

  expungeAttemptContent(appId: AppId, attemptId: AttemptId): Promise<boolean> {
    return this.#write(() => attempts.expungeAttemptContent(this.#ctx, appId, attemptId));
  }

  insertBackgroundTask(task: BackgroundTask): Promise<void> {
    return this.#write(() => tasks.insertBackgroundTask(this.#ctx, task));
  }

  updateBackgroundTask(task: BackgroundTask): Promise<void> {
    return this.#write(() => tasks.updateBackgroundTask(this.#ctx, task));
  }

  getBackgroundTask(id: BackgroundTaskId): Promise<BackgroundTask | null> {
    return this.#read(() => tasks.getBackgroundTask(this.#ctx, id));
  }

  listBackgroundTasks(
    filter: { status?: BackgroundTaskStatus; task?: BackgroundTaskKind },
    page: PageRequest,
  ): Promise<Page<BackgroundTask>> {
    return this.#read(() => tasks.listBackgroundTasks(this.#ctx, filter, page));
  }

  failRunningBackgroundTasks(now: number, error: string): Promise<number> {
    return this.#write(() => tasks.failRunningBackgroundTasks(this.#ctx, now, error));
  }

  listAttemptsByMessage(
    appId: AppId,
    msgId: MessageId,
    filter: AttemptFilter,
    page: PageRequest,
  ): Promise<Page<Attempt>> {
    return this.#read(() => attempts.listAttemptsByMessage(this.#ctx, appId, msgId, filter, page));
  }

  listAttemptsByEndpoint(
    appId: AppId,
    endpointId: EndpointId,
    filter: AttemptFilter,
    page: PageRequest,
  ): Promise<Page<Attempt>> {
    return this.#read(() =>
      attempts.listAttemptsByEndpoint(this.#ctx, appId, endpointId, filter, page),
    );
  }

  endpointStats(
    endpointId: EndpointId,
    since: number | null,
    until: number | null,
  ): Promise<EndpointStats> {
    return this.#read(() => attempts.endpointStats(this.#ctx, endpointId, since, until));
  }

  activityOverview(since: number, bucketMs: number): Promise<ActivityOverview> {
    return this.#read(() => {
      const q = activityQueries(() => "?");
      const floors = activityFloors(since);
      const bucketed = (sql: string, floor: string) =>
        this.#db.prepare(sql).all(since, bucketMs, floor) as Record<string, unknown>[];
      return activityFromRows({
        messages: bucketed(q.messages, floors.msg),
        attempts: bucketed(q.attempts, floors.atmpt),
        received: bucketed(q.received, floors.req),
        ruleRuns: bucketed(q.ruleRuns, floors.rrun),
        bySource: this.#db.prepare(q.bySource).all(floors.req) as Record<string, unknown>[],
        backlog: this.#db.prepare(q.backlog).all() as Record<string, unknown>[],
        failing: this.#db.prepare(q.failing).all() as Record<string, unknown>[],
        failingCount: this.#db.prepare(q.failingCount).all() as Record<string, unknown>[],
      });
    });
  }

  deliveryBacklog(now: number): Promise<DeliveryBacklog[]> {
    return this.#read(() =>
      backlogFromRows(
        this.#db.prepare(backlogQuery(() => "?")).all(now, now, now) as Record<string, unknown>[],
      ),
    );
  }

  onCommit(listener: (commit: CommitStats) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  tableStats(): Promise<TableStats[]> {
    return this.#read(() =>
      STATS_TABLES.map((table) => {
        const { rows } = this.#db.prepare(`SELECT count(*) AS rows FROM ${table}`).get() as {
          rows: number;
        };
        // dbstat (compiled into better-sqlite3) sums the pages of the table and its indexes.
        const { bytes } = this.#db
          .prepare(
            "SELECT coalesce(sum(pgsize), 0) AS bytes FROM dbstat WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = ?)",
          )
          .get(table) as { bytes: number };
        return { table, rows, bytes };
      }),
    );
  }

  pruneBefore(req: { before: number; limit: number }): Promise<PruneResult> {
    return this.#write(() => attempts.pruneBefore(this.#ctx, req));
  }

  getIdempotencyRecord(key: string): Promise<IdempotencyRecord | null> {
    return this.#read(() => attempts.getIdempotencyRecord(this.#ctx, key));
  }

  putIdempotencyRecord(record: IdempotencyRecord): Promise<void> {
    return this.#write(() => attempts.putIdempotencyRecord(this.#ctx, record));
  }

  pruneIdempotencyRecords(before: number): Promise<number> {
    return this.#write(() => attempts.pruneIdempotencyRecords(this.#ctx, before));
  }

  /** Runs a read once everything committed is durable; it sees committed data only. */
  async #read<T>(fn: () => T): Promise<T> {
    if (this.#closing !== null) throw new ServiceUnavailableError("the store is closed");
    const durable = this.#batcher.whenDurable();
    if (durable !== null) {
      await durable;
      if (this.#closing !== null) throw new ServiceUnavailableError("the store is closed");
    }
    return fn();
  }

  /** Queues a write for the next group commit; resolves once it is committed. */
  #write<T>(fn: () => T): Promise<T> {
    return this.#batcher.write(fn);
  }
}
