import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { NotFoundError } from "../../errors.js";
import type { ListenerState, Listeners } from "../../inbound/listeners.js";
import { LATE_COMMIT_MS } from "../../inbound/listeners.js";
import type { Sources } from "../../inbound/sources.js";
import type { InboundRequestId } from "../../model.js";
import {
  EventStream,
  KEEP_ALIVE_MS,
  MAX_STREAMS_PER_KEY,
  type StreamSlots,
} from "../event-stream.js";
import { ERROR_RESPONSES, NoContent } from "../schemas/common.js";
import { inboundRequestOut, iso } from "../serializers.js";

const TAGS = ["Ingest source"];

const ListenerParams = Type.Object({
  source_id: Type.String({ description: "The source's id or uid (a request bin is a source)." }),
  name: Type.String({
    description:
      "The listener's name: 1 to 128 letters, digits or . _ : @ - . Listeners with the same name share one cursor (a restart resumes it); each name gets every request.",
  }),
});
type ListenerParamsValue = { source_id: string; name: string };

const ListenerOut = Type.Object(
  {
    name: Type.String(),
    sourceId: Type.String(),
    cursor: Type.String({
      description: "The newest request acknowledged (at first: the time the listener was made).",
    }),
    acknowledged: Type.Integer({ description: "Requests acknowledged so far." }),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { title: "ListenerOut" },
);

const AckIn = Type.Object(
  { requestId: Type.String({ minLength: 1, description: "The request the local app answered." }) },
  { additionalProperties: false, title: "ListenerAckIn" },
);

function listenerOut(state: ListenerState) {
  return {
    name: state.name,
    sourceId: state.sourceId,
    cursor: state.cursor,
    acknowledged: state.acknowledged,
    createdAt: iso(state.createdAt),
    updatedAt: iso(state.updatedAt),
  };
}

/**
 * Listeners of a source (what `hookyard listen` connects to): a stream that replays the
 * accepted requests after the listener's cursor and then follows new ones, and the
 * acknowledgement that moves the cursor.
 */
export function registerListenerRoutes(
  app: FastifyInstance,
  deps: { sources: Sources; listeners: Listeners; streams: StreamSlots },
): void {
  const { sources, listeners } = deps;

  app.get<{ Params: ListenerParamsValue }>(
    "/source/:source_id/listener/:name",
    {
      schema: {
        tags: TAGS,
        summary: "Get a listener's cursor",
        description: "Hookyard extension: where the named listener of this source has got to.",
        params: ListenerParams,
        response: { 200: ListenerOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const source = await sources.get(request.params.source_id);
      const state = await listeners.state(source.id, request.params.name);
      if (state === null) {
        throw new NotFoundError(`No listener "${request.params.name}" on this source`);
      }
      return listenerOut(state);
    },
  );

  app.delete<{ Params: ListenerParamsValue }>(
    "/source/:source_id/listener/:name",
    {
      schema: {
        tags: TAGS,
        summary: "Forget a listener",
        description:
          "Hookyard extension: drops the listener's cursor; its next connection starts from that moment.",
        params: ListenerParams,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const source = await sources.get(request.params.source_id);
      await listeners.forget(source.id, request.params.name);
      reply.code(204);
      return null;
    },
  );

  app.post<{ Params: ListenerParamsValue; Body: { requestId: string } }>(
    "/source/:source_id/listener/:name/ack",
    {
      schema: {
        tags: TAGS,
        summary: "Acknowledge a request a listener forwarded",
        description:
          "Hookyard extension: the listener's local app has answered this request; it is not sent to this listener again.",
        params: ListenerParams,
        body: AckIn,
        response: { 200: ListenerOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const source = await sources.get(request.params.source_id);
      const id = request.body.requestId as InboundRequestId;
      return listenerOut(await listeners.acknowledge(source.id, request.params.name, id));
    },
  );

  app.get<{ Params: ListenerParamsValue }>(
    "/source/:source_id/listener/:name/stream",
    {
      schema: {
        tags: TAGS,
        summary: "Listen: the accepted requests after the listener's cursor, then new ones (SSE)",
        description: `Hookyard extension, what \`hookyard listen\` reads: \`text/event-stream\` of one \`request\` event per request the source accepted (its data is an InboundRequestOut, its SSE id the request id), oldest first, starting after the listener's cursor — so requests that arrived while no listener was connected are sent first — then a \`caught-up\` event (data \`{"replayed": n}\`), then new requests as they are accepted, by any process of a cluster (within about a second). A listener seen for the first time starts at that moment. At most 100 requests (or 8 MiB) are sent ahead of the listener's acknowledgements (POST …/ack); the rest wait on the server. A request that commits out of order (up to ${LATE_COMMIT_MS / 1000} s behind a later one) is still sent, once. A comment every ${KEEP_ALIVE_MS / 1000} s keeps the connection open; at most ${MAX_STREAMS_PER_KEY} streams per API key.`,
        params: ListenerParams,
      },
    },
    async (request, reply) => {
      const source = await sources.get(request.params.source_id);
      const feed = await listeners.open(source.id, request.params.name);
      if (request.raw.socket.destroyed || reply.raw.destroyed) {
        feed.close();
        reply.hijack();
        return;
      }
      try {
        deps.streams.take(request, reply.raw, "stop a hookyard listen");
      } catch (err) {
        feed.close();
        throw err;
      }
      reply.hijack();
      const stream = new EventStream(reply.raw);
      stream.send(`: listening to ${source.id} as ${request.params.name}\n\n`);
      // eslint-disable-next-line no-restricted-globals -- a keep-alive for the client's connection, not domain time
      const keepAlive = setInterval(() => stream.tick(), KEEP_ALIVE_MS);
      reply.raw.once("close", () => {
        clearInterval(keepAlive);
        feed.close();
      });
      for (;;) {
        const item = await feed.next().catch((err: unknown) => {
          request.log.warn({ err, sourceId: source.id }, "listener feed failed");
          return null;
        });
        if (item === null || stream.closed) break;
        const text =
          item.kind === "request"
            ? `event: request\nid: ${item.request.id}\ndata: ${JSON.stringify(inboundRequestOut(item.request))}\n\n`
            : `event: caught-up\ndata: ${JSON.stringify({ replayed: item.replayed })}\n\n`;
        if (!stream.send(text)) break;
        await stream.writable();
      }
      feed.close();
      if (!reply.raw.destroyed) reply.raw.end();
    },
  );
}
