import type {
  ApiKey,
  ApiKeyId,
  AuditEntry,
  AppId,
  Application,
  BackgroundTask,
  BackgroundTaskId,
  BackgroundTaskKind,
  BackgroundTaskStatus,
  Attempt,
  AttemptId,
  Delivery,
  DeliveryId,
  DeliveryStatus,
  Endpoint,
  EndpointId,
  EndpointStats,
  EventType,
  Message,
  MessageId,
  InboundRequest,
  InboundRequestId,
  InboundStatus,
  Source,
  RuleRun,
  RuleRunId,
  RuleRunStatus,
  SourceId,
} from "../model.js";

/**
 * The persistence seam. Domain code (outbound/, delivery/) depends on this interface only; the
 * SQLite adapter (store/sqlite/) and the PostgreSQL one (store/postgres/) implement it, and one contract suite
 * (test/store/store.contract.ts) runs against each.
 *
 * Rules every adapter keeps:
 * - A write resolves only after it is durably committed (acknowledged = committed).
 * - Writes may be group-committed (many callers, one transaction), but each call succeeds or
 *   fails on its own: one caller's conflict never fails another's write.
 * - Times are bound parameters from the injected clock; SQL never calls now().
 * - Uniqueness conflicts surface as `ConflictError` (from ../errors.js); nothing else is thrown
 *   for expected outcomes.
 */

/** Cursor pagination in Svix's shape; `iterator` is the id of the last item returned. */
export interface PageRequest {
  limit: number;
  iterator: string | null;
  /** Default "descending" (newest first) for messages and attempts, "ascending" for the rest. */
  order?: "ascending" | "descending";
}

export interface Page<T> {
  data: T[];
  /** Pass back as `iterator` for the next page; null when there is none. */
  iterator: string | null;
  prevIterator: string | null;
  done: boolean;
}

/**
 * Svix's `status_code_class`: 0 = no response (status 0..99), 100..500 = that hundred of HTTP
 * statuses.
 */
export type StatusCodeClass = 0 | 100 | 200 | 300 | 400 | 500;

export interface MessageFilter {
  eventTypes?: string[];
  channel?: string;
  /** Only messages carrying this tag. */
  tag?: string;
  /** Only the messages that forward this received request. */
  inboundRequestId?: InboundRequestId;
  /** Only messages created strictly before / after these times. */
  before?: number;
  after?: number;
}

export interface AttemptFilter {
  endpointId?: EndpointId;
  /** Only attempts whose `succeeded` equals this. */
  succeeded?: boolean;
  statusCodeClass?: StatusCodeClass;
  /** Only attempts of messages with this channel, tag, or one of these event types. */
  channel?: string;
  tag?: string;
  eventTypes?: string[];
  before?: number;
  after?: number;
}

/** Filters of an endpoint's messages (delivery ⋈ message); times are the message's. */
export interface EndpointMessageFilter {
  /** Only deliveries in one of these states. */
  statuses?: readonly DeliveryStatus[];
  channel?: string;
  tag?: string;
  eventTypes?: string[];
  /** Only messages with an attempt to this endpoint in this class. */
  statusCodeClass?: StatusCodeClass;
  before?: number;
  after?: number;
}

/** See `Store.listMessagesWithoutDelivery`. */
export interface MissingDeliveryQuery {
  appId: AppId;
  endpointId: EndpointId;
  since: number;
  until: number;
  afterId: MessageId | null;
  limit: number;
}

/**
 * How much later than its `createdAt` a message's id may carry its time (the receive pipeline
 * takes its time before it makes the id): the slack of id-range bounds on time windows.
 */
export const ID_TIME_SLACK_MS = 60_000;

/**
 * An endpoint's health as the engine records it: the start of its failure run (null = it
 * succeeds), or that it was disabled. Only the given fields are written.
 */
export interface EndpointHealth {
  failingSince?: number | null;
  disabled?: true;
  updatedAt: number;
}

/** Svix's application list filters. */
export interface ApplicationFilter {
  /** Leave out applications without an endpoint. */
  withEndpoints?: boolean;
  /** Leave out applications with a disabled endpoint. */
  withoutDisabledEndpoints?: boolean;
}

