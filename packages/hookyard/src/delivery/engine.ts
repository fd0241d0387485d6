import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { Clock, Timer } from "../clock.js";
import { ConflictError, ServiceUnavailableError } from "../errors.js";
import type { IdGenerator } from "../ids.js";
import type {
  Attempt,
  AttemptTrigger,
  Delivery,
  DeliveryId,
  Endpoint,
  EndpointId,
  InboundRequest,
  Message,
  MessageId,
} from "../model.js";
import { SigningKeys } from "../signing/standard-webhooks.js";
import type { DeliveryUpdate, LeasedDelivery, Store } from "../store/store.js";
import { decideAfterAttempt } from "./attempt-decision.js";
import type { AttemptTracer } from "./attempt-tracer.js";
import { EndpointEgress } from "./endpoint-egress.js";
import { outgoingRequest } from "./outgoing-request.js";
import type { SendOutcome, SendRequest } from "./http-sender.js";
import { TimerQueue } from "./timer-queue.js";

/** The engine's view of endpoints: the consumer owns the seam (outbound/endpoint-cache.ts implements it). */
export interface EndpointSource {
  get(appId: Endpoint["appId"], endpointId: Endpoint["id"]): Promise<Endpoint | null>;
  /** Tracks continuous failure; disables the endpoint once it has failed for the configured time. */
  recordHealth(endpoint: Endpoint, succeeded: boolean): Promise<void>;
  /** Disables the endpoint at once (410 Gone) and cancels its open deliveries. */
  disable(endpoint: Endpoint, reason: string): Promise<void>;
}

/**
 * Per-endpoint rate-limit slots (`rateLimit`, deliveries per second): in memory for one process
 * (rate-limiter.ts), in the database when several processes share the endpoints (PostgreSQL).
 */
export interface RateSlots {
  /** Reserves the next slot of `key`; resolves with the ms to wait before using it (0 = now). */
  reserve(key: string, perSecond: number): number | Promise<number>;
  /** Gives back a reserved slot that will not be used. */
  refund(key: string, perSecond: number): void | Promise<void>;
}

export interface Sender {
  send(req: SendRequest): Promise<SendOutcome>;
  close(): Promise<void>;
}

export interface DeliveryEngineConfig {
  retryScheduleMs: readonly number[];
  /** Attempts in flight at once. */
  concurrency: number;
  /**
   * Attempts in flight at once to one endpoint: its connection pool's size. More would only queue
   * inside the HTTP client, which costs CPU per queued request (measured ≈ 10 % per message).
   */
  perEndpointConcurrency: number;
  leaseMs: number;
  /** How often to look for due deliveries not held in memory (after a restart, other nodes). */
  sweepIntervalMs: number;
  /**
   * Retries (and rate-limit waits) due within this horizon wait in memory, leased to this
   * process; later ones go back to the store unleased, so a dead endpoint's backlog never has to
   * fit in memory, and a sweep armed for their due time takes them up again.
   */
  holdInMemoryMs: number;
  /**
   * Bytes (payloads, plus a fixed cost per item) that retries and rate-limit waits may hold in
   * memory at once. Past it a retry goes back to the store like a later one, so a dead
   * endpoint's backlog costs memory bounded by this, whatever the rate it is published at.
   */
  holdInMemoryBytes?: number;
  /**
   * Deliveries that may wait here for a busy endpoint's connections. Past it more go back to the
   * store (due as they were) and the sweep leaves that endpoint alone until half have gone, so a
   * burst to a slow or dead endpoint waits on disk, not in memory.
   */
  maxParkedPerEndpoint?: number;
  userAgent: string;
  /** Upper bound for `close()` to wait for attempts in flight. */
  closeTimeoutMs: number;
}

export interface DeliveryEngineDeps {
  store: Store;
  sender: Sender;
  endpoints: EndpointSource;
  rateLimiter: RateSlots;
  clock: Clock;
  random: () => number;
  ids: IdGenerator;
  logger: Logger;
  /** This process's lease owner id. */
  owner: string;
  config: DeliveryEngineConfig;
  /** Tracing on: each attempt is a span, and its request carries that span's traceparent. */
  tracer?: AttemptTracer;
}

