import { describe, expect, it } from "vitest";
import { startTestServer } from "../helpers/server.js";

// X-Request-Id on every answer, through the real server.

describe("request ids", () => {
  it("answers every request with its id, keeping a well-formed one the client sent", async () => {
    const server = await startTestServer();
    const first = await fetch(`${server.url}/api/v1/health`);
    const second = await fetch(`${server.url}/api/v1/app`); // 401: errors carry it too
    expect(second.status).toBe(401);
    const ids = [first, second].map((res) => res.headers.get("x-request-id"));
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    expect(ids[1]).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    expect(ids[0]).not.toBe(ids[1]);
    const own = await fetch(`${server.url}/api/v1/health`, {
      headers: { "x-request-id": "trace-42.a" },
    });
    expect(own.headers.get("x-request-id")).toBe("trace-42.a");
    const odd = await fetch(`${server.url}/api/v1/health`, {
      headers: { "x-request-id": `bad id ${"x".repeat(200)}` },
    });
    expect(odd.headers.get("x-request-id")).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    const unknown = await fetch(`${server.url}/nowhere`, {
      headers: { "x-request-id": "trace-43" },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("x-request-id")).toBe("trace-43");
  });
});
