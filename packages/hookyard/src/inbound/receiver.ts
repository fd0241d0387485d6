import type { Clock } from "../clock.js";
import {
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  ValidationError,
} from "../errors.js";
import type { IdGenerator } from "../ids.js";
import { isUtf8 } from "node:buffer";
import { EventEmitter } from "node:events";
import type { DeliveryEngine } from "../delivery/engine.js";
import { newLeasedDeliveries } from "../delivery/new-deliveries.js";
import type { Delivery, Endpoint, InboundRequest, Message, Source } from "../model.js";
import type { EndpointCache } from "../outbound/endpoint-cache.js";
import { endpointAccepts } from "../outbound/endpoint-filter.js";
import type { PayloadFilters } from "../outbound/payload-filter.js";
import { verifyInbound, type SourceScheme } from "../signing/provider-schemes.js";
import { inCidrList } from "../delivery/ssrf-guard.js";
import type { Store } from "../store/store.js";
import { deliveryIdOf, eventTypeOf, factOf, jsonBody } from "./provider-facts.js";
import { RejectionLimiter, REJECTED_KEPT_PER_SOURCE, truncatedBody } from "./rejected-requests.js";
import { withoutCredentials } from "./credential-headers.js";
import { verifyClientCertificate } from "./client-certificates.js";
import { replayKeyOf } from "./replay-key.js";
import { sourceOptions, sourceScheme, type SourceOptions } from "./sources.js";
import type { Automation } from "../rules/automation.js";
import { inboundEvent } from "../rules/events.js";

/** `received`: every request stored (accepted, rejected, duplicate), for live streams. */
export interface ReceiverEvents {
  received: [request: InboundRequest];
}

/** A request to an ingest URL as the HTTP layer hands it over. */
export interface ReceivedHttp {
  method: string;
  /** The URL the sender called, as it called it (Twilio signs it). */
  url: string;
  /** The path after the token (`/in/<token>/<path>`), usually empty, and the raw query string. */
  path: string;
  query: string;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  sourceIp: string;
  /** The span receiving it (tracing on): its forward's attempts are that span's children. */
  traceparent?: string;
  /**
   * The client certificate chain the connection presented, leaf first (DER); empty when none,
   * null or absent when the connection is not TLS.
   */
  clientCertificates?: readonly Buffer[] | null;
}

/** The answer to the sender, and what was recorded. */
export interface ReceiveOutcome {
  status: number;
  body: unknown;
  /** Set when the source configures its own answer; else the body is JSON. */
  contentType?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering (a bin simulating a slow receiver). */
  delayMs?: number;
  /** Null when nothing was stored: a refusal past the source's rate of rejected requests. */
  request: InboundRequest | null;
}

/**
 * The receive pipeline of an ingest URL: find the source by its token, verify the request with
 * the source's scheme, drop a repeated delivery, and store the request byte-exact whatever the
 * verdict; the answer goes out once it is committed. Rejected requests are stored too (to show
 * why), but never forwarded, and bounded (rejected-requests.ts): the start of their body, the
 * newest per source, at a limited rate. The credential a source checks is never stored.
 */
export class Receiver extends EventEmitter<ReceiverEvents> {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #endpoints: EndpointCache;
  readonly #payloadFilters: PayloadFilters;
  readonly #engine: Pick<DeliveryEngine, "owner" | "enqueue">;
  readonly #leaseMs: number;
  readonly #automation: Pick<Automation, "listensToInbound" | "plan" | "start"> | null;
  readonly #defaults: { dedupWindowSeconds: number; maxBodyBytes: number };
  /**
   * Sources by ingest token, with their parsed scheme and options: every request needs them, and
   * they change rarely. Dropped on every source write (`forgetSources`, here or, through the
   * store's change feed, on another process). Unknown tokens are not cached (no memory for
   * whoever probes random URLs).
   */
  readonly #byToken = new Map<string, KnownSource>();
  readonly #rejections = new RejectionLimiter();