/** Messages of one application sent (as deliveries) in a time window, for usage statistics. */
export interface AppDeliveryCount {
  appId: AppId;
  deliveries: number;
}

/** A leased delivery together with the message it carries, as the engine needs both. */
export interface LeasedDelivery {
  delivery: Delivery;
  message: Message;
  /**
   * The received request a forwarding message carries (`message.inboundRequestId`), when the
   * caller has it at hand (the receive pipeline); otherwise the engine reads it from the store.
   */
  received?: InboundRequest;
}

/** The new state of a delivery after an attempt, written in the same transaction as the attempt. */
export interface DeliveryUpdate {
  id: DeliveryId;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  leaseOwner: string | null;
  leaseUntil: number | null;
  updatedAt: number;
  /**
   * Optimistic concurrency for a process working on a delivery it leased: the update applies only
   * while the delivery is leased to `owner` or to no one, and has made `attempts` attempts (what
   * the writer knew of it). A process whose lease ran out while it was stalled, and whose delivery
   * another process has since taken over or finished, then leaves it alone. Without a guard the
   * update always applies (cancellations, recovery).
   */
  guard?: { owner: string; attempts: number };
}

export interface CreateMessageRequest {
  message: Message;
  deliveries: Delivery[];
  /**
   * When the message has an eventId, an existing message of the same application with the same
   * eventId created at or after this time wins: nothing is written and it is returned instead.
   */
  eventIdSince: number;
  /**
   * Rule runs the message starts (rules listening to its event type), stored in the same
   * transaction when, and only when, the message is created.
   */
  ruleRuns?: readonly RuleRun[];
}

export type CreateMessageResult =
  { created: true; message: Message } | { created: false; message: Message };

/** A cached API response for an `Idempotency-Key`. */
export interface IdempotencyRecord {
  key: string;
  statusCode: number;
  body: string;
  createdAt: number;
}

/** How the store's secret values are sealed (secrets/secret-box.ts), for the start check. */
export interface SecretsStatus {
  /** Values written before encryption, not sealed yet. */
  plaintext: number;
  /** Sealed values by the id of the key that sealed them. */
  byKeyId: Record<string, number>;
}

/** Size of one of the store's tables, for `hookyard stats`. */
export interface TableStats {
  table: string;
  /** Exact, or PostgreSQL's planner estimate once the table has been analysed. */
  rows: number;
  /** On disk, with its indexes. */
  bytes: number;
}

export interface PruneResult {
  attempts: number;
  deliveries: number;
  messages: number;
  /** Requests received at ingest URLs (once their forward, if any, is gone). */
  inboundRequests: number;
  /** Finished or failed background tasks. */
  backgroundTasks: number;
}

/** One delivery with its message, for "messages of this endpoint" listings. */
export interface EndpointMessage {
  delivery: Delivery;
  message: Message;
}

/**
 * A change another process committed to configuration this process caches. `resync`: changes
 * may have been missed (the feed reconnected), so every cache starts over.
 */
export type StoreChange =
  | { kind: "application"; appId: AppId }
  | { kind: "endpoints"; appId: AppId }
  | { kind: "event-type"; name: string }
  /** A source was created, changed (tokens included) or deleted. */
  | { kind: "sources" }
  /** An API key was created or revoked. */
  | { kind: "api-keys" }
  /** Deliveries nobody holds fall due at `at` (handed back at shutdown, a retry left to the store). */
  | { kind: "due"; at: number }
  /** A message's payload was expunged: copies of it held in memory must not be sent. */
  | { kind: "message-expunged"; msgId: MessageId }
  | { kind: "resync" };

/** What the dashboard's overview shows: activity since a time, in buckets, and what waits. */
/** One application's open deliveries (see `Store.deliveryBacklog`). */
export interface DeliveryBacklog {
  appId: AppId;
  /** Held by a sender now. */
  leased: number;
  /** Due and waiting for a sender. */
  due: number;
  /** Waiting for a later time (a retry, a scheduled message). */
  scheduled: number;
  /** When the oldest of them was created (epoch ms). */
  oldestCreatedAt: number;
}

/** Which audit entries to list; every field narrows. */
export interface AuditFilter {
  actor?: string;
  appId?: AppId;
  objectId?: string;
  /** Entries created at or after this time (epoch ms), and before `until`. */
  since?: number;
  until?: number;
}

