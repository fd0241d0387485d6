import { Ajv, type ValidateFunction } from "ajv";
import { ValidationError, type ValidationProblem } from "../errors.js";
import type { EventType } from "../model.js";

/**
 * JSON Schema checks of message payloads against their event type's schema (Svix's
 * `schemas: { "1": <schema> }`; the highest version wins). Compiled validators are cached per
 * event type and dropped when the type changes.
 */
export class PayloadSchemas {
  readonly #ajv = new Ajv({ allErrors: true, strict: false });
  readonly #compiled = new Map<string, { updatedAt: number; validate: ValidateFunction | null }>();

  /** @throws ValidationError (loc `body.schemas…`) when the schema itself is not valid JSON Schema. */
  checkSchemas(schemas: Record<string, unknown> | null | undefined): void {
    if (schemas == null) return;
    for (const [version, schema] of Object.entries(schemas)) {
      if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
        throw ValidationError.field(["body", "schemas", version], "must be a JSON Schema object");
      }
      try {
        this.#ajv.compile(schema);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw ValidationError.field(
          ["body", "schemas", version],
          `is not a valid JSON Schema: ${reason}`,
        );
      }
    }
  }

  /** @throws ValidationError naming each offending payload field. */
  validate(eventType: EventType, payload: unknown): void {
    const validate = this.#validator(eventType);
    if (validate === null || validate(payload)) return;
    const problems: ValidationProblem[] = (validate.errors ?? []).map((e) => {
      const path = e.instancePath.split("/").filter((s) => s !== "");
      const missing = e.keyword === "required" ? [String(e.params["missingProperty"])] : [];
      return {
        loc: ["body", "payload", ...path, ...missing],
        msg: `payload does not match the schema of event type "${eventType.name}": ${e.message ?? "invalid"}`,
        type: "value_error.jsonschema",
      };
    });
    throw new ValidationError(problems);
  }

  #validator(eventType: EventType): ValidateFunction | null {
    const cached = this.#compiled.get(eventType.name);
    if (cached !== undefined && cached.updatedAt === eventType.updatedAt) return cached.validate;
    const schema = latestSchema(eventType.schemas);
    const validate = schema === null ? null : this.#ajv.compile(schema);
    this.#compiled.set(eventType.name, { updatedAt: eventType.updatedAt, validate });
    return validate;
  }
}

export function latestSchema(
  schemas: Record<string, unknown> | null,
): Record<string, unknown> | null {
  if (schemas === null) return null;
  const versions = Object.keys(schemas).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  const latest = versions.at(-1);
  const schema = latest === undefined ? undefined : schemas[latest];
  return typeof schema === "object" && schema !== null ? (schema as Record<string, unknown>) : null;
}
