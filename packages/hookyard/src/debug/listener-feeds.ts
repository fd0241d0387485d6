import { isUtf8 } from "node:buffer";
import type { Clock } from "../clock.js";
import { outgoingRequest } from "../delivery/outgoing-request.js";
import type { Endpoint, InboundRequest, SourceId } from "../model.js";
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
  "listInboundRequests" | "listEndpointMessages" | "getInboundRequestById"
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
    return {
      scope: sourceId,
      prefix: "req",
      pollMs: 1_000,
      after: async (cursor, limit) => {
        const page = await this.#store.listInboundRequests(
          sourceId,
          { status: "accepted" },
          { limit, iterator: cursor, order: "ascending" },
        );
        return page.data.map((r) => ({
          id: r.id,
          bytes: r.body.length,
          value: listened(r.id, r.method, r.path, r.query, r.headers, r.body, r.createdAt),
        }));
      },
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
   * first, each as its delivery sends it — signed with the endpoint's secret when read. Nothing
   * announces a new one across the layers, so it is polled, four times a second.
   */
  ofEndpoint(endpoint: Endpoint): FeedSource<ListenedRequest> {
    return {
      scope: endpoint.id,
      prefix: "msg",
      pollMs: 250,
      after: async (cursor, limit) => {
        const page = await this.#store.listEndpointMessages(
          endpoint.id,
          {},
          { limit, iterator: cursor, order: "ascending" },
        );
        const entries = [];
        for (const { message } of page.data) {
          const received =
            message.inboundRequestId === null
              ? null
              : await this.#store.getInboundRequestById(message.inboundRequestId);
          const sent = outgoingRequest({
            endpoint,
            message,
            received,
            now: this.#clock.now(),
            keyOf: this.#keys.keyOf,
            userAgent: this.#userAgent,
          });
          const body = Buffer.from(sent.body);
          entries.push({
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
          });
        }
        return entries;
      },
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
