import type { Clock } from "../clock.js";
import type { DeliveryEngine } from "../delivery/engine.js";
import { newLeasedDeliveries } from "../delivery/new-deliveries.js";
import { NotFoundError, PayloadTooLargeError, ValidationError } from "../errors.js";
import type { IdGenerator } from "../ids.js";
import type {
  AppId,
  Application,
  Endpoint,
  InboundRequestId,
  Message,
  MessageId,
  RuleRun,
} from "../model.js";
import type { MessageFilter, Page, PageRequest, Store } from "../store/store.js";
import type { Applications } from "./applications.js";
import type { EndpointCache } from "./endpoint-cache.js";
import { endpointAccepts } from "./endpoint-filter.js";
import type { EventTypes } from "./event-types.js";
import type { PayloadFilters, PayloadFilterScope } from "./payload-filter.js";
import type { PayloadSchemas } from "./payload-schemas.js";
import type { MessageInput, MessageService } from "./services.js";

/** Svix: the same eventId within this window returns the first message instead of a new one. */
export const EVENT_ID_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Svix: a scheduled message (`deliverAt`) is delivered at most this far ahead. */
const MAX_DELIVER_AHEAD_MS = 24 * 60 * 60 * 1000;

export interface MessagesDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  applications: Applications;
  eventTypes: EventTypes;
  schemas: PayloadSchemas;
  endpoints: EndpointCache;
  /** Endpoints' payload filters, compiled once per distinct text. */
  payloadFilters: PayloadFilters;
  engine: DeliveryEngine;
  maxPayloadBytes: number;
  leaseMs: number;
}

export class Messages implements MessageService {
  readonly #deps: MessagesDeps;

  constructor(deps: MessagesDeps) {
    this.#deps = deps;
  }

