import { describe, expect, it } from "vitest";
import { ATTEMPT_ERROR_CLASSES } from "../../src/model.js";
import { AUTH, buildStubApp, stubServices } from "./stub-services.js";

describe("HTTP app: authentication", () => {
  it("refuses an API route without an Authorization header with 401 authentication_failed", async () => {
    const app = await buildStubApp();
    const res = await app.inject({ method: "GET", url: "/api/v1/app" });
    expect(res.statusCode).toBe(401);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.json()).toMatchObject({ code: "authentication_failed", detail: expect.any(String) });
  });

  it("refuses a wrong API key with 401", async () => {
    const app = await buildStubApp();
    const res = await app.inject({
      method: "GET",
      url: "/api/v1/app",
      headers: { authorization: "Bearer wrong" },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: "authentication_failed" });
  });

  it("checks the key before reading the body", async () => {
    const app = await buildStubApp();
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/app",
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    expect(res.statusCode).toBe(401);
  });

  it("answers the health check without an API key with 204", async () => {
    const app = await buildStubApp();
    const res = await app.inject({ method: "GET", url: "/api/v1/health" });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe("");
  });

  it("accepts a trailing slash on every path", async () => {
    const app = await buildStubApp();
    const health = await app.inject({ method: "GET", url: "/api/v1/health/" });
    expect(health.statusCode).toBe(204);
    const apps = await app.inject({ method: "GET", url: "/api/v1/app/", headers: AUTH });
    expect(apps.statusCode, "authenticated past routing; the stub service then throws").toBe(500);
  });
});

describe("HTTP app: request parsing and refusals", () => {
  it("answers malformed JSON with 400 bad_request", async () => {
    const app = await buildStubApp();
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/app",
      headers: { ...AUTH, "content-type": "application/json" },
      payload: '{"name": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "bad_request", detail: expect.any(String) });
  });

  it("accepts a charset parameter on application/json", async () => {
    const app = await buildStubApp();
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/app",
      headers: { ...AUTH, "content-type": "application/json; charset=utf-8" },
      payload: JSON.stringify({ name: "" }),
    });
    expect(res.statusCode, "parsed, then refused by the schema").toBe(422);
  });

  it("answers a non-JSON content type with 415 unsupported_media_type", async () => {
    const app = await buildStubApp();
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded"]) {
      const res = await app.inject({
        method: "POST",
        url: "/api/v1/app",
        headers: { ...AUTH, "content-type": contentType },
        payload: "name=x",
      });
      expect(res.statusCode, contentType).toBe(415);
      expect(res.json()).toMatchObject({ code: "unsupported_media_type" });
    }
  });

  it("answers a body over the limit with 413 payload_too_large", async () => {
    const app = await buildStubApp({ bodyLimitBytes: 1024 });
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/app/app_1/msg",
      headers: { ...AUTH, "content-type": "application/json" },
      payload: JSON.stringify({ eventType: "a.b", payload: { pad: "x".repeat(2048) } }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: "payload_too_large" });
  });

  it("answers a missing body on a body route with a 422 naming the body", async () => {
    const app = await buildStubApp();
    const res = await app.inject({ method: "POST", url: "/api/v1/app", headers: AUTH });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({
      detail: [{ loc: ["body"], msg: expect.stringContaining("body"), type: "type_error.object" }],
    });
  });

  it("treats an empty JSON body as no body", async () => {
    const app = await buildStubApp();
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/app",
      headers: { ...AUTH, "content-type": "application/json" },
      payload: "",
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ detail: [{ loc: ["body"] }] });
  });

  it("refuses a JSON body with a __proto__ key as malformed", async () => {
    const app = await buildStubApp();
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/app",
      headers: { ...AUTH, "content-type": "application/json" },
      payload: '{"name":"x","__proto__":{"admin":true}}',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "bad_request" });
  });

  it("answers an unknown route with a 404 not_found JSON body", async () => {
    const app = await buildStubApp();
    for (const url of ["/nope", "/api/v1/nope"]) {
      const res = await app.inject({ method: "GET", url, headers: AUTH });
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toMatchObject({ code: "not_found", detail: expect.stringContaining(url) });
    }
  });

  it("answers an unsupported method with a JSON 404", async () => {
    const app = await buildStubApp();
    const res = await app.inject({ method: "DELETE", url: "/api/v1/app", headers: AUTH });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: "not_found" });
  });

  it("answers an unexpected service failure with a fixed 500 body", async () => {
    const app = await buildStubApp();
    const res = await app.inject({ method: "GET", url: "/api/v1/app/app_1", headers: AUTH });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ code: "server_error", detail: "Internal Server Error" });
    expect(res.body).not.toContain("not used in this test");
  });
});

