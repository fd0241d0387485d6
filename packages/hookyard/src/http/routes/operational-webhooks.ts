import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import {
  OPERATIONAL_APP_UID,
  OPERATIONAL_EVENT_TYPES,
  type OperationalWebhooks,
} from "../../outbound/operational-webhooks.js";
import type { EndpointService } from "../../outbound/services.js";
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
import { endpointOut } from "../serializers.js";

const TAGS = ["Operational webhook"];
const BASE = "/operational-webhook/endpoint";
const ListQuery = Type.Object(PAGE_QUERY);
const Params = Type.Object({
  endpoint_id: Type.String({
    minLength: 1,
    maxLength: 256,
    description: "The operational endpoint's id (`ep_…`) or uid.",
  }),
});
type ParamsValue = Static<typeof Params>;

const EVENTS_DESCRIPTION = `Events: ${OPERATIONAL_EVENT_TYPES.map((t) => `\`${t}\``).join(", ")}. Each is a message of Hookyard's own application (uid \`${OPERATIONAL_APP_UID}\`), signed with the endpoint's secret and retried like any message; \`eventTypes\` picks which ones an endpoint receives.`;

/**
 * Svix's operational webhook endpoints (`/api/v1/operational-webhook/endpoint`): endpoints of
 * the operational application, with the endpoint API's bodies and rules, so the svix SDK's
 * `operationalWebhook.endpoint` methods work unchanged.
 */
export function registerOperationalWebhookRoutes(
  app: FastifyInstance,
  deps: { endpoints: EndpointService; operational: OperationalWebhooks },
): void {
  const { endpoints, operational } = deps;
  const appId = async () => (await operational.app()).id;

  app.get<{ Querystring: PageQuery }>(
    BASE,
    {
      schema: {
        tags: TAGS,
        summary: "List operational webhook endpoints",
        querystring: ListQuery,
        response: { 200: ListEndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      mapPage(await endpoints.list(await appId(), toPageRequest(request.query)), endpointOut),
  );

  app.post<{ Body: EndpointInBody }>(
    BASE,
    {
      schema: {
        tags: TAGS,
        summary: "Create an operational webhook endpoint",
        description: EVENTS_DESCRIPTION,
        body: EndpointIn,
        response: { 201: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const created = await endpoints.create(await appId(), endpointInput(request.body));
      reply.code(201);
      return endpointOut(created);
    },
  );

  app.get<{ Params: ParamsValue }>(
    `${BASE}/:endpoint_id`,
    {
      schema: {
        tags: TAGS,
        summary: "Get an operational webhook endpoint",
        params: Params,
        response: { 200: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => endpointOut(await endpoints.get(await appId(), request.params.endpoint_id)),
  );

  app.put<{ Params: ParamsValue; Body: EndpointUpdateBody }>(
    `${BASE}/:endpoint_id`,
    {
      schema: {
        tags: TAGS,
        summary: "Update an operational webhook endpoint",
        description:
          "Replaces its fields (not the secret or headers); creates it (201) when absent.",
        params: Params,
        body: EndpointUpdate,
        response: { 200: EndpointOut, 201: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const result = await endpoints.update(
        await appId(),
        request.params.endpoint_id,
        endpointUpdateInput(request.body),
      );
      reply.code(result.created ? 201 : 200);
      return endpointOut(result.endpoint);
    },
  );

  app.delete<{ Params: ParamsValue }>(
    `${BASE}/:endpoint_id`,
    {
      schema: {
        tags: TAGS,
        summary: "Delete an operational webhook endpoint",
        params: Params,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await endpoints.delete(await appId(), request.params.endpoint_id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: ParamsValue }>(
    `${BASE}/:endpoint_id/secret`,
    {
      schema: {
        tags: TAGS,
        summary: "Get an operational webhook endpoint's signing secret",
        params: Params,
        response: { 200: EndpointSecretOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => ({
      key: await endpoints.getSecret(await appId(), request.params.endpoint_id),
    }),
  );

  app.post<{ Params: ParamsValue; Body: EndpointSecretRotateInBody }>(
    `${BASE}/:endpoint_id/secret/rotate`,
    {
      schema: {
        tags: TAGS,
        summary: "Rotate an operational webhook endpoint's signing secret",
        description: "The old secret keeps signing for `gracePeriodSeconds` (default 24 h).",
        params: Params,
        body: EndpointSecretRotateIn,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await endpoints.rotateSecret(await appId(), request.params.endpoint_id, request.body ?? {});
      return reply.code(204).send();
    },
  );

  app.get<{ Params: ParamsValue }>(
    `${BASE}/:endpoint_id/headers`,
    {
      schema: {
        tags: TAGS,
        summary: "Get an operational webhook endpoint's custom headers",
        params: Params,
        response: { 200: EndpointHeadersOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => endpoints.getHeaders(await appId(), request.params.endpoint_id),
  );

  app.put<{ Params: ParamsValue; Body: EndpointHeadersInBody }>(
    `${BASE}/:endpoint_id/headers`,
    {
      schema: {
        tags: TAGS,
        summary: "Replace an operational webhook endpoint's custom headers",
        params: Params,
        body: EndpointHeadersIn,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await endpoints.setHeaders(await appId(), request.params.endpoint_id, request.body.headers);
      return reply.code(204).send();
    },
  );
}
