import { Ajv } from "ajv";
import type { AnySchema, Options, ValidateFunction } from "ajv";

/** RFC 3339 date-time, as the Svix SDKs send it (`Date.toISOString()`), offsets allowed. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function isDateTime(value: string): boolean {
  return DATE_TIME.test(value) && !Number.isNaN(Date.parse(value));
}

function buildAjv(options: Options): Ajv {
  const ajv = new Ajv({
    // Unknown fields from newer SDKs are dropped where a schema says `additionalProperties: false`.
    removeAdditional: true,
    useDefaults: true,
    allErrors: true,
    ...options,
  });
  ajv.addFormat("date-time", { type: "string", validate: isDateTime });
  return ajv;
}

/** What Fastify passes to a validator compiler. */
export interface ValidatorCompilerRequest {
  schema: AnySchema;
  httpPart?: string;
}

/**
 * Fastify validator compiler with two Ajv instances: JSON bodies are validated strictly (no type
 * coercion, so `null` stays `null` and `"5"` is not a number, as in Svix), while the query string
 * and path parameters, which are always text, are coerced (`limit=10` → 10, `a&a` → array).
 */
export function createValidatorCompiler(): (req: ValidatorCompilerRequest) => ValidateFunction {
  const bodyAjv = buildAjv({ coerceTypes: false });
  const textAjv = buildAjv({ coerceTypes: "array" });
  return ({ schema, httpPart }) =>
    httpPart === "body" ? bodyAjv.compile(schema) : textAjv.compile(schema);
}

/** Epoch ms of a validated date-time string. */
export function epochMsOf(dateTime: string): number {
  return Date.parse(dateTime);
}
