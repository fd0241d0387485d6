import type {
  Application,
  Attempt,
  BackgroundTask,
  Delivery,
  Endpoint,
  EndpointAuth,
  EndpointStats,
  EventType,
  Message,
} from "../model.js";
import type {
  ApplicationFilter,
  AttemptFilter,
  EndpointMessage,
  EndpointMessageFilter,
  IdempotencyRecord,
  MessageFilter,
  Page,
  PageRequest,
} from "../store/store.js";
import type { ImportedEventType, OpenApiSource } from "./openapi-import.js";

/**
 * What the HTTP layer may ask of the outbound domain. Inputs are already shape-checked by the
 * route schemas (types, lengths); the services check meaning (uniqueness, references, URL
 * policy, JSON Schema) and throw `HookyardError`s. Optional fields use `exactOptionalPropertyTypes`:
 * absent = "leave as is" (patch) or default (create); null = "clear".
 */

export interface ApplicationInput {
  name: string;
  uid?: string | null;
  rateLimit?: number | null;
  metadata?: Record<string, string>;
}
export type ApplicationPatch = Partial<ApplicationInput>;

export interface ApplicationService {
  list(page: PageRequest, filter?: ApplicationFilter): Promise<Page<Application>>;
  /** With `getIfExists`, an existing application with the same uid is returned (created: false). */
  create(
    input: ApplicationInput,
    /** `internal`: Hookyard's own use of a reserved uid (the operational webhooks' app). */
    opts: { getIfExists: boolean; internal?: boolean },
  ): Promise<{ app: Application; created: boolean }>;
  /** @throws NotFoundError */
  get(idOrUid: string): Promise<Application>;
  /** Full update; creates the application (uid = idOrUid unless given) when it does not exist. */
  update(idOrUid: string, input: ApplicationInput): Promise<{ app: Application; created: boolean }>;
  patch(idOrUid: string, patch: ApplicationPatch): Promise<Application>;
  delete(idOrUid: string): Promise<void>;
}

export interface EventTypeInput {
  name: string;
  description: string;
  schemas?: Record<string, unknown> | null;
  archived?: boolean;
  deprecated?: boolean;
  featureFlag?: string | null;
  groupName?: string | null;
}
export type EventTypeUpdateInput = Omit<EventTypeInput, "name">;
export type EventTypePatch = Partial<EventTypeUpdateInput>;

export interface EventTypeImportInput extends OpenApiSource {
  /** Report what would change, write nothing. */
  dryRun: boolean;
  /** Also archive every non-archived event type the document does not name. */
  replaceAll: boolean;
}

export interface EventTypeImportResult {
  /** Names written: created, updated or unarchived, then those archived by `replaceAll`. */
  modified: string[];
  /** With `dryRun`, the document's event types that an import would write; otherwise null. */
  toModify: ImportedEventType[] | null;
}

export interface EventTypeService {
  list(req: { page: PageRequest; includeArchived: boolean }): Promise<Page<EventType>>;
  /** @throws ConflictError when the name exists; ValidationError when a schema is not valid JSON Schema. */
  create(input: EventTypeInput): Promise<EventType>;
  get(name: string): Promise<EventType>;
  /** Creates the event type when it does not exist (Svix upsert semantics). */
  update(
    name: string,
    input: EventTypeUpdateInput,
  ): Promise<{ eventType: EventType; created: boolean }>;
  patch(name: string, patch: EventTypePatch): Promise<EventType>;
  /** Archives (Svix's delete); with `expunge` the row is removed. */
  delete(name: string, opts: { expunge: boolean }): Promise<void>;
  /**
   * Creates or updates (and unarchives) the event types of an OpenAPI document's webhooks
   * (Svix's import). Event types the store already holds as imported are left alone.
   * @throws ValidationError for an unreadable document, a bad name, `$ref` or JSON Schema; then
   *   nothing is written.
   */
  importOpenApi(input: EventTypeImportInput): Promise<EventTypeImportResult>;
}

