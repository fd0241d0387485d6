import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { OutboundServices } from "../../outbound/services.js";
import { applicationInput, applicationPatch } from "../inputs.js";
import { mapPage, PAGE_QUERY, toPageRequest } from "../pagination.js";
import type { Static } from "@sinclair/typebox";
import {
  ApplicationIn,
  ApplicationOut,
  ApplicationPatch,
  AppParams,
  ListApplicationOut,
} from "../schemas/application.js";
import type {
  ApplicationInBody,
  ApplicationPatchBody,
  AppParamsValue,
} from "../schemas/application.js";
import { ERROR_RESPONSES, NoContent } from "../schemas/common.js";
import { applicationOut } from "../serializers.js";

const TAGS = ["Application"];

const ListQuery = Type.Object({
  ...PAGE_QUERY,
  exclude_apps_with_no_endpoints: Type.Optional(
    Type.Boolean({ description: "Leave out applications without an endpoint." }),
  ),
  exclude_apps_with_disabled_endpoints: Type.Optional(
    Type.Boolean({ description: "Leave out applications with a disabled endpoint." }),
  ),
  exclude_apps_with_svix_play_endpoints: Type.Optional(
    Type.Boolean({
      description: "Accepted: Hookyard has no Svix Play endpoints, so this leaves out nothing.",
    }),
  ),
});
type ListQueryValue = Static<typeof ListQuery>;

const CreateQuery = Type.Object({
  get_if_exists: Type.Boolean({
    default: false,
    description: "Return the application with the same uid instead of a 409 (getOrCreate).",
  }),
});

export function registerApplicationRoutes(app: FastifyInstance, services: OutboundServices): void {
  const applications = services.applications;

  app.get<{ Querystring: ListQueryValue }>(
    "/app",
    {
      schema: {
        tags: TAGS,
        summary: "List applications",
        querystring: ListQuery,
        response: { 200: ListApplicationOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { query } = request;
      const filter = {
        ...(query.exclude_apps_with_no_endpoints === true && { withEndpoints: true }),
        ...(query.exclude_apps_with_disabled_endpoints === true && {
          withoutDisabledEndpoints: true,
        }),
      };
      return mapPage(await applications.list(toPageRequest(query), filter), applicationOut);
    },
  );

  app.post<{ Body: ApplicationInBody; Querystring: { get_if_exists: boolean } }>(
    "/app",
    {
      schema: {
        tags: TAGS,
        summary: "Create an application",
        description:
          "201 when created. With `get_if_exists=true`, an application with the same uid is returned with 200.",
        querystring: CreateQuery,
        body: ApplicationIn,
        response: { 200: ApplicationOut, 201: ApplicationOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app: created, created: isNew } = await applications.create(
        applicationInput(request.body),
        { getIfExists: request.query.get_if_exists },
      );
      reply.code(isNew ? 201 : 200);
      return applicationOut(created);
    },
  );

  app.get<{ Params: AppParamsValue }>(
    "/app/:app_id",
    {
      schema: {
        tags: TAGS,
        summary: "Get an application",
        params: AppParams,
        response: { 200: ApplicationOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => applicationOut(await applications.get(request.params.app_id)),
  );

  app.put<{ Params: AppParamsValue; Body: ApplicationInBody }>(
    "/app/:app_id",
    {
      schema: {
        tags: TAGS,
        summary: "Update an application",
        description: "Replaces every field; creates the application (201) when it does not exist.",
        params: AppParams,
        body: ApplicationIn,
        response: { 200: ApplicationOut, 201: ApplicationOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const result = await applications.update(
        request.params.app_id,
        applicationInput(request.body),
      );
      reply.code(result.created ? 201 : 200);
      return applicationOut(result.app);
    },
  );

  app.patch<{ Params: AppParamsValue; Body: ApplicationPatchBody }>(
    "/app/:app_id",
    {
      schema: {
        tags: TAGS,
        summary: "Patch an application",
        description: "Changes only the given fields; null clears a field.",
        params: AppParams,
        body: ApplicationPatch,
        response: { 200: ApplicationOut, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      applicationOut(
        await applications.patch(request.params.app_id, applicationPatch(request.body)),
      ),
  );

  app.delete<{ Params: AppParamsValue }>(
    "/app/:app_id",
    {
      schema: {
        tags: TAGS,
        summary: "Delete an application",
        description: "Deletes its endpoints and messages; open deliveries end cancelled.",
        params: AppParams,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await applications.delete(request.params.app_id);
      return reply.code(204).send();
    },
  );
}
