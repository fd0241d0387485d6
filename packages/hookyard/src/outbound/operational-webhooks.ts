import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { AppId, Application, Attempt, Endpoint, InboundRequest } from "../model.js";
import type { DeliveryUpdate } from "../store/store.js";
import type { ApplicationService, MessageService } from "./services.js";

/**
 * The application that holds the operational webhook endpoints (Svix keeps them in a management
 * organisation of its own). Found by this uid, made on first use, left out of application
 * listings, and never changed or deleted through the API.
 */
export const OPERATIONAL_APP_UID = "hookyard-operational";

/** The operational events Hookyard sends (Svix's names, plus Hookyard's own last one). */
export const OPERATIONAL_EVENT_TYPES = [
  "endpoint.disabled",
  "endpoint.enabled",
  "message.attempt.exhausted",
  "message.attempt.failing",
  "message.attempt.recovered",
  "source.verification_failed",
] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

/** Svix sends `message.attempt.failing` when a message's fourth attempt to an endpoint fails. */
export const FAILING_AFTER_ATTEMPTS = 4;

/** At most one `source.verification_failed` per source in this long (per process). */
export const VERIFICATION_FAILED_INTERVAL_MS = 60_000;

/** Sources whose last event time is remembered; past it the map starts over (bounded memory). */
const MAX_TRACKED_SOURCES = 10_000;

export interface OperationalWebhooksDeps {
  applications: ApplicationService;
  messages: MessageService;
  /** The endpoints of an application as delivery sees them (the endpoint cache). */
  endpointsOf(appId: AppId): Promise<ReadonlyMap<string, Endpoint>>;
  /** The endpoint an attempt went to, for its uid; null when it is gone. */
  endpoint(appId: AppId, endpointId: string): Promise<Endpoint | null>;
  /** The message's eventId, for the attempt events; null when it has none or is gone. */
  eventIdOf(appId: AppId, msgId: string): Promise<string | null>;
  /** The source's uid, for `source.verification_failed`; null when it has none. */
  sourceUidOf(sourceId: string): Promise<string | null>;
  clock: Clock;
  logger: Logger;
}

/**
 * Operational webhooks (Svix-compatible): events about Hookyard itself — an endpoint disabled or
 * enabled, a message's attempts failing, exhausted or recovered, a source refusing a request —
 * published as messages of the operational application, so they are signed, retried, logged
 * and replayable like any message, through the one delivery engine. Nothing is stored when no
 * operational endpoint exists. An event about the operational application itself is never sent
 * (a failing operational endpoint would otherwise feed itself).
 */
export class OperationalWebhooks {
  readonly #deps: OperationalWebhooksDeps;
  #app: Promise<Application> | null = null;
  /** Per source: when its last event went out, and the refusals since then that did not. */
  readonly #sourceEvents = new Map<string, { sentAt: number; suppressed: number }>();
  readonly #pending = new Set<Promise<void>>();

  constructor(deps: OperationalWebhooksDeps) {
    this.#deps = deps;
  }

  /** The operational application, made on first use (by any process; the uid decides). */
  app(): Promise<Application> {
    this.#app ??= this.#deps.applications
      .create(
        { name: "Hookyard operational webhooks", uid: OPERATIONAL_APP_UID },
        { getIfExists: true, internal: true },
      )
      .then(
        (result) => result.app,
        (err: unknown) => {
          this.#app = null;
          throw err;
        },
      );
    return this.#app;
  }