export interface EndpointInput {
  url: string;
  description?: string;
  uid?: string | null;
  version?: number | null;
  disabled?: boolean;
  filterTypes?: string[] | null;
  channels?: string[] | null;
  rateLimit?: number | null;
  metadata?: Record<string, string>;
  headers?: Record<string, string> | null;
  /** `whsec_…`; generated when absent. */
  secret?: string | null;
  /** A CEL condition over the message; null = none. */
  payloadFilter?: string | null;
  accept302?: boolean;
  /** How Hookyard authenticates to the endpoint; null = not at all (endpoint-auth.ts). */
  auth?: EndpointAuthInput | null;
  /** Client certificate and CA bundle of its https connections; null = none (endpoint-tls-options.ts). */
  tls?: EndpointTlsInput | null;
}

/**
 * `auth` as given, one shape for all types (each takes only its fields); a secret left out keeps
 * the stored one of the same type.
 */
export interface EndpointAuthInput {
  type: EndpointAuth["type"];
  /** bearer */
  token?: string;
  /** basic */
  username?: string;
  password?: string;
  /** oauth2 */
  tokenUrl?: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string | null;
  audience?: string | null;
}

/** PEM texts; a `clientCert` without `clientKey` keeps the stored key. */
export interface EndpointTlsInput {
  clientCert?: string | null;
  clientKey?: string | null;
  ca?: string | null;
}
export type EndpointUpdateInput = Omit<EndpointInput, "secret" | "headers">;
export type EndpointPatch = Partial<Omit<EndpointInput, "headers">>;

export interface EndpointHeaders {
  headers: Record<string, string>;
  /** Names whose values are hidden in responses (authorization-like headers). */
  sensitive: string[];
}

export interface EndpointService {
  list(appIdOrUid: string, page: PageRequest): Promise<Page<Endpoint>>;
  /** @throws ValidationError naming `url` when the URL is not http(s) or is refused by the egress guard. */
  create(appIdOrUid: string, input: EndpointInput): Promise<Endpoint>;
  get(appIdOrUid: string, endpointIdOrUid: string): Promise<Endpoint>;
  update(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: EndpointUpdateInput,
  ): Promise<{ endpoint: Endpoint; created: boolean }>;
  patch(appIdOrUid: string, endpointIdOrUid: string, patch: EndpointPatch): Promise<Endpoint>;
  delete(appIdOrUid: string, endpointIdOrUid: string): Promise<void>;
  getSecret(appIdOrUid: string, endpointIdOrUid: string): Promise<string>;
  /** The current secret keeps signing for the grace period (default 24 h). */
  rotateSecret(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: { key?: string | null; gracePeriodSeconds?: number | null },
  ): Promise<void>;
  getHeaders(appIdOrUid: string, endpointIdOrUid: string): Promise<EndpointHeaders>;
  setHeaders(
    appIdOrUid: string,
    endpointIdOrUid: string,
    headers: Record<string, string>,
  ): Promise<void>;
  patchHeaders(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: { headers: Record<string, string>; deleteHeaders?: string[] },
  ): Promise<void>;
  /** Publishes an example message of the event type (from its schema's `examples`) to this endpoint only. */
  sendExample(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: { eventType: string; exampleIndex?: number },
  ): Promise<Message>;
  stats(
    appIdOrUid: string,
    endpointIdOrUid: string,
    range: { since?: number; until?: number },
  ): Promise<EndpointStats>;
}

export interface MessageInput {
  eventType: string;
  /** Any JSON value is accepted only as an object, as in Svix. */
  payload: Record<string, unknown>;
  eventId?: string | null;
  channels?: string[] | null;
  tags?: string[] | null;
  /** Scheduled delivery (epoch ms, at most 24 h ahead); null or past = at once. */
  deliverAt?: number | null;
  /** Svix lets `message.create` create the application on the fly. */
  application?: ApplicationInput | null;
  /**
   * The publishing request's span (tracing on), stored with the message for its attempts. Set
   * by the HTTP layer, never from the body (MessageIn has no such field).
   */
  traceparent?: string;
}

