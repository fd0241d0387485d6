import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import { PAGE_QUERY } from "../pagination.js";
import { DateTime, ListResponse, Nullable, StringMap } from "./common.js";
import { ENDPOINT_OUT_FIELDS, EndpointParams } from "./endpoint.js";
import { DELIVERY_STATE_FIELDS, MessageParams } from "./message.js";

export const MessageAttemptOut = Type.Object(
  {
    id: Type.String({ description: "Hookyard's id (`atmpt_…`)." }),
    msgId: Type.String(),
    endpointId: Type.String(),
    url: Type.String({ description: "The URL the request went to." }),
    response: Type.String({ description: "The response body, truncated." }),
    responseStatusCode: Type.Integer({ description: "0 when no response arrived." }),
    responseDurationMs: Type.Integer(),
    status: Type.Integer({ enum: [0, 2], description: "0 success, 2 fail." }),
    statusText: Type.String({ enum: ["success", "fail"] }),
    triggerType: Type.Integer({ enum: [0, 1], description: "0 scheduled, 1 manual (resend)." }),
    timestamp: Type.String({ format: "date-time" }),
    errorClass: Nullable(
      Type.String({
        description:
          "Hookyard extension: why the attempt failed (timeout, dns, connect, tls, egress_blocked, invalid_url, http_status, redirect, network).",
      }),
    ),
    errorMessage: Nullable(
      Type.String({ description: "Hookyard extension: failure detail, e.g. the socket error." }),
    ),
    responseHeaders: Nullable(StringMap({ description: "Hookyard extension: response headers." })),
  },
  { title: "MessageAttemptOut" },
);
export const ListMessageAttemptOut = ListResponse(
  MessageAttemptOut,
  "ListResponse_MessageAttemptOut_",
);

export const MessageEndpointOut = Type.Object(
  { ...ENDPOINT_OUT_FIELDS, ...DELIVERY_STATE_FIELDS },
  { title: "MessageEndpointOut" },
);
export const ListMessageEndpointOut = ListResponse(
  MessageEndpointOut,
  "ListResponse_MessageEndpointOut_",
);

const StatusFilter = Type.Integer({
  enum: [0, 1, 2, 3, 4],
  description: "Svix status: 0 success, 1 pending, 2 fail, 3 sending, 4 canceled.",
});

/** Svix filters Hookyard does not implement: given, they are refused with a 422. */
const UNSUPPORTED_FILTER = "Not supported: rejected with 422.";

const AttemptListFields = {
  ...PAGE_QUERY,
  status: Type.Optional(StatusFilter),
  before: Type.Optional(DateTime({ description: "Only attempts made before this time." })),
  after: Type.Optional(DateTime({ description: "Only attempts made after this time." })),
  with_content: Type.Optional(
    Type.Boolean({ description: "Accepted; attempts carry no payload." }),
  ),
  expanded_statuses: Type.Optional(Type.Boolean({ description: "Accepted; ignored." })),
  status_code_class: Type.Optional(Type.Integer({ description: UNSUPPORTED_FILTER })),
  channel: Type.Optional(Type.String({ description: UNSUPPORTED_FILTER })),
  tag: Type.Optional(Type.String({ description: UNSUPPORTED_FILTER })),
  event_types: Type.Optional(Type.Array(Type.String(), { description: UNSUPPORTED_FILTER })),
};

export const AttemptByMessageQuery = Type.Object({
  ...AttemptListFields,
  endpoint_id: Type.Optional(Type.String({ description: "Only attempts to this endpoint." })),
});
export type AttemptByMessageQueryValue = Static<typeof AttemptByMessageQuery>;

export const AttemptByEndpointQuery = Type.Object({
  ...AttemptListFields,
  with_msg: Type.Optional(Type.Boolean({ description: "Accepted; `msg` is never included." })),
});
export type AttemptByEndpointQueryValue = Static<typeof AttemptByEndpointQuery>;

export const EndpointMessagesQuery = Type.Object({
  ...PAGE_QUERY,
  status: Type.Optional(StatusFilter),
  before: Type.Optional(DateTime({ description: "Only messages created before this time." })),
  after: Type.Optional(DateTime({ description: "Only messages created after this time." })),
  with_content: Type.Boolean({ default: true, description: "Include the payload." }),
  expanded_statuses: Type.Optional(Type.Boolean({ description: "Accepted; ignored." })),
  channel: Type.Optional(Type.String({ description: UNSUPPORTED_FILTER })),
  tag: Type.Optional(Type.String({ description: UNSUPPORTED_FILTER })),
  event_types: Type.Optional(Type.Array(Type.String(), { description: UNSUPPORTED_FILTER })),
});
export type EndpointMessagesQueryValue = Static<typeof EndpointMessagesQuery>;

export const DestinationsQuery = Type.Object(PAGE_QUERY);
export type DestinationsQueryValue = Static<typeof DestinationsQuery>;

export const AttemptParams = Type.Object({
  ...MessageParams.properties,
  attempt_id: Type.String({ minLength: 1, maxLength: 256, description: "The attempt's id." }),
});
export type AttemptParamsValue = Static<typeof AttemptParams>;

export const ResendParams = Type.Object({
  ...MessageParams.properties,
  endpoint_id: EndpointParams.properties.endpoint_id,
});
export type ResendParamsValue = Static<typeof ResendParams>;
