import type { Clock } from "../clock.js";
import { NotFoundError, PayloadTooLargeError } from "../errors.js";
import type { IdGenerator } from "../ids.js";
import type { InboundRequest, Source } from "../model.js";
import { verifyInbound } from "../signing/provider-schemes.js";
import type { Store } from "../store/store.js";
import { deliveryIdOf, eventTypeOf, jsonBody } from "./provider-facts.js";
import { sourceOptions, sourceScheme } from "./sources.js";

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
}

/** The answer to the sender, and what was recorded. */
export interface ReceiveOutcome {
  status: number;
  body: unknown;
  request: InboundRequest;
}

/**
 * The receive pipeline of an ingest URL: find the source by its token, verify the request with
 * the source's scheme, drop a repeated delivery, and store the request byte-exact whatever the
 * verdict; the answer goes out once it is committed. Rejected requests are stored too (to show
 * why), but never forwarded.
 */
export class Receiver {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #defaults: { dedupWindowSeconds: number; maxBodyBytes: number };

  constructor(deps: {
    store: Store;
    clock: Clock;
    ids: IdGenerator;
    dedupWindowSeconds: number;
    maxBodyBytes: number;
  }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
    this.#defaults = {
      dedupWindowSeconds: deps.dedupWindowSeconds,
      maxBodyBytes: deps.maxBodyBytes,
    };
  }

  async receive(token: string, http: ReceivedHttp): Promise<ReceiveOutcome> {
    const now = this.#clock.now();
    const source = await this.#store.getSourceByToken(token, now);
    // Nothing is recorded for an unknown token: there is no source to show it under.
    if (source === null) throw new NotFoundError("No source has this ingest URL");
    const options = { ...this.#defaults, ...sourceOptions(source.config) };
    if (http.body.length > options.maxBodyBytes) {
      throw new PayloadTooLargeError(
        `Request body is ${http.body.length} bytes; this source accepts at most ${options.maxBodyBytes}`,
      );
    }
    const json = jsonBody(http.body, http.headers["content-type"]);
    const request: InboundRequest = {
      id: this.#ids.next("req"),
      sourceId: source.id,
      status: "accepted",
      reason: null,
      method: http.method,
      path: http.path,
      query: http.query,
      headers: http.headers,
      body: http.body,
      sourceIp: http.sourceIp,
      dedupKey: deliveryIdOf(source.type, http.headers, json),
      eventType: eventTypeOf(source.type, http.headers, json),
      duplicateOf: null,
      createdAt: now,
    };

    const verdict = verifyInbound(sourceScheme(source.type, source.config), http, now);
    if (!verdict.ok) {
      const rejected = await this.#store.insertInboundRequest(
        { ...request, status: "rejected", reason: verdict.reason },
        now,
      );
      return {
        status: 401,
        body: { code: "verification_failed", detail: verdict.reason },
        request: rejected,
      };
    }

    // A window of 0 turns de-duplication off: nothing is that recent.
    const dedupSince =
      options.dedupWindowSeconds > 0
        ? now - options.dedupWindowSeconds * 1000
        : Number.MAX_SAFE_INTEGER;
    const stored = await this.#store.insertInboundRequest(request, dedupSince);
    return { status: 200, body: answerOf(source, stored, json), request: stored };
  }
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
