import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { ApiKey, AppId, AuditEntry } from "../../model.js";
import type { ApiKeys } from "../../outbound/api-keys.js";
import type { AuditLog } from "../../outbound/audit-log.js";
import { ERROR_RESPONSES, INPUT_OBJECT, ListResponse, Nullable } from "../schemas/common.js";
import { epochMsOf } from "../schema-validation.js";
import { iso } from "../serializers.js";

const KEY_TAGS = ["API key"];
const AUDIT_TAGS = ["Audit log"];

const ApiKeyOut = Type.Object(
  {
    id: Type.String({ description: "The key's id (`key_…`), not the key." }),
    name: Type.String(),
    prefix: Type.String({ description: "The key's first characters, to tell keys apart." }),
    appId: Nullable(Type.String({ description: "The one application it reaches; null = all." })),
    readOnly: Type.Boolean(),
    createdAt: Type.String({ format: "date-time" }),
    revokedAt: Nullable(Type.String({ format: "date-time" })),
  },
  { title: "ApiKeyOut" },
);

const ApiKeyCreatedOut = Type.Object(
  { ...ApiKeyOut.properties, key: Type.String({ description: "The key: shown this once." }) },
  { title: "ApiKeyCreatedOut" },
);

const ApiKeyIn = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, description: "What the key is for." }),
    appId: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: 256,
          description: "An application's id or uid: the key reaches that application only.",
        }),
      ),
    ),
    readOnly: Type.Optional(Type.Boolean({ description: "Only GET requests, and no secrets." })),
  },
  { ...INPUT_OBJECT, title: "ApiKeyIn" },
);

const KeyParams = Type.Object({ key_id: Type.String({ minLength: 1, maxLength: 64 }) });

const AuditEntryOut = Type.Object(
  {
    id: Type.String(),
    actor: Type.String({
      description: "`admin`, an API key's id (`key_…`) or `portal:<app id>`.",
    }),
    actorName: Nullable(Type.String({ description: "The API key's name." })),
    method: Type.String(),
    route: Type.String({ description: "The route's pattern." }),
    path: Type.String(),
    status: Type.Integer(),
    appId: Nullable(Type.String()),
    objectId: Nullable(Type.String()),
    changes: Type.Record(
      Type.String(),
      Type.Object({ from: Type.Optional(Type.Unknown()), to: Type.Optional(Type.Unknown()) }),
      { description: "Changed fields, `{ from, to }`; secrets are `********`." },
    ),
    requestId: Type.String({ description: "The request's X-Request-Id." }),
    ip: Type.String(),
    createdAt: Type.String({ format: "date-time" }),
  },
  { title: "AuditEntryOut" },
);

const AuditQuery = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 256 })),
  appId: Type.Optional(Type.String({ maxLength: 256, description: "An application's id." })),
  objectId: Type.Optional(Type.String({ maxLength: 256 })),
  since: Type.Optional(Type.String({ format: "date-time" })),
  until: Type.Optional(Type.String({ format: "date-time" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
  iterator: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
});
type AuditQueryValue = Static<typeof AuditQuery>;

function apiKeyOut(key: ApiKey): Static<typeof ApiKeyOut> {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    appId: key.appId,
    readOnly: key.readOnly,
    createdAt: iso(key.createdAt),
    revokedAt: key.revokedAt === null ? null : iso(key.revokedAt),
  };
}

function auditOut(entry: AuditEntry): Static<typeof AuditEntryOut> {
  return { ...entry, createdAt: iso(entry.createdAt) };
}

/** API keys (`/api/v1/api-key`) and the audit log (`/api/v1/audit-log`): the admin key's. */
export function registerAccessRoutes(
  app: FastifyInstance,
  deps: { keys: ApiKeys; audit: AuditLog },
): void {
  const { keys, audit } = deps;

  app.post<{ Body: Static<typeof ApiKeyIn> }>(
    "/api-key",
    {
      schema: {
        tags: KEY_TAGS,
        summary: "Create an API key",
        description:
          "A key for every application or for one (`appId`), read-write or read-only. The key is in this answer only; Hookyard keeps its SHA-256. An application's key reaches `/api/v1/app/{that app}/…` and reads event types; a key for every application reaches all but API keys, the audit log and changes to the rules, which need the admin key. A read-only key sends only GET requests, and cannot read signing secrets or use listeners.",
        body: ApiKeyIn,
        response: { 201: ApiKeyCreatedOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { key, token } = await keys.create(request.body);
      reply.code(201);
      return { ...apiKeyOut(key), key: token };
    },
  );

  app.get(
    "/api-key",
    {
      schema: {
        tags: KEY_TAGS,
        summary: "List API keys",
        description: "Newest first, revoked ones included; never the keys themselves.",
        response: {
          200: ListResponse(ApiKeyOut, "ListApiKeyOut"),
          ...ERROR_RESPONSES,
        },
      },
    },
    () =>
      Promise.resolve({
        data: keys.list().map(apiKeyOut),
        iterator: null,
        prevIterator: null,
        done: true,
      }),
  );

  app.get<{ Params: Static<typeof KeyParams> }>(
    "/api-key/:key_id",
    {
      schema: {
        tags: KEY_TAGS,
        summary: "Get an API key",
        params: KeyParams,
        response: { 200: ApiKeyOut, ...ERROR_RESPONSES },
      },
    },
    (request) => Promise.resolve(apiKeyOut(keys.get(request.params.key_id))),
  );

  app.post<{ Params: Static<typeof KeyParams> }>(
    "/api-key/:key_id/revoke",
    {
      schema: {
        tags: KEY_TAGS,
        summary: "Revoke an API key",
        description:
          "For good: the key is refused (401) from then on, on every node. Revoking a revoked key changes nothing.",
        params: KeyParams,
        response: { 200: ApiKeyOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => apiKeyOut(await keys.revoke(request.params.key_id)),
  );

  app.get<{ Querystring: AuditQueryValue }>(
    "/audit-log",
    {
      schema: {
        tags: AUDIT_TAGS,
        summary: "List audit log entries",
        description:
          "Every change made through the API, newest first: who (`actor`), the route and object, the changed fields with secrets masked, and when. Filter by actor, application id, object id and time; entries are kept `database.auditRetentionDays`.",
        querystring: AuditQuery,
        response: {
          200: ListResponse(AuditEntryOut, "ListAuditEntryOut"),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const since = q.since === undefined ? undefined : epochMsOf(q.since);
      const until = q.until === undefined ? undefined : epochMsOf(q.until);
      const page = await audit.list(
        {
          ...(q.actor !== undefined && { actor: q.actor }),
          ...(q.appId !== undefined && { appId: q.appId as AppId }),
          ...(q.objectId !== undefined && { objectId: q.objectId }),
          ...(since !== undefined && { since }),
          ...(until !== undefined && { until }),
        },
        { limit: q.limit ?? 50, iterator: q.iterator ?? null },
      );
      return { ...page, data: page.data.map(auditOut) };
    },
  );
}
