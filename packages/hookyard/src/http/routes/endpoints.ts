import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { OutboundServices } from "../../outbound/services.js";
import { endpointInput, endpointPatch, endpointUpdateInput } from "../inputs.js";
import { mapPage, PAGE_QUERY, toPageRequest } from "../pagination.js";
import type { PageQuery } from "../pagination.js";
import { AppParams } from "../schemas/application.js";
import type { AppParamsValue } from "../schemas/application.js";
import { ERROR_RESPONSES, NoContent } from "../schemas/common.js";
import {
  EndpointIn,
  EndpointOut,
  EndpointParams,
  EndpointPatch,
  EndpointUpdate,
  ListEndpointOut,
} from "../schemas/endpoint.js";
import type {
  EndpointInBody,
  EndpointParamsValue,
  EndpointPatchBody,
  EndpointUpdateBody,
} from "../schemas/endpoint.js";
import { endpointOut } from "../serializers.js";

const TAGS = ["Endpoint"];
const ListQuery = Type.Object(PAGE_QUERY);

export function registerEndpointRoutes(app: FastifyInstance, services: OutboundServices): void {
  const endpoints = services.endpoints;

  app.get<{ Params: AppParamsValue; Querystring: PageQuery }>(
    "/app/:app_id/endpoint",
    {
      schema: {
        tags: TAGS,
        summary: "List endpoints",
        params: AppParams,
        querystring: ListQuery,
        response: { 200: ListEndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      mapPage(
        await endpoints.list(request.params.app_id, toPageRequest(request.query)),
        endpointOut,
      ),
  );

  app.post<{ Params: AppParamsValue; Body: EndpointInBody }>(
    "/app/:app_id/endpoint",
    {
      schema: {
        tags: TAGS,
        summary: "Create an endpoint",
        description:
          "The URL must be http(s) and allowed by the egress guard (private addresses are refused unless allow-listed).",
        params: AppParams,
        body: EndpointIn,
        response: { 201: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const created = await endpoints.create(request.params.app_id, endpointInput(request.body));
      reply.code(201);
      return endpointOut(created);
    },
  );

  app.get<{ Params: EndpointParamsValue }>(
    "/app/:app_id/endpoint/:endpoint_id",
    {
      schema: {
        tags: TAGS,
        summary: "Get an endpoint",
        params: EndpointParams,
        response: { 200: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      endpointOut(await endpoints.get(request.params.app_id, request.params.endpoint_id)),
  );

  app.put<{ Params: EndpointParamsValue; Body: EndpointUpdateBody }>(
    "/app/:app_id/endpoint/:endpoint_id",
    {
      schema: {
        tags: TAGS,
        summary: "Update an endpoint",
        description:
          "Replaces every Svix field but the secret and headers (Hookyard's own `payloadFilter`, `accept302`, `auth` and `tls` stay as they are unless given: the svix SDK cannot send them); creates the endpoint (201) when it does not exist.",
        params: EndpointParams,
        body: EndpointUpdate,
        response: { 200: EndpointOut, 201: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      const result = await endpoints.update(appId, endpointId, endpointUpdateInput(request.body));
      reply.code(result.created ? 201 : 200);
      return endpointOut(result.endpoint);
    },
  );

  app.patch<{ Params: EndpointParamsValue; Body: EndpointPatchBody }>(
    "/app/:app_id/endpoint/:endpoint_id",
    {
      schema: {
        tags: TAGS,
        summary: "Patch an endpoint",
        description:
          "Changes only the given fields; null clears a field. `auth` and `tls` are replaced as a whole when given, except that a secret left out (`token`, `password`, `clientSecret`, `clientKey`) keeps the stored one.",
        params: EndpointParams,
        body: EndpointPatch,
        response: { 200: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      return endpointOut(await endpoints.patch(appId, endpointId, endpointPatch(request.body)));
    },
  );

  app.delete<{ Params: EndpointParamsValue }>(
    "/app/:app_id/endpoint/:endpoint_id",
    {
      schema: {
        tags: TAGS,
        summary: "Delete an endpoint",
        description: "Its open deliveries end cancelled.",
        params: EndpointParams,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await endpoints.delete(request.params.app_id, request.params.endpoint_id);
      return reply.code(204).send();
    },
  );
}
