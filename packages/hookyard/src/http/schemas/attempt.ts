import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import { ATTEMPT_ERROR_CLASSES } from "../../model.js";
import { PAGE_QUERY } from "../pagination.js";
import {
  CHANNEL_PATTERN,
  DateTime,
  ListResponse,
  Nullable,
  StringEnum,
  StringMap,
  TAG_PATTERN,
} from "./common.js";
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
      StringEnum(ATTEMPT_ERROR_CLASSES, {
        description:
          "Hookyard extension: why the attempt failed; `auth`: the endpoint's OAuth 2.0 token could not be fetched (errorMessage says what the token endpoint did), so nothing was sent to the endpoint; the attempt is retried like any other.",
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

const StatusCodeClassFilter = Type.Integer({
  enum: [0, 100, 200, 300, 400, 500],
  description:
    "Only attempts whose response status is in this class: 0 = no response (timeout, refused, …), 100 = 1xx, 200 = 2xx, … 500 = 5xx.",
});

/** Filters on the message an attempt (or a delivery) belongs to. */
const MESSAGE_FIELD_FILTERS = {
  channel: Type.Optional(
    Type.String({ pattern: CHANNEL_PATTERN, description: "Only messages with this channel." }),
  ),
  tag: Type.Optional(
    Type.String({
      pattern: TAG_PATTERN,
      maxLength: 128,
      description: "Only messages with this tag.",
    }),
  ),
  event_types: Type.Optional(
    Type.Array(Type.String({ maxLength: 256 }), {
      maxItems: 100,
      description: "Only messages of these event types (comma-separated or repeated).",
    }),
  ),
};

const AttemptListFields = {
  ...PAGE_QUERY,
  status: Type.Optional(StatusFilter),
  status_code_class: Type.Optional(StatusCodeClassFilter),
  ...MESSAGE_FIELD_FILTERS,
  before: Type.Optional(DateTime({ description: "Only attempts made before this time." })),
  after: Type.Optional(DateTime({ description: "Only attempts made after this time." })),
  with_content: Type.Boolean({
    default: true,
    description: 'Include the response body (false answers `response: "{}"`, as Svix does).',
  }),
  expanded_statuses: Type.Optional(Type.Boolean({ description: "Accepted; ignored." })),
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
  ...MESSAGE_FIELD_FILTERS,
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
