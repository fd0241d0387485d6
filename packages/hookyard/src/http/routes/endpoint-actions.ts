import type { FastifyInstance } from "fastify";
import type { OutboundServices } from "../../outbound/services.js";
import { JSON_CONTENT_TYPE } from "../query-filters.js";
import { ERROR_RESPONSES, NoContent } from "../schemas/common.js";
import {
  EndpointHeadersIn,
  EndpointHeadersOut,
  EndpointHeadersPatchIn,
  EndpointParams,
  EndpointSecretOut,
  EndpointSecretRotateIn,
  EndpointStatsOut,
  EndpointStatsQuery,
  EventExampleIn,
  RecoverIn,
} from "../schemas/endpoint.js";
import { BulkReplayIn, ReplayIn, TaskStartedOut } from "../schemas/background-task.js";
import type { BulkReplayInBody, ReplayInBody } from "../schemas/background-task.js";
import type { BulkReplayInput, TimeWindow } from "../../outbound/services.js";
import type { StatusCodeClass } from "../../store/store.js";
import type {
  EndpointHeadersInBody,
  EndpointHeadersPatchInBody,
  EndpointParamsValue,
  EndpointSecretRotateInBody,
  EndpointStatsQueryValue,
  EventExampleInBody,
  RecoverInBody,
} from "../schemas/endpoint.js";
import { MessageOut } from "../schemas/message.js";
import { epochMsOf } from "../schema-validation.js";
import { deliveryStatusesOf, messageOutJson, taskStartedOut } from "../serializers.js";

const TAGS = ["Endpoint"];
const BASE = "/app/:app_id/endpoint/:endpoint_id";

