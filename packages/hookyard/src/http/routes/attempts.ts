import type { FastifyInstance } from "fastify";
import type { OutboundServices } from "../../outbound/services.js";
import { emptyPage, mapPage, toPageRequest } from "../pagination.js";
import type { AttemptFilter, EndpointMessageFilter, StatusCodeClass } from "../../store/store.js";
import {
  JSON_CONTENT_TYPE,
  messageFieldFilterOf,
  type MessageFieldQuery,
} from "../query-filters.js";
import {
  AttemptByEndpointQuery,
  AttemptByMessageQuery,
  AttemptParams,
  DestinationsQuery,
  EndpointMessagesQuery,
  ListMessageAttemptOut,
  ListMessageEndpointOut,
  MessageAttemptOut,
  ResendParams,
} from "../schemas/attempt.js";
import type {
  AttemptByEndpointQueryValue,
  AttemptByMessageQueryValue,
  AttemptParamsValue,
  DestinationsQueryValue,
  EndpointMessagesQueryValue,
  ResendParamsValue,
} from "../schemas/attempt.js";
import { EmptyObject, ERROR_RESPONSES, NoContent } from "../schemas/common.js";
import { EndpointParams } from "../schemas/endpoint.js";
import type { EndpointParamsValue } from "../schemas/endpoint.js";
import { ListEndpointMessageOut, MessageParams } from "../schemas/message.js";
import type { MessageParamsValue } from "../schemas/message.js";
import {
  attemptOut,
  deliveryStatusesOf,
  endpointMessageOutJson,
  messageEndpointOut,
  pageJson,
} from "../serializers.js";

const TAGS = ["Message Attempt"];

/**
 * Svix attempt status filter → `succeeded`; undefined = no filter; null = matches nothing
 * (attempts are final: never pending, sending or canceled).
 */
function succeededFilterOf(status: number | undefined): boolean | undefined | null {
  if (status === undefined) return undefined;
  if (status === 0) return true;
  if (status === 2) return false;
  return null;
}

/**
 * The filter both attempt listings share, from their query; null when the status filter matches
 * nothing.
 */
function attemptFilterOf(
  query: MessageFieldQuery & { status?: number; status_code_class?: number },
): Omit<AttemptFilter, "endpointId"> | null {
  const succeeded = succeededFilterOf(query.status);
  if (succeeded === null) return null;
  const filter: Omit<AttemptFilter, "endpointId"> = messageFieldFilterOf(query);
  if (succeeded !== undefined) filter.succeeded = succeeded;
  if (query.status_code_class !== undefined) {
    // The schema's enum admits only Svix's classes.
    filter.statusCodeClass = query.status_code_class as StatusCodeClass;
  }
  return filter;
}

export function registerAttemptRoutes(app: FastifyInstance, services: OutboundServices): void {
  const attempts = services.attempts;

  app.get<{ Params: MessageParamsValue; Querystring: AttemptByMessageQueryValue }>(
    "/app/:app_id/attempt/msg/:msg_id",
    {
      schema: {
        tags: TAGS,
        summary: "List attempts of a message",
        description: "Newest first.",
        params: MessageParams,
        querystring: AttemptByMessageQuery,
        response: { 200: ListMessageAttemptOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { query } = request;
      const shared = attemptFilterOf(query);
      if (shared === null) return emptyPage();
      const filter: Omit<AttemptFilter, "endpointId"> & { endpointId?: string } = shared;
      if (query.endpoint_id !== undefined) filter.endpointId = query.endpoint_id;
      const { app_id: appId, msg_id: msgId } = request.params;
      const page = await attempts.listByMessage(appId, msgId, filter, toPageRequest(query));
      return mapPage(page, (attempt) => attemptOut(attempt, query.with_content));
    },
  );

  app.get<{ Params: EndpointParamsValue; Querystring: AttemptByEndpointQueryValue }>(
    "/app/:app_id/attempt/endpoint/:endpoint_id",
    {
      schema: {
        tags: TAGS,
        summary: "List attempts to an endpoint",
        description: "Newest first.",
        params: EndpointParams,
        querystring: AttemptByEndpointQuery,
        response: { 200: ListMessageAttemptOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const filter = attemptFilterOf(request.query);
      if (filter === null) return emptyPage();
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      const page = await attempts.listByEndpoint(
        appId,
        endpointId,
        filter,
        toPageRequest(request.query),
      );
      return mapPage(page, (attempt) => attemptOut(attempt, request.query.with_content));
    },
  );

  app.get<{ Params: AttemptParamsValue }>(
    "/app/:app_id/msg/:msg_id/attempt/:attempt_id",
    {
      schema: {
        tags: TAGS,
        summary: "Get an attempt",
        params: AttemptParams,
        response: { 200: MessageAttemptOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { app_id: appId, msg_id: msgId, attempt_id: attemptId } = request.params;
      return attemptOut(await attempts.get(appId, msgId, attemptId));
    },
  );

  app.get<{ Params: MessageParamsValue; Querystring: DestinationsQueryValue }>(
    "/app/:app_id/msg/:msg_id/endpoint",
    {
      schema: {
        tags: TAGS,
        summary: "List attempted destinations of a message",
        description: "The endpoints the message is delivered to, with each delivery's state.",
        params: MessageParams,
        querystring: DestinationsQuery,
        response: { 200: ListMessageEndpointOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { app_id: appId, msg_id: msgId } = request.params;
      const page = await attempts.listDestinations(appId, msgId, toPageRequest(request.query));
      return mapPage(page, messageEndpointOut);
    },
  );

  app.get<{ Params: EndpointParamsValue; Querystring: EndpointMessagesQueryValue }>(
    "/app/:app_id/endpoint/:endpoint_id/msg",
    {
      schema: {
        tags: TAGS,
        summary: "List messages sent to an endpoint",
        description: "Each message with the state of its delivery to this endpoint; newest first.",
        params: EndpointParams,
        querystring: EndpointMessagesQuery,
        response: { 200: ListEndpointMessageOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { query } = request;
      const filter: EndpointMessageFilter = messageFieldFilterOf(query);
      if (query.status !== undefined) filter.statuses = deliveryStatusesOf(query.status);
      const { app_id: appId, endpoint_id: endpointId } = request.params;
      const page = await attempts.listEndpointMessages(
        appId,
        endpointId,
        filter,
        toPageRequest(query),
      );
      const withContent = query.with_content;
      return reply
        .type(JSON_CONTENT_TYPE)
        .send(pageJson(page, (item) => endpointMessageOutJson(item, withContent)));
    },
  );

  app.post<{ Params: ResendParamsValue }>(
    "/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend",
    {
      schema: {
        tags: TAGS,
        summary: "Resend a message to an endpoint",
        description: "One manual attempt, made at once and never retried. No body needed.",
        params: ResendParams,
        response: { 202: EmptyObject, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, msg_id: msgId, endpoint_id: endpointId } = request.params;
      await attempts.resend(appId, msgId, endpointId);
      reply.code(202);
      return {};
    },
  );

  app.delete<{ Params: AttemptParamsValue }>(
    "/app/:app_id/msg/:msg_id/attempt/:attempt_id/content",
    {
      schema: {
        tags: TAGS,
        summary: "Expunge an attempt's response",
        description:
          "Replaces the response body the endpoint answered with `EXPUNGED` and drops its response headers (e.g. the endpoint echoed a secret); the attempt stays.",
        params: AttemptParams,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { app_id: appId, msg_id: msgId, attempt_id: attemptId } = request.params;
      await attempts.expungeContent(appId, msgId, attemptId);
      return reply.code(204).send();
    },
  );
}