  constructor(deps: {
    store: Store;
    clock: Clock;
    ids: IdGenerator;
    /** The destinations: endpoints of each source's application. */
    endpoints: EndpointCache;
    /** The destinations' payload filters (over the JSON body; null when it is not JSON). */
    payloadFilters: PayloadFilters;
    engine: Pick<DeliveryEngine, "owner" | "enqueue">;
    leaseMs: number;
    dedupWindowSeconds: number;
    maxBodyBytes: number;
    /** The rules: an accepted request's rule runs commit with it. */
    automation?: Pick<Automation, "listensToInbound" | "plan" | "start">;
  }) {
    super();
    this.setMaxListeners(0); // one listener per live stream (SSE) open on a source
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
    this.#endpoints = deps.endpoints;
    this.#payloadFilters = deps.payloadFilters;
    this.#engine = deps.engine;
    this.#leaseMs = deps.leaseMs;
    this.#automation = deps.automation ?? null;
    this.#defaults = {
      dedupWindowSeconds: deps.dedupWindowSeconds,
      maxBodyBytes: deps.maxBodyBytes,
    };
  }

  /** Forgets every cached source (one was written). */
  forgetSources(): void {
    this.#byToken.clear();
  }

  async #sourceOf(token: string, now: number): Promise<KnownSource | null> {
    const cached = this.#byToken.get(token);
    if (cached !== undefined && cached.validUntil > now) return cached;
    const source = await this.#store.getSourceByToken(token, now);
    if (source === null) return null;
    let known: KnownSource;
    try {
      known = {
        source,
        scheme: sourceScheme(source.type, source.config),
        options: { ...this.#defaults, ...sourceOptions(source.config, source.type) },
        validUntil: source.tokens.find((t) => t.token === token)?.expiresAt ?? Infinity,
      };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      // Stored before a check was added (a too-short secret): fail closed, and with a 5xx, so
      // the provider keeps the request and retries once an operator fixes the config. The
      // sender is not told what is wrong with it; the server's log (the cause) is.
      throw new ServiceUnavailableError(
        `Source ${source.id} cannot verify requests until its configuration is fixed`,
        { cause: err },
      );
    }
    if (this.#byToken.size >= MAX_CACHED_SOURCES) this.#byToken.clear();
    this.#byToken.set(token, known);
    return known;
  }

  /**
   * The largest body the source of `token` accepts, or null when no source has this token: the
   * HTTP layer asks before it reads a byte of the body, so an unknown token costs no memory.
   */
  async bodyLimitOf(token: string): Promise<number | null> {
    const known = await this.#sourceOf(token, this.#clock.now());
    return known === null ? null : known.options.maxBodyBytes;
  }

  async receive(token: string, http: ReceivedHttp): Promise<ReceiveOutcome> {
    const now = this.#clock.now();
    const known = await this.#sourceOf(token, now);
    // Nothing is recorded for an unknown token: there is no source to show it under.
    if (known === null) throw new NotFoundError("No source has this ingest URL");
    const { source, scheme, options } = known;
    if (http.body.length > options.maxBodyBytes) {
      throw new PayloadTooLargeError(
        `Request body is ${http.body.length} bytes; this source accepts at most ${options.maxBodyBytes}`,
      );
    }
    if (options.allowedIps !== undefined && !inCidrList(http.sourceIp, options.allowedIps)) {
      const reason = `source IP ${http.sourceIp} is not in the source's allowedIps`;
      return this.#reject(known, http, null, now, { status: 403, code: "forbidden", reason });
    }
    const json = jsonBody(http.body, http.headers["content-type"]);
    if (options.clientCa !== undefined) {
      const presented = http.clientCertificates ?? null;
      const certificate = verifyClientCertificate(presented, options.clientCa, now);
      if (!certificate.ok) {
        const refusal = { status: 401, code: "verification_failed", reason: certificate.reason };
        return this.#reject(known, http, json, now, refusal);
      }
    }
    const verdict = verifyInbound(scheme, http, now);
    if (!verdict.ok) {
      const refusal = { status: 401, code: "verification_failed", reason: verdict.reason };
      return this.#reject(known, http, json, now, refusal);
    }
    const replayKey = replayKeyOf(scheme, http);
    const request: InboundRequest = {
      ...this.#record(known, http, json, now, { status: "accepted", reason: null }),
      ...(replayKey !== null && { replayKey }),
    };

    // A window of 0 turns de-duplication off: nothing is that recent.
    const dedupSince =
      options.dedupWindowSeconds > 0
        ? now - options.dedupWindowSeconds * 1000
        : Number.MAX_SAFE_INTEGER;
    // A handshake (Slack's url_verification) is answered, not forwarded.
    const challenge = source.type === "slack" && json?.type === "url_verification";
    // Nothing to forward without a destination that takes it: no message then.
    const eventType = request.eventType ?? UNTYPED_EVENT;
    const filterScope = { eventType, payload: json, channels: [], tags: [] };
    const planned = challenge
      ? undefined
      : await this.#forward(
          source,
          request,
          json,
          now,
          (endpoint) =>
            endpointAccepts(endpoint, { eventType, channels: null }) &&
            this.#payloadFilters.matches(endpoint, filterScope),
          null,
          http.traceparent,
        );
    const forward = planned !== undefined && planned.deliveries.length > 0 ? planned : undefined;
    const keys = source.uid === null ? [source.id] : [source.id, source.uid];
    const ruleRuns =
      !challenge && this.#automation?.listensToInbound(keys) === true
        ? this.#automation.plan(inboundEvent(request, source.uid ?? source.id), keys)
        : undefined;
    const stored = await this.#store.insertInboundRequest(request, dedupSince, forward, ruleRuns);
    if (stored.status === "accepted" && ruleRuns !== undefined) this.#automation!.start(ruleRuns);
    if (stored.status === "accepted" && forward !== undefined) {
      // Committed with the request and leased to this process: sent at once, no poll.
      this.#engine.enqueue(
        forward.deliveries.map((delivery) => ({
          delivery,
          message: forward.message,
          received: stored,
        })),
      );
    }
    this.emit("received", stored);
    if (options.maxRequests !== undefined) {
      await this.#store.trimInboundRequests(source.id, options.maxRequests);
    }
    if (!challenge && options.response !== undefined) {
      const { status, body, contentType, headers, delayMs } = options.response;
      return { status, body, contentType, headers, delayMs, request: stored };
    }
    return { status: 200, body: answerOf(source, stored, json), request: stored };
  }

  /**
   * Records a refused request, its body cut to its first bytes, and keeps the source's newest
   * rejected ones; past the source's rate of rejected requests nothing is stored and the sender
   * is told when to come back (a provider retries; whoever floods the URL is slowed down).
   */
  async #reject(
    known: KnownSource,
    http: ReceivedHttp,
    json: Record<string, unknown> | null,
    now: number,
    refusal: { status: number; code: string; reason: string },
  ): Promise<ReceiveOutcome> {
    const { source } = known;
    const limited = this.#rejections.take(source.id, now);
    if (limited !== null) {
      return {
        status: 429,
        headers: { "retry-after": String(Math.ceil(limited.retryAfterMs / 1000)) },
        body: {
          code: "too_many_requests",
          detail: `Too many rejected requests for this source; not recorded (${refusal.reason})`,
        },
        request: null,
      };
    }
    const record = this.#record(known, http, json, now, {
      status: "rejected",
      reason: refusal.reason,
    });
    const rejected = await this.#store.insertInboundRequest(
      { ...record, ...truncatedBody(http.body) },
      now,
    );
    this.emit("received", rejected);
    await this.#store.trimInboundRequests(source.id, REJECTED_KEPT_PER_SOURCE, "rejected");
    return {
      status: refusal.status,
      body: { code: refusal.code, detail: refusal.reason },
      request: rejected,
    };
  }

  #record(
    { source, options }: KnownSource,
    http: ReceivedHttp,
    json: Record<string, unknown> | null,
    now: number,
    verdict: Pick<InboundRequest, "status" | "reason">,
  ): InboundRequest {
    // Facts are read from what is stored: a deliveryIdHeader naming the credential reads the mask.
    const headers = withoutCredentials(source.type, http.headers);
    const facts = { headers, body: http.body, query: http.query };
    return {
      id: this.#ids.next("req"),
      sourceId: source.id,
      ...verdict,
      method: http.method,
      path: http.path,
      query: http.query,
      headers,
      body: http.body,
      sourceIp: http.sourceIp,
      dedupKey:
        options.deliveryId !== undefined
          ? factOf(options.deliveryId, facts, json)
          : deliveryIdOf(source.type, headers, json),
      eventType:
        options.eventType !== undefined
          ? factOf(options.eventType, facts, json)
          : eventTypeOf(source.type, headers, json),
      duplicateOf: null,
      createdAt: now,
    };
  }

  /**
   * Sends an accepted request again to one destination of its source (by id or uid), as a new
   * message through the delivery engine: a manual replay, whatever the destination's filter.
   */
  async replay(source: Source, request: InboundRequest, destination: string): Promise<Message> {
    if (request.status !== "accepted") {
      throw new ConflictError(
        `Request ${request.id} was ${request.status}; only accepted requests are forwarded`,
      );
    }
    const now = this.#clock.now();
    const json = jsonBody(request.body, request.headers["content-type"]);
    const { message, deliveries } = await this.#forward(
      source,
      request,
      json,
      now,
      (endpoint) => endpoint.id === destination || endpoint.uid === destination,
      [REPLAY_TAG],
    );
    if (deliveries.length === 0) {
      throw new NotFoundError(`Source ${source.id} has no destination "${destination}"`);
    }
    await this.#store.createMessage({ message, deliveries, eventIdSince: now });
    this.#engine.enqueue(
      deliveries.map((delivery) => ({ delivery, message, received: request })),
      "manual",
    );
    return message;
  }

  /**
   * The message that carries the request to the destinations `takes` picks, one delivery each,
   * leased to this process.
   */
  async #forward(
    source: Source,
    request: InboundRequest,
    json: Record<string, unknown> | null,
    now: number,
    takes: (endpoint: Endpoint) => boolean,
    tags: string[] | null = null,
    traceparent?: string,
  ): Promise<{ message: Message; deliveries: Delivery[] }> {
    const eventType = request.eventType ?? UNTYPED_EVENT;
    const message: Message = {
      id: this.#ids.next("msg"),
      appId: source.appId,
      eventType,
      eventId: null,
      channels: null,
      tags,
      payload: displayPayload(request, json),
      inboundRequestId: request.id,
      deliverAt: null,
      createdAt: now,
    };
    if (traceparent !== undefined) message.traceparent = traceparent;
    const endpoints = (await this.#endpoints.forApp(source.appId)).values();
    const deliveries = newLeasedDeliveries({
      message,
      targets: [...endpoints].filter(takes),
      ids: this.#ids,
      owner: this.#engine.owner,
      now,
      leaseMs: this.#leaseMs,
    });
    return { message, deliveries };
  }
}

