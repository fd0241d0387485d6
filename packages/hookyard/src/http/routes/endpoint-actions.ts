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
  RecoverOut,
} from "../schemas/endpoint.js";
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
import { messageOutJson, recoverOut } from "../serializers.js";

const TAGS = ["Endpoint"];
const BASE = "/app/:app_id/endpoint/:endpoint_id";

/** Endpoint sub-resources: secret, headers, recover, send-example, stats. */
export function registerEndpointActionRoutes(
  app: FastifyInstance,
  services: OutboundServices,
): void {
  const endpoints = services.endpoints;

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
          "Re-sends every message whose delivery to this endpoint failed in [since, until).",
        params: EndpointParams,
        body: RecoverIn,
        response: { 202: RecoverOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      const { since, until } = request.body;
      const range: { since: number; until?: number | null } = { since: epochMsOf(since) };
      if (until !== undefined) range.until = until === null ? null : epochMsOf(until);
      const task = await endpoints.recover(appId, endpointId, range);
      reply.code(202);
      return recoverOut(task);
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