describe("HTTP app: validation", () => {
  it("lists every invalid ApplicationIn field in Svix's 422 shape", async () => {
    const app = await buildStubApp();
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/app",
      headers: AUTH,
      payload: { uid: "has space", rateLimit: 0, metadata: { a: 1 } },
    });
    expect(res.statusCode).toBe(422);
    const { detail } = res.json<{ detail: { loc: string[]; msg: string; type: string }[] }>();
    expect(detail.map((p) => p.loc)).toEqual(
      expect.arrayContaining([
        ["body", "name"],
        ["body", "uid"],
        ["body", "rateLimit"],
        ["body", "metadata", "a"],
      ]),
    );
    expect(detail.find((p) => p.loc.join(".") === "body.name")).toEqual({
      loc: ["body", "name"],
      msg: "name: field required",
      type: "value_error.missing",
    });
  });

  it("names a bad query parameter with loc query", async () => {
    const app = await buildStubApp();
    const res = await app.inject({ method: "GET", url: "/api/v1/app?limit=0", headers: AUTH });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({
      detail: [
        { loc: ["query", "limit"], msg: expect.stringContaining("limit"), type: "value_error" },
      ],
    });
  });

  it("refuses a message payload that is not a JSON object", async () => {
    const app = await buildStubApp();
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/app/app_1/msg",
      headers: AUTH,
      payload: { eventType: "invoice.paid", payload: [1, 2] },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({
      detail: [{ loc: ["body", "payload"], msg: expect.any(String), type: "type_error.object" }],
    });
  });

  it("refuses a filter value outside Svix's, naming the parameter", async () => {
    const app = await buildStubApp();
    const tag = await app.inject({
      method: "GET",
      url: "/api/v1/app/app_1/msg?tag=not%20a%20tag",
      headers: AUTH,
    });
    expect(tag.statusCode).toBe(422);
    expect(tag.json()).toMatchObject({ detail: [{ loc: ["query", "tag"] }] });
    const codeClass = await app.inject({
      method: "GET",
      url: "/api/v1/app/app_1/attempt/endpoint/ep_1?status_code_class=250",
      headers: AUTH,
    });
    expect(codeClass.statusCode).toBe(422);
    expect(codeClass.json()).toMatchObject({ detail: [{ loc: ["query", "status_code_class"] }] });
  });
});

describe("HTTP app: idempotency", () => {
  it("replays a recorded answer for a repeated Idempotency-Key without running the handler", async () => {
    const body = '{"id":"app_1","name":"recorded"}';
    const services = stubServices({
      recorded: [{ key: "POST /api/v1/app key-1", statusCode: 201, body, createdAt: 0 }],
    });
    const app = await buildStubApp({ services });
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/app/?get_if_exists=false",
      headers: { ...AUTH, "idempotency-key": "key-1" },
      payload: { name: "ignored" },
    });
    expect(res.statusCode).toBe(201);
    expect(res.body).toBe(body);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("does not replay a key recorded on another path", async () => {
    const services = stubServices({
      recorded: [
        { key: "POST /api/v1/event-type key-1", statusCode: 201, body: "{}", createdAt: 0 },
      ],
    });
    const app = await buildStubApp({ services });
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/app",
      headers: { ...AUTH, "idempotency-key": "key-1" },
      payload: { name: "x" },
    });
    expect(res.statusCode, "the handler ran and reached the throwing stub").toBe(500);
  });
});