/** One group commit: how many writes it carried and how long its transaction took. */
export interface CommitStats {
  writes: number;
  durationMs: number;
}

export interface ActivityOverview {
  /** Per bucket (index from `since`, `bucketMs` wide): messages published. */
  messages: { bucket: number; count: number }[];
  attempts: { bucket: number; succeeded: number; failed: number }[];
  received: { bucket: number; accepted: number; rejected: number }[];
  ruleRuns: { bucket: number; succeeded: number; failed: number }[];
  /** Per source, since `since`. */
  bySource: { sourceId: string; accepted: number; rejected: number; duplicate: number }[];
  /** Deliveries waiting to be sent (pending or retrying), now. */
  backlog: number;
  /** How many endpoints are failing now. */
  failingCount: number;
  /** Endpoints failing now, longest failing first (at most 10). */
  failingEndpoints: { appId: string; endpointId: string; url: string; failingSince: number }[];
}

export interface Store {
  /** sqlite: one process per database file; postgres: several processes share the database. */
  readonly kind: "sqlite" | "postgres";

  /** Releases the database. Idempotent. Pending group-committed writes are flushed first. */
  close(): Promise<void>;

  /**
   * Resolves once every write queued before the call is committed and durable (settled) and no
   * read is in flight: the store has nothing left to do for its callers.
   */
  whenIdle(): Promise<void>;

  /**
   * Calls `listener` for configuration changes committed by other processes on the same database
   * (never for this process's own writes; SQLite has no other processes). Returns unsubscribe.
   */
  onChange(listener: (change: StoreChange) => void): () => void;

  /** Activity since `since` (epoch ms) in buckets of `bucketMs`, read through the id index. */
  activityOverview(since: number, bucketMs: number): Promise<ActivityOverview>;

  /** The open deliveries per application with any, as of `now` (metrics read it on a scrape). */
  deliveryBacklog(now: number): Promise<DeliveryBacklog[]>;

  /** Calls `listener` after each group commit of this process's writes. Returns unsubscribe. */
  onCommit(listener: (commit: CommitStats) => void): () => void;

