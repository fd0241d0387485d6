import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import { MAX_PAYLOAD_FILTER_LENGTH } from "../../outbound/payload-filter.js";
import { AppParams } from "./application.js";
import {
  EndpointAuthIn,
  EndpointAuthOut,
  EndpointTlsIn,
  EndpointTlsOut,
} from "./endpoint-credentials.js";
import {
  CHANNEL_PATTERN,
  DateTime,
  ID_PATTERN,
  INPUT_OBJECT,
  ListResponse,
  Metadata,
  Nullable,
  StringMap,
  Uid,
} from "./common.js";

/** Svix's secret format: optional `whsec_` prefix, then base64 of 24..75 bytes. */
const SECRET_PATTERN = "^(whsec_)?[a-zA-Z0-9+/=]{32,100}$";

const Secret = Type.String({
  pattern: SECRET_PATTERN,
  description: "Signing secret (`whsec_…`); generated when absent.",
});

function EventTypeList(description: string) {
  return Type.Array(Type.String({ pattern: ID_PATTERN, maxLength: 256 }), {
    minItems: 1,
    description,
  });
}

const Channels = Type.Array(Type.String({ pattern: CHANNEL_PATTERN, maxLength: 128 }), {
  minItems: 1,
  maxItems: 10,
  description: "Only messages carrying one of these channels are delivered; null = all.",
});

const Accept302 = Type.Boolean({
  description:
    "Hookyard extension: count a 302 response as success (some receivers acknowledge so).",
});

const PAYLOAD_FILTER_DESCRIPTION =
  "Hookyard extension: a CEL condition over each message; the endpoint receives only messages " +
  "for which it is `true` (checked after `eventTypes` and `channels`). Variables: `eventType` " +
  "(string), `payload` (the message's JSON payload), `channels` and `tags` (lists of strings, " +
  "`[]` when the message has none). Example: `payload.amount > 1000 && payload.currency == " +
  '"EUR"`. JSON numbers are CEL doubles: compare them with any number, but write doubles in ' +
  "arithmetic (`payload.amount * 1.2`). A filter that fails on a message (a field the payload " +
  "lacks, a type mismatch) or gives anything but a boolean does not match: the message is not " +
  "delivered to this endpoint; guard optional fields with `has(payload.x) && …`. Evaluated " +
  "once when the message is created: changing it does not affect messages already created, " +
  "and resends and examples sent to the endpoint ignore it. A filter that does not compile " +
  "(syntax, unknown variable, a type that is never a boolean) is a 422. null or an empty " +
  "string = no filter.";

const PayloadFilter = Type.String({
  maxLength: MAX_PAYLOAD_FILTER_LENGTH,
  description: PAYLOAD_FILTER_DESCRIPTION,
  examples: ["payload.amount > 1000"],
});

const UpdateFields = {
  url: Type.String({ minLength: 1, maxLength: 65536, description: "http(s) URL to deliver to." }),
  description: Type.Optional(Type.String({ maxLength: 4096 })),
  uid: Type.Optional(Nullable(Uid)),
  version: Type.Optional(Nullable(Type.Integer({ minimum: 1, description: "Deprecated." }))),
  disabled: Type.Optional(Type.Boolean({ description: "Disabled endpoints receive nothing." })),
  eventTypes: Type.Optional(
    Nullable(EventTypeList("Event types this endpoint receives; null = all (svix SDK 2.x name).")),
  ),
  filterTypes: Type.Optional(
    Nullable(EventTypeList("Deprecated name of `eventTypes` (svix SDK 1.x); either is accepted.")),
  ),
  channels: Type.Optional(Nullable(Channels)),
  throttleRate: Type.Optional(
    Nullable(
      Type.Integer({ minimum: 1, description: "Maximum deliveries per second; null = unlimited." }),
    ),
  ),
  rateLimit: Type.Optional(
    Nullable(
      Type.Integer({
        minimum: 1,
        description: "Deprecated name of `throttleRate` (svix SDK 1.x); either is accepted.",
      }),
    ),
  ),
  metadata: Type.Optional(Metadata),
  payloadFilter: Type.Optional(Nullable(PayloadFilter)),
  accept302: Type.Optional(Accept302),
  auth: Type.Optional(Nullable(EndpointAuthIn)),
  tls: Type.Optional(Nullable(EndpointTlsIn)),
};

export const EndpointIn = Type.Object(
  {
    ...UpdateFields,
    headers: Type.Optional(
      Nullable(StringMap({ description: "Extra headers sent with every request." })),
    ),
    secret: Type.Optional(Nullable(Secret)),
  },
  { ...INPUT_OBJECT, title: "EndpointIn" },
);
export type EndpointInBody = Static<typeof EndpointIn>;

export const EndpointUpdate = Type.Object(UpdateFields, {
  ...INPUT_OBJECT,
  title: "EndpointUpdate",
});
export type EndpointUpdateBody = Static<typeof EndpointUpdate>;

