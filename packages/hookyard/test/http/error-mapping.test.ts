import { describe, expect, it } from "vitest";
import {
  AuthenticationError,
  ForbiddenError,
  BadRequestError,
  MissingPayloadError,
  ConflictError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../../src/errors.js";
import type { HookyardError } from "../../src/errors.js";
import {
  fromFastifyError,
  SERVER_ERROR_BODY,
  STATUS_BY_CODE,
  toHttpFailure,
} from "../../src/http/error-mapping.js";

/** One instance of every concrete HookyardError class. */
const EVERY_ERROR: HookyardError[] = [
  new NotFoundError("no app app_1"),
  new ConflictError("uid taken"),
  ValidationError.field(["body", "url"], "url: must be http(s)"),
  new BadRequestError("bad"),
  new MissingPayloadError("expunged"),
  new AuthenticationError("no key"),
  new ForbiddenError("another app"),
  new PayloadTooLargeError("too big"),
  new UnsupportedMediaTypeError("not json"),
  new MethodNotAllowedError("no"),
  new ServiceUnavailableError("closing"),
  new TooManyRequestsError("slow down", 1),
];

function fastifyError(code: string, statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { code, statusCode });
}

describe("error mapping: domain errors", () => {
  it("gives every error code an HTTP error status, and every code has a class", () => {
    const codes = new Set(EVERY_ERROR.map((err) => err.code));
    expect([...codes].sort()).toEqual(Object.keys(STATUS_BY_CODE).sort());
    for (const err of EVERY_ERROR) {
      const status = toHttpFailure(err).status;
      expect(status, err.code).toBe(STATUS_BY_CODE[err.code]);
      expect(status, err.code).toBeGreaterThanOrEqual(400);
    }
  });

  it("answers a 429 with Retry-After in whole seconds, at least 1", () => {
    expect(toHttpFailure(new TooManyRequestsError("too many wrong keys", 59.2))).toEqual({
      status: 429,
      body: { code: "too_many_requests", detail: "too many wrong keys" },
      unexpected: false,
      headers: { "retry-after": "60" },
    });
    expect(toHttpFailure(new TooManyRequestsError("now", 0)).headers).toEqual({
      "retry-after": "1",
    });
  });

  it("renders a refusal as {code, detail} with the error's message", () => {
    expect(toHttpFailure(new NotFoundError("Application app_1 not found"))).toEqual({
      status: 404,
      body: { code: "not_found", detail: "Application app_1 not found" },
      unexpected: false,
    });
    expect(toHttpFailure(new ConflictError("uid taken"))).toMatchObject({
      status: 409,
      body: { code: "conflict" },
    });
  });

  it("renders a ValidationError as a 422 listing its problems", () => {
    const err = new ValidationError([
      { loc: ["body", "url"], msg: "url: must be http(s)", type: "value_error" },
      { loc: ["body", "name"], msg: "name: field required", type: "value_error.missing" },
    ]);
    expect(toHttpFailure(err)).toEqual({
      status: 422,
      body: { detail: err.problems },
      unexpected: false,
    });
  });
});

describe("error mapping: unexpected errors", () => {
  it("answers any other error with a fixed 500 body and marks it for error logging", () => {
    for (const thrown of [
      new TypeError("secret internals"),
      "a string",
      null,
      { statusCode: 400 },
    ]) {
      const failure = toHttpFailure(thrown);
      expect(failure, JSON.stringify(thrown)).toEqual({
        status: 500,
        body: { code: "server_error", detail: "Internal Server Error" },
        unexpected: true,
      });
    }
    expect(JSON.stringify(SERVER_ERROR_BODY)).not.toContain("secret");
  });

  it("does not trust a 5xx statusCode on a foreign error", () => {
    const failure = toHttpFailure(fastifyError("FST_ERR_SOMETHING", 503, "internal detail"));
    expect(failure).toMatchObject({ status: 500, body: SERVER_ERROR_BODY, unexpected: true });
  });
});

describe("error mapping: Fastify client errors", () => {
  it("maps a too-large body to 413 payload_too_large", () => {
    const failure = toHttpFailure(
      fastifyError("FST_ERR_CTP_BODY_TOO_LARGE", 413, "Request body is too large"),
    );
    expect(failure).toMatchObject({ status: 413, body: { code: "payload_too_large" } });
  });

  it("maps an unsupported content type to 415 unsupported_media_type", () => {
    const failure = toHttpFailure(
      fastifyError("FST_ERR_CTP_INVALID_MEDIA_TYPE", 415, "Unsupported Media Type"),
    );
    expect(failure).toMatchObject({ status: 415, body: { code: "unsupported_media_type" } });
  });

  it("maps malformed and empty JSON to 400 bad_request with Fastify's message", () => {
    for (const code of ["FST_ERR_CTP_INVALID_JSON_BODY", "FST_ERR_CTP_EMPTY_JSON_BODY"]) {
      const failure = toHttpFailure(fastifyError(code, 400, "Body is not valid JSON"));
      expect(failure, code).toEqual({
        status: 400,
        body: { code: "bad_request", detail: "Body is not valid JSON" },
        unexpected: false,
      });
    }
  });

  it("maps a schema failure to a 422 naming the request part and field", () => {
    const err = Object.assign(new Error("querystring/limit must be <= 250"), {
      statusCode: 400,
      code: "FST_ERR_VALIDATION",
      validationContext: "querystring",
      validation: [
        {
          keyword: "maximum",
          instancePath: "/limit",
          schemaPath: "#/properties/limit/maximum",
          params: { comparison: "<=", limit: 250 },
          message: "must be <= 250",
        },
      ],
    });
    expect(toHttpFailure(err)).toEqual({
      status: 422,
      body: {
        detail: [{ loc: ["query", "limit"], msg: "limit: must be <= 250", type: "value_error" }],
      },
      unexpected: false,
    });
  });

  it("leaves HookyardErrors and non-client errors alone", () => {
    expect(fromFastifyError(new NotFoundError("x"))).toBeNull();
    expect(fromFastifyError(new Error("boom"))).toBeNull();
    expect(fromFastifyError("not an error")).toBeNull();
  });
});
