import { describe, expect, it } from "vitest";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

interface RawResponse {
  status: number;
  contentType: string;
  body: unknown;
}

async function raw(
  base: string,
  method: string,
  path: string,
  opts: { body?: string; contentType?: string; auth?: string | null } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? `Bearer ${TEST_API_KEY}` : opts.auth;
  if (auth !== null) headers["authorization"] = auth;
  if (opts.contentType !== undefined) headers["content-type"] = opts.contentType;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(opts.body !== undefined && { body: opts.body }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the assertion on contentType reports it
  }
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", body };
}

describe("bad input through the real server", () => {
  it("answers every kind of bad request with a clear 4xx JSON error and loses nothing accepted", async () => {
    const receiver = await startReceiver();
    const { svix, url } = await startTestServer();
    const app = await svix.application.create({ name: "A", uid: "acme" });
    await svix.endpoint.create(app.id, { url: receiver.url });
    const accepted = await svix.message.create(app.id, {
      eventType: "before.bad",
      payload: { keep: true },
    });
    const msgPath = `/api/v1/app/${app.id}/msg`;
    const json = "application/json";

    const cases: { name: string; res: Promise<RawResponse>; status: number; mentions?: string }[] =
      [
        { name: "no API key", res: raw(url, "GET", "/api/v1/app", { auth: null }), status: 401 },
        {
          name: "wrong API key",
          res: raw(url, "GET", "/api/v1/app", { auth: "Bearer nope" }),
          status: 401,
        },
        {
          name: "not a bearer token",
          res: raw(url, "GET", "/api/v1/app", { auth: "Basic Zm9vOmJhcg==" }),
          status: 401,
        },
        {
          name: "malformed JSON",
          res: raw(url, "POST", msgPath, { body: '{"eventType": "a.b", ', contentType: json }),
          status: 400,
        },
        {
          name: "wrong content type",
          res: raw(url, "POST", msgPath, {
            body: "eventType=a.b",
            contentType: "application/x-www-form-urlencoded",
          }),
          status: 415,
        },
        {
          name: "text/plain body",
          res: raw(url, "POST", msgPath, { body: "{}", contentType: "text/plain" }),
          status: 415,
        },
        {
          name: "empty body",
          res: raw(url, "POST", msgPath, { body: "", contentType: json }),
          status: 422,
          mentions: "body",
        },
        {
          name: "JSON array body",
          res: raw(url, "POST", msgPath, { body: "[]", contentType: json }),
          status: 422,
        },
        {
          name: "JSON null body",
          res: raw(url, "POST", msgPath, { body: "null", contentType: json }),
          status: 422,
        },
        {
          name: "payload not an object",
          res: raw(url, "POST", msgPath, {
            body: JSON.stringify({ eventType: "a.b", payload: [1, 2] }),
            contentType: json,
          }),
          status: 422,
          mentions: "payload",
        },
        {
          name: "missing eventType",
          res: raw(url, "POST", msgPath, {
            body: JSON.stringify({ payload: {} }),
            contentType: json,
          }),
          status: 422,
          mentions: "eventType",
        },
        {
          name: "eventType with spaces",
          res: raw(url, "POST", msgPath, {
            body: JSON.stringify({ eventType: "a b", payload: {} }),
            contentType: json,
          }),
          status: 422,
          mentions: "eventType",
        },
        {
          name: "six channels",
          res: raw(url, "POST", msgPath, {
            body: JSON.stringify({
              eventType: "a.b",
              payload: {},
              channels: ["a", "b", "c", "d", "e", "f"],
            }),
            contentType: json,
          }),
          status: 422,
          mentions: "channels",
        },
        {
          name: "payload over 1 MiB",
          res: raw(url, "POST", msgPath, {
            body: JSON.stringify({ eventType: "a.b", payload: { big: "x".repeat(1_100_000) } }),
            contentType: json,
          }),
          status: 413,
        },
        {
          name: "__proto__ key",
          res: raw(url, "POST", msgPath, {
            body: '{"eventType":"a.b","payload":{"__proto__":{"admin":true}}}',
            contentType: json,
          }),
          status: 400,
        },
        {
          name: "unknown application",
          res: raw(url, "GET", "/api/v1/app/app_doesnotexist/msg"),
          status: 404,
        },
        {
          name: "unknown message",
          res: raw(url, "GET", `/api/v1/app/${app.id}/msg/msg_doesnotexist`),
          status: 404,
        },
        {
          name: "unknown endpoint",
          res: raw(url, "GET", `/api/v1/app/${app.id}/endpoint/ep_nope`),
          status: 404,
        },
        { name: "unknown route", res: raw(url, "GET", "/api/v1/nothing-here"), status: 404 },
        {
          name: "endpoint URL not http",
          res: raw(url, "POST", `/api/v1/app/${app.id}/endpoint`, {
            body: JSON.stringify({ url: "javascript:alert(1)" }),
            contentType: json,
          }),
          status: 422,
          mentions: "url",
        },
        {
          name: "negative rate limit",
          res: raw(url, "POST", `/api/v1/app/${app.id}/endpoint`, {
            body: JSON.stringify({ url: "https://example.com", rateLimit: -1 }),
            contentType: json,
          }),
          status: 422,
          mentions: "rateLimit",
        },
        {
          name: "bad secret",
          res: raw(url, "POST", `/api/v1/app/${app.id}/endpoint`, {
            body: JSON.stringify({ url: "https://example.com", secret: "hunter2" }),
            contentType: json,
          }),
          status: 422,
          mentions: "secret",
        },
        {
          name: "uid with a slash",
          res: raw(url, "POST", "/api/v1/app", {
            body: JSON.stringify({ name: "x", uid: "a/b" }),
            contentType: json,
          }),
          status: 422,
          mentions: "uid",
        },
        {
          name: "name of wrong type",
          res: raw(url, "POST", "/api/v1/app", {
            body: JSON.stringify({ name: 42 }),
            contentType: json,
          }),
          status: 422,
          mentions: "name",
        },
        {
          name: "limit out of range",
          res: raw(url, "GET", "/api/v1/app?limit=100000"),
          status: 422,
          mentions: "limit",
        },
        {
          name: "iterator garbage",
          res: raw(url, "GET", `/api/v1/app/${app.id}/msg?before=not-a-date`),
          status: 422,
          mentions: "before",
        },
        {
          name: "payload nested 5,000 deep",
          res: raw(url, "POST", msgPath, {
            body: `{"eventType":"a.b","payload":{"x":${"[".repeat(5000)}${"]".repeat(5000)}}}`,
            contentType: json,
          }),
          status: 422,
          mentions: "payload",
        },
        {
          name: "payload nested 100 deep",
          res: raw(url, "POST", msgPath, {
            body: `{"eventType":"a.b","payload":{"x":${"[".repeat(100)}${"]".repeat(100)}}}`,
            contentType: json,
          }),
          status: 202,
        },
      ];
    for (const c of cases) {
      const res = await c.res;
      expect(res.status, `${c.name}: status (body ${JSON.stringify(res.body).slice(0, 300)})`).toBe(
        c.status,
      );
      expect(res.contentType, `${c.name}: JSON body`).toContain("application/json");
      if (c.status >= 400 && c.status !== 422)
        expect(res.body, c.name).toMatchObject({
          code: expect.any(String),
          detail: expect.any(String),
        });
      if (c.status === 422) {
        const detail = (res.body as { detail: { loc: string[] }[] }).detail;
        expect(Array.isArray(detail), `${c.name}: 422 detail list`).toBe(true);
        if (c.mentions !== undefined)
          expect(JSON.stringify(detail), `${c.name}: names the field`).toContain(c.mentions);
      }
    }

    // Nothing accepted before is affected, and the server still works.
    const delivered = await receiver.waitForCount(2, { timeoutMs: 5_000 });
    expect(delivered.map((r) => r.headers["webhook-id"])).toContain(accepted.id);
    expect((await svix.message.get(app.id, accepted.id, { withContent: true })).payload).toEqual({
      keep: true,
    });
    const after = await svix.message.create("acme", { eventType: "after.bad", payload: { ok: 1 } });
    await expect
      .poll(() => receiver.requests.some((r) => r.headers["webhook-id"] === after.id), {
        timeout: 5_000,
      })
      .toBe(true);
  });
});