  /** A delivery attempt finished (the engine's `attempt` event). */
  attempt(attempt: Attempt, update: DeliveryUpdate | null): void {
    // Only the retry schedule's attempts: a manual resend or replay (of a finished delivery,
    // to an endpoint that is down) neither fails nor recovers a message's delivery.
    if (update === null || attempt.trigger !== "scheduled") return;
    let type: OperationalEventType | null = null;
    if (attempt.errorClass !== null && update.status === "failed") {
      type = "message.attempt.exhausted";
    } else if (attempt.errorClass !== null && update.attempts === FAILING_AFTER_ATTEMPTS) {
      type = "message.attempt.failing";
    } else if (update.status === "succeeded" && update.attempts > FAILING_AFTER_ATTEMPTS) {
      // It had been reported failing: the fourth attempt failed before this one succeeded.
      type = "message.attempt.recovered";
    }
    if (type === null) return;
    const event = type;
    this.#track(async () => {
      if (await this.#isOperational(attempt.appId)) return;
      const [app, endpoint, eventId] = await Promise.all([
        this.#deps.applications.get(attempt.appId).catch(() => null),
        this.#deps.endpoint(attempt.appId, attempt.endpointId),
        this.#deps.eventIdOf(attempt.appId, attempt.msgId),
      ]);
      await this.#send(event, {
        appId: attempt.appId,
        appUid: app?.uid ?? null,
        msgId: attempt.msgId,
        msgEventId: eventId,
        endpointId: attempt.endpointId,
        endpointUid: endpoint?.uid ?? null,
        lastAttempt: {
          id: attempt.id,
          timestamp: new Date(attempt.createdAt).toISOString(),
          responseStatusCode: attempt.responseStatusCode,
        },
      });
    });
  }

  /** An endpoint went from enabled to disabled: by Hookyard (`automatic`) or through the API. */
  endpointDisabled(endpoint: Endpoint, trigger: "automatic" | "manual"): void {
    this.#track(async () => {
      if (await this.#isOperational(endpoint.appId)) return;
      const app = await this.#deps.applications.get(endpoint.appId).catch(() => null);
      await this.#send("endpoint.disabled", {
        appId: endpoint.appId,
        appUid: app?.uid ?? null,
        endpointId: endpoint.id,
        endpointUid: endpoint.uid,
        failSince:
          endpoint.failingSince === null ? null : new Date(endpoint.failingSince).toISOString(),
        trigger,
      });
    });
  }

  /** An endpoint went from disabled to enabled through the API. */
  endpointEnabled(endpoint: Endpoint): void {
    this.#track(async () => {
      if (await this.#isOperational(endpoint.appId)) return;
      const app = await this.#deps.applications.get(endpoint.appId).catch(() => null);
      await this.#send("endpoint.enabled", {
        appId: endpoint.appId,
        appUid: app?.uid ?? null,
        endpointId: endpoint.id,
        endpointUid: endpoint.uid,
      });
    });
  }

  /**
   * A request the receiver stored: a rejected one raises `source.verification_failed`, at most
   * once a minute per source; the next event counts the refusals that raised none.
   */
  received(request: InboundRequest): void {
    if (request.status !== "rejected") return;
    const now = this.#deps.clock.now();
    const last = this.#sourceEvents.get(request.sourceId);
    if (last !== undefined && now - last.sentAt < VERIFICATION_FAILED_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    if (this.#sourceEvents.size >= MAX_TRACKED_SOURCES) this.#sourceEvents.clear();
    this.#sourceEvents.set(request.sourceId, { sentAt: now, suppressed: 0 });
    const suppressed = last?.suppressed ?? 0;
    this.#track(async () => {
      await this.#send("source.verification_failed", {
        sourceId: request.sourceId,
        sourceUid: await this.#deps.sourceUidOf(request.sourceId),
        requestId: request.id,
        reason: request.reason,
        receivedAt: new Date(request.createdAt).toISOString(),
        failuresNotReported: suppressed,
      });
    });
  }

  /** Resolves once every event raised so far is stored (or failed and was logged). */
  async whenIdle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async #isOperational(appId: AppId): Promise<boolean> {
    if (this.#app === null) {
      // Not made yet: no operational endpoint can exist, unless another process made it.
      const app = await this.#deps.applications.get(OPERATIONAL_APP_UID).catch(() => null);
      if (app === null) return false;
      this.#app = Promise.resolve(app);
    }
    return (await this.app()).id === appId;
  }

  async #send(type: OperationalEventType, data: Record<string, unknown>): Promise<void> {
    const app = await this.#deps.applications.get(OPERATIONAL_APP_UID).catch(() => null);
    if (app === null) return;
    const endpoints = await this.#deps.endpointsOf(app.id);
    if (endpoints.size === 0) return;
    const timestamp = new Date(this.#deps.clock.now()).toISOString();
    await this.#deps.messages.create(app.id, {
      eventType: type,
      payload: { type, timestamp, data },
    });
  }

  #track(work: () => Promise<void>): void {
    const done: Promise<void> = work()
      .catch((err: unknown) =>
        this.#deps.logger.error({ err }, "an operational webhook could not be published"),
      )
      .finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }
}