export const EndpointPatch = Type.Partial(
  Type.Object({ ...UpdateFields, secret: Type.Optional(Nullable(Secret)) }),
  { ...INPUT_OBJECT, title: "EndpointPatch" },
);
export type EndpointPatchBody = Static<typeof EndpointPatch>;

export const ENDPOINT_OUT_FIELDS = {
  id: Type.String({ description: "Hookyard's id (`ep_…`)." }),
  uid: Nullable(Type.String()),
  url: Type.String(),
  description: Type.String(),
  version: Type.Integer(),
  disabled: Type.Boolean(),
  eventTypes: Nullable(Type.Array(Type.String(), { description: "null = every event type." })),
  filterTypes: Nullable(
    Type.Array(Type.String(), { description: "Deprecated: the same as `eventTypes`." }),
  ),
  channels: Nullable(Type.Array(Type.String())),
  throttleRate: Nullable(Type.Integer({ description: "Deliveries per second; null = unlimited." })),
  rateLimit: Nullable(Type.Integer({ description: "Deprecated: the same as `throttleRate`." })),
  metadata: Metadata,
  payloadFilter: Nullable(
    Type.String({ description: "The endpoint's payload filter (CEL); null = none." }),
  ),
  accept302: Accept302,
  auth: Nullable(EndpointAuthOut),
  tls: Nullable(EndpointTlsOut),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
};

export const EndpointOut = Type.Object(ENDPOINT_OUT_FIELDS, { title: "EndpointOut" });
export const ListEndpointOut = ListResponse(EndpointOut, "ListResponse_EndpointOut_");

export const EndpointParams = Type.Object({
  ...AppParams.properties,
  endpoint_id: Type.String({
    minLength: 1,
    maxLength: 256,
    description: "The endpoint's id (`ep_…`) or uid.",
  }),
});
export type EndpointParamsValue = Static<typeof EndpointParams>;

export const EndpointSecretOut = Type.Object(
  { key: Type.String({ description: "The current signing secret (`whsec_…`)." }) },
  { title: "EndpointSecretOut" },
);

export const EndpointSecretRotateIn = Type.Object(
  {
    key: Type.Optional(Nullable(Secret)),
    gracePeriodSeconds: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 0,
          maximum: 7 * 24 * 3600,
          description: "How long the old secret keeps signing (default 24 h).",
        }),
      ),
    ),
  },
  { ...INPUT_OBJECT, title: "EndpointSecretRotateIn" },
);
export type EndpointSecretRotateInBody = Static<typeof EndpointSecretRotateIn>;

export const EndpointHeadersIn = Type.Object(
  { headers: StringMap({ description: "Replaces every custom header." }) },
  { ...INPUT_OBJECT, title: "EndpointHeadersIn" },
);
export type EndpointHeadersInBody = Static<typeof EndpointHeadersIn>;

export const EndpointHeadersPatchIn = Type.Object(
  {
    headers: StringMap({ description: "Headers to add or replace." }),
    deleteHeaders: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        description: "Header names to remove.",
      }),
    ),
  },
  { ...INPUT_OBJECT, title: "EndpointHeadersPatchIn" },
);
export type EndpointHeadersPatchInBody = Static<typeof EndpointHeadersPatchIn>;

export const EndpointHeadersOut = Type.Object(
  {
    headers: StringMap(),
    sensitive: Type.Array(Type.String(), {
      description: "Header names whose values are hidden (authorization-like).",
    }),
  },
  { title: "EndpointHeadersOut" },
);

export const RecoverIn = Type.Object(
  {
    since: DateTime({ description: "Re-send failed messages created at or after this time." }),
    until: Type.Optional(
      Nullable(DateTime({ description: "…and before this time (default now)." })),
    ),
  },
  { ...INPUT_OBJECT, title: "RecoverIn" },
);
export type RecoverInBody = Static<typeof RecoverIn>;

export const EventExampleIn = Type.Object(
  {
    eventType: Type.String({ pattern: ID_PATTERN, maxLength: 256 }),
    exampleIndex: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "Which of the schema's `examples` to send (default 0).",
      }),
    ),
  },
  { ...INPUT_OBJECT, title: "EventExampleIn" },
);
export type EventExampleInBody = Static<typeof EventExampleIn>;

export const EndpointStatsQuery = Type.Object({
  since: Type.Optional(
    DateTime({ description: "Count deliveries created at or after this time." }),
  ),
  until: Type.Optional(DateTime({ description: "…and before this time." })),
});
export type EndpointStatsQueryValue = Static<typeof EndpointStatsQuery>;

export const EndpointStatsOut = Type.Object(
  {
    success: Type.Integer(),
    pending: Type.Integer(),
    sending: Type.Integer(),
    fail: Type.Integer(),
    canceled: Type.Integer(),
  },
  { title: "EndpointStats" },
);
