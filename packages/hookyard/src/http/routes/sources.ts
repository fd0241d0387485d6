import type { FastifyInstance, FastifyRequest } from "fastify";
import { ValidationError } from "../../errors.js";
import {
  EventStream,
  KEEP_ALIVE_MS,
  MAX_STREAM_BACKLOG_BYTES,
  MAX_STREAMS_PER_KEY,
  type StreamSlots,
} from "../event-stream.js";
import type { Receiver } from "../../inbound/receiver.js";
import type { AppId } from "../../model.js";
import type { EndpointService } from "../../outbound/services.js";
import { targetEndpoint } from "../../outbound/target-endpoints.js";
import type { PageRequest } from "../../store/store.js";
import { currentToken, publicConfig, type Sources } from "../../inbound/sources.js";
import type { InboundRequest, InboundStatus, Source } from "../../model.js";
import { mapPage, PAGE_QUERY, toPageRequest } from "../pagination.js";
import type { PageQuery } from "../pagination.js";
import { ERROR_RESPONSES, NoContent } from "../schemas/common.js";
import {
  IngestSourceIn,
  IngestSourceOut,
  ListInboundRequestOut,
  ListIngestSourceOut,
  ListRequestForwardOut,
  InboundRequestOut,
  RequestParams,
  RotateTokenOut,
  SourceParams,
} from "../schemas/source.js";
import type {
  IngestSourceInBody,
  RequestParamsValue,
  SourceParamsValue,
} from "../schemas/source.js";
import { Type } from "@sinclair/typebox";
import { publicBaseUrl } from "../public-url.js";
import { inboundRequestOut, iso, requestForwardOut } from "../serializers.js";

const TAGS = ["Ingest source"];

const SOURCE_CONFIG_RULES =
  "A type Hookyard does not verify, or a config it cannot use, is a 422 naming the field: among others a blank `secret`, `token` or `password` (anyone could sign with it); for `standard-webhooks`, `svix` and the Svix-powered types a `secret` that is not base64 (after an optional `whsec_`) of 24 to 75 bytes, as the Standard Webhooks libraries require; a `responseHeaders` entry with CR, LF or another control character, or one of the headers a source may not set (`content-length`, `transfer-encoding`, `content-encoding`, `connection`, `keep-alive`, `proxy-connection`, `upgrade`, `te`, `trailer`, `host`, `set-cookie`, `x-content-type-options`); a `clientCa` (Hookyard extension: a PEM bundle of the CA certificates whose client certificates the ingest URL requires) that holds no certificate or a private key, or on a server without HTTPS (`server.tls`).";

/**
 * Svix Ingest's source API (`/ingest/api/v1/source`, as the `svix` SDK's `ingest.source` calls
 * it). `publicUrl` (server.publicUrl) is the base of ingest URLs; without it, the URL the API was
 * called on is used.
 */
/** The channel of destinations made for replays to a URL: no forward carries it. */
const REPLAY_CHANNEL = "hookyard.replay";

/**
 * The id of the source application's destination for `url`: one that already sends there, or
 * one made for replays (its channel is one no forward carries, so it gets replays only).
 */
async function replayTarget(
  endpoints: EndpointService,
  appId: AppId,
  url: string,
): Promise<string> {
  for (let page: PageRequest = { limit: 250, iterator: null }; ;) {
    const listed = await endpoints.list(appId, page);
    const found = listed.data.find((e) => e.url === url);
    if (found !== undefined) return found.id;
    if (listed.done || listed.iterator === null) break;
    page = { limit: 250, iterator: listed.iterator };
  }
  const made = await targetEndpoint(endpoints, appId, {
    kind: "replay",
    url,
    channels: () => [REPLAY_CHANNEL],
    description: "replay target",
  });
  return made.id;
}

