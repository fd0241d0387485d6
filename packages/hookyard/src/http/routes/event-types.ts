import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { OutboundServices } from "../../outbound/services.js";
import { mapPage, PAGE_QUERY, toPageRequest } from "../pagination.js";
import { ERROR_RESPONSES, NoContent } from "../schemas/common.js";
import {
  EventTypeImportOpenApiIn,
  EventTypeImportOpenApiOut,
  EventTypeIn,
  EventTypeOut,
  EventTypeParams,
  EventTypePatch,
  EventTypeUpdate,
  ListEventTypeOut,
} from "../schemas/event-type.js";
import type {
  EventTypeImportOpenApiBody,
  EventTypeInBody,
  EventTypeParamsValue,
  EventTypePatchBody,
  EventTypeUpdateBody,
} from "../schemas/event-type.js";
import { eventTypeOut } from "../serializers.js";

const TAGS = ["Event Type"];

const ListQuery = Type.Object({
  ...PAGE_QUERY,
  include_archived: Type.Boolean({ default: false, description: "Include archived event types." }),
  with_content: Type.Boolean({
    default: false,
    description: "Include `schemas` (as in Svix, they are left out (null) unless asked for).",
  }),
});
type ListQueryValue = Static<typeof ListQuery>;

const DeleteQuery = Type.Object({
  expunge: Type.Boolean({
    default: false,
    description: "Remove the event type for good instead of archiving it.",
  }),
});
type DeleteQueryValue = Static<typeof DeleteQuery>;

export function registerEventTypeRoutes(app: FastifyInstance, services: OutboundServices): void {
  const eventTypes = services.eventTypes;

  app.get<{ Querystring: ListQueryValue }>(
    "/event-type",
    {
      schema: {
        tags: TAGS,
        summary: "List event types",
        querystring: ListQuery,
        response: { 200: ListEventTypeOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { include_archived: includeArchived, with_content: withContent } = request.query;
      const page = await eventTypes.list({ page: toPageRequest(request.query), includeArchived });
      return mapPage(page, (eventType) => {
        const out = eventTypeOut(eventType);
        return withContent ? out : { ...out, schemas: null };
      });
    },
  );

  app.post<{ Body: EventTypeInBody }>(
    "/event-type",
    {
      schema: {
        tags: TAGS,
        summary: "Create an event type",
        description: "409 when the name exists. Each schema must be a valid JSON Schema.",
        body: EventTypeIn,
        response: { 201: EventTypeOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const created = await eventTypes.create(request.body);
      reply.code(201);
      return eventTypeOut(created);
    },
  );

  app.post<{ Body: EventTypeImportOpenApiBody }>(
    "/event-type/import/openapi",
    {
      schema: {
        tags: TAGS,
        summary: "Import event types from an OpenAPI document",
        description: [
          "Creates or updates (and unarchives) one event type per webhook of the document's",
          "`webhooks` (OpenAPI 3.1) or `x-webhooks` (3.0): the key is the name, the operation gives",
          "the description, `deprecated`, the group (first tag) and the schema (its JSON request",
          "body's, local `$ref`s inlined). Event types that already match are left alone.",
          "`dryRun` only reports; `replaceAll` also archives the event types the document does not",
          "name. A bad document, name, `$ref` (cycles included) or schema is a 422 and writes nothing.",
        ].join(" "),
        body: EventTypeImportOpenApiIn,
        response: { 200: EventTypeImportOpenApiOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { dryRun = false, replaceAll = false, ...source } = request.body;
      const result = await eventTypes.importOpenApi({ ...source, dryRun, replaceAll });
      return { data: { modified: result.modified, to_modify: result.toModify } };
    },
  );

  app.get<{ Params: EventTypeParamsValue }>(
    "/event-type/:event_type_name",
    {
      schema: {
        tags: TAGS,
        summary: "Get an event type",
        params: EventTypeParams,
        response: { 200: EventTypeOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => eventTypeOut(await eventTypes.get(request.params.event_type_name)),
  );

  app.put<{ Params: EventTypeParamsValue; Body: EventTypeUpdateBody }>(
    "/event-type/:event_type_name",
    {
      schema: {
        tags: TAGS,
        summary: "Update an event type",
        description: "Replaces every field; creates the event type (201) when it does not exist.",
        params: EventTypeParams,
        body: EventTypeUpdate,
        response: { 200: EventTypeOut, 201: EventTypeOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const result = await eventTypes.update(request.params.event_type_name, request.body);
      reply.code(result.created ? 201 : 200);
      return eventTypeOut(result.eventType);
    },
  );

  app.patch<{ Params: EventTypeParamsValue; Body: EventTypePatchBody }>(
    "/event-type/:event_type_name",
    {
      schema: {
        tags: TAGS,
        summary: "Patch an event type",
        description: "Changes only the given fields; null clears a field.",
        params: EventTypeParams,
        body: EventTypePatch,
        response: { 200: EventTypeOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      eventTypeOut(await eventTypes.patch(request.params.event_type_name, request.body)),
  );

  app.delete<{ Params: EventTypeParamsValue; Querystring: DeleteQueryValue }>(
    "/event-type/:event_type_name",
    {
      schema: {
        tags: TAGS,
        summary: "Delete an event type",
        description: "Archives the event type; with `expunge=true` it is removed.",
        params: EventTypeParams,
        querystring: DeleteQuery,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await eventTypes.delete(request.params.event_type_name, { expunge: request.query.expunge });
      return reply.code(204).send();
    },
  );
}
