import { Type } from "@sinclair/typebox";
import type { Static, TSchema, TUnsafe } from "@sinclair/typebox";

/**
 * Building blocks shared by the route schemas. Every schema here is valid for three readers at
 * once: Ajv (request validation), fast-json-stringify (response serialization) and
 * @fastify/swagger (OpenAPI 3.0), which is why nullability is spelled `nullable: true` (OpenAPI 3.0
 * and Ajv both understand it) instead of TypeBox's `anyOf [T, null]`.
 */

/** Svix's id/uid/name pattern. */
export const ID_PATTERN = "^[a-zA-Z0-9\\-_.]{1,256}$";
/** Svix's message tag pattern. */
export const TAG_PATTERN = "^[a-zA-Z0-9\\-_.]+$";
/** Svix's channel pattern (colons allowed). */
export const CHANNEL_PATTERN = "^[a-zA-Z0-9\\-_.:]{1,128}$";

/** `T | null`, documented and validated as OpenAPI's `nullable`. */
export function Nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...schema, nullable: true });
}

/** A JSON object of string values (metadata, headers). */
export function StringMap(options: { description?: string } = {}): TUnsafe<Record<string, string>> {
  return Type.Unsafe<Record<string, string>>({
    type: "object",
    additionalProperties: { type: "string" },
    ...options,
  });
}

/** Any JSON object, passed through untouched (payloads, JSON Schemas). */
export function AnyObject(
  options: { description?: string } = {},
): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({
    type: "object",
    additionalProperties: true,
    ...options,
  });
}

/** A string enum, documented as OpenAPI `enum` (TypeBox's literal unions become `anyOf`). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: "string", enum: [...values], ...options });
}

/** An RFC 3339 date-time string (`2025-01-01T00:00:00.000Z`). */
export function DateTime(options: { description?: string } = {}) {
  return Type.String({ format: "date-time", ...options });
}

/** A strict input object: unknown fields (from newer SDKs) are removed, not rejected. */
export const INPUT_OBJECT = { additionalProperties: false } as const;

export const Uid = Type.String({
  pattern: ID_PATTERN,
  minLength: 1,
  maxLength: 256,
  description: "Your own unique id for the object; usable wherever the `id` is accepted.",
});

export const RateLimit = Type.Integer({
  minimum: 1,
  description: "Maximum deliveries per second; null = unlimited.",
});

export const Metadata = StringMap({ description: "Free-form string key/value pairs." });

/** Svix's list envelope. */
export function ListResponse<T extends TSchema>(item: T, title: string) {
  return Type.Object(
    {
      data: Type.Array(item),
      iterator: Nullable(
        Type.String({ description: "Pass as `iterator` to fetch the next page; null when done." }),
      ),
      prevIterator: Nullable(Type.String({ description: "Pass as `iterator` to go back a page." })),
      done: Type.Boolean({ description: "True when this is the last page." }),
    },
    { title },
  );
}

/** `{code, detail}`: every refusal except validation failures. */
const HttpErrorOut = Type.Object(
  {
    code: Type.String({ description: "Stable snake_case code, e.g. `not_found`, `conflict`." }),
    detail: Type.String({ description: "Human-readable explanation." }),
  },
  { title: "HttpErrorOut" },
);

/** `{detail: [{loc, msg, type}]}`: a 422 naming each invalid field. */
const HttpValidationErrorOut = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        loc: Type.Array(Type.String(), {
          description: 'Where the problem is, e.g. `["body", "url"]` or `["query", "limit"]`.',
        }),
        msg: Type.String(),
        type: Type.String({ description: 'Problem class, e.g. "value_error".' }),
      }),
    ),
  },
  { title: "HTTPValidationError" },
);

/** The error responses every authenticated route can give, for the OpenAPI document. */
export const ERROR_RESPONSES = {
  400: HttpErrorOut,
  401: HttpErrorOut,
  404: HttpErrorOut,
  409: HttpErrorOut,
  413: HttpErrorOut,
  415: HttpErrorOut,
  422: HttpValidationErrorOut,
} as const;

/** An empty JSON object, for routes the SDK parses but that carry no data. */
export const EmptyObject = Type.Object({}, { title: "EmptyResponse" });

/** A 204 response: no body. */
export const NoContent = Type.Null({ description: "No content." });