export function registerSourceRoutes(
  app: FastifyInstance,
  deps: {
    sources: Sources;
    receiver: Receiver;
    endpoints: EndpointService;
    publicUrl: string | null;
    streams: StreamSlots;
  },
): void {
  const { sources } = deps;
  const ingestUrl = (request: FastifyRequest, source: Source) =>
    `${publicBaseUrl(request, deps.publicUrl)}/in/${currentToken(source)}`;
  const out = (request: FastifyRequest, source: Source) => ({
    id: source.id,
    appId: source.appId,
    uid: source.uid,
    name: source.name,
    type: source.type,
    config: publicConfig(source.config),
    metadata: source.metadata,
    ingestUrl: ingestUrl(request, source),
    createdAt: iso(source.createdAt),
    updatedAt: iso(source.updatedAt),
  });

  app.get<{ Querystring: PageQuery }>(
    "/source",
    {
      schema: {
        tags: TAGS,
        summary: "List sources",
        querystring: Type.Object(PAGE_QUERY),
        response: { 200: ListIngestSourceOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      mapPage(await sources.list(toPageRequest(request.query)), (s) => out(request, s)),
  );

  app.post<{ Body: IngestSourceInBody }>(
    "/source",
    {
      schema: {
        tags: TAGS,
        summary: "Create a source",
        description: SOURCE_CONFIG_RULES,
        body: IngestSourceIn,
        response: { 201: IngestSourceOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const source = await sources.create(request.body);
      reply.code(201);
      return out(request, source);
    },
  );

  app.get<{ Params: SourceParamsValue }>(
    "/source/:source_id",
    {
      schema: {
        tags: TAGS,
        summary: "Get a source",
        params: SourceParams,
        response: { 200: IngestSourceOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => out(request, await sources.get(request.params.source_id)),
  );

  app.put<{ Params: SourceParamsValue; Body: IngestSourceInBody }>(
    "/source/:source_id",
    {
      schema: {
        tags: TAGS,
        summary: "Update a source",
        description: `Replaces name, uid, type, config and metadata; the ingest URL stays. ${SOURCE_CONFIG_RULES}`,
        params: SourceParams,
        body: IngestSourceIn,
        response: { 200: IngestSourceOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => out(request, await sources.update(request.params.source_id, request.body)),
  );

  app.delete<{ Params: SourceParamsValue }>(
    "/source/:source_id",
    {
      schema: {
        tags: TAGS,
        summary: "Delete a source",
        params: SourceParams,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await sources.delete(request.params.source_id);
      reply.code(204);
      return null;
    },
  );

  app.get<{
    Params: SourceParamsValue;
    Querystring: PageQuery & { status?: InboundStatus };
  }>(
    "/source/:source_id/request",
    {
      schema: {
        tags: TAGS,
        summary: "List the requests a source received",
        description:
          "Hookyard extension: every request to the ingest URL (accepted, rejected, duplicate), newest first, byte-exact.",
        params: SourceParams,
        querystring: Type.Object({
          ...PAGE_QUERY,
          status: Type.Optional(
            Type.Union([
              Type.Literal("accepted"),
              Type.Literal("rejected"),
              Type.Literal("duplicate"),
            ]),
          ),
        }),
        response: { 200: ListInboundRequestOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { status, ...page } = request.query;
      const filter = status === undefined ? {} : { status };
      return mapPage(
        await sources.listRequests(request.params.source_id, filter, toPageRequest(page)),
        inboundRequestOut,
      );
    },
  );

  app.get<{ Params: SourceParamsValue }>(
    "/source/:source_id/request/stream",
    {
      schema: {
        tags: TAGS,
        summary: "Stream the requests a source receives (Server-Sent Events)",
        description: `Hookyard extension: \`text/event-stream\`; one \`request\` event per request received from now on (its data is an InboundRequestOut), a comment every 15 s to keep the connection open. Requests received by other processes of a cluster are not streamed here. At most ${MAX_STREAMS_PER_KEY} streams are open per API key at a time; one more is answered 429 (close another first). A client must read what it is sent: one that has not taken ${MAX_STREAM_BACKLOG_BYTES / 1024 / 1024} MiB of events, or has taken nothing for 15–30 s while events wait, is disconnected (list the source's requests to catch up).`,
        params: SourceParams,
      },
    },
    async (request, reply) => {
      const source = await sources.get(request.params.source_id);
      // A client gone while the source was looked up has already fired "close": nothing to count.
      if (request.raw.socket.destroyed || reply.raw.destroyed) {
        reply.hijack();
        return;
      }
      deps.streams.take(request, reply.raw, "stop a hookyard tail");
      reply.hijack();
      const stream = new EventStream(reply.raw);
      stream.send(": streaming requests\n\n");
      const onReceived = (received: InboundRequest) => {
        if (received.sourceId !== source.id) return;
        const data = JSON.stringify(inboundRequestOut(received));
        if (!stream.send(`event: request\nid: ${received.id}\ndata: ${data}\n\n`)) {
          request.log.info({ sourceId: source.id }, "stream closed: the client is not reading");
        }
      };
      deps.receiver.on("received", onReceived);
      // eslint-disable-next-line no-restricted-globals -- a keep-alive for the client's connection, not domain time
      const keepAlive = setInterval(() => {
        if (!stream.tick()) {
          request.log.info({ sourceId: source.id }, "stream closed: the client stopped reading");
        }
      }, KEEP_ALIVE_MS);
      reply.raw.once("close", () => {
        deps.receiver.off("received", onReceived);
        clearInterval(keepAlive);
      });
    },
  );

  app.post<{ Params: RequestParamsValue; Body: { endpointId?: string; url?: string } }>(
    "/source/:source_id/request/:request_id/replay",
    {
      schema: {
        tags: TAGS,
        summary: "Replay a received request to one destination",
        description:
          "Hookyard extension: sends an accepted request again, byte-exact with its headers, to one of the source's destinations (`endpointId`: id or uid, whatever its filter) or to a `url`, as a new message through the delivery engine (egress guard included), signed afresh. A `url` becomes a destination of the source that receives replays only (channel `hookyard.replay`), reused by later replays to it. A manual attempt: not retried on failure.",
        params: RequestParams,
        body: Type.Object(
          {
            endpointId: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 256,
                description: "The destination's id (`ep_…`) or uid.",
              }),
            ),
            url: Type.Optional(
              Type.String({ minLength: 1, maxLength: 65_536, description: "Any http(s) URL." }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ messageId: Type.String() }, { title: "ReplayOut" }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const { source_id: sourceId, request_id: requestId } = request.params;
      const { endpointId, url } = request.body;
      if ((endpointId === undefined) === (url === undefined)) {
        throw ValidationError.field(["body"], "give exactly one of endpointId and url");
      }
      const source = await sources.get(sourceId);
      const received = await sources.getRequest(source.id, requestId);
      const destination = endpointId ?? (await replayTarget(deps.endpoints, source.appId, url!));
      const message = await deps.receiver.replay(source, received, destination);
      reply.code(202);
      return { messageId: message.id };
    },
  );

  app.delete<{ Params: RequestParamsValue }>(
    "/source/:source_id/request/:request_id",
    {
      schema: {
        tags: TAGS,
        summary: "Delete a request a source received",
        params: RequestParams,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await sources.deleteRequest(request.params.source_id, request.params.request_id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: RequestParamsValue }>(
    "/source/:source_id/request/:request_id",
    {
      schema: {
        tags: TAGS,
        summary: "Get a request a source received",
        description: "Hookyard extension: headers, body as received, verification result.",
        params: RequestParams,
        response: { 200: InboundRequestOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      inboundRequestOut(
        await sources.getRequest(request.params.source_id, request.params.request_id),
      ),
  );

  app.get<{ Params: Pick<RequestParamsValue, "request_id"> }>(
    "/request/:request_id",
    {
      schema: {
        tags: TAGS,
        summary: "Get a request any source received, by its id",
        description:
          "Hookyard extension: the request as `GET /source/{source_id}/request/{request_id}` answers it (its `sourceId` says which source received it), for when only the request's id is known, e.g. from a log line or `hookyard verify req_…`. A 404 `not_found` names the id when no source received it.",
        params: Type.Object({ request_id: RequestParams.properties.request_id }),
        response: { 200: InboundRequestOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => inboundRequestOut(await sources.getRequestById(request.params.request_id)),
  );

  app.get<{ Params: RequestParamsValue }>(
    "/source/:source_id/request/:request_id/forward",
    {
      schema: {
        tags: TAGS,
        summary: "What became of a received request",
        description:
          "Hookyard extension: each message that forwarded the request (the forward made when it arrived, then any replays), newest first, with each destination's delivery state and the attempts made. An accepted request no destination took, a rejected or a duplicate one has none.",
        params: RequestParams,
        response: { 200: ListRequestForwardOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const forwards = await sources.forwardsOf(
        request.params.source_id,
        request.params.request_id,
      );
      return { data: forwards.map(requestForwardOut) };
    },
  );

  app.post<{ Params: SourceParamsValue }>(
    "/source/:source_id/token/rotate",
    {
      schema: {
        tags: TAGS,
        summary: "Rotate the ingest token",
        description: "A new ingest URL; the previous one keeps working for 48 hours.",
        params: SourceParams,
        response: { 200: RotateTokenOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => ({
      ingestUrl: ingestUrl(request, await sources.rotateToken(request.params.source_id)),
    }),
  );
}