  async create(
    appIdOrUid: string,
    input: MessageInput,
  ): Promise<{ message: Message; created: boolean }> {
    const { applications, eventTypes, schemas, endpoints } = this.#deps;
    // Checked before anything is written (an inline application is created below).
    if (
      input.deliverAt != null &&
      input.deliverAt > this.#deps.clock.now() + MAX_DELIVER_AHEAD_MS
    ) {
      throw ValidationError.field(
        ["body", "deliverAt"],
        "must be at most 24 hours ahead (Svix's limit); an earlier or past time delivers at once",
      );
    }
    const app =
      input.application == null
        ? await applications.get(appIdOrUid)
        : (
            await applications.create(
              { ...input.application, uid: input.application.uid ?? appIdOrUid },
              { getIfExists: true },
            )
          ).app;
    const eventType = await eventTypes.find(input.eventType);
    if (eventType !== null) schemas.validate(eventType, input.payload);
    const all = await endpoints.forApp(app.id);
    const channels = input.channels ?? null;
    const targets: Endpoint[] = [];
    // Made for the first endpoint with a payload filter, then shared: most messages need none.
    let filterScope: PayloadFilterScope | undefined;
    for (const endpoint of all.values()) {
      if (!endpointAccepts(endpoint, { eventType: input.eventType, channels })) continue;
      if (endpoint.payloadFilter !== null) {
        filterScope ??= {
          eventType: input.eventType,
          payload: input.payload,
          channels: channels ?? [],
          tags: input.tags ?? [],
        };
        if (!this.#deps.payloadFilters.matches(endpoint, filterScope)) continue;
      }
      targets.push(endpoint);
    }
    const rules = this.rules;
    let runs: readonly RuleRun[] = [];
    const published = await this.publish(
      app.id,
      input,
      targets,
      rules === null ? undefined : (message) => (runs = rules.plan(message, app)),
    );
    if (published.created && runs.length > 0) rules?.start(runs);
    return published;
  }

  /**
   * The rules that listen to messages created through the API: their runs are planned before the
   * message is stored, stored with it, and started once it is committed.
   */
  rules: {
    plan(message: Message, app: Application): readonly RuleRun[];
    start(runs: readonly RuleRun[]): void;
  } | null = null;

  /**
   * Stores the message with one delivery per target endpoint, commits, then hands the deliveries
   * to the engine (already leased to it, so no database poll is needed to start sending).
   */
  async publish(
    appId: AppId,
    input: Pick<
      MessageInput,
      "eventType" | "payload" | "eventId" | "channels" | "tags" | "traceparent"
    > & {
      /** Scheduled delivery: the deliveries wait in the store, unleased, until this time. */
      deliverAt?: number | null;
      /** The message forwards this received request's bytes (a rule's forward of it). */
      inboundRequestId?: InboundRequestId;
    },
    targets: readonly Endpoint[],
    /** The rule runs the message starts, stored with it (see `rules`). */
    planRuns?: (message: Message) => readonly RuleRun[],
  ): Promise<{ message: Message; created: boolean }> {
    const { store, clock, ids, engine, maxPayloadBytes, leaseMs } = this.#deps;
    const payload = serializePayload(input.payload);
    if (payload.length > maxPayloadBytes && Buffer.byteLength(payload) > maxPayloadBytes) {
      throw new PayloadTooLargeError(`The payload is larger than ${maxPayloadBytes} bytes`);
    }
    const now = clock.now();
    const message: Message = {
      id: ids.next("msg"),
      appId,
      eventType: input.eventType,
      eventId: input.eventId ?? null,
      channels: input.channels ?? null,
      tags: input.tags ?? null,
      payload,
      inboundRequestId: input.inboundRequestId ?? null,
      deliverAt: input.deliverAt ?? null,
      createdAt: now,
    };
    if (input.traceparent !== undefined) message.traceparent = input.traceparent;
    const deliverAt =
      message.deliverAt !== null && message.deliverAt > now ? message.deliverAt : null;
    const deliveries = newLeasedDeliveries({
      message,
      targets,
      ids,
      owner: engine.owner,
      now,
      leaseMs,
    });
    if (deliverAt !== null) {
      // Left in the store, unleased, until they are due: any process's sweep takes them then.
      for (const d of deliveries) {
        d.nextAttemptAt = deliverAt;
        d.leaseOwner = null;
        d.leaseUntil = null;
      }
    }
    const result = await store.createMessage({
      message,
      deliveries,
      eventIdSince: now - EVENT_ID_WINDOW_MS,
      ...(planRuns !== undefined && { ruleRuns: planRuns(message) }),
    });
    if (!result.created) return { message: result.message, created: false };
    if (deliveries.length > 0) {
      if (deliverAt !== null) engine.wake(deliverAt);
      else engine.enqueue(deliveries.map((delivery) => ({ delivery, message })));
    }
    return { message, created: true };
  }

  async list(
    appIdOrUid: string,
    filter: Omit<MessageFilter, "inboundRequestId">,
    page: PageRequest,
  ): Promise<Page<Message>> {
    const app = await this.#deps.applications.get(appIdOrUid);
    return this.#deps.store.listMessages(app.id, filter, page);
  }

  /** Whether a message of this type and channels would go to any endpoint (Svix's precheck). */
  async precheck(
    appIdOrUid: string,
    input: { eventType: string; channels?: string[] | null },
  ): Promise<boolean> {
    const app = await this.#deps.applications.get(appIdOrUid);
    const message = { eventType: input.eventType, channels: input.channels ?? null };
    // A payload filter cannot be judged without a payload: such an endpoint may take it.
    for (const endpoint of (await this.#deps.endpoints.forApp(app.id)).values()) {
      if (endpointAccepts(endpoint, message)) return true;
    }
    return false;
  }

  /**
   * Removes the message's payload for good; its open deliveries are cancelled (the copies this
   * process holds too), and it can no longer be resent, recovered or replayed.
   */
  async expungeContent(appIdOrUid: string, msgId: string): Promise<void> {
    const message = await this.get(appIdOrUid, msgId);
    const { store, clock, engine } = this.#deps;
    if (!(await store.expungeMessageContent(message.appId, message.id, clock.now()))) {
      throw new NotFoundError(`Message "${msgId}" not found`);
    }
    engine.expunged(message.id);
  }

  async get(appIdOrUid: string, msgId: string): Promise<Message> {
    const app = await this.#deps.applications.get(appIdOrUid);
    const message = msgId.startsWith("msg_")
      ? await this.#deps.store.getMessage(app.id, msgId as MessageId)
      : null;
    if (message === null) throw new NotFoundError(`Message "${msgId}" not found`);
    return message;
  }
}

/** JSON text of a payload; a payload nested deeper than the JSON engine can walk is refused. */
function serializePayload(payload: Record<string, unknown>): string {
  try {
    return JSON.stringify(payload);
  } catch (err) {
    if (err instanceof RangeError) {
      throw ValidationError.field(
        ["body", "payload"],
        "is nested too deeply",
        "value_error.too_deep",
      );
    }
    throw err;
  }
}
