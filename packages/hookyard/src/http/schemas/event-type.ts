import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import { AnyObject, ID_PATTERN, INPUT_OBJECT, ListResponse, Nullable } from "./common.js";

const EventTypeName = Type.String({
  pattern: ID_PATTERN,
  minLength: 1,
  maxLength: 256,
  description: "Dot-separated name, e.g. `invoice.paid`.",
});

const Schemas = AnyObject({
  description:
    'JSON Schemas keyed by version, e.g. `{"1": {...}}`. Published payloads are validated against the latest version.',
});

const UpdateFields = {
  description: Type.String({ maxLength: 4096, description: "What the event means." }),
  schemas: Type.Optional(Nullable(Schemas)),
  archived: Type.Optional(
    Type.Boolean({ description: "Archived types are hidden from lists but still publishable." }),
  ),
  deprecated: Type.Optional(Type.Boolean()),
  featureFlag: Type.Optional(
    Nullable(Type.String({ pattern: ID_PATTERN, maxLength: 256, description: "Feature flag." })),
  ),
  groupName: Type.Optional(
    Nullable(Type.String({ pattern: ID_PATTERN, maxLength: 256, description: "Grouping label." })),
  ),
};

export const EventTypeIn = Type.Object(
  { name: EventTypeName, ...UpdateFields },
  { ...INPUT_OBJECT, title: "EventTypeIn" },
);
export type EventTypeInBody = Static<typeof EventTypeIn>;

export const EventTypeUpdate = Type.Object(UpdateFields, {
  ...INPUT_OBJECT,
  title: "EventTypeUpdate",
});
export type EventTypeUpdateBody = Static<typeof EventTypeUpdate>;

export const EventTypePatch = Type.Partial(Type.Object(UpdateFields), {
  ...INPUT_OBJECT,
  title: "EventTypePatch",
});
export type EventTypePatchBody = Static<typeof EventTypePatch>;

export const EventTypeOut = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    archived: Type.Boolean(),
    deprecated: Type.Boolean(),
    schemas: Nullable(AnyObject()),
    featureFlag: Nullable(Type.String()),
    groupName: Nullable(Type.String()),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { title: "EventTypeOut" },
);

export const ListEventTypeOut = ListResponse(EventTypeOut, "ListResponse_EventTypeOut_");

export const EventTypeParams = Type.Object({
  event_type_name: Type.String({
    minLength: 1,
    maxLength: 256,
    description: "The event type's name.",
  }),
});
export type EventTypeParamsValue = Static<typeof EventTypeParams>;
