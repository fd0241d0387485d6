import { describe, expect, it } from "vitest";
import {
  changedFields,
  createdFields,
  deletedFields,
  MASK,
  masked,
} from "../../src/outbound/audit-diff.js";

// What an audit entry may keep of an object: pure functions, no server needed.

describe("audit diff", () => {
  it("masks credentials at any depth, header and env values, and URL tokens", () => {
    expect(masked("secret", "whsec_x")).toBe(MASK);
    expect(masked("auth", { type: "bearer", token: "t" })).toEqual({ type: "bearer", token: MASK });
    expect(masked("headers", { Cookie: "sid=1" })).toEqual({ Cookie: MASK });
    expect(masked("env", { SLACK_URL: "https://hooks.slack.com/x" })).toEqual({ SLACK_URL: MASK });
    expect(masked("ingestUrl", "https://h/in/tok3n/path")).toBe(`https://h/in/${MASK}/path`);
    expect(masked("url", "https://h/portal#token=portal_x")).toBe(`https://h/portal#token=${MASK}`);
    expect(masked("url", "https://customer.example/hook")).toBe("https://customer.example/hook");
    expect(masked("rules", [{ env: { A: "1" } }])).toEqual([{ env: { A: MASK } }]);
  });

  it("records what changed, a secret set as changed, and no content", () => {
    const before = { url: "a", description: "d", updatedAt: "1", payload: "x" };
    const after = { url: "b", description: "d", updatedAt: "2", payload: "y" };
    expect(changedFields(before, after, { auth: { type: "basic", password: "p" } })).toEqual({
      url: { from: "a", to: "b" },
      auth: { to: { type: "basic", password: MASK } },
    });
    expect(createdFields({ id: "msg_1", body: "raw", name: "n" })).toEqual({
      id: { to: "msg_1" },
      name: { to: "n" },
    });
    expect(
      deletedFields({ id: "req_1", body: "raw", headers: { a: "b" }, nested: {}, n: 1 }),
    ).toEqual({ id: { from: "req_1" }, n: { from: 1 } });
  });
});