interface WorkItem {
  delivery: Delivery;
  /** Counted against `holdInMemoryBytes` while it waits in the retry queue. */
  waitingBytes?: number;
  message: Message;
  /** See `LeasedDelivery.received`. */
  received?: InboundRequest;
  trigger: AttemptTrigger;
  /** The rate limiter already reserved this item's slot; it waited for it and may go now. */
  slotReserved?: boolean;
  /** Its lease went to another process while it waited here: never attempt it. */
  lost?: boolean;
  /** A manual attempt that still waits for the endpoint's rate limit (a bulk replay's). */
  throttled?: boolean;
}

/** Bytes of received requests' bodies held in memory for their first attempt (see enqueue). */
const MAX_RECEIVED_BYTES_HELD = 64 * 1024 * 1024;

/** Default of `holdInMemoryBytes`: ≈ 8,000 waiting retries of 1 KiB payloads. */
const DEFAULT_HOLD_IN_MEMORY_BYTES = 16 * 1024 * 1024;
/** What a waiting item costs beside its payload (its objects, ids, headers; measured ≈ 1 KB). */
const WAITING_ITEM_BYTES = 1024;

/** Default of `maxParkedPerEndpoint`. */
const DEFAULT_MAX_PARKED_PER_ENDPOINT = 1_000;

/** Expunged message ids remembered, so a copy read before the expunge is never sent. */
const EXPUNGED_IDS_KEPT = 10_000;

/** Events, for tests and metrics. */
export interface DeliveryEngineEvents {
  /** The attempt and the delivery's new state; null when another process had taken it over. */
  attempt: [attempt: Attempt, delivery: DeliveryUpdate | null];
  /** An attempt could not be stored yet (the database is away); it is tried again. */
  unrecorded: [attempt: Attempt, err: unknown];
}

/**
 * The one delivery engine (DESIGN principle 1). Work arrives three ways: deliveries this process
 * just committed (`enqueue`, no database round trip), retries this process scheduled (a timer
 * queue in memory, lease held until the retry is due), and a periodic sweep that leases due
 * deliveries nobody holds (a previous run that crashed, deliveries created elsewhere).
 * Each attempt and the delivery's new state are committed together before the next step.
 */
export class DeliveryEngine extends EventEmitter<DeliveryEngineEvents> {
  readonly owner: string;
  readonly #deps: DeliveryEngineDeps;
  readonly #log: Logger;
  readonly #ready: WorkItem[] = [];
  readonly #held = new Map<DeliveryId, WorkItem>();
  /** Bytes of the received requests items hold (see enqueue). */
  #receivedBytes = 0;
  /** How many held items carry each received request (its body counted once). */
  readonly #receivedRefs = new Map<InboundRequest["id"], number>();
  /** Manual resends asked for while the delivery was ready or in flight. */
  readonly #resendAfter = new Set<DeliveryId>();
  /** Recently expunged messages (insertion order, bounded): see `expunged`. */
  readonly #expunged = new Set<MessageId>();
  readonly #retries: TimerQueue<WorkItem>;
  /** Bytes of the items waiting in `#retries` (see `holdInMemoryBytes`). */
  #waitingBytes = 0;
  readonly #keys = new SigningKeys();
  /** The sender, with each endpoint's auth and TLS options applied. */
  readonly #egress: EndpointEgress;
  #readyHead = 0;
  /** Requests being sent (bounded by `concurrency`, and per endpoint by its pool). */
  #inFlight = 0;
  /** Deliveries whose attempt started and is not yet recorded; `close()` waits for them. */
  readonly #active = new Set<DeliveryId>();
  readonly #inFlightByEndpoint = new Map<EndpointId, number>();
  /** Ready items whose endpoint is at its concurrency, in arrival order, per endpoint. */
  readonly #parked = new Map<EndpointId, WorkItem[]>();
  /** Endpoints whose parked queue overflowed to the store: the sweep skips them until it drains. */
  readonly #saturated = new Set<EndpointId>();
  /** Overflows so far (the sweep stops taking rounds once one happens during it). */
  #overflows = 0;
  /** Hand-backs of overflowed deliveries still being written; close() waits for them. */
  readonly #handingBack = new Set<Promise<void>>();
  #sweepTimer: Timer | null = null;
  #sweepAt = Infinity;
  #sweeping = false;
  #sweepAgain = false;
  #renewTimer: Timer | null = null;
  #closed = false;
  #idle: (() => void) | null = null;

