import { TimeSortableIds, type IdPrefix } from "../../src/ids.js";
import type {
  AppId,
  Application,
  Attempt,
  Delivery,
  DeliveryId,
  Endpoint,
  EventType,
  InboundRequest,
  Message,
  Source,
} from "../../src/model.js";
import type { Store } from "../../src/store/store.js";

/** 2025-01-01T00:00:00Z, the default start of seeded time. */
export const SEED_EPOCH = Date.UTC(2025, 0, 1);

/**
 * Factories for valid domain objects. Every id and `createdAt` comes from one counter that moves
 * by 1 ms per object, so objects made later have larger ids and later times: listings then have
 * a known order without sleeping. Overrides replace fields as given.
 */
export class Seed {
  #tick: number;
  readonly #ids: TimeSortableIds;

  constructor(opts: { startAt?: number } = {}) {
    this.#tick = opts.startAt ?? SEED_EPOCH;
    this.#ids = new TimeSortableIds({ now: () => this.#tick });
  }

  /** The time the next object gets (and then moves on by 1 ms). */
  #next(): number {
    return this.#tick++;
  }

  id<P extends IdPrefix>(prefix: P): `${P}_${string}` {
    const id = this.#ids.next(prefix);
    this.#tick++;
    return id;
  }

  /** A github source with one current ingest token. */
  source(overrides: Partial<Source> = {}): Source {
    const at = this.#next();
    const id = this.#ids.next("src");
    return {
      id,
      appId: this.#ids.next("app"),
      uid: null,
      name: `source ${at}`,
      type: "github",
      config: { secret: "It's a Secret to Everybody" },
      metadata: {},
      tokens: [{ token: `tok_${id}`, expiresAt: null }],
      createdAt: at,
      updatedAt: at,
      ...overrides,
    };
  }

  /** An accepted GitHub-like request received by `source`. */
  inboundRequest(source: Source, overrides: Partial<InboundRequest> = {}): InboundRequest {
    const at = this.#next();
    return {
      id: this.#ids.next("req"),
      sourceId: source.id,
      status: "accepted",
      reason: null,
      method: "POST",
      path: "",
      query: "",
      headers: { "content-type": "application/json", "x-github-event": "push" },
      body: Buffer.from('{"ref":"refs/heads/main"}'),
      sourceIp: "127.0.0.1",
      dedupKey: `delivery-${at}`,
      eventType: "push",
      duplicateOf: null,
      createdAt: at,
      ...overrides,
    };
  }

  application(overrides: Partial<Application> = {}): Application {
    const at = this.#next();
    return {
      id: this.#ids.next("app"),
      uid: null,
      name: `app ${at}`,
      rateLimit: null,
      metadata: {},
      createdAt: at,
      updatedAt: at,
      ...overrides,
    };
  }

  eventType(overrides: Partial<EventType> = {}): EventType {
    const at = this.#next();
    return {
      name: `invoice.e${at}`,
      description: "An invoice event",
      schemas: null,
      archived: false,
      deprecated: false,
      featureFlag: null,
      groupName: null,
      createdAt: at,
      updatedAt: at,
      ...overrides,
    };
  }

  endpoint(app: Application | AppId, overrides: Partial<Endpoint> = {}): Endpoint {
    const at = this.#next();
    return {
      id: this.#ids.next("ep"),
      appId: typeof app === "string" ? app : app.id,
      uid: null,
      url: "https://receiver.example.com/hooks",
      description: "",
      version: 1,
      disabled: false,
      filterTypes: null,
      channels: null,
      rateLimit: null,
      metadata: {},
      headers: {},
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      previousSecrets: [],
      payloadFilter: null,
      accept302: false,
      failingSince: null,
      auth: null,
      authSecret: null,
      tls: null,
      tlsClientKey: null,
      createdAt: at,
      updatedAt: at,
      ...overrides,
    };
  }

  message(app: Application | AppId, overrides: Partial<Message> = {}): Message {
    const at = this.#next();
    return {
      id: this.#ids.next("msg"),
      appId: typeof app === "string" ? app : app.id,
      eventType: "invoice.paid",
      eventId: null,
      channels: null,
      tags: null,
      payload: JSON.stringify({ invoice: `in_${at}` }),
      inboundRequestId: null,
      deliverAt: null,
      createdAt: at,
      ...overrides,
    };
  }

  /** A pending delivery due at its creation time, unleased. */
  delivery(message: Message, endpoint: Endpoint, overrides: Partial<Delivery> = {}): Delivery {
    const at = this.#next();
    return {
      id: this.#ids.next("dlv"),
      msgId: message.id,
      endpointId: endpoint.id,
      appId: message.appId,
      status: "pending",
      attempts: 0,
      nextAttemptAt: at,
      leaseOwner: null,
      leaseUntil: null,
      createdAt: at,
      updatedAt: at,
      ...overrides,
    };
  }

  /** A successful 200 attempt of the delivery. */
  attempt(delivery: Delivery, overrides: Partial<Attempt> = {}): Attempt {
    const at = this.#next();
    return {
      id: this.#ids.next("atmpt"),
      deliveryId: delivery.id,
      msgId: delivery.msgId,
      endpointId: delivery.endpointId,
      appId: delivery.appId,
      url: "https://receiver.example.com/hooks",
      succeeded: true,
      responseStatusCode: 200,
      responseBody: "ok",
      responseHeaders: { "content-type": "text/plain" },
      durationMs: 12,
      errorClass: null,
      errorMessage: null,
      trigger: "scheduled",
      createdAt: at,
      ...overrides,
    };
  }
}

/** An application with one endpoint, both stored. */
export async function seedAppWithEndpoint(
  store: Store,
  seed: Seed,
): Promise<{ app: Application; endpoint: Endpoint }> {
  const app = seed.application();
  await store.insertApplication(app);
  const endpoint = seed.endpoint(app);
  await store.insertEndpoint(endpoint);
  return { app, endpoint };
}

/**
 * Stores an application, an endpoint, a message and one pending delivery due at `dueAt`
 * (STYLE's leasing example). Returns the delivery id.
 */
export async function seedDelivery(
  store: Store,
  opts: { dueAt: number; seed?: Seed },
): Promise<DeliveryId> {
  const seed = opts.seed ?? new Seed();
  const { app, endpoint } = await seedAppWithEndpoint(store, seed);
  const message = seed.message(app);
  const delivery = seed.delivery(message, endpoint, { nextAttemptAt: opts.dueAt });
  await store.createMessage({ message, deliveries: [delivery], eventIdSince: 0 });
  return delivery.id;
}