export interface MessageService {
  /**
   * Validates, stores the message and one delivery per matching endpoint, commits, then hands the
   * deliveries to the engine. A repeated eventId (24 h) returns the first message, created: false.
   */
  create(appIdOrUid: string, input: MessageInput): Promise<{ message: Message; created: boolean }>;
  list(
    appIdOrUid: string,
    filter: Omit<MessageFilter, "inboundRequestId">,
    page: PageRequest,
  ): Promise<Page<Message>>;
  get(appIdOrUid: string, msgId: string): Promise<Message>;
  /** Whether any enabled endpoint takes a message of this type and channels. */
  precheck(
    appIdOrUid: string,
    input: { eventType: string; channels?: string[] | null },
  ): Promise<boolean>;
  /** Removes the payload for good; the message stays, its open deliveries are cancelled. */
  expungeContent(appIdOrUid: string, msgId: string): Promise<void>;
}

/** A message's delivery to one endpoint, for "attempted destinations". */
export interface Destination {
  endpoint: Endpoint;
  delivery: Delivery;
}

export interface AttemptService {
  listByMessage(
    appIdOrUid: string,
    msgId: string,
    filter: Omit<AttemptFilter, "endpointId"> & { endpointId?: string },
    page: PageRequest,
  ): Promise<Page<Attempt>>;
  listByEndpoint(
    appIdOrUid: string,
    endpointIdOrUid: string,
    filter: Omit<AttemptFilter, "endpointId">,
    page: PageRequest,
  ): Promise<Page<Attempt>>;
  get(appIdOrUid: string, msgId: string, attemptId: string): Promise<Attempt>;
  listDestinations(
    appIdOrUid: string,
    msgId: string,
    page: PageRequest,
  ): Promise<Page<Destination>>;
  listEndpointMessages(
    appIdOrUid: string,
    endpointIdOrUid: string,
    filter: EndpointMessageFilter,
    page: PageRequest,
  ): Promise<Page<EndpointMessage>>;
  /**
   * One manual attempt of the message to the endpoint, never rescheduled.
   * @throws MissingPayloadError when the message's payload was expunged.
   */
  resend(appIdOrUid: string, msgId: string, endpointIdOrUid: string): Promise<void>;
  /** Replaces the attempt's response body with `EXPUNGED`; the attempt stays. */
  expungeContent(appIdOrUid: string, msgId: string, attemptId: string): Promise<void>;
}

export interface IdempotencyService {
  get(key: string): Promise<IdempotencyRecord | null>;
  put(key: string, statusCode: number, body: string): Promise<void>;
}

export interface AuthService {
  /** True when `token` is the admin API key (compared by hash, constant time). */
  verify(token: string): boolean;
}

/** A time window: [since, until ?? now). */
export interface TimeWindow {
  since: number;
  until?: number | null;
}

/** What `endpoint.bulk-replay` replays: the endpoint's messages of a window, filtered. */
export type BulkReplayInput = TimeWindow &
  Pick<EndpointMessageFilter, "eventTypes" | "channel" | "tag" | "statuses" | "statusCodeClass">;

/**
 * Sending an endpoint's messages again, as background tasks (Svix's recover, replay-missing and
 * bulk-replay): the endpoint and window are checked at once (404, 422), the work runs after.
 */
export interface EndpointReplayService {
  /** Re-sends every message whose delivery to the endpoint failed in the window. */
  recover(appIdOrUid: string, endpointIdOrUid: string, input: TimeWindow): Promise<BackgroundTask>;
  /** Sends the endpoint the messages of the window it never got and its filters take. */
  replayMissing(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: TimeWindow,
  ): Promise<BackgroundTask>;
  /** One manual attempt of each message of the window sent to the endpoint, filtered. */
  bulkReplay(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: BulkReplayInput,
  ): Promise<BackgroundTask>;
}

/** Everything the HTTP layer is given by the composition root. */
export interface OutboundServices {
  applications: ApplicationService;
  eventTypes: EventTypeService;
  endpoints: EndpointService;
  replays: EndpointReplayService;
  messages: MessageService;
  attempts: AttemptService;
  idempotency: IdempotencyService;
  auth: AuthService;
}
