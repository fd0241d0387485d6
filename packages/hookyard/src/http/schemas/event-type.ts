import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import { MAX_SPEC_RAW_CHARS } from "../../outbound/openapi-import.js";
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

export const EventTypeImportOpenApiIn = Type.Object(
  {
    spec: Type.Optional(
      Nullable(AnyObject({ description: "The OpenAPI document as a JSON object." })),
    ),
    specRaw: Type.Optional(
      Nullable(
        Type.String({
          maxLength: MAX_SPEC_RAW_CHARS,
          description: "The OpenAPI document as JSON or YAML text.",
        }),
      ),
    ),
    dryRun: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Report in `to_modify` what would change, without writing anything.",
      }),
    ),
    replaceAll: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Also archive every event type the document does not name.",
      }),
    ),
  },
  {
    ...INPUT_OBJECT,
    title: "EventTypeImportOpenApiIn",
    description: "Give exactly one of `spec` and `specRaw`.",
  },
);
export type EventTypeImportOpenApiBody = Static<typeof EventTypeImportOpenApiIn>;

const EventTypeFromOpenApi = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    schemas: Nullable(AnyObject()),
    deprecated: Type.Boolean(),
    groupName: Nullable(Type.String()),
    featureFlags: Nullable(Type.Array(Type.String())),
  },
  { title: "EventTypeFromOpenApi" },
);

export const EventTypeImportOpenApiOut = Type.Object(
  {
    data: Type.Object(
      {
        modified: Type.Array(Type.String(), {
          description: "Event types written (created, updated, unarchived or archived).",
        }),
        // snake_case on the wire, as in Svix: the SDKs read `to_modify`.
        to_modify: Nullable(
          Type.Array(EventTypeFromOpenApi, {
            description: "With `dryRun`, the event types an import would write; else null.",
          }),
        ),
      },
      { title: "EventTypeImportOpenApiOutData" },
    ),
  },
  { title: "EventTypeImportOpenApiOut" },
);
