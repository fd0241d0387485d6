/**
 * Hookyard's outbound data model (DESIGN.md "Data model"). Plain data shared by the domain
 * services, the delivery engine and the store; no behaviour lives here.
 *
 * Glossary:
 * - application: one per customer of the sender; owns endpoints and messages.
 * - event type: a dot-separated name (`invoice.paid`) with an optional JSON Schema per version.
 * - endpoint: a URL that receives messages of an application, with filters, headers and secrets.
 * - message: one published event (payload stored as the exact JSON text that is delivered).
 * - delivery: one (message, endpoint) pair; the unit the engine schedules, leases and retries.
 * - attempt: one HTTP request of a delivery; immutable once written.
 *
 * All times are epoch milliseconds (`…At`).
 */
export type AppId = `app_${string}`;
export type EndpointId = `ep_${string}`;
export type MessageId = `msg_${string}`;
export type AttemptId = `atmpt_${string}`;
export type DeliveryId = `dlv_${string}`;
export type SourceId = `src_${string}`;
export type InboundRequestId = `req_${string}`;
export type RuleRunId = `rrun_${string}`;
export type ApiKeyId = `key_${string}`;
export type AuditEntryId = `audit_${string}`;

export interface Application {
  id: AppId;
  uid: string | null;
  name: string;
  rateLimit: number | null;
  metadata: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

/** A token in a source's ingest URL; rotated-out ones keep working until `expiresAt`. */
export interface SourceToken {
  token: string;
  expiresAt: number | null;
}

/**
 * An inbound source (Svix Ingest's): a stable URL third parties call, verified per `type` with
 * `config` (its secret, as given: the API never shows it back).
 */
export interface Source {
  id: SourceId;
  /** The hidden application whose endpoints are the source's destinations (ingest endpoints). */
  appId: AppId;
  uid: string | null;
  name: string;
  type: string;
  config: Record<string, unknown>;
  metadata: Record<string, string>;
  /** The current token first, then rotated-out ones still valid. */
  tokens: SourceToken[];
  createdAt: number;
  updatedAt: number;
}

/** What became of a request to an ingest URL. */
export type InboundStatus = "accepted" | "rejected" | "duplicate";

/** A request received at a source's ingest URL, kept byte-exact whatever became of it. */
export interface InboundRequest {
  id: InboundRequestId;
  sourceId: SourceId;
  status: InboundStatus;
  /** Why it was rejected (which check failed), or null. */
  reason: string | null;
  method: string;
  /** The path after the ingest token (usually empty) and the raw query string. */
  path: string;
  query: string;
  /**
   * Header names in lower case, as received, except the credential a `bearer`, `basic` or
   * `gitlab` source checks: its value is replaced (issue 18), so the secret is never stored,
   * listed, streamed, shown to rules or forwarded.
   */
  headers: Record<string, string>;
  /** As received; for a rejected request only its first bytes (see `bodyBytesReceived`). */
  body: Buffer;
  /** Set when `body` keeps only the first bytes of the body: how many bytes were received. */
  bodyBytesReceived?: number;
  sourceIp: string;
  /** The provider's delivery id (X-GitHub-Delivery, webhook-id, …), used to drop duplicates. */
  dedupKey: string | null;
  /**
   * The second key duplicates are dropped on: a digest of what the source's scheme verified,
   * the same when a captured request is sent again with a fresh, unsigned delivery id. Absent
   * when the source verifies nothing (generic webhooks, request bins) or the request was refused.
   */
  replayKey?: string;
  /** The provider's event type (X-GitHub-Event, the JSON body's `type`, …) if it has one. */
  eventType: string | null;
  /** For a duplicate: the accepted request it repeats. */
  duplicateOf: InboundRequestId | null;
  createdAt: number;
}

export interface EventType {
  name: string;
  description: string;
  /** Svix's shape: `{ "1": <JSON Schema>, "2": … }`, keyed by schema version. */
  schemas: Record<string, unknown> | null;
  archived: boolean;
  deprecated: boolean;
  featureFlag: string | null;
  groupName: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface EndpointSecretVersion {
  key: string;
  /** After this time the old secret no longer signs requests. */
  expiresAt: number;
}

/**
 * How Hookyard authenticates to an endpoint (issue 16). Only the parts that are not secret are
 * here; the secret itself (bearer token, basic password, OAuth 2.0 client secret) is the
 * endpoint's `authSecret`, kept apart so it can be encrypted at rest on its own.
 */
export type EndpointAuth =
  | { type: "bearer" }
  | { type: "basic"; username: string }
  | {
      /** OAuth 2.0 client credentials grant (RFC 6749 §4.4), client authenticated with Basic. */
      type: "oauth2";
      tokenUrl: string;
      clientId: string;
      scope: string | null;
      audience: string | null;
    };

/** TLS options of the connections to an endpoint (https only); the client key is `tlsClientKey`. */
export interface EndpointTls {
  /** PEM certificate (chain) Hookyard presents to the receiver (mTLS); null = none. */
  clientCert: string | null;
  /** PEM bundle the receiver's certificate must chain to, instead of the system roots. */
  ca: string | null;
}

export interface Endpoint {
  id: EndpointId;
  appId: AppId;
  uid: string | null;
  url: string;
  description: string;
  version: number;
  disabled: boolean;
  /** null = every event type. */
  filterTypes: string[] | null;
  /** null = every message; otherwise the message must carry one of these channels. */
  channels: string[] | null;
  /** Deliveries per second, enforced by the engine; null = unlimited. */
  rateLimit: number | null;
  metadata: Record<string, string>;
  headers: Record<string, string>;
  /** `whsec_…` */
  secret: string;
  /** Rotated-out secrets that still sign (both signatures are sent) until they expire. */
  previousSecrets: EndpointSecretVersion[];
  /**
   * A CEL condition over the message (`eventType`, `payload`, `channels`, `tags`); only messages
   * for which it holds are delivered. null = no payload filter.
   */
  payloadFilter: string | null;
  /** Some receivers acknowledge with 302; when true it counts as success. */
  accept302: boolean;
  /** Start of the current run of failures; null while the endpoint succeeds. */
  failingSince: number | null;
  /** null = no Authorization header of Hookyard's. */
  auth: EndpointAuth | null;
  /** Secret: the token, password or client secret `auth` needs; null exactly when `auth` is. */
  authSecret: string | null;
  tls: EndpointTls | null;
  /** Secret: the PEM private key of `tls.clientCert`; null exactly when that is. */
  tlsClientKey: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface Message {
  id: MessageId;
  appId: AppId;
  eventType: string;
  eventId: string | null;
  channels: string[] | null;
  tags: string[] | null;
  /** The exact JSON text that is delivered (and signed). */
  payload: string;
  /**
   * Set on the message that forwards a request received at an ingest URL: its bytes and headers
   * are what is delivered then (the payload holds its text for listings).
   */
  inboundRequestId: InboundRequestId | null;
  /** Scheduled delivery (Svix `deliverAt`): no attempt before this time; null = at once. */
  deliverAt: number | null;
  createdAt: number;
  /**
   * W3C `traceparent` of the span that published (or received) it, stored with it so that its
   * attempts, whenever and on whichever node they run, join that trace. Absent with tracing off.
   */
  traceparent?: string;
}

/**
 * pending → succeeded, or → retrying → … → failed (exhausted), or cancelled (endpoint deleted or
 * disabled, 410 Gone). A delivery being sent is one whose lease is held.
 */
export type DeliveryStatus = "pending" | "retrying" | "succeeded" | "failed" | "cancelled";

export interface Delivery {
  id: DeliveryId;
  msgId: MessageId;
  endpointId: EndpointId;
  appId: AppId;
  status: DeliveryStatus;
  attempts: number;
  /** When the next attempt is due; null once final. */
  nextAttemptAt: number | null;
  leaseOwner: string | null;
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export type AttemptTrigger = "scheduled" | "manual";

/**
 * Why an attempt failed without (or despite) an HTTP response; `auth`: the endpoint's
 * credentials could not be obtained (its OAuth 2.0 token endpoint failed), so nothing was sent.
 */
export const ATTEMPT_ERROR_CLASSES = [
  "timeout",
  "dns",
  "connect",
  "tls",
  "egress_blocked",
  "invalid_url",
  "http_status",
  "redirect",
  "auth",
  "network",
] as const;
export type AttemptErrorClass = (typeof ATTEMPT_ERROR_CLASSES)[number];

export interface Attempt {
  id: AttemptId;
  deliveryId: DeliveryId;
  msgId: MessageId;
  endpointId: EndpointId;
  appId: AppId;
  url: string;
  succeeded: boolean;
  /** 0 when no response arrived. */
  responseStatusCode: number;
  /** Truncated response body (UTF-8 text). */
  responseBody: string;
  responseHeaders: Record<string, string> | null;
  durationMs: number;
  errorClass: AttemptErrorClass | null;
  /** Human-readable failure detail, e.g. the socket error; null on success. */
  errorMessage: string | null;
  trigger: AttemptTrigger;
  createdAt: number;
}

export type BackgroundTaskId = `qtask_${string}`;

/** Svix's background task kinds Hookyard runs. */
export type BackgroundTaskKind =
  | "endpoint.recover"
  | "endpoint.replay"
  | "endpoint.bulk-replay"
  | "application.stats"
  | "event-type.aggregate";

export type BackgroundTaskStatus = "running" | "finished" | "failed";

/**
 * Work an API call starts and a caller polls (`GET /api/v1/background-task/{id}`): recovering or
 * replaying an endpoint's messages, aggregating statistics. `data` is the task's result.
 */
export interface BackgroundTask {
  id: BackgroundTaskId;
  task: BackgroundTaskKind;
  status: BackgroundTaskStatus;
  data: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/** Counts of deliveries of one endpoint by Svix status. */
export interface EndpointStats {
  success: number;
  pending: number;
  sending: number;
  fail: number;
  canceled: number;
}

/**
 * What a rule sees of an event: an inbound request, an outbound message, a schedule's tick or an
 * operational event, in one shape for conditions and templates (`event.payload`, `event.type`, …).
 */
export interface RuleEvent {
  kind: "inbound" | "outbound" | "schedule" | "operational";
  /** The request's (`req_…`) or message's (`msg_…`) id; a tick's or operational event's own id. */
  id: string;
  /** The inbound source's uid (else id), the message's application uid (else id), the schedule. */
  source: string;
  /** The provider's or message's event type; `schedule`, or the operational event's name. */
  type: string | null;
  /** The JSON body (or form / query parameters); the message's payload; the event's details. */
  payload: unknown;
  /** Request headers, lower case (inbound only; empty otherwise). */
  headers: Record<string, string>;
  /** The raw body as text (inbound only). */
  body: string;
  method: string | null;
  path: string | null;
  query: Record<string, string>;
  /** ISO 8601. */
  receivedAt: string;
}

export type RuleRunStatus = "queued" | "running" | "succeeded" | "failed" | "interrupted";

/** What one action of a run did. */
export interface ActionOutcome {
  /** The action's position in the rule, its id if it has one, and its type. */
  index: number;
  id: string | null;
  type: string;
  status: "succeeded" | "failed";
  /** What it produced (a command's exit code and output, a message id, variables set, …). */
  output: unknown;
  error: string | null;
  startedAt: number;
  durationMs: number;
}

/**
 * One run of a rule's actions for one event. Stored queued (with the event, in the same
 * transaction as an inbound request) before any action runs, so an accepted event's runs survive
 * a crash: a queued run whose lease expired is run by whichever process finds it; a run that was
 * running is marked interrupted (its commands may have half run), never run twice by itself.
 */
export interface RuleRun {
  id: RuleRunId;
  rule: string;
  status: RuleRunStatus;
  event: RuleEvent;
  actions: ActionOutcome[];
  /** Why the run failed (a condition that threw, an action that failed), else null. */
  error: string | null;
  owner: string | null;
  leaseUntil: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/**
 * An API key beside the admin key: for every application or one, read-write or read-only. Only
 * its SHA-256 is kept; the key itself is shown once, when it is created.
 */
export interface ApiKey {
  id: ApiKeyId;
  name: string;
  /** The key's first characters, shown to tell keys apart (not enough to use it). */
  prefix: string;
  /** Hex SHA-256 of the key. */
  hash: string;
  /** null = every application. */
  appId: AppId | null;
  readOnly: boolean;
  createdAt: number;
  /** Set once revoked: the key authenticates nothing from then on. */
  revokedAt: number | null;
}

/** One change made through the API: who, what, when. */
export interface AuditEntry {
  id: AuditEntryId;
  /** `admin`, an API key's id (`key_…`) or `portal:<app id>` (an app portal token). */
  actor: string;
  /** The API key's name, or null. */
  actorName: string | null;
  method: string;
  /** The route's pattern (`/api/v1/app/:app_id/endpoint/:endpoint_id`). */
  route: string;
  /** The path as requested (ids and uids in it), without the query. */
  path: string;
  status: number;
  /** The application the change is in, or null (event types, sources, keys, …). */
  appId: AppId | null;
  /** The object changed (its id), or null when unknown. */
  objectId: string | null;
  /** Changed fields: `{ field: { from, to } }`, secrets masked. */
  changes: Record<string, { from?: unknown; to?: unknown }>;
  requestId: string;
  ip: string;
  createdAt: number;
}
