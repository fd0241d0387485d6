import { Type, type TObject } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
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

type Params = Record<string, string>;

/** One text per route, in the order the routes are registered. */
export interface OwnedEndpointTexts {
  list: string;
  create: string;
  get: string;
  update: string;
  remove: string;
  getSecret: string;
  rotateSecret: string;
  getHeaders: string;
  setHeaders: string;
}

export interface OwnedEndpointRoutes {
  /** The collection's path, e.g. `/source/:source_id/endpoint`. */
  base: string;
  tags: string[];
  /** The collection path's parameters (absent: none); `endpoint_id` is added for an item. */
  params?: TObject;
  /** What the item's `endpoint_id` names (its description). */
  endpointIdDescription: string;
  /** The application whose endpoints these are, from the path's parameters. */
  appOf: (params: Params) => Promise<string>;
  summaries: OwnedEndpointTexts;
  descriptions?: Partial<OwnedEndpointTexts>;
}

/**
 * The endpoint API of an application the path does not name: a source's destinations (Svix
 * Ingest's `ingest.endpoint`) and the operational webhook endpoints. Each is the endpoints of one
 * application (the source's, Hookyard's own), with the bodies and rules of the endpoint API.
 */
export function registerOwnedEndpointRoutes(
  app: FastifyInstance,
  endpoints: EndpointService,
  routes: OwnedEndpointRoutes,
): void {
  const { base, tags, summaries } = routes;
  const appOf = (params: Params) => routes.appOf(params);
  const descriptions = routes.descriptions ?? {};
  const collection = routes.params;
  const item = Type.Object({
    ...collection?.properties,
    endpoint_id: Type.String({
      minLength: 1,
      maxLength: 256,
      description: routes.endpointIdDescription,
    }),
  });
  const schema = (key: keyof OwnedEndpointTexts, params: TObject | undefined) => ({
    tags,
    summary: summaries[key],
    ...(descriptions[key] !== undefined && { description: descriptions[key] }),
    ...(params !== undefined && { params }),
  });
  const id = (params: Params) => params["endpoint_id"]!;

  app.get<{ Params: Params; Querystring: PageQuery }>(
    base,
    {
      schema: {
        ...schema("list", collection),
        querystring: Type.Object(PAGE_QUERY),
        response: { 200: ListEndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      mapPage(
        await endpoints.list(await appOf(request.params), toPageRequest(request.query)),
        endpointOut,
      ),
  );

  app.post<{ Params: Params; Body: EndpointInBody }>(
    base,
    {
      schema: {
        ...schema("create", collection),
        body: EndpointIn,
        response: { 201: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request.params);
      const created = await endpoints.create(appId, endpointInput(request.body));
      reply.code(201);
      return endpointOut(created);
    },
  );

  app.get<{ Params: Params }>(
    `${base}/:endpoint_id`,
    { schema: { ...schema("get", item), response: { 200: EndpointOut, ...ERROR_RESPONSES } } },
    async (request) =>
      endpointOut(await endpoints.get(await appOf(request.params), id(request.params))),
  );

  app.put<{ Params: Params; Body: EndpointUpdateBody }>(
    `${base}/:endpoint_id`,
    {
      schema: {
        ...schema("update", item),
        body: EndpointUpdate,
        response: { 200: EndpointOut, 201: EndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request.params);
      const result = await endpoints.update(
        appId,
        id(request.params),
        endpointUpdateInput(request.body),
      );
      reply.code(result.created ? 201 : 200);
      return endpointOut(result.endpoint);
    },
  );

  app.delete<{ Params: Params }>(
    `${base}/:endpoint_id`,
    { schema: { ...schema("remove", item), response: { 204: NoContent, ...ERROR_RESPONSES } } },
    async (request, reply) => {
      await endpoints.delete(await appOf(request.params), id(request.params));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: Params }>(
    `${base}/:endpoint_id/secret`,
    {
      schema: {
        ...schema("getSecret", item),
        response: { 200: EndpointSecretOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => ({
      key: await endpoints.getSecret(await appOf(request.params), id(request.params)),
    }),
  );

  app.post<{ Params: Params; Body: EndpointSecretRotateInBody }>(
    `${base}/:endpoint_id/secret/rotate`,
    {
      schema: {
        ...schema("rotateSecret", item),
        body: EndpointSecretRotateIn,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request.params);
      await endpoints.rotateSecret(appId, id(request.params), request.body ?? {});
      return reply.code(204).send();
    },
  );

  app.get<{ Params: Params }>(
    `${base}/:endpoint_id/headers`,
    {
      schema: {
        ...schema("getHeaders", item),
        response: { 200: EndpointHeadersOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => endpoints.getHeaders(await appOf(request.params), id(request.params)),
  );

  app.put<{ Params: Params; Body: EndpointHeadersInBody }>(
    `${base}/:endpoint_id/headers`,
    {
      schema: {
        ...schema("setHeaders", item),
        body: EndpointHeadersIn,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const appId = await appOf(request.params);
      await endpoints.setHeaders(appId, id(request.params), request.body.headers);
      return reply.code(204).send();
    },
  );
}
