import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { problemsFromSchemaFailures } from "../../src/http/schema-problems.js";
import type { SchemaFailure } from "../../src/http/schema-problems.js";
import { createValidatorCompiler } from "../../src/http/schema-validation.js";
import { ApplicationIn } from "../../src/http/schemas/application.js";
import { EndpointIn } from "../../src/http/schemas/endpoint.js";
import { MessageListQuery } from "../../src/http/schemas/message.js";

const compile = createValidatorCompiler();

/** Validates `data` against a route schema the way Fastify does and returns the Ajv failures. */
function failuresOf(schema: object, httpPart: string, data: unknown): SchemaFailure[] {
  const validate = compile({ schema, httpPart });
  return validate(data) ? [] : (validate.errors ?? []);
}

describe("Ajv failures to Svix 422 problems", () => {
  it("names a missing body field with value_error.missing", () => {
    const problems = problemsFromSchemaFailures(failuresOf(ApplicationIn, "body", {}), "body");
    expect(problems).toEqual([
      { loc: ["body", "name"], msg: "name: field required", type: "value_error.missing" },
    ]);
  });

  it("names nested fields by their path, one problem per field", () => {
    const problems = problemsFromSchemaFailures(
      failuresOf(EndpointIn, "body", {
        url: "https://example.com",
        channels: ["ok", "bad channel"],
        metadata: { team: 7 },
        rateLimit: "5",
      }),
      "body",
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ loc: ["body", "channels", "1"], type: "value_error" }),
        {
          loc: ["body", "metadata", "team"],
          msg: "metadata.team: must be of type string",
          type: "type_error.string",
        },
        {
          loc: ["body", "rateLimit"],
          msg: "rateLimit: must be of type integer",
          type: "type_error.integer",
        },
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  it("names the body itself when it is not an object", () => {
    const problems = problemsFromSchemaFailures(failuresOf(ApplicationIn, "body", null), "body");
    expect(problems).toEqual([
      { loc: ["body"], msg: "body: must be of type object", type: "type_error.object" },
    ]);
  });

  it("puts query and path failures under query and path", () => {
    const query = problemsFromSchemaFailures(
      failuresOf(MessageListQuery, "querystring", { order: "sideways", before: "yesterday" }),
      "querystring",
    );
    expect(query.map((p) => p.loc)).toEqual(
      expect.arrayContaining([
        ["query", "order"],
        ["query", "before"],
      ]),
    );
    expect(query.find((p) => p.loc[1] === "order")?.msg).toBe(
      'order: must be one of: "ascending", "descending"',
    );
    const path = problemsFromSchemaFailures(
      [
        {
          keyword: "maxLength",
          instancePath: "/app_id",
          params: { limit: 256 },
          message: "must NOT have more than 256 characters",
        },
      ],
      "params",
    );
    expect(path).toEqual([
      {
        loc: ["path", "app_id"],
        msg: "app_id: must NOT have more than 256 characters",
        type: "value_error",
      },
    ]);
  });

  it("unescapes JSON pointer segments", () => {
    const problems = problemsFromSchemaFailures(
      [{ keyword: "type", instancePath: "/metadata/a~1b~0c", params: { type: "string" } }],
      "body",
    );
    expect(problems[0]?.loc).toEqual(["body", "metadata", "a/b~c"]);
  });

  it("turns any invalid application body into problems located in the body", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        const failures = failuresOf(ApplicationIn, "body", structuredClone(body));
        for (const problem of problemsFromSchemaFailures(failures, "body")) {
          expect(problem.loc[0]).toBe("body");
          expect(problem.msg.length).toBeGreaterThan(0);
          expect(problem.type).toMatch(/^(value_error|type_error)/);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("request validation rules", () => {
  it("keeps null as null in bodies instead of coercing it", () => {
    const body = { name: "Acme", uid: null, rateLimit: null };
    expect(failuresOf(ApplicationIn, "body", body)).toEqual([]);
    expect(body).toEqual({ name: "Acme", uid: null, rateLimit: null });
  });

  it("drops unknown body fields sent by newer SDKs", () => {
    const body = { name: "Acme", featureFromTheFuture: true };
    expect(failuresOf(ApplicationIn, "body", body)).toEqual([]);
    expect(body).toEqual({ name: "Acme" });
  });

  it("coerces query strings and fills query defaults", () => {
    const query: Record<string, unknown> = {
      limit: "10",
      with_content: "false",
      event_types: "a,b",
    };
    expect(failuresOf(MessageListQuery, "querystring", query)).toEqual([]);
    expect(query).toEqual({ limit: 10, with_content: false, event_types: ["a,b"] });
  });

  it("accepts the SDK's ISO dates and refuses other date text", () => {
    const ok = { before: "2025-01-01T00:00:00.000Z", after: "2025-01-01T01:00:00+02:00" };
    expect(failuresOf(MessageListQuery, "querystring", ok)).toEqual([]);
    for (const before of ["2025-01-01", "yesterday", "2025-13-45T99:00:00Z"]) {
      expect(failuresOf(MessageListQuery, "querystring", { before }), before).not.toEqual([]);
    }
  });
});
