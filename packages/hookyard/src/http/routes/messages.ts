import type { FastifyInstance } from "fastify";
import type { OutboundServices } from "../../outbound/services.js";
import { messageInput } from "../inputs.js";
import { toPageRequest } from "../pagination.js";
import type { MessageFilter } from "../../store/store.js";
import { JSON_CONTENT_TYPE, messageFieldFilterOf } from "../query-filters.js";
import { AppParams } from "../schemas/application.js";
import type { AppParamsValue } from "../schemas/application.js";
import { ERROR_RESPONSES, NoContent } from "../schemas/common.js";
import {
  ListMessageOut,
  MessageCreateQuery,
  MessageGetQuery,
  MessageIn,
  MessageListQuery,
  MessageOut,
  MessageParams,
  MessagePrecheckIn,
  MessagePrecheckOut,
} from "../schemas/message.js";
import type {
  MessageCreateQueryValue,
  MessageGetQueryValue,
  MessageInBody,
  MessageListQueryValue,
  MessageParamsValue,
  MessagePrecheckInBody,
} from "../schemas/message.js";
import { messageOutJson, pageJson } from "../serializers.js";

const TAGS = ["Message"];

export function registerMessageRoutes(app: FastifyInstance, services: OutboundServices): void {
  const messages = services.messages;

  app.get<{ Params: AppParamsValue; Querystring: MessageListQueryValue }>(
    "/app/:app_id/msg",
    {
      schema: {
        tags: TAGS,
        summary: "List messages",
        description: "Newest first.",
        params: AppParams,
        querystring: MessageListQuery,
        response: { 200: ListMessageOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { query } = request;
      const filter: Omit<MessageFilter, "inboundRequestId"> = messageFieldFilterOf(query);
      const page = await messages.list(request.params.app_id, filter, toPageRequest(query));
      const withContent = query.with_content;
      return reply
        .type(JSON_CONTENT_TYPE)
        .send(pageJson(page, (message) => messageOutJson(message, withContent)));
    },
  );

  // The publish hot path: compiled schemas, one await, response rendered to text directly.
  app.post<{ Params: AppParamsValue; Querystring: MessageCreateQueryValue; Body: MessageInBody }>(
    "/app/:app_id/msg",
    {
      schema: {
        tags: TAGS,
        summary: "Publish a message",
        description:
          "Stores the message and one delivery per matching endpoint, durably, before answering 202. " +
          "A repeated `eventId` within 24 h answers 200 with the first message. " +
          "An `application` in the body creates the application when it does not exist.",
        params: AppParams,
        querystring: MessageCreateQuery,
        body: MessageIn,
        response: { 200: MessageOut, 202: MessageOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const input = messageInput(request.body);
      const span = request.traceSpan;
      if (span != null) input.traceparent = span.traceparent;
      const result = await messages.create(request.params.app_id, input);
      span?.setAttributes({
        "hookyard.app.id": result.message.appId,
        "hookyard.message.id": result.message.id,
      });
      return reply
        .code(result.created ? 202 : 200)
        .type(JSON_CONTENT_TYPE)
        .send(messageOutJson(result.message, request.query.with_content));
    },
  );

  app.get<{ Params: MessageParamsValue; Querystring: MessageGetQueryValue }>(
    "/app/:app_id/msg/:msg_id",
    {
      schema: {
        tags: TAGS,
        summary: "Get a message",
        params: MessageParams,
        querystring: MessageGetQuery,
        response: { 200: MessageOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const message = await messages.get(request.params.app_id, request.params.msg_id);
      return reply
        .type(JSON_CONTENT_TYPE)
        .send(messageOutJson(message, request.query.with_content));
    },
  );

  app.post<{ Params: AppParamsValue; Body: MessagePrecheckInBody }>(
    "/app/:app_id/msg/precheck/active",
    {
      schema: {
        tags: TAGS,
        summary: "Would a message be delivered?",
        description:
          "Whether an enabled endpoint's event-type and channel filters take a message of this type and channels (an endpoint with a payload filter counts: there is no payload to judge). Stores nothing.",
        params: AppParams,
        body: MessagePrecheckIn,
        response: { 200: MessagePrecheckOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => ({
      active: await messages.precheck(request.params.app_id, request.body),
    }),
  );

  app.delete<{ Params: MessageParamsValue }>(
    "/app/:app_id/msg/:msg_id/content",
    {
      schema: {
        tags: TAGS,
        summary: "Expunge a message's payload",
        description:
          'Removes the payload for good (e.g. sensitive data sent by mistake); the message and its attempts stay, read back with `payload: {"expired": true}`. Its open deliveries are cancelled, and it can no longer be resent (400 `missing_payload`), recovered or replayed.',
        params: MessageParams,
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await messages.expungeContent(request.params.app_id, request.params.msg_id);
      return reply.code(204).send();
    },
  );
}