  constructor(deps: DeliveryEngineDeps) {
    super();
    this.#deps = deps;
    this.owner = deps.owner;
    this.#log = deps.logger.child({ component: "delivery-engine" });
    this.#egress = new EndpointEgress({
      sender: deps.sender,
      clock: deps.clock,
      userAgent: deps.config.userAgent,
    });
    this.#retries = new TimerQueue<WorkItem>({
      clock: deps.clock,
      onDue: (items) => {
        for (const item of items) {
          this.#stopWaiting(item);
          this.#ready.push(item);
        }
        this.#pump();
      },
    });
  }

  /** Starts sweeping. With `takeOverLeases` (single-process SQLite), leases of a previous run are freed first. */
  async start(opts: { takeOverLeases: boolean }): Promise<void> {
    if (opts.takeOverLeases) {
      const freed = await this.#deps.store.releaseForeignLeases(this.owner);
      if (freed > 0) this.#log.info({ freed }, "took over deliveries leased by a previous run");
    }
    await this.#sweep();
  }

  /**
   * Another process left deliveries unleased that fall due at `at` (it shut down, or a retry went
   * back to the store): sweep for them then instead of at the next periodic sweep.
   */
  wake(at: number): void {
    this.#armSweep(at);
  }

  /**
   * The message's payload was expunged (its open deliveries are cancelled in the store): the
   * copies this process holds must not send it either, so they are dropped when their turn comes.
   */
  expunged(msgId: MessageId): void {
    // Also remembered: a recover or replay may have read the message just before the expunge
    // and hand it over just after.
    this.#expunged.add(msgId);
    if (this.#expunged.size > EXPUNGED_IDS_KEPT) {
      this.#expunged.delete(this.#expunged.values().next().value!);
    }
    for (const item of this.#held.values()) {
      if (item.message.id === msgId) item.message = { ...item.message, payload: "" };
    }
  }

  /** Stops holding a delivery (done, handed back, lost, cancelled). */
  #unhold(id: DeliveryId): void {
    const item = this.#held.get(id);
    if (item !== undefined) this.#dropReceived(item);
    this.#held.delete(id);
  }

  /**
   * Counts a received request's body once however many deliveries carry it (one per
   * destination); false when it would pass the budget.
   */
  #holdReceived(received: InboundRequest): boolean {
    const refs = this.#receivedRefs.get(received.id);
    if (refs !== undefined) {
      this.#receivedRefs.set(received.id, refs + 1);
      return true;
    }
    if (this.#receivedBytes + received.body.length > MAX_RECEIVED_BYTES_HELD) return false;
    this.#receivedBytes += received.body.length;
    this.#receivedRefs.set(received.id, 1);
    return true;
  }

  #dropReceived(item: WorkItem): void {
    const { received } = item;
    if (received === undefined) return;
    delete item.received;
    const refs = this.#receivedRefs.get(received.id);
    if (refs === undefined) return; // counted before a close forgot them all
    if (refs > 1) {
      this.#receivedRefs.set(received.id, refs - 1);
      return;
    }
    this.#receivedRefs.delete(received.id);
    this.#receivedBytes -= received.body.length;
  }

  /** Number of deliveries this process holds (ready, in flight or waiting for a retry). */
  get heldCount(): number {
    return this.#held.size;
  }

  /** Deliveries this process has just committed with itself as lease owner. */
  enqueue(items: readonly LeasedDelivery[], trigger: AttemptTrigger = "scheduled"): void {
    if (this.#closed) return; // still durable: leases expire and the next start sweeps them
    for (const { delivery, message, received } of items) {
      if (this.#held.has(delivery.id)) continue;
      // A received request's bytes ride along so the first attempt needs no read; past the
      // budget they stay in the store only, and the attempt reads them there.
      const keep = received !== undefined && this.#holdReceived(received);
      const item: WorkItem = { delivery, message, trigger, ...(keep && { received }) };
      this.#held.set(delivery.id, item);
      this.#ready.push(item);
    }
    this.#armRenewal();
    this.#pump();
  }

  /**
   * One manual attempt (Svix "resend"), never rescheduled on failure. If the delivery waits for a
   * retry here it is attempted now; if it is ready or in flight, the manual attempt follows it.
   */
  resend(delivery: Delivery, message: Message, opts: { throttled?: boolean } = {}): void {
    if (this.#closed) return;
    const held = this.#held.get(delivery.id);
    if (held === undefined) {
      const item: WorkItem = {
        delivery,
        message,
        trigger: "manual",
        ...(opts.throttled === true && { throttled: true }),
      };
      this.#held.set(delivery.id, item);
      this.#ready.push(item);
      this.#armRenewal();
    } else if (this.#retries.remove((i) => i === held) !== undefined) {
      this.#stopWaiting(held);
      held.trigger = "manual";
      this.#ready.push(held);
    } else {
      this.#resendAfter.add(delivery.id);
    }
    this.#pump();
  }

  /**
   * Stops taking work, waits (bounded) for attempts in flight, hands every delivery it still
   * holds back to the store unleased (so another process takes it at its due time instead of
   * after the lease), and closes the sender. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweepTimer?.cancel();
    this.#renewTimer?.cancel();
    this.#retries.close();
    this.#waitingBytes = 0;
    if (this.#active.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.#deps.clock.setTimer(this.#deps.config.closeTimeoutMs, resolve);
        this.#idle = () => {
          timer.cancel();
          resolve();
        };
      });
    }
    await Promise.all(this.#handingBack);
    await this.#releaseHeld();
    await this.#deps.sender.close();
  }

  async #releaseHeld(): Promise<void> {
    // Attempts still in flight after the bound keep their lease: they may yet be recorded.
    const updates: DeliveryUpdate[] = [];
    const now = this.#deps.clock.now();
    for (const { delivery } of this.#held.values()) {
      if (!this.#active.has(delivery.id)) updates.push(unleased(delivery, now, this.owner));
    }
    this.#held.clear();
    this.#receivedBytes = 0;
    this.#receivedRefs.clear();
    await this.#handBack(updates);
  }

  async #handBack(updates: readonly DeliveryUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    try {
      await this.#deps.store.updateDeliveries([...updates]);
      this.#log.info({ released: updates.length }, "handed held deliveries back to the store");
    } catch (err) {
      // Nothing is lost: their leases expire and a sweep (here or elsewhere) takes them then.
      this.#log.warn({ err, held: updates.length }, "could not hand held deliveries back");
    }
  }

  /**
   * Leases last `leaseMs`; a delivery may wait here longer (a backlog behind a slow endpoint, a
   * rate-limit wait). While anything is held, every third of a lease the leases that would run
   * out within half a lease are extended; one that another process took meanwhile (it expired
   * first, e.g. the event loop was stalled) is dropped here, so it is never sent twice.
   */
  #armRenewal(): void {
    if (this.#closed || this.#renewTimer !== null || this.#held.size === 0) return;
    const { clock, config } = this.#deps;
    this.#renewTimer = clock.setTimer(Math.max(1, Math.floor(config.leaseMs / 3)), () => {
      void this.#renewLeases().finally(() => {
        this.#renewTimer = null;
        this.#armRenewal();
      });
    });
  }

  async #renewLeases(): Promise<void> {
    const { clock, config, store } = this.#deps;
    const now = clock.now();
    const due = new Map<DeliveryId, WorkItem>();
    for (const [id, item] of this.#held) {
      const until = item.delivery.leaseUntil;
      if (!this.#active.has(id) && until !== null && until - now < config.leaseMs / 2) {
        due.set(id, item);
      }
    }
    if (due.size === 0) return;
    const leaseUntil = now + config.leaseMs;
    try {
      const renewed = new Set(
        await store.renewLeases({ owner: this.owner, ids: [...due.keys()], leaseUntil }),
      );
      for (const [id, item] of due) {
        if (renewed.has(id)) {
          item.delivery.leaseUntil = leaseUntil;
        } else if (!this.#active.has(id)) {
          item.lost = true;
          // Only this item: one that replaced it meanwhile (overflowed, then resent) stays.
          if (this.#held.get(id) === item) this.#unhold(id);
          this.#log.warn({ deliveryId: id }, "lease lost to another process; not sending it here");
        }
      }
    } catch (err) {
      // The next round tries again; a lease that expires meanwhile may be taken elsewhere.
      this.#log.warn({ err, deliveries: due.size }, "could not renew leases");
    }
  }

  #pump(): void {
    const { concurrency, perEndpointConcurrency } = this.#deps.config;
    const maxParked = this.#maxParked();
    let overflow: WorkItem[] | null = null;
    while (!this.#closed && this.#inFlight < concurrency && this.#readyHead < this.#ready.length) {
      const item = this.#ready[this.#readyHead++]!;
      const endpointId = item.delivery.endpointId;
      if ((this.#inFlightByEndpoint.get(endpointId) ?? 0) >= perEndpointConcurrency) {
        const parked = this.#parked.get(endpointId);
        if (parked === undefined) this.#parked.set(endpointId, [item]);
        else if (parked.length >= maxParked && this.#mayWaitInStore(item)) {
          (overflow ??= []).push(item);
          this.#saturated.add(endpointId);
        } else parked.push(item);
        continue;
      }
      this.#start(item);
    }
    if (overflow !== null) this.#overflow(overflow);
    if (this.#readyHead > 1024 && this.#readyHead * 2 > this.#ready.length) {
      this.#ready.splice(0, this.#readyHead);
      this.#readyHead = 0;
    }
  }

  #start(item: WorkItem): void {
    const endpointId = item.delivery.endpointId;
    this.#active.add(item.delivery.id);
    this.#inFlight++;
    this.#inFlightByEndpoint.set(endpointId, (this.#inFlightByEndpoint.get(endpointId) ?? 0) + 1);
    let released = false;
    // The slot is the connection: it is free once the response is in, before the attempt is
    // committed, so a group commit's fsync never holds an endpoint's connections idle.
    const releaseSlot = (): void => {
      if (released) return;
      released = true;
      this.#inFlight--;
      const left = (this.#inFlightByEndpoint.get(endpointId) ?? 1) - 1;
      if (left > 0) this.#inFlightByEndpoint.set(endpointId, left);
      else this.#inFlightByEndpoint.delete(endpointId);
      // The endpoint has room again: its longest-waiting parked item goes first.
      const parked = this.#parked.get(endpointId);
      if (parked !== undefined && !this.#closed) {
        const next = parked.shift()!;
        if (parked.length === 0) this.#parked.delete(endpointId);
        this.#start(next);
      }
      if (this.#saturated.has(endpointId) && (parked?.length ?? 0) <= this.#maxParked() / 2) {
        // Drained to half: what overflowed to the store is swept up again now.
        this.#saturated.delete(endpointId);
        this.#armSweep(this.#deps.clock.now());
      }
      this.#pump();
    };
    this.#attempt(item, releaseSlot)
      .catch((err: unknown) => this.#onAttemptCrash(item, err))
      .finally(() => {
        this.#active.delete(item.delivery.id);
        if (released)
          this.#pump(); // a manual resend may have queued the item again
        else releaseSlot();
        if (this.#active.size === 0 && this.#idle !== null) this.#idle();
      });
  }

  async #attempt(item: WorkItem, releaseSlot: () => void): Promise<void> {
    const { clock, endpoints, rateLimiter, ids, config } = this.#deps;
    const { delivery, message } = item;
    if (item.lost === true) return;
    if (message.payload === "" || this.#expunged.has(message.id)) {
      // Expunged (Store.expungeMessageContent): nothing left to send.
      await this.#finishWithoutAttempt(item, "cancelled");
      return;
    }
    const endpoint = await endpoints.get(delivery.appId, delivery.endpointId);
    if (endpoint === null || endpoint.disabled) {
      await this.#finishWithoutAttempt(item, "cancelled");
      return;
    }
    const limited = item.trigger === "scheduled" || item.throttled === true;
    if (endpoint.rateLimit !== null && limited && item.slotReserved !== true) {
      const waitMs = await rateLimiter.reserve(endpoint.id, endpoint.rateLimit);
      // A manual attempt's delivery has no due time of its own to wait in the store with.
      const handBack = item.trigger === "scheduled" && !this.#resendAfter.has(delivery.id);
      if (waitMs > config.holdInMemoryMs && handBack) {
        await rateLimiter.refund(endpoint.id, endpoint.rateLimit);
        await this.#release(item, clock.now() + waitMs);
        return;
      }
      if (waitMs > 0) {
        item.slotReserved = true;
        this.#waitInMemory(clock.now() + waitMs, item);
        return;
      }
    }
    item.slotReserved = false;
    // A message forwarding a request received at an ingest URL sends that request's bytes.
    let received: InboundRequest | null = null;
    if (message.inboundRequestId !== null) {
      received =
        item.received ?? (await this.#deps.store.getInboundRequestById(message.inboundRequestId));
      this.#dropReceived(item); // a retry, hours later, reads it again rather than hold it
      if (received === null) {
        // Removed by retention before it could be delivered: nothing left to send.
        await this.#finishWithoutAttempt(item, "cancelled");
        return;
      }
    }
    const startedAt = clock.now();
    const span = this.#deps.tracer?.startAttempt({
      message,
      delivery,
      attempt: delivery.attempts + 1,
      trigger: item.trigger,
      startedAt,
    });
    const outcome = await this.#egress.send(
      endpoint,
      outgoingRequest({
        endpoint,
        message,
        received,
        now: startedAt,
        keyOf: this.#keys.keyOf,
        userAgent: config.userAgent,
        traceparent: span?.traceparent,
      }),
    );
    releaseSlot();
    const now = clock.now();
    const attemptsMade = delivery.attempts + 1;
    const decision = decideAfterAttempt({
      response: outcome,
      accept302: endpoint.accept302,
      attemptsMade,
      trigger: item.trigger,
      previous: { status: delivery.status, nextAttemptAt: delivery.nextAttemptAt },
      now,
      scheduleMs: config.retryScheduleMs,
      random: this.#deps.random,
    });
    const attempt: Attempt = {
      id: ids.next("atmpt"),
      deliveryId: delivery.id,
      msgId: message.id,
      endpointId: endpoint.id,
      appId: delivery.appId,
      url: endpoint.url,
      succeeded: decision.succeeded,
      responseStatusCode: outcome.statusCode,
      responseBody: outcome.body,
      responseHeaders: outcome.headers,
      durationMs: Math.round(outcome.durationMs),
      errorClass: decision.errorClass,
      errorMessage: outcome.errorMessage,
      trigger: item.trigger,
      createdAt: startedAt,
    };
    span?.end(attempt, outcome.durationMs);
    const retryAt = decision.status === "retrying" ? decision.nextAttemptAt : null;
    // A retry due soon stays leased to this process until it is due (plus a lease), so no one
    // else takes it; a later one, or one past the memory budget, is left unleased in the store
    // for the sweep. A kept one's bytes are reserved now: attempts finishing at once all decide
    // before any of them has been recorded and queued.
    const keep =
      retryAt !== null && retryAt - now <= config.holdInMemoryMs && this.#reserveWaiting(item);
    const update: DeliveryUpdate = {
      id: delivery.id,
      status: decision.status,
      attempts: attemptsMade,
      nextAttemptAt: decision.nextAttemptAt,
      leaseOwner: keep ? this.owner : null,
      leaseUntil: keep ? retryAt + config.leaseMs : null,
      updatedAt: now,
      guard: { owner: this.owner, attempts: delivery.attempts },
    };
    const stillOurs = await this.#record(attempt, update);
    // Guarded: below info (e.g. HOOKYARD_LOG_LEVEL=warn) the fields object is not even built.
    if (this.#log.isLevelEnabled("info")) {
      this.#log.info(
        {
          msgId: message.id,
          endpointId: endpoint.id,
          deliveryId: delivery.id,
          attempt: attemptsMade,
          status: outcome.statusCode,
          errorClass: decision.errorClass,
          durationMs: attempt.durationMs,
        },
        "attempt finished",
      );
    }
    if (!stillOurs) {
      // Our lease ran out (a long stall) and another process took the delivery over or finished
      // it: its state is theirs now. The attempt is on record; nothing more is done here.
      this.#log.warn(
        { msgId: message.id, deliveryId: delivery.id },
        "lease lost before the attempt was recorded; another process has the delivery",
      );
      this.#stopWaiting(item);
      this.#unhold(delivery.id);
      this.#resendAfter.delete(delivery.id);
      this.emit("attempt", attempt, null);
      return;
    }
    Object.assign(item.delivery, update);
    item.trigger = "scheduled";
    this.emit("attempt", attempt, update);
    if (decision.disableEndpoint) {
      await endpoints.disable(endpoint, "the endpoint answered 410 Gone");
    } else if (endpoint.failingSince !== null || !decision.succeeded) {
      await endpoints.recordHealth(endpoint, decision.succeeded);
    }
    if (retryAt !== null && !keep) this.#armSweep(retryAt);
    this.#afterAttempt(item, keep ? retryAt : null);
  }

  /**
   * Stores the attempt and the delivery's new state. While the database is away (a restart, a
   * dropped connection) it tries again, for up to half a lease: a record given up on means the
   * request is sent again once the lease runs out, a duplicate for the endpoint. The update's
   * guard keeps a late record from overwriting a process that took the delivery over meanwhile.
   */
  async #record(attempt: Attempt, update: DeliveryUpdate): Promise<boolean> {
    const { clock, config, store } = this.#deps;
    const giveUpAt = clock.now() + config.leaseMs / 2;
    for (let run = 1, waitMs = 250; ; run++, waitMs = Math.min(waitMs * 2, 4_000)) {
      try {
        return await store.recordAttempt(attempt, update);
      } catch (err) {
        // The run before may have committed and only its answer been lost: then it is stored.
        if (run > 1 && err instanceof ConflictError) return true;
        const transient = err instanceof ServiceUnavailableError && !this.#closed;
        if (!transient || clock.now() + waitMs > giveUpAt) throw err;
        this.#log.warn({ err, deliveryId: update.id, run }, "attempt not recorded yet; retrying");
        this.emit("unrecorded", attempt, err);
        await new Promise<void>((resolve) => clock.setTimer(waitMs, resolve));
      }
    }
  }

  /** Hands a delivery back to the store, unleased and due at `dueAt`, and forgets it here. */
  async #release(item: WorkItem, dueAt: number): Promise<void> {
    const { delivery } = item;
    await this.#deps.store.updateDeliveries([
      {
        id: delivery.id,
        status: delivery.status,
        attempts: delivery.attempts,
        nextAttemptAt: dueAt,
        leaseOwner: null,
        leaseUntil: null,
        updatedAt: this.#deps.clock.now(),
        guard: { owner: this.owner, attempts: delivery.attempts },
      },
    ]);
    this.#unhold(delivery.id);
    this.#armSweep(dueAt);
  }

  /** Makes sure a sweep runs at `at` at the latest (one timer, armed for the earliest wish). */
  #armSweep(at: number): void {
    if (this.#closed || (this.#sweepTimer !== null && this.#sweepAt <= at)) return;
    this.#sweepTimer?.cancel();
    const { clock } = this.#deps;
    this.#sweepAt = at;
    this.#sweepTimer = clock.setTimer(Math.max(0, at - clock.now()), () => {
      this.#sweepTimer = null;
      this.#sweepAt = Infinity;
      void this.#sweep();
    });
  }

  #afterAttempt(item: WorkItem, retryAt: number | null): void {
    const id = item.delivery.id;
    if (this.#resendAfter.delete(id)) {
      this.#stopWaiting(item);
      item.trigger = "manual";
      this.#ready.push(item);
    } else if (retryAt !== null) {
      // While closing it stays held: close() hands it back to the store with its due time.
      if (!this.#closed) this.#retries.add(retryAt, item);
    } else {
      this.#unhold(id);
    }
  }

  /** A rate-limit wait: due within the horizon, so it waits here whatever the budget. */
  #waitInMemory(at: number, item: WorkItem): void {
    this.#count(item);
    this.#retries.add(at, item);
  }

  /** Counts a retry that will wait here against the budget; false when it would pass it. */
  #reserveWaiting(item: WorkItem): boolean {
    const budget = this.#deps.config.holdInMemoryBytes ?? DEFAULT_HOLD_IN_MEMORY_BYTES;
    if (this.#waitingBytes + waitingCost(item.message) > budget) return false;
    this.#count(item);
    return true;
  }

  #count(item: WorkItem): void {
    this.#stopWaiting(item);
    item.waitingBytes = waitingCost(item.message);
    this.#waitingBytes += item.waitingBytes;
  }

  #stopWaiting(item: WorkItem): void {
    this.#waitingBytes -= item.waitingBytes ?? 0;
    delete item.waitingBytes;
  }

  #maxParked(): number {
    return this.#deps.config.maxParkedPerEndpoint ?? DEFAULT_MAX_PARKED_PER_ENDPOINT;
  }

  /** A plain scheduled attempt can wait in the store; a manual one or a reserved slot cannot. */
  #mayWaitInStore(item: WorkItem): boolean {
    return (
      item.trigger === "scheduled" &&
      item.slotReserved !== true &&
      item.lost !== true &&
      !this.#resendAfter.has(item.delivery.id)
    );
  }

  /**
   * Hands deliveries a saturated endpoint cannot take now back to the store, unleased and due
   * as they were. If that write fails they keep their lease, and a sweep takes them once it
   * has expired: nothing is lost either way.
   */
  #overflow(items: readonly WorkItem[]): void {
    const now = this.#deps.clock.now();
    const updates = items.map((item) => {
      this.#unhold(item.delivery.id);
      return unleased(item.delivery, now, this.owner);
    });
    this.#overflows++;
    const writing = this.#deps.store.updateDeliveries(updates).catch((err: unknown) => {
      this.#log.warn({ err, deliveries: updates.length }, "could not hand deliveries back");
    });
    this.#handingBack.add(writing);
    void writing.finally(() => this.#handingBack.delete(writing));
  }

  async #finishWithoutAttempt(item: WorkItem, status: "cancelled"): Promise<void> {
    const update: DeliveryUpdate = {
      id: item.delivery.id,
      status,
      attempts: item.delivery.attempts,
      nextAttemptAt: null,
      leaseOwner: null,
      leaseUntil: null,
      updatedAt: this.#deps.clock.now(),
      guard: { owner: this.owner, attempts: item.delivery.attempts },
    };
    await this.#deps.store.updateDeliveries([update]);
    this.#unhold(item.delivery.id);
    this.#resendAfter.delete(item.delivery.id);
  }

  #onAttemptCrash(item: WorkItem, err: unknown): void {
    // A store write failed (disk full, database gone): the delivery keeps its lease in the
    // database, so it is retried by the sweep once the lease expires; nothing is lost.
    this.#log.error(
      { err, deliveryId: item.delivery.id, msgId: item.message.id },
      "attempt could not be recorded",
    );
    this.#stopWaiting(item);
    this.#unhold(item.delivery.id);
    this.#resendAfter.delete(item.delivery.id);
  }

  async #sweep(): Promise<void> {
    if (this.#closed) return;
    if (this.#sweeping) {
      // A sweep asked for while one runs (its due time came during the store's I/O) must not be
      // lost: the running one may have looked before that work was due.
      this.#sweepAgain = true;
      return;
    }
    this.#sweeping = true;
    this.#sweepAgain = false;
    const { store, clock, config } = this.#deps;
    let nextDue: number | null = null;
    let taken = 0;
    let lookedAt = clock.now();
    try {
      for (let round = 0; round < 20; round++) {
        lookedAt = clock.now();
        const overflows = this.#overflows;
        const saturated = this.#saturated.size;
        const leased = await store.leaseDueDeliveries({
          now: lookedAt,
          limit: 1000,
          leaseMs: config.leaseMs,
          owner: this.owner,
          ...(saturated > 0 && { skipEndpoints: [...this.#saturated] }),
        });
        if (this.#closed) {
          // Closed while the store was leasing: those would stay leased to a gone process.
          const now = clock.now();
          await this.#handBack(leased.map((l) => unleased(l.delivery, now, this.owner)));
          return;
        }
        const fresh = leased.filter((l) => !this.#held.has(l.delivery.id));
        if (fresh.length > 0) this.#log.debug({ count: fresh.length }, "swept due deliveries");
        this.enqueue(fresh);
        taken += leased.length;
        // An endpoint that overflowed just now gives back what more rounds would take.
        if (leased.length < 1000 || this.#overflows > overflows) break;
      }
      nextDue = await store.nextDueAt();
    } catch (err) {
      this.#log.error({ err }, "sweep for due deliveries failed");
    } finally {
      this.#sweeping = false;
      const now = clock.now();
      this.#armSweep(now + config.sweepIntervalMs);
      // A due delivery this sweep could not take (e.g. its message is gone) must not spin the
      // sweep: then the regular interval applies. One that only became due after the sweep
      // looked (the store's I/O takes time) is swept for at once.
      if (nextDue !== null && (nextDue > lookedAt || taken > 0)) this.#armSweep(nextDue);
      if (this.#sweepAgain) this.#armSweep(now);
    }
  }
}

/** The delivery `owner` hands back to the store: unleased, due when it was due. */
function unleased(delivery: Delivery, now: number, owner: string): DeliveryUpdate {
  return {
    id: delivery.id,
    status: delivery.status,
    attempts: delivery.attempts,
    nextAttemptAt: delivery.nextAttemptAt ?? now,
    leaseOwner: null,
    leaseUntil: null,
    updatedAt: now,
    guard: { owner, attempts: delivery.attempts },
  };
}

/** What an item waiting for its retry costs in memory, as counted against the budget. */
function waitingCost(message: Message): number {
  return message.payload.length + WAITING_ITEM_BYTES;
}
