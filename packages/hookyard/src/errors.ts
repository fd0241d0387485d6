/**
 * Every refusal Hookyard makes is one of these classes. The domain knows no HTTP status:
 * `http/error-mapping.ts` is the one place that turns a `code` into a status and a Svix body.
 * Codes reuse Svix's where Svix has one, because Svix SDK users see them in API errors.
 */
export type ErrorCode =
  | "not_found"
  | "conflict"
  | "validation"
  | "bad_request"
  | "missing_payload"
  | "authentication_failed"
  | "forbidden"
  | "payload_too_large"
  | "unsupported_media_type"
  | "method_not_allowed"
  | "too_many_requests"
  | "service_unavailable";

export abstract class HookyardError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class NotFoundError extends HookyardError {
  readonly code = "not_found";
}

export class ConflictError extends HookyardError {
  readonly code = "conflict";
}

export class BadRequestError extends HookyardError {
  readonly code = "bad_request";
}

/** The message's payload was expunged: it cannot be sent again (Svix's code). */
export class MissingPayloadError extends HookyardError {
  readonly code = "missing_payload";
}

export class AuthenticationError extends HookyardError {
  readonly code = "authentication_failed";
}

/** Authenticated, but the credential does not reach this (an app portal token, another app). */
export class ForbiddenError extends HookyardError {
  readonly code = "forbidden";
}

export class PayloadTooLargeError extends HookyardError {
  readonly code = "payload_too_large";
}

export class UnsupportedMediaTypeError extends HookyardError {
  readonly code = "unsupported_media_type";
}

export class MethodNotAllowedError extends HookyardError {
  readonly code = "method_not_allowed";
}

/** Refused for now (too many failed keys, streams, rejected requests): retry after a while. */
export class TooManyRequestsError extends HookyardError {
  readonly code = "too_many_requests";
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number, options?: { cause?: unknown }) {
    super(message, options);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

export class ServiceUnavailableError extends HookyardError {
  readonly code = "service_unavailable";
}

/** One problem with one input field, in Svix's 422 shape: `loc` is the path, e.g. `["body", "url"]`. */
export interface ValidationProblem {
  loc: string[];
  msg: string;
  type: string;
}

export class ValidationError extends HookyardError {
  readonly code = "validation";
  readonly problems: readonly ValidationProblem[];
  constructor(problems: readonly ValidationProblem[], options?: { cause?: unknown }) {
    super(problems.map((p) => `${p.loc.join(".")}: ${p.msg}`).join("; "), options);
    this.problems = problems;
  }

  /** A single-field validation failure, e.g. `ValidationError.field(["body", "url"], "must be http(s)")`. */
  static field(loc: string[], msg: string, type = "value_error"): ValidationError {
    return new ValidationError([{ loc, msg, type }]);
  }
}
