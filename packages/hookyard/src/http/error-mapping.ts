import {
  BadRequestError,
  HookyardError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  TooManyRequestsError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../errors.js";
import type { ErrorCode, ValidationProblem } from "../errors.js";
import { problemsFromSchemaFailures } from "./schema-problems.js";
import type { SchemaFailure } from "./schema-problems.js";

/**
 * The one place that turns an error into an HTTP status and a Svix error body (STYLE 2.4).
 * A new `ErrorCode` without a status here does not compile.
 */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  not_found: 404,
  conflict: 409,
  validation: 422,
  bad_request: 400,
  missing_payload: 400,
  authentication_failed: 401,
  forbidden: 403,
  payload_too_large: 413,
  unsupported_media_type: 415,
  method_not_allowed: 405,
  too_many_requests: 429,
  service_unavailable: 503,
};

export interface HttpErrorBody {
  code: string;
  detail: string;
}

export interface HttpValidationErrorBody {
  detail: readonly ValidationProblem[];
}

export interface HttpFailure {
  status: number;
  body: HttpErrorBody | HttpValidationErrorBody;
  /** True for a bug (anything not a refusal): log it at error with its stack. */
  unexpected: boolean;
  /** Headers the answer carries (`Retry-After` of a 429). */
  headers?: Record<string, string>;
}

/** The fixed answer to a bug; nothing internal reaches the client. */
export const SERVER_ERROR_BODY: HttpErrorBody = Object.freeze({
  code: "server_error",
  detail: "Internal Server Error",
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isSchemaFailure(value: unknown): value is SchemaFailure {
  return (
    isRecord(value) &&
    typeof value["keyword"] === "string" &&
    typeof value["instancePath"] === "string" &&
    isRecord(value["params"])
  );
}

/**
 * Converts the client errors Fastify raises itself (schema validation, body parsing, routing)
 * into `HookyardError`s; null for anything else. Fastify marks those errors with a 4xx
 * `statusCode` (parser errors, aborted bodies) or attaches `validation` (schema failures).
 */
export function fromFastifyError(err: unknown): HookyardError | null {
  if (!(err instanceof Error) || err instanceof HookyardError) return null;
  const fields = err as Error & Record<string, unknown>;
  const validation = fields["validation"];
  if (Array.isArray(validation)) {
    const part =
      typeof fields["validationContext"] === "string" ? fields["validationContext"] : "body";
    const problems = problemsFromSchemaFailures(validation.filter(isSchemaFailure), part);
    if (problems.length > 0) return new ValidationError(problems, { cause: err });
    return ValidationError.field([part], err.message);
  }
  const statusCode = fields["statusCode"];
  if (typeof statusCode !== "number" || statusCode < 400 || statusCode > 499) return null;
  switch (statusCode) {
    case 404:
      return new NotFoundError(err.message, { cause: err });
    case 405:
      return new MethodNotAllowedError(err.message, { cause: err });
    case 413:
      return new PayloadTooLargeError("Request body is too large", { cause: err });
    case 415:
      return new UnsupportedMediaTypeError(
        "Unsupported content type: send the body as application/json",
        { cause: err },
      );
    default:
      return new BadRequestError(err.message, { cause: err });
  }
}

/** Status and Svix body for any error; unknown errors become a fixed 500. */
export function toHttpFailure(err: unknown): HttpFailure {
  const known = err instanceof HookyardError ? err : fromFastifyError(err);
  if (known instanceof ValidationError) {
    return {
      status: STATUS_BY_CODE.validation,
      body: { detail: known.problems },
      unexpected: false,
    };
  }
  if (known !== null) {
    return {
      status: STATUS_BY_CODE[known.code],
      body: { code: known.code, detail: known.message },
      unexpected: false,
      ...(known instanceof TooManyRequestsError && {
        headers: { "retry-after": String(known.retryAfterSeconds) },
      }),
    };
  }
  return { status: 500, body: SERVER_ERROR_BODY, unexpected: true };
}
