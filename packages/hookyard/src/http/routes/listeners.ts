import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { NotFoundError } from "../../errors.js";
import type { TSchema } from "@sinclair/typebox";
import type { ListenedRequest, ListenerFeeds } from "../../debug/listener-feeds.js";
import type { FeedSource, ListenerState, Listeners } from "../../debug/listeners.js";
import { LATE_COMMIT_MS, WINDOW_BYTES, WINDOW_ITEMS } from "../../debug/listeners.js";
import type { Sources } from "../../inbound/sources.js";
import type { EndpointService } from "../../outbound/services.js";
import {
  EventStream,
  KEEP_ALIVE_MS,
  MAX_STREAMS_PER_KEY,
  type StreamSlots,
} from "../event-stream.js";
import { ERROR_RESPONSES, NoContent } from "../schemas/common.js";
import { iso } from "../serializers.js";

const NAME_PARAM = Type.String({
  description:
    "The listener's name: 1 to 128 letters, digits or . _ : @ - . Listeners with the same name share one cursor (a restart resumes it); each name gets every item.",
});
const SourceListenerParams = Type.Object({
  source_id: Type.String({ description: "The source's id or uid (a request bin is a source)." }),
  name: NAME_PARAM,
});
const EndpointListenerParams = Type.Object({
  app_id: Type.String({ description: "The application's id or uid." }),
  endpoint_id: Type.String({ description: "The endpoint's id or uid." }),
  name: NAME_PARAM,
});

