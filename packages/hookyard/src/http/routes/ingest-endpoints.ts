import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Sources } from "../../inbound/sources.js";
import type { OutboundServices } from "../../outbound/services.js";
import { endpointInput, endpointUpdateInput } from "../inputs.js";
import { mapPage, PAGE_QUERY, toPageRequest } from "../pagination.js";
import type { PageQuery } from "../pagination.js";
import { ERROR_RESPONSES, NoContent } from "../schemas/common.js";
import {
  EndpointHeadersIn,
  EndpointHeadersOut,
  EndpointIn,
  EndpointOut,
  EndpointSecretOut,
  EndpointSecretRotateIn,
  EndpointUpdate,
  ListEndpointOut,
} from "../schemas/endpoint.js";
import type {
  EndpointHeadersInBody,
  EndpointInBody,
  EndpointSecretRotateInBody,
  EndpointUpdateBody,
} from "../schemas/endpoint.js";
import { SourceParams } from "../schemas/source.js";
import type { SourceParamsValue } from "../schemas/source.js";
import { endpointOut } from "../serializers.js";

const TAGS = ["Ingest endpoint"];

const IngestEndpointParams = Type.Object({
  source_id: SourceParams.properties.source_id,
  endpoint_id: Type.String({
    minLength: 1,
    maxLength: 256,
    description: "The destination's id (`ep_…`) or uid.",
  }),
});
interface IngestEndpointParamsValue {
  source_id: string;
  endpoint_id: string;
}

/**
 * A source's destinations (Svix Ingest's `ingest.endpoint` API): the endpoints of the source's
 * own application, so they have every field and behaviour of outbound endpoints (filterTypes on
 * the provider's event type, headers, rateLimit, secret and its rotation, disabled). Each accepted
 * request goes to every matching one through the delivery engine, body and headers as received,
 * signed with the destination's secret (Standard Webhooks).
 */
export function registerIngestEndpointRoutes(
  app: FastifyInstance,
  deps: { sources: Sources; services: OutboundServices },
): void {
  const { sources } = deps;
  const { endpoints } = deps.services;
  const appOf = async (sourceIdOrUid: string) => (await sources.get(sourceIdOrUid)).appId;
  const BASE = "/source/:source_id/endpoint";

  app.get<{ Params: SourceParamsValue; Querystring: PageQuery }>(
    BASE,
    {
      schema: {
        tags: TAGS,
        summary: "List a source's destinations",
        params: SourceParams,
        querystring: Type.Object(PAGE_QUERY),
        response: { 200: ListEndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      mapPage(
        await endpoints.list(await appOf(request.params.source_id), toPageRequest(request.query)),
        endpointOut,
      ),
  );

  app.post<{ Params: SourceParamsValue; Body: EndpointInBody }>(
    BASE,
    {
      schema: {
        tags: TAGS,
        summary: "Add a destination to a source",
        description:
          "Every field of an outbound endpoint; `filterTypes` match the provider's event type (X-GitHub-Event, a JSON body's `type`, …).",
        params: SourceParams,
        body: EndpointIn,
        response: { 201: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request.params.source_id);
      const created = await endpoints.create(appId, endpointInput(request.body));
      reply.code(201);
      return endpointOut(created);
    },
  );

  app.get<{ Params: IngestEndpointParamsValue }>(
    `${BASE}/:endpoint_id`,
    {
      schema: {
        tags: TAGS,
        summary: "Get a destination",
        params: IngestEndpointParams,
        response: { 200: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      endpointOut(
        await endpoints.get(await appOf(request.params.source_id), request.params.endpoint_id),
      ),
  );

  app.put<{ Params: IngestEndpointParamsValue; Body: EndpointUpdateBody }>(
    `${BASE}/:endpoint_id`,
    {
      schema: {
        tags: TAGS,
        summary: "Update a destination",
        params: IngestEndpointParams,
        body: EndpointUpdate,
        response: { 200: EndpointOut, 201: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request.params.source_id);
      const result = await endpoints.update(
        appId,
        request.params.endpoint_id,
        endpointUpdateInput(request.body),
      );
      reply.code(result.created ? 201 : 200);
      return endpointOut(result.endpoint);
    },
  );

  app.delete<{ Params: IngestEndpointParamsValue }>(
    `${BASE}/:endpoint_id`,
    {
      schema: {
        tags: TAGS,
        summary: "Remove a destination",
        description: "Its open deliveries end cancelled.",
        params: IngestEndpointParams,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await endpoints.delete(await appOf(request.params.source_id), request.params.endpoint_id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: IngestEndpointParamsValue }>(
    `${BASE}/:endpoint_id/secret`,
    {
      schema: {
        tags: TAGS,
        summary: "Get a destination's signing secret",
        params: IngestEndpointParams,
        response: { 200: EndpointSecretOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => ({
      key: await endpoints.getSecret(
        await appOf(request.params.source_id),
        request.params.endpoint_id,
      ),
    }),
  );

  app.post<{ Params: IngestEndpointParamsValue; Body: EndpointSecretRotateInBody }>(
    `${BASE}/:endpoint_id/secret/rotate`,
    {
      schema: {
        tags: TAGS,
        summary: "Rotate a destination's signing secret",
        params: IngestEndpointParams,
        body: EndpointSecretRotateIn,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request.params.source_id);
      await endpoints.rotateSecret(appId, request.params.endpoint_id, request.body);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: IngestEndpointParamsValue }>(
    `${BASE}/:endpoint_id/headers`,
    {
      schema: {
        tags: TAGS,
        summary: "Get a destination's custom headers",
        params: IngestEndpointParams,
        response: { 200: EndpointHeadersOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      endpoints.getHeaders(await appOf(request.params.source_id), request.params.endpoint_id),
  );

  app.put<{ Params: IngestEndpointParamsValue; Body: EndpointHeadersInBody }>(
    `${BASE}/:endpoint_id/headers`,
    {
      schema: {
        tags: TAGS,
        summary: "Replace a destination's custom headers",
        params: IngestEndpointParams,
        body: EndpointHeadersIn,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request.params.source_id);
      await endpoints.setHeaders(appId, request.params.endpoint_id, request.body.headers);
      return reply.code(204).send();
    },
  );
}