/** Endpoint sub-resources: secret, headers, recover, send-example, stats. */
export function registerEndpointActionRoutes(
  app: FastifyInstance,
  services: OutboundServices,
): void {
  const { endpoints, replays } = services;

  app.get<{ Params: EndpointParamsValue }>(
    `${BASE}/secret`,
    {
      schema: {
        tags: TAGS,
        summary: "Get the endpoint's signing secret",
        params: EndpointParams,
        response: { 200: EndpointSecretOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => ({
      key: await endpoints.getSecret(request.params.app_id, request.params.endpoint_id),
    }),
  );

  app.post<{ Params: EndpointParamsValue; Body: EndpointSecretRotateInBody }>(
    `${BASE}/secret/rotate`,
    {
      schema: {
        tags: TAGS,
        summary: "Rotate the endpoint's signing secret",
        description:
          "The old secret keeps signing (both signatures are sent) for `gracePeriodSeconds` (default 24 h).",
        params: EndpointParams,
        body: EndpointSecretRotateIn,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      await endpoints.rotateSecret(appId, endpointId, request.body);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: EndpointParamsValue }>(
    `${BASE}/headers`,
    {
      schema: {
        tags: TAGS,
        summary: "Get the endpoint's custom headers",
        description: "Values of sensitive (authorization-like) headers are hidden.",
        params: EndpointParams,
        response: { 200: EndpointHeadersOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => endpoints.getHeaders(request.params.app_id, request.params.endpoint_id),
  );

  app.put<{ Params: EndpointParamsValue; Body: EndpointHeadersInBody }>(
    `${BASE}/headers`,
    {
      schema: {
        tags: TAGS,
        summary: "Replace the endpoint's custom headers",
        params: EndpointParams,
        body: EndpointHeadersIn,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      await endpoints.setHeaders(appId, endpointId, request.body.headers);
      return reply.code(204).send();
    },
  );

  app.patch<{ Params: EndpointParamsValue; Body: EndpointHeadersPatchInBody }>(
    `${BASE}/headers`,
    {
      schema: {
        tags: TAGS,
        summary: "Add, replace or remove custom headers",
        params: EndpointParams,
        body: EndpointHeadersPatchIn,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      await endpoints.patchHeaders(appId, endpointId, request.body);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: EndpointParamsValue; Body: RecoverInBody }>(
    `${BASE}/recover`,
    {
      schema: {
        tags: TAGS,
        summary: "Re-send failed messages",
        description:
          "Re-sends every message whose delivery to this endpoint failed in [since, until), at most 10,000, as a background task: poll `GET /api/v1/background-task/{id}` for `{messagesSent}`. Messages whose payload was expunged are skipped.",
        params: EndpointParams,
        body: RecoverIn,
        response: { 202: TaskStartedOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      const task = await replays.recover(appId, endpointId, windowOf(request.body));
      reply.code(202);
      return taskStartedOut(task);
    },
  );

  app.post<{ Params: EndpointParamsValue; Body: ReplayInBody }>(
    `${BASE}/replay-missing`,
    {
      schema: {
        tags: TAGS,
        summary: "Send the messages this endpoint missed",
        description:
          "Sends the endpoint every message of its application created in [since, until) that it has no delivery of (it did not exist yet, was disabled, or filtered them out then) and that its filters (event types, channels, payload filter) take now; at most 10,000 per call. A background task: poll it for `{messagesSent}`.",
        params: EndpointParams,
        body: ReplayIn,
        response: { 202: TaskStartedOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      const task = await replays.replayMissing(appId, endpointId, windowOf(request.body));
      reply.code(202);
      return taskStartedOut(task);
    },
  );

  app.post<{ Params: EndpointParamsValue; Body: BulkReplayInBody }>(
    `${BASE}/bulk-replay`,
    {
      schema: {
        tags: TAGS,
        summary: "Replay the endpoint's messages",
        description:
          "One manual attempt of each message created in [since, until) that was sent to this endpoint (successful or not), optionally only those of `eventTypes`, a `channel`, a `tag`, a delivery `status` or an attempt `statusCodeClass`; at most 10,000 per call. A background task: poll it for `{messagesSent}`.",
        params: EndpointParams,
        body: BulkReplayIn,
        response: { 202: TaskStartedOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      const { body } = request;
      const input: BulkReplayInput = windowOf(body);
      if (body.eventTypes != null && body.eventTypes.length > 0) input.eventTypes = body.eventTypes;
      if (body.channel != null) input.channel = body.channel;
      if (body.tag != null) input.tag = body.tag;
      if (body.statusCodeClass != null) {
        // The schema's enum admits only Svix's classes.
        input.statusCodeClass = body.statusCodeClass as StatusCodeClass;
      }
      if (body.status != null) {
        input.statuses = deliveryStatusesOf(body.status);
      }
      const task = await replays.bulkReplay(appId, endpointId, input);
      reply.code(202);
      return taskStartedOut(task);
    },
  );

  app.post<{ Params: EndpointParamsValue; Body: EventExampleInBody }>(
    `${BASE}/send-example`,
    {
      schema: {
        tags: TAGS,
        summary: "Send an example message",
        description: "Publishes one of the event type's schema `examples` to this endpoint only.",
        params: EndpointParams,
        body: EventExampleIn,
        response: { 202: MessageOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      const message = await endpoints.sendExample(appId, endpointId, request.body);
      return reply.code(202).type(JSON_CONTENT_TYPE).send(messageOutJson(message, true));
    },
  );

  app.get<{ Params: EndpointParamsValue; Querystring: EndpointStatsQueryValue }>(
    `${BASE}/stats`,
    {
      schema: {
        tags: TAGS,
        summary: "Delivery counts of the endpoint",
        params: EndpointParams,
        querystring: EndpointStatsQuery,
        response: { 200: EndpointStatsOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const range: { since?: number; until?: number } = {};
      if (request.query.since !== undefined) range.since = epochMsOf(request.query.since);
      if (request.query.until !== undefined) range.until = epochMsOf(request.query.until);
      return endpoints.stats(request.params.app_id, request.params.endpoint_id, range);
    },
  );
}

/** `since`/`until` of a body → the services' window (until null or absent = now). */
function windowOf(body: { since: string; until?: string | null }): TimeWindow {
  const window: TimeWindow = { since: epochMsOf(body.since) };
  if (body.until != null) window.until = epochMsOf(body.until);
  return window;
}