  // --- API keys and the audit log ---
  insertApiKey(key: ApiKey): Promise<void>;
  /** Every key, revoked ones included (they are few), oldest first. */
  listApiKeys(): Promise<ApiKey[]>;
  /** Marks the key revoked at `at`; false when there is no such key or it was already. */
  revokeApiKey(id: ApiKeyId, at: number): Promise<boolean>;
  insertAuditEntry(entry: AuditEntry): Promise<void>;
  /** Newest first; `page.iterator` is the last id of the previous page. */
  listAuditEntries(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry>>;
  /** Deletes entries created before `before` (epoch ms); returns how many. */
  pruneAuditEntries(before: number): Promise<number>;

  // --- settings (small key/value facts: the API key hash, schema version, …) ---
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;

  // --- applications ---
  /** @throws ConflictError when `uid` is taken. */
  insertApplication(app: Application): Promise<void>;
  /** Looks up by id (`app_…`) first, then by uid. */
  getApplication(idOrUid: string): Promise<Application | null>;
  listApplications(page: PageRequest, filter?: ApplicationFilter): Promise<Page<Application>>;
  /** Replaces every field but id and createdAt. @throws ConflictError when `uid` is taken. */
  updateApplication(app: Application): Promise<void>;
  /** Deletes the application, its endpoints and messages; its open deliveries end cancelled. */
  deleteApplication(id: AppId): Promise<void>;

  // --- inbound sources ---
  /** @throws ConflictError when `uid` (or a token) is taken. */
  insertSource(source: Source): Promise<void>;
  /** Looks up by id (`src_…`) first, then by uid. */
  getSource(idOrUid: string): Promise<Source | null>;
  /** The source whose ingest URL carries `token`, if that token has not expired at `now`. */
  getSourceByToken(token: string, now: number): Promise<Source | null>;
  listSources(page: PageRequest): Promise<Page<Source>>;
  /** Replaces every field but id and createdAt, tokens included. @throws ConflictError on uid. */
  updateSource(source: Source): Promise<void>;
  /** Deletes the source, its tokens and the requests it received. */
  deleteSource(id: SourceId): Promise<void>;
  /**
   * Stores a received request. An `accepted` one with a `dedupKey` or a `replayKey` that an
   * accepted request of the same source already carried (the same key: a delivery id matches a
   * delivery id, a replay key a replay key) at or after `dedupSince` is stored as a `duplicate`
   * of the first such request instead (checked and written atomically, across processes too).
   * Returns what was stored.
   * An accepted request's `forward` message and deliveries commit with it, so an acknowledged
   * request is always forwarded and a duplicate never is.
   */
  insertInboundRequest(
    request: InboundRequest,
    dedupSince: number,
    /** Stored with it in the same transaction if the request is stored as accepted. */
    forward?: { message: Message; deliveries: Delivery[] },
    /** The runs of the rules it matched: stored with it, likewise, if it is accepted. */
    ruleRuns?: readonly RuleRun[],
  ): Promise<InboundRequest>;
  getInboundRequest(sourceId: SourceId, id: InboundRequestId): Promise<InboundRequest | null>;
  /** The request a forwarding message points at (the delivery engine's view). */
  getInboundRequestById(id: InboundRequestId): Promise<InboundRequest | null>;
  /** @returns whether it existed. */
  deleteInboundRequest(sourceId: SourceId, id: InboundRequestId): Promise<boolean>;
  /**
   * Keeps the source's newest `keep` requests (a request bin's cap), or with `status` its newest
   * `keep` of that status (the cap on rejected requests), deleting older ones that no message
   * forwards. Returns how many went.
   */
  trimInboundRequests(sourceId: SourceId, keep: number, status?: InboundStatus): Promise<number>;
  /**
   * The ids of the source's requests of `status` after `afterId`, oldest first: what a listener
   * pages through without holding bodies.
   */
  listInboundRequestIds(
    sourceId: SourceId,
    status: InboundStatus,
    afterId: string,
    limit: number,
  ): Promise<InboundRequestId[]>;
  /** Newest first by default. */
  listInboundRequests(
    sourceId: SourceId,
    filter: { status?: InboundStatus },
    page: PageRequest,
  ): Promise<Page<InboundRequest>>;

  // --- rule runs ---
  /**
   * Stores each distinct event of `runs` once (by `event.id`; an event already stored under
   * that id is kept as it is) and the runs pointing at it.
   * @throws ConflictError when a run's id exists.
   */
  insertRuleRuns(runs: readonly RuleRun[]): Promise<void>;
  /** Writes status, actions, error, lease and times (the rest never changes). */
  updateRuleRun(run: RuleRun): Promise<void>;
  getRuleRun(id: RuleRunId): Promise<RuleRun | null>;
  /** Newest first by default. */
  listRuleRuns(
    filter: { rule?: string; status?: RuleRunStatus },
    page: PageRequest,
  ): Promise<Page<RuleRun>>;
  /**
   * Claims up to `limit` queued or running runs whose lease expired before `now` (their process
   * died or stopped): sets owner and `leaseUntil`, atomically, so one process takes each. Oldest
   * first.
   */
  takeExpiredRuleRuns(req: {
    owner: string;
    now: number;
    leaseUntil: number;
    limit: number;
  }): Promise<RuleRun[]>;
  /**
   * Retention: deletes at most `limit` finished runs (succeeded, failed or interrupted) created
   * before `before` (by their time-sortable id, oldest first), then the events no run points at
   * any more. Returns how many runs went; call again while it deletes `limit`.
   */
  deleteRuleRunsBefore(before: number, limit: number): Promise<number>;

  // --- event types ---
  /** @throws ConflictError when the name exists. */
  insertEventType(eventType: EventType): Promise<void>;
  getEventType(name: string): Promise<EventType | null>;
  listEventTypes(req: { page: PageRequest; includeArchived: boolean }): Promise<Page<EventType>>;
  updateEventType(eventType: EventType): Promise<void>;

  // --- endpoints ---
  /** @throws ConflictError when `uid` is taken within the application. */
  insertEndpoint(endpoint: Endpoint): Promise<void>;
  /** Looks up by id (`ep_…`) first, then by uid, within the application. */
  getEndpoint(appId: AppId, idOrUid: string): Promise<Endpoint | null>;
  listEndpoints(appId: AppId, page: PageRequest): Promise<Page<Endpoint>>;
  /** Every endpoint of the application, for the in-memory endpoint cache. */
  listAllEndpoints(appId: AppId): Promise<Endpoint[]>;
  /** Replaces every field but id, appId and createdAt. @throws ConflictError on `uid`. */
  updateEndpoint(endpoint: Endpoint): Promise<void>;
  /**
   * Writes only the endpoint's health: its failure run, or that it is disabled. The engine
   * records these while the API may be changing the endpoint's other fields: a whole-row write
   * from a copy read before such a change would undo it.
   */
  updateEndpointHealth(appId: AppId, id: EndpointId, health: EndpointHealth): Promise<void>;
  /** Deletes the endpoint; its open deliveries end cancelled. */
  deleteEndpoint(appId: AppId, id: EndpointId): Promise<void>;

  // --- messages and deliveries ---
  /** Writes the message and its deliveries in one transaction (see `eventIdSince`). */
  createMessage(req: CreateMessageRequest): Promise<CreateMessageResult>;
  getMessage(appId: AppId, msgId: MessageId): Promise<Message | null>;
  listMessages(appId: AppId, filter: MessageFilter, page: PageRequest): Promise<Page<Message>>;

  /** Adds deliveries of existing messages (resend, recover). */
  insertDeliveries(deliveries: Delivery[]): Promise<void>;
  getDelivery(msgId: MessageId, endpointId: EndpointId): Promise<Delivery | null>;
  listDeliveriesOfMessage(msgId: MessageId): Promise<Delivery[]>;
  listEndpointMessages(
    endpointId: EndpointId,
    filter: EndpointMessageFilter,
    page: PageRequest,
  ): Promise<Page<EndpointMessage>>;
  /**
   * Messages of the application created in [since, until) that have no delivery to the endpoint
   * (it did not exist, was disabled or filtered them out), oldest first, at most `limit`, after
   * the message `afterId` (a page's last) when given.
   */
  listMessagesWithoutDelivery(req: MissingDeliveryQuery): Promise<Message[]>;
  /**
   * Removes the message's payload for good (it is stored empty; readers show it as expunged)
   * and cancels its open deliveries. Resolves false when there is no such message.
   */
  expungeMessageContent(appId: AppId, msgId: MessageId, now: number): Promise<boolean>;
  /** Deliveries per application created in [since, until), of `appIds` (null = every one). */
  countDeliveriesByApp(req: {
    since: number;
    until: number;
    appIds: AppId[] | null;
  }): Promise<AppDeliveryCount[]>;
  /**
   * Messages whose delivery to this endpoint ended `failed`, created in [since, until),
   * oldest first (for `recover`).
   */
  listFailedDeliveries(endpointId: EndpointId, since: number, until: number): Promise<Delivery[]>;

  /**
   * Claims up to `limit` deliveries in status pending/retrying with `nextAttemptAt <= now` whose
   * lease is free or expired (`leaseUntil` null or `<= now`): sets leaseOwner/leaseUntil
   * (`now + leaseMs`). None is offered again before its lease expires. Oldest due first.
   * Deliveries to `skipEndpoints` (endpoints with a full queue in the engine) are left.
   */
  leaseDueDeliveries(req: {
    now: number;
    limit: number;
    leaseMs: number;
    owner: string;
    skipEndpoints?: readonly EndpointId[];
  }): Promise<LeasedDelivery[]>;
  /**
   * Clears every lease not held by `owner`. Only for a single-process store at start-up, where a
   * lease left by an earlier (crashed) run can be taken over at once instead of after it expires.
   */
  releaseForeignLeases(owner: string): Promise<number>;
  /**
   * Extends to `leaseUntil` the leases `owner` still holds among `ids` (deliveries waiting in its
   * memory longer than a lease); returns those ids. A missing id was lost to another process.
   */
  renewLeases(req: { owner: string; ids: DeliveryId[]; leaseUntil: number }): Promise<DeliveryId[]>;
  /**
   * The earliest `nextAttemptAt` among open deliveries that nobody holds (no lease owner), or
   * null if there is none: when the sweep must next look for work it did not keep in memory.
   */
  nextDueAt(): Promise<number | null>;

  /**
   * Writes the attempt and the delivery's new state in one transaction. Resolves false when the
   * update's guard did not hold (the attempt is stored all the same; the delivery is unchanged).
   */
  recordAttempt(attempt: Attempt, delivery: DeliveryUpdate): Promise<boolean>;
  /**
   * Sets the state of deliveries without an attempt (cancel on delete/disable, hand-back, …);
   * an update whose guard does not hold is skipped.
   */
  updateDeliveries(updates: DeliveryUpdate[]): Promise<void>;
  /** Open (pending/retrying) deliveries of an endpoint, e.g. to cancel them when it is disabled. */
  listOpenDeliveriesOfEndpoint(endpointId: EndpointId): Promise<Delivery[]>;

  // --- attempts ---
  getAttempt(appId: AppId, attemptId: AttemptId): Promise<Attempt | null>;
  /**
   * Replaces the attempt's response body with `EXPUNGED` (Svix's marker) and drops its response
   * headers; the record stays. Resolves false when there is no such attempt.
   */
  expungeAttemptContent(appId: AppId, attemptId: AttemptId): Promise<boolean>;
  listAttemptsByMessage(
    appId: AppId,
    msgId: MessageId,
    filter: AttemptFilter,
    page: PageRequest,
  ): Promise<Page<Attempt>>;
  listAttemptsByEndpoint(
    appId: AppId,
    endpointId: EndpointId,
    filter: AttemptFilter,
    page: PageRequest,
  ): Promise<Page<Attempt>>;
  /** Delivery counts of the endpoint by Svix status, for deliveries created in [since, until). */
  endpointStats(
    endpointId: EndpointId,
    since: number | null,
    until: number | null,
  ): Promise<EndpointStats>;

  // --- secrets at rest ---
  /** Counts the secret values by the key that sealed them. */
  secretsStatus(): Promise<SecretsStatus>;
  /**
   * Re-seals up to `limit` rows holding a value that is plaintext or sealed with another key than
   * the store's current one, each only if unchanged since it was read (a concurrent write wins).
   * Returns how many rows it re-sealed: fewer than `limit` means none is left (or the rest were
   * rewritten meanwhile, by writes that seal with the current key themselves).
   */
  resealSecrets(limit: number): Promise<number>;

  // --- visibility ---
  /** Rows and bytes of each table Hookyard keeps (messages, deliveries, attempts, …). */
  tableStats(): Promise<TableStats[]>;

  // --- retention ---
  /**
   * Deletes at most `limit` rows of each kind created before `before`: attempts, finished
   * deliveries, messages none of whose deliveries is still open (pending or retrying), and
   * background tasks no longer running. Small
   * steps, so no lock is held long; call again while it deletes `limit` of anything.
   */
  pruneBefore(req: { before: number; limit: number }): Promise<PruneResult>;

  // --- background tasks ---
  /** Stores a task before its work starts, so a poll never misses it. @throws ConflictError on id. */
  insertBackgroundTask(task: BackgroundTask): Promise<void>;
  /** Writes status, data and updatedAt (its outcome); the rest never changes. */
  updateBackgroundTask(task: BackgroundTask): Promise<void>;
  getBackgroundTask(id: BackgroundTaskId): Promise<BackgroundTask | null>;
  /** Newest first by default, as Svix lists them. */
  listBackgroundTasks(
    filter: { status?: BackgroundTaskStatus; task?: BackgroundTaskKind },
    page: PageRequest,
  ): Promise<Page<BackgroundTask>>;
  /**
   * Marks every running task failed (`data.error` says why): for a single-process store at
   * start-up, where a running task was interrupted by the previous run's end.
   */
  failRunningBackgroundTasks(now: number, error: string): Promise<number>;

  // --- idempotency keys ---
  getIdempotencyRecord(key: string): Promise<IdempotencyRecord | null>;
  /** First writer wins: a second put of the same key is ignored. */
  putIdempotencyRecord(record: IdempotencyRecord): Promise<void>;
  /** Removes idempotency records older than `before`. */
  pruneIdempotencyRecords(before: number): Promise<number>;
}
