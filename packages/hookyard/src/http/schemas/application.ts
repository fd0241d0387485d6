import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import { INPUT_OBJECT, ListResponse, Metadata, Nullable, RateLimit, Uid } from "./common.js";

const ApplicationFields = {
  name: Type.String({ minLength: 1, maxLength: 256, description: "Display name." }),
  uid: Type.Optional(Nullable(Uid)),
  rateLimit: Type.Optional(Nullable(RateLimit)),
  throttleRate: Type.Optional(
    Nullable(Type.Integer({ minimum: 1, description: "Deprecated alias of `rateLimit`." })),
  ),
  metadata: Type.Optional(Metadata),
};

export const ApplicationIn = Type.Object(ApplicationFields, {
  ...INPUT_OBJECT,
  title: "ApplicationIn",
  description: "An application: one per customer that receives webhooks.",
});
export type ApplicationInBody = Static<typeof ApplicationIn>;

export const ApplicationPatch = Type.Partial(Type.Object(ApplicationFields), {
  ...INPUT_OBJECT,
  title: "ApplicationPatch",
  description: "Fields to change; absent = unchanged, null = cleared.",
});
export type ApplicationPatchBody = Static<typeof ApplicationPatch>;

export const ApplicationOut = Type.Object(
  {
    id: Type.String({ description: "Hookyard's id (`app_…`)." }),
    uid: Nullable(Type.String()),
    name: Type.String(),
    rateLimit: Nullable(Type.Integer()),
    throttleRate: Nullable(Type.Integer({ description: "Deprecated: same as `rateLimit`." })),
    metadata: Metadata,
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { title: "ApplicationOut" },
);

export const ListApplicationOut = ListResponse(ApplicationOut, "ListResponse_ApplicationOut_");

export const AppParams = Type.Object({
  app_id: Type.String({
    minLength: 1,
    maxLength: 256,
    description: "The application's id (`app_…`) or uid.",
  }),
});
export type AppParamsValue = Static<typeof AppParams>;
