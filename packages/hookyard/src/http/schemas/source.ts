import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import { MessageAttemptOut } from "./attempt.js";
import { INPUT_OBJECT, ListResponse, Metadata, Nullable } from "./common.js";
import { DELIVERY_STATE_FIELDS } from "./message.js";

/** Svix Ingest's source uid: not starting with `src_`, at most 60 characters. */
const SourceUid = Type.String({
  pattern: "^(?!src_)[a-zA-Z0-9_-]+$",
  minLength: 1,
  maxLength: 60,
  description: "Your own unique id for the source; usable wherever the `id` is accepted.",
});

const SourceConfig = Type.Record(Type.String(), Type.Unknown(), {
  description:
    "Per `type`: `{secret}` for github, stripe, slack, shopify, gitlab (the X-Gitlab-Token, or a " +
    "`whsec_` signing token), twilio (the auth token), standard-webhooks, svix and the Svix-powered " +
    "senders (clerk, resend, …); stripe, slack, standard-webhooks and svix also take " +
    "`toleranceSeconds` (default 300). generic-hmac: `{secret, header, algorithm (sha1|sha256|" +
    "sha512, default sha256), encoding (hex|base64, default hex), prefix?, signedContent? " +
    "(`{body}`, `{timestamp}`, `{id}`), timestampHeader?, idHeader?, toleranceSeconds?}`. bearer: " +
    "`{token}`; basic: `{username, password}`; generic-webhook: `{}` (no verification). Secrets " +
    "are never shown back.",
});

export const IngestSourceIn = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, description: "Display name." }),
    uid: Type.Optional(Nullable(SourceUid)),
    type: Type.String({
      minLength: 1,
      description: "How requests to the ingest URL are verified (see `config`).",
    }),
    config: Type.Optional(SourceConfig),
    metadata: Type.Optional(Metadata),
  },
  {
    ...INPUT_OBJECT,
    title: "IngestSourceIn",
    description: "An inbound source: a URL third parties send webhooks to, verified per type.",
  },
);
export type IngestSourceInBody = Static<typeof IngestSourceIn>;

export const IngestSourceOut = Type.Object(
  {
    id: Type.String({ description: "Hookyard's id (`src_…`)." }),
    appId: Type.String({
      description:
        "Hookyard extension: the application holding the source's destinations. Its messages (one per forwarded request) and their attempts are under /api/v1/app/{appId}/…, where a forward can also be resent.",
    }),
    uid: Nullable(Type.String()),
    name: Type.String(),
    type: Type.String(),
    config: Type.Record(Type.String(), Type.Unknown(), {
      description: "The config without its secrets.",
    }),
    metadata: Metadata,
    ingestUrl: Type.String({
      description:
        "Where the sender posts: `<public URL>/in/<token>`. The token is secret; rotating it gives a new URL.",
    }),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { title: "IngestSourceOut" },
);

export const ListIngestSourceOut = ListResponse(IngestSourceOut, "ListResponse_IngestSourceOut_");

export const RotateTokenOut = Type.Object(
  {
    ingestUrl: Type.String({
      description: "The new ingest URL; the previous one keeps working for 48 hours.",
    }),
  },
  { title: "RotateTokenOut" },
);

export const SourceParams = Type.Object({
  source_id: Type.String({
    minLength: 1,
    maxLength: 256,
    description: "The source's id (`src_…`) or uid.",
  }),
});
export type SourceParamsValue = Static<typeof SourceParams>;

export const InboundRequestOut = Type.Object(
  {
    id: Type.String({ description: "Hookyard's id (`req_…`)." }),
    sourceId: Type.String(),
    status: Type.Union(
      [Type.Literal("accepted"), Type.Literal("rejected"), Type.Literal("duplicate")],
      {
        description:
          "accepted (verified, stored, forwarded), rejected (verification failed: see `reason`), duplicate (a delivery id seen within the window: see `duplicateOf`).",
      },
    ),
    reason: Nullable(Type.String({ description: "Which check failed, for a rejected request." })),
    method: Type.String(),
    path: Type.String({ description: "The path after the ingest token, usually empty." }),
    query: Type.String({ description: "The raw query string (a GET's payload)." }),
    headers: Type.Record(Type.String(), Type.String(), {
      description:
        "As received, names in lower case; a credential the source verified (`authorization` of a bearer or basic source, `x-gitlab-token`) reads `[verified by the source; not stored]`.",
    }),
    body: Type.String({
      description:
        "The body as received, in `bodyEncoding` (a rejected request's first 4 KiB only).",
    }),
    bodyEncoding: Type.Union([Type.Literal("utf8"), Type.Literal("base64")], {
      description: "utf8 when the bytes are valid UTF-8, else base64.",
    }),
    bodyTruncated: Type.Boolean({
      description:
        "True for a rejected request whose body was longer than the 4 KiB kept of it (see bodyBytes).",
    }),
    bodyBytes: Type.Integer({ description: "How many bytes the body had as received." }),
    sourceIp: Type.String(),
    deliveryId: Nullable(Type.String({ description: "The provider's delivery id (dedup key)." })),
    eventType: Nullable(Type.String({ description: "The provider's event type, if it says." })),
    duplicateOf: Nullable(Type.String()),
    receivedAt: Type.String({ format: "date-time" }),
  },
  { title: "InboundRequestOut" },
);

export const ListInboundRequestOut = ListResponse(
  InboundRequestOut,
  "ListResponse_InboundRequestOut_",
);

export const RequestParams = Type.Object({
  source_id: SourceParams.properties.source_id,
  request_id: Type.String({
    minLength: 1,
    maxLength: 256,
    description: "The request's id (`req_…`).",
  }),
});
export type RequestParamsValue = Static<typeof RequestParams>;

export const RequestForwardOut = Type.Object(
  {
    messageId: Type.String({
      description: "The message that carried the request (see the messages API of `appId`).",
    }),
    eventType: Type.String(),
    trigger: Type.Union([Type.Literal("received"), Type.Literal("replay")], {
      description: "received: the forward made when the request arrived; replay: a later replay.",
    }),
    createdAt: Type.String({ format: "date-time" }),
    destinations: Type.Array(
      Type.Object(
        {
          endpointId: Type.String(),
          attempts: Type.Integer({ description: "Attempts made so far." }),
          ...DELIVERY_STATE_FIELDS,
        },
        { title: "RequestForwardDestinationOut" },
      ),
    ),
    attempts: Type.Array(MessageAttemptOut, { description: "Newest first, at most 50." }),
  },
  { title: "RequestForwardOut" },
);

export const ListRequestForwardOut = Type.Object(
  { data: Type.Array(RequestForwardOut) },
  { title: "ListRequestForwardOut" },
);