const ListenerOut = Type.Object(
  {
    name: Type.String(),
    scope: Type.String({ description: "The source or endpoint id it listens to." }),
    cursor: Type.String({
      description:
        "The newest item (request or message id) acknowledged; at first, the time the listener was made.",
    }),
    acknowledged: Type.Integer({ description: "Items acknowledged so far (each counted once)." }),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { title: "ListenerOut" },
);

const AckIn = Type.Object(
  {
    requestId: Type.String({
      minLength: 1,
      maxLength: 64,
      description:
        "The item the local app answered: a request id (req_…) for a source's listener, a message id (msg_…) for an endpoint's. Another id is 422; one that is not in the feed 404.",
    }),
  },
  { additionalProperties: false, title: "ListenerAckIn" },
);

function listenerOut(state: ListenerState) {
  return {
    name: state.name,
    scope: state.scope,
    cursor: state.cursor,
    acknowledged: state.acknowledged,
    createdAt: iso(state.createdAt),
    updatedAt: iso(state.updatedAt),
  };
}

/**
 * Listeners (what `hookyard listen` connects to): of a source, the requests it accepted; of an
 * endpoint, the messages it is sent, signed as a delivery would be. Each has a stream that
 * replays what came after the listener's cursor and then follows new items, and the
 * acknowledgement that moves the cursor.
 */
export function registerListenerRoutes(
  app: FastifyInstance,
  deps: { sources: Sources; listeners: Listeners; feeds: ListenerFeeds; streams: StreamSlots },
): void {
  registerFamily(app, deps, {
    path: "/source/:source_id/listener/:name",
    params: SourceListenerParams,
    tags: ["Ingest source"],
    what: "requests the source accepted",
    feed: async (params) => deps.feeds.ofSource((await deps.sources.get(params["source_id"]!)).id),
  });
}

/** The same routes for an endpoint's messages, under `/api/v1`. */
export function registerEndpointListenerRoutes(
  app: FastifyInstance,
  deps: {
    endpoints: EndpointService;
    listeners: Listeners;
    feeds: ListenerFeeds;
    streams: StreamSlots;
  },
): void {
  registerFamily(app, deps, {
    path: "/app/:app_id/endpoint/:endpoint_id/listener/:name",
    params: EndpointListenerParams,
    tags: ["Endpoint"],
    what: "messages the endpoint is sent, each signed as its delivery is (Standard Webhooks headers made with the endpoint's secret when it is streamed)",
    feed: async (params) =>
      deps.feeds.ofEndpoint(await deps.endpoints.get(params["app_id"]!, params["endpoint_id"]!)),
  });
}

/** Path parameters of a listener route: the feed's own, and the listener's `name`. */
type ListenerParamsValue = Record<string, string> & { name: string };

function registerFamily(
  app: FastifyInstance,
  deps: { listeners: Listeners; streams: StreamSlots },
  family: {
    path: string;
    params: TSchema;
    tags: string[];
    what: string;
    feed: (params: ListenerParamsValue) => Promise<FeedSource<ListenedRequest>>;
  },
): void {
  const { listeners } = deps;

  app.get<{ Params: ListenerParamsValue }>(
    family.path,
    {
      schema: {
        tags: family.tags,
        summary: "Get a listener's cursor",
        description: `Hookyard extension: how far the named listener of the ${family.what} has got.`,
        params: family.params,
        response: { 200: ListenerOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const source = await family.feed(request.params);
      const state = await listeners.state(source.scope, request.params.name);
      if (state === null) throw new NotFoundError(`No listener "${request.params.name}" here`);
      return listenerOut(state);
    },
  );

  app.delete<{ Params: ListenerParamsValue }>(
    family.path,
    {
      schema: {
        tags: family.tags,
        summary: "Forget a listener",
        description:
          "Hookyard extension: drops the listener's cursor; its next connection starts from that moment.",
        params: family.params,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const source = await family.feed(request.params);
      await listeners.forget(source.scope, request.params.name);
      reply.code(204);
      return null;
    },
  );

  app.post<{ Params: ListenerParamsValue; Body: { requestId: string } }>(
    `${family.path}/ack`,
    {
      schema: {
        tags: family.tags,
        summary: "Acknowledge what a listener forwarded",
        description:
          "Hookyard extension: the listener's local app has answered this item (a request or message id); it is not sent to this listener again.",
        params: family.params,
        body: AckIn,
        response: { 200: ListenerOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const source = await family.feed(request.params);
      return listenerOut(
        await listeners.acknowledge(source, request.params.name, request.body.requestId),
      );
    },
  );

  app.get<{ Params: ListenerParamsValue }>(
    `${family.path}/stream`,
    {
      // A HEAD would open a feed into a response without a body.
      exposeHeadRoute: false,
      schema: {
        tags: family.tags,
        summary: "Listen: what came after the listener's cursor, then what comes (SSE)",
        description: `Hookyard extension, what \`hookyard listen\` reads: \`text/event-stream\` of the ${family.what}, one \`request\` event each (its SSE id the item's id; its data \`{id, method, path, query, headers, body, bodyEncoding: "utf8"|"base64", receivedAt}\`: the request to make to the local app, \`path\` and \`query\` to append to its URL), oldest first, starting after the listener's cursor — so what arrived while no listener was connected comes first — then a \`caught-up\` event (data \`{"replayed": n}\`), then new items as they are stored (by any process of a cluster: found within a poll, 1 s for sources, 0.25 s for endpoints). A listener seen for the first time starts at that moment; a second connection under the same name to the same process ends the first with a \`replaced\` event. At most ${WINDOW_ITEMS} items are unacknowledged (POST …/ack) at a time, and none is sent while ${WINDOW_BYTES / 1024 / 1024} MiB are (one larger item may pass it); the rest wait on the server. An item that commits out of order (up to ${LATE_COMMIT_MS / 1000} s behind a later one) is still sent, once. A comment every ${KEEP_ALIVE_MS / 1000} s keeps the connection open; at most ${MAX_STREAMS_PER_KEY} streams per API key.`,
        params: family.params,
      },
    },
    async (request, reply) => {
      const source = await family.feed(request.params);
      // A client gone while the feed was looked up has already fired "close": nothing to count.
      if (request.raw.socket.destroyed || reply.raw.destroyed) {
        reply.hijack();
        return;
      }
      // The slot first: a refused connection makes no listener.
      deps.streams.take(request, reply.raw, "stop a hookyard listen");
      const feed = await listeners.open(source, request.params.name);
      reply.hijack();
      const stream = new EventStream(reply.raw);
      stream.send(`: listening as ${request.params.name}\n\n`);
      // eslint-disable-next-line no-restricted-globals -- a keep-alive for the client's connection, not domain time
      const keepAlive = setInterval(() => stream.tick(), KEEP_ALIVE_MS);
      reply.raw.once("close", () => {
        clearInterval(keepAlive);
        feed.close();
      });
      try {
        for (;;) {
          const item = await feed.next();
          if (item === null || stream.closed) break;
          const text =
            item.kind === "item"
              ? `event: request\nid: ${item.id}\ndata: ${JSON.stringify(item.value)}\n\n`
              : item.kind === "caught-up"
                ? `event: caught-up\ndata: ${JSON.stringify({ replayed: item.replayed })}\n\n`
                : "event: replaced\ndata: {}\n\n";
          if (!stream.send(text) || item.kind === "replaced") break;
          await stream.writable();
        }
      } catch (err) {
        request.log.warn({ err }, "listener stream failed");
      }
      feed.close();
      if (!reply.raw.destroyed) reply.raw.end();
    },
  );
}
