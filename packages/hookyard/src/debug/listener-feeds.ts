import { isUtf8 } from "node:buffer";
import type { Clock } from "../clock.js";
import { outgoingRequest } from "../delivery/outgoing-request.js";
import type { Endpoint, InboundRequest, InboundRequestId, MessageId, SourceId } from "../model.js";
import { SigningKeys } from "../signing/standard-webhooks.js";
import type { Store } from "../store/store.js";
import type { FeedSource } from "./listeners.js";

/** A request as a listener forwards it: what `hookyard listen` sends its local app. */
export interface ListenedRequest {
  /** The request's (or message's) id: the cursor the listener acknowledges. */
  id: string;
  method: string;
  /** The path below the forward URL (a source's path after the ingest token; "" for messages). */
  path: string;
  query: string;
  headers: Record<string, string>;
  /** UTF-8 text when it is, else base64 (`bodyEncoding`). */
  body: string;
  bodyEncoding: "utf8" | "base64";
  receivedAt: string;
}

/** Received requests are announced by the receiver of this process (`received`). */
export interface ReceivedEvents {
  on(event: "received", fn: (request: InboundRequest) => void): unknown;
  off(event: "received", fn: (request: InboundRequest) => void): unknown;
}

type FeedStore = Pick<
  Store,
  | "listInboundRequestIds"
  | "getInboundRequest"
  | "listEndpointMessages"
  | "getMessage"
  | "getEndpoint"
  | "getDelivery"
  | "getInboundRequestById"
>;

/** The feeds listeners follow: a source's accepted requests, an endpoint's messages. */
export class ListenerFeeds {
  readonly #store: FeedStore;
  readonly #clock: Clock;
  readonly #received: ReceivedEvents;
  readonly #userAgent: string;
  readonly #keys = new SigningKeys();

  constructor(deps: {
    store: FeedStore;
    clock: Clock;
    received: ReceivedEvents;
    userAgent: string;
  }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#received = deps.received;
    this.#userAgent = deps.userAgent;
  }

  /** The requests a source accepted, woken by this process's receiver, polled for the rest. */
  ofSource(sourceId: SourceId): FeedSource<ListenedRequest> {
    const accepted = async (id: string) => {
      const found = await this.#store.getInboundRequest(sourceId, id as InboundRequestId);
      return found?.status === "accepted" ? found : null;
    };
    return {
      scope: sourceId,
      prefix: "req",
      pollMs: 1_000,
      idsAfter: (cursor, limit) =>
        this.#store.listInboundRequestIds(sourceId, "accepted", cursor, limit),
      load: async (id) => {
        const r = await accepted(id);
        if (r === null) return null;
        return {
          id: r.id,
          bytes: r.body.length,
          value: listened(r.id, r.method, r.path, r.query, r.headers, r.body, r.createdAt),
        };
      },
      has: async (id) => (await accepted(id)) !== null,
      subscribe: (wake) => {
        const onReceived = (request: InboundRequest) => {
          if (request.sourceId === sourceId && request.status === "accepted") wake();
        };
        this.#received.on("received", onReceived);
        return () => this.#received.off("received", onReceived);
      },
    };
  }

  /**
   * The messages an endpoint is sent (those with a delivery to it: its filters passed), oldest
   * first, each as its delivery sends it: with the endpoint's headers as they are when it is
   * sent, signed then with its current secret. A scheduled message waits until it is due (and
   * those after it with it); one forwarding a received request that retention removed is
   * skipped, as its delivery is cancelled. Nothing announces a new message across the layers,
   * so it is polled, four times a second.
   */
  ofEndpoint(endpoint: Endpoint): FeedSource<ListenedRequest> {
    const { appId } = endpoint;
    return {
      scope: endpoint.id,
      prefix: "msg",
      pollMs: 250,
      idsAfter: async (cursor, limit) => {
        const page = await this.#store.listEndpointMessages(
          endpoint.id,
          {},
          { limit, iterator: cursor, order: "ascending" },
        );
        const now = this.#clock.now();
        const due: string[] = [];
        for (const { message } of page.data) {
          if (message.deliverAt !== null && message.deliverAt > now) break;
          due.push(message.id);
        }
        return due;
      },
      load: async (id) => {
        const [message, current] = await Promise.all([
          this.#store.getMessage(appId, id as MessageId),
          this.#store.getEndpoint(appId, endpoint.id),
        ]);
        if (message === null || current === null) return null;
        const received =
          message.inboundRequestId === null
            ? null
            : await this.#store.getInboundRequestById(message.inboundRequestId);
        if (message.inboundRequestId !== null && received === null) return null;
        const sent = outgoingRequest({
          endpoint: current,
          message,
          received,
          now: this.#clock.now(),
          keyOf: this.#keys.keyOf,
          userAgent: this.#userAgent,
        });
        const body = Buffer.from(sent.body);
        return {
          id: message.id,
          bytes: body.length,
          value: listened(
            message.id,
            sent.method ?? "POST",
            received?.path ?? "",
            received?.query ?? "",
            sent.headers,
            body,
            message.createdAt,
          ),
        };
      },
      has: async (id) => (await this.#store.getDelivery(id as MessageId, endpoint.id)) !== null,
      subscribe: () => () => undefined,
    };
  }
}

function listened(
  id: string,
  method: string,
  path: string,
  query: string,
  headers: Record<string, string>,
  body: Buffer,
  at: number,
): ListenedRequest {
  const utf8 = isUtf8(body);
  return {
    id,
    method,
    path,
    query,
    headers,
    body: body.toString(utf8 ? "utf8" : "base64"),
    bodyEncoding: utf8 ? "utf8" : "base64",
    receivedAt: new Date(at).toISOString(),
  };
}