/** Past this many cached sources the cache starts over. */
const MAX_CACHED_SOURCES = 10_000;

interface KnownSource {
  source: Source;
  scheme: SourceScheme;
  options: SourceOptions & { dedupWindowSeconds: number; maxBodyBytes: number };
  /** The token's expiry (a rotated-out token), or Infinity. */
  validUntil: number;
}

/** The tag of a message that replays a received request (the first forward has none). */
export const REPLAY_TAG = "hookyard.replay";

/** The event type of a forwarded request whose provider names none. */
export const UNTYPED_EVENT = "inbound.request";

/**
 * The forwarding message's payload, for the messages API (which shows JSON): a JSON body as it
 * came, anything else described. The bytes sent are the request's own either way.
 */
function displayPayload(request: InboundRequest, json: Record<string, unknown> | null): string {
  if (json !== null) return request.body.toString("utf8");
  const utf8 = isUtf8(request.body);
  return JSON.stringify({
    contentType: request.headers["content-type"] ?? null,
    body: request.body.toString(utf8 ? "utf8" : "base64"),
    bodyEncoding: utf8 ? "utf8" : "base64",
    query: request.query,
  });
}

/** The body of a 200: a challenge answered where the provider asks for one, else the record. */
function answerOf(
  source: Source,
  stored: InboundRequest,
  json: Record<string, unknown> | null,
): unknown {
  // Slack checks a new Events API URL with a url_verification request (signed like the rest).
  if (source.type === "slack" && json?.type === "url_verification") {
    return { challenge: json.challenge };
  }
  return { id: stored.id, status: stored.status };
}
