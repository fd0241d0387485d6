import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import { PAGE_QUERY } from "../pagination.js";
import { ApplicationIn, AppParams } from "./application.js";
import {
  AnyObject,
  CHANNEL_PATTERN,
  DateTime,
  ID_PATTERN,
  INPUT_OBJECT,
  ListResponse,
  Nullable,
  TAG_PATTERN,
} from "./common.js";

export const MessageIn = Type.Object(
  {
    eventType: Type.String({
      pattern: ID_PATTERN,
      maxLength: 256,
      description: "The event type's name, e.g. `invoice.paid`.",
    }),
    payload: AnyObject({
      description: "The JSON object delivered to every matching endpoint, byte for byte.",
    }),
    eventId: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: 256,
          description:
            "Your idempotency key for the event: a repeat within 24 h returns the first message.",
        }),
      ),
    ),
    channels: Type.Optional(
      Nullable(
        Type.Array(Type.String({ pattern: CHANNEL_PATTERN, maxLength: 128 }), {
          minItems: 1,
          maxItems: 5,
          description: "Only endpoints subscribed to one of these channels receive the message.",
        }),
      ),
    ),
    tags: Type.Optional(
      Nullable(
        Type.Array(Type.String({ pattern: TAG_PATTERN, minLength: 1, maxLength: 128 }), {
          maxItems: 5,
          uniqueItems: true,
          description: "Labels to find the message by (the `tag` list filters); up to 5, unique.",
        }),
      ),
    ),
    application: Type.Optional(
      Nullable({
        ...ApplicationIn,
        description: "Creates the application (uid = the path's app_id) when it does not exist.",
      }),
    ),
    payloadRetentionPeriod: Type.Optional(
      Nullable(Type.Integer({ description: "Accepted for Svix compatibility; ignored." })),
    ),
    payloadRetentionHours: Type.Optional(
      Nullable(Type.Integer({ description: "Accepted for Svix compatibility; ignored." })),
    ),
    deliverAt: Type.Optional(
      Nullable(
        DateTime({
          description:
            "Scheduled delivery: no attempt before this time (at most 24 h ahead; a past time delivers at once).",
        }),
      ),
    ),
    transformationsParams: Type.Optional(
      Nullable(AnyObject({ description: "Transformations are not supported: must be null." })),
    ),
  },
  { ...INPUT_OBJECT, title: "MessageIn" },
);
export type MessageInBody = Static<typeof MessageIn>;

const MESSAGE_OUT_FIELDS = {
  id: Type.String({ description: "Hookyard's id (`msg_…`)." }),
  eventType: Type.String(),
  eventId: Nullable(Type.String()),
  channels: Nullable(Type.Array(Type.String())),
  tags: Nullable(Type.Array(Type.String())),
  payload: AnyObject({
    description:
      'The payload; `{}` when `with_content=false`, `{"expired": true}` once it was expunged.',
  }),
  deliverAt: Nullable(
    Type.String({ format: "date-time", description: "When it is delivered, if scheduled." }),
  ),
  timestamp: Type.String({ format: "date-time" }),
};

export const MessageOut = Type.Object(MESSAGE_OUT_FIELDS, { title: "MessageOut" });
export const ListMessageOut = ListResponse(MessageOut, "ListResponse_MessageOut_");

/** Delivery state in Svix's numbering. */
export const DELIVERY_STATE_FIELDS = {
  status: Type.Integer({
    enum: [0, 1, 2, 3, 4],
    description: "0 success, 1 pending (incl. retrying), 2 fail, 3 sending, 4 canceled.",
  }),
  statusText: Type.String({ enum: ["success", "pending", "fail", "sending", "canceled"] }),
  nextAttempt: Nullable(
    Type.String({ format: "date-time", description: "When the next attempt is due." }),
  ),
};

export const EndpointMessageOut = Type.Object(
  { ...MESSAGE_OUT_FIELDS, ...DELIVERY_STATE_FIELDS },
  { title: "EndpointMessageOut" },
);
export const ListEndpointMessageOut = ListResponse(
  EndpointMessageOut,
  "ListResponse_EndpointMessageOut_",
);

const WithContent = Type.Boolean({
  default: true,
  description: "Include the payload (false returns `payload: {}`).",
});

export const MessageCreateQuery = Type.Object({ with_content: WithContent });
export type MessageCreateQueryValue = Static<typeof MessageCreateQuery>;

export const MessageGetQuery = Type.Object({ with_content: WithContent });
export type MessageGetQueryValue = Static<typeof MessageGetQuery>;

export const MessageListQuery = Type.Object({
  ...PAGE_QUERY,
  with_content: WithContent,
  channel: Type.Optional(
    Type.String({ pattern: CHANNEL_PATTERN, description: "Only this channel." }),
  ),
  before: Type.Optional(DateTime({ description: "Only messages created before this time." })),
  after: Type.Optional(DateTime({ description: "Only messages created after this time." })),
  event_types: Type.Optional(
    Type.Array(Type.String(), { description: "Only these event types (comma-separated)." }),
  ),
  tag: Type.Optional(
    Type.String({
      pattern: TAG_PATTERN,
      maxLength: 128,
      description: "Only messages with this tag.",
    }),
  ),
});
export type MessageListQueryValue = Static<typeof MessageListQuery>;

export const MessageParams = Type.Object({
  ...AppParams.properties,
  msg_id: Type.String({ minLength: 1, maxLength: 256, description: "The message's id (`msg_…`)." }),
});
export type MessageParamsValue = Static<typeof MessageParams>;

export const MessagePrecheckIn = Type.Object(
  {
    eventType: Type.String({ pattern: ID_PATTERN, maxLength: 256 }),
    channels: Type.Optional(
      Nullable(
        Type.Array(Type.String({ pattern: CHANNEL_PATTERN, maxLength: 128 }), { maxItems: 5 }),
      ),
    ),
  },
  { ...INPUT_OBJECT, title: "MessagePrecheckIn" },
);
export type MessagePrecheckInBody = Static<typeof MessagePrecheckIn>;

export const MessagePrecheckOut = Type.Object(
  {
    active: Type.Boolean({
      description: "Whether an enabled endpoint would take a message of this type and channels.",
    }),
  },
  { title: "MessagePrecheckOut" },
);