describe("HTTP app: OpenAPI and docs", () => {
  const ROUTES: [string, string][] = [
    ["get", "/metrics"],
    ["post", "/api/v1/api-key"],
    ["get", "/api/v1/api-key"],
    ["get", "/api/v1/api-key/{key_id}"],
    ["post", "/api/v1/api-key/{key_id}/revoke"],
    ["get", "/api/v1/audit-log"],
    ["get", "/api/v1/operational-webhook/endpoint"],
    ["post", "/api/v1/operational-webhook/endpoint"],
    ["get", "/api/v1/operational-webhook/endpoint/{endpoint_id}"],
    ["put", "/api/v1/operational-webhook/endpoint/{endpoint_id}"],
    ["delete", "/api/v1/operational-webhook/endpoint/{endpoint_id}"],
    ["get", "/api/v1/operational-webhook/endpoint/{endpoint_id}/secret"],
    ["post", "/api/v1/operational-webhook/endpoint/{endpoint_id}/secret/rotate"],
    ["get", "/api/v1/operational-webhook/endpoint/{endpoint_id}/headers"],
    ["put", "/api/v1/operational-webhook/endpoint/{endpoint_id}/headers"],
    ["get", "/api/v1/health"],
    ["get", "/api/v1/health/ping"],
    ["head", "/api/v1/health/ping"],
    ["get", "/api/v1/background-task"],
    ["get", "/api/v1/background-task/{task_id}"],
    ["post", "/api/v1/stats/usage/app"],
    ["put", "/api/v1/stats/usage/event-types"],
    ["get", "/api/v1/app"],
    ["post", "/api/v1/app"],
    ["get", "/api/v1/app/{app_id}"],
    ["put", "/api/v1/app/{app_id}"],
    ["patch", "/api/v1/app/{app_id}"],
    ["delete", "/api/v1/app/{app_id}"],
    ["get", "/api/v1/event-type"],
    ["post", "/api/v1/event-type"],
    ["post", "/api/v1/event-type/import/openapi"],
    ["get", "/api/v1/event-type/{event_type_name}"],
    ["put", "/api/v1/event-type/{event_type_name}"],
    ["patch", "/api/v1/event-type/{event_type_name}"],
    ["delete", "/api/v1/event-type/{event_type_name}"],
    ["get", "/api/v1/app/{app_id}/endpoint"],
    ["post", "/api/v1/app/{app_id}/endpoint"],
    ["get", "/api/v1/app/{app_id}/endpoint/{endpoint_id}"],
    ["put", "/api/v1/app/{app_id}/endpoint/{endpoint_id}"],
    ["patch", "/api/v1/app/{app_id}/endpoint/{endpoint_id}"],
    ["delete", "/api/v1/app/{app_id}/endpoint/{endpoint_id}"],
    ["get", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret"],
    ["post", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate"],
    ["get", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers"],
    ["put", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers"],
    ["patch", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers"],
    ["post", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/recover"],
    ["post", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/replay-missing"],
    ["post", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/bulk-replay"],
    ["post", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example"],
    ["get", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats"],
    ["get", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/msg"],
    ["get", "/api/v1/app/{app_id}/msg"],
    ["post", "/api/v1/app/{app_id}/msg"],
    ["get", "/api/v1/app/{app_id}/msg/{msg_id}"],
    ["post", "/api/v1/app/{app_id}/msg/precheck/active"],
    ["delete", "/api/v1/app/{app_id}/msg/{msg_id}/content"],
    ["delete", "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content"],
    ["get", "/api/v1/app/{app_id}/attempt/msg/{msg_id}"],
    ["get", "/api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}"],
    ["get", "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}"],
    ["get", "/api/v1/app/{app_id}/msg/{msg_id}/endpoint"],
    ["post", "/api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend"],
    ["get", "/ingest/api/v1/source"],
    ["post", "/ingest/api/v1/source"],
    ["get", "/ingest/api/v1/source/{source_id}"],
    ["put", "/ingest/api/v1/source/{source_id}"],
    ["delete", "/ingest/api/v1/source/{source_id}"],
    ["post", "/ingest/api/v1/source/{source_id}/token/rotate"],
    ["get", "/ingest/api/v1/source/{source_id}/request"],
    ["get", "/ingest/api/v1/source/{source_id}/request/{request_id}"],
    ["get", "/ingest/api/v1/source/{source_id}/request/{request_id}/forward"],
    ["delete", "/ingest/api/v1/source/{source_id}/request/{request_id}"],
    ["get", "/ingest/api/v1/source/{source_id}/request/stream"],
    ["get", "/ingest/api/v1/request/{request_id}"],
    ["get", "/api/v1/stats/activity"],
    ["post", "/api/v1/auth/app-portal-access/{app_id}"],
    ["post", "/api/v1/auth/logout"],
    ["post", "/api/v1/auth/app/{app_id}/expire-all"],
    ["get", "/ingest/api/v1/source/{source_id}/listener/{name}"],
    ["delete", "/ingest/api/v1/source/{source_id}/listener/{name}"],
    ["post", "/ingest/api/v1/source/{source_id}/listener/{name}/ack"],
    ["get", "/ingest/api/v1/source/{source_id}/listener/{name}/stream"],
    ["get", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/listener/{name}"],
    ["delete", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/listener/{name}"],
    ["post", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/listener/{name}/ack"],
    ["get", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/listener/{name}/stream"],
    ["post", "/ingest/api/v1/source/{source_id}/request/{request_id}/replay"],
    ["get", "/ingest/api/v1/source/{source_id}/endpoint"],
    ["post", "/ingest/api/v1/source/{source_id}/endpoint"],
    ["get", "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}"],
    ["put", "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}"],
    ["delete", "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}"],
    ["get", "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/secret"],
    ["post", "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/secret/rotate"],
    ["get", "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/headers"],
    ["put", "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/headers"],
  ];

  it("serves an OpenAPI document listing every route with a summary, without auth", async () => {
    const app = await buildStubApp();
    const res = await app.inject({ method: "GET", url: "/api/v1/openapi.json" });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{
      openapi: string;
      paths: Record<string, Record<string, { summary?: string; tags?: string[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes).toHaveProperty("HTTPBearer");
    for (const [method, path] of ROUTES) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method.toUpperCase()} ${path} in openapi.json`).toBeDefined();
      expect(operation?.summary, `${method.toUpperCase()} ${path} summary`).toBeTruthy();
      expect(operation?.tags?.length, `${method.toUpperCase()} ${path} tags`).toBe(1);
    }
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map(([m, p]) => `${m} ${p}`).sort());
  });

  it("documents the Hookyard extensions on endpoints", async () => {
    const app = await buildStubApp();
    const doc = (await app.inject({ method: "GET", url: "/api/v1/openapi.json" })).json<{
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content: Record<
                string,
                { schema: { properties: Record<string, { description?: string }> } }
              >;
            };
          }
        >
      >;
    }>();
    const body = doc.paths["/api/v1/app/{app_id}/endpoint"]?.["post"]?.requestBody;
    const properties = body?.content["application/json"]?.schema.properties;
    for (const name of ["accept302", "auth", "tls"]) {
      expect(properties?.[name]?.description, name).toMatch(/Hookyard extension/);
    }
  });

  it("documents errorClass auth among the attempt error classes", async () => {
    const app = await buildStubApp();
    const res = await app.inject({ method: "GET", url: "/api/v1/openapi.json" });
    const list = res.json<{ paths: Record<string, Record<string, unknown>> }>().paths[
      "/api/v1/app/{app_id}/attempt/msg/{msg_id}"
    ]?.["get"] as {
      responses: Record<string, { content: Record<string, { schema: unknown }> }>;
    };
    const schema = list.responses["200"]?.content["application/json"]?.schema as {
      properties: { data: { items: { properties: Record<string, { enum?: string[] }> } } };
    };
    const errorClass = schema.properties.data.items.properties["errorClass"];
    expect(errorClass?.enum).toContain("auth");
    expect(errorClass?.enum).toEqual([...ATTEMPT_ERROR_CLASSES]);
  });

  it("serves the docs page as HTML without auth", async () => {
    const app = await buildStubApp();
    const res = await app.inject({ method: "GET", url: "/docs" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.body).toContain("swagger");
  });
});
