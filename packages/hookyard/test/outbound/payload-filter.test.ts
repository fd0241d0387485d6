import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import {
  compilePayloadFilter,
  MAX_PAYLOAD_FILTER_LENGTH,
  normalizePayloadFilter,
  PayloadFilters,
  type PayloadFilterScope,
  type PayloadFilterVerdict,
} from "../../src/outbound/payload-filter.js";
import { Seed } from "../helpers/seed.js";

const seed = new Seed();
const LOC = ["body", "payloadFilter"];

function scope(overrides: Partial<PayloadFilterScope> = {}): PayloadFilterScope {
  return {
    eventType: "invoice.paid",
    payload: { amount: 5000, currency: "EUR", customer: { tier: "gold" }, lines: [1, 2, 3] },
    channels: [],
    tags: [],
    ...overrides,
  };
}

/** The verdict of a filter that must compile. */
function verdict(source: string, on: PayloadFilterScope = scope()): PayloadFilterVerdict {
  const compiled = compilePayloadFilter(source);
  if (!compiled.ok) throw new Error(`"${source}" should compile, got: ${compiled.error}`);
  return compiled.evaluate(on);
}

function compileError(source: string): string {
  const compiled = compilePayloadFilter(source);
  if (compiled.ok) throw new Error(`"${source}" should not compile, but it did`);
  return compiled.error;
}

describe("compiling a payload filter", () => {
  it("takes one list comprehension but refuses nested ones, whose cost grows with the list's square", () => {
    const one = compilePayloadFilter("payload.items.exists(i, i.sku == 'x')");
    expect(one.ok).toBe(true);
    const nested = compilePayloadFilter(
      "payload.items.all(a, payload.items.all(b, a.n <= b.n || a.n > b.n))",
    );
    expect(nested).toEqual({
      ok: false,
      error: expect.stringContaining("at most 1 of all/exists") as unknown,
    });
  });

  it("refuses a matches() pattern from the message or one that can backtrack exponentially", () => {
    expect(compileError("payload.text.matches(payload.pattern)")).toMatch(
      /takes its pattern as a literal text/,
    );
    expect(compileError("payload.text.matches('^(a|aa)+$')")).toMatch(
      /repeats a group that holds a repetition or an alternation/,
    );
    expect(compilePayloadFilter("payload.text.matches('^inv_[0-9]+$')").ok).toBe(true);
  });

  it("refuses a syntax error with CEL's message and a caret under the place", () => {
    const error = compileError("payload.amount >");
    expect(error).toMatch(/^is not a valid CEL condition: Unexpected token: EOF/);
    expect(error, "one line break between message and excerpt").toContain(
      "\n>    1 | payload.amount >",
    );
  });

  it("refuses a variable that is not one of eventType, payload, channels, tags", () => {
    expect(compileError("amount > 1000")).toContain("Unknown variable: amount");
    expect(compileError("event.payload.amount > 1000")).toContain("Unknown variable: event");
  });

  it("refuses a filter whose type is never a boolean", () => {
    expect(compileError("eventType")).toBe("must give true or false, not a value of type string");
    expect(compileError("size(tags)")).toBe("must give true or false, not a value of type int");
    expect(compileError("eventType > 1")).toContain("no such overload");
  });

  it("refuses a filter longer than the limit", () => {
    const long = `eventType == "${"x".repeat(MAX_PAYLOAD_FILTER_LENGTH)}"`;
    expect(compileError(long)).toBe(`is longer than ${MAX_PAYLOAD_FILTER_LENGTH} characters`);
  });

  it("answers any text with a result, never an exception", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (source) => {
        const compiled = compilePayloadFilter(source);
        expect(typeof compiled.ok).toBe("boolean");
      }),
    );
  });
});

describe("evaluating a payload filter on a message", () => {
  it("matches when the condition over the payload is true, and only then", () => {
    expect(verdict("payload.amount > 1000")).toEqual({ matches: true, reason: null });
    expect(verdict("payload.amount > 1000", scope({ payload: { amount: 10 } }))).toEqual({
      matches: false,
      reason: null,
    });
  });

  it("sees the event type, nested fields, lists, channels and tags", () => {
    expect(verdict('eventType.startsWith("invoice.") && payload.customer.tier == "gold"')).toEqual({
      matches: true,
      reason: null,
    });
    expect(verdict("payload.lines.exists(n, n > 2) && size(payload.lines) == 3").matches).toBe(
      true,
    );
    expect(verdict('"eu" in channels', scope({ channels: ["eu"] })).matches).toBe(true);
    expect(verdict('"eu" in channels').matches, "no channels = []").toBe(false);
    expect(verdict('"vip" in tags', scope({ tags: ["vip"] })).matches).toBe(true);
  });

  it("compares JSON numbers with integer and double literals alike", () => {
    expect(verdict("payload.amount == 5000").matches).toBe(true);
    expect(verdict("payload.amount * 1.5 > 7000.0").matches).toBe(true);
  });

  it("does not match when the payload lacks the field, and says why", () => {
    const result = verdict("payload.missing > 1");
    expect(result.matches).toBe(false);
    expect(result.reason).toContain("No such key: missing");
  });

  it("lets has() guard an optional field", () => {
    expect(verdict("has(payload.missing) && payload.missing > 1")).toEqual({
      matches: false,
      reason: null,
    });
  });

  it("does not match on a type mismatch at run time", () => {
    const result = verdict("payload.amount + 1 > 5");
    expect(result.matches).toBe(false);
    expect(result.reason).toContain("no such overload");
  });

  it("does not match when the payload is not an object (a non-JSON ingest body)", () => {
    expect(verdict("payload.amount > 1000", scope({ payload: null })).matches).toBe(false);
    expect(verdict('eventType == "invoice.paid"', scope({ payload: null })).matches).toBe(true);
  });

  it("does not match when a dyn filter gives something other than a boolean", () => {
    expect(verdict("payload.currency")).toEqual({
      matches: false,
      reason: "the filter gave a string, not true or false",
    });
    expect(verdict("payload.customer").reason).toBe("the filter gave an object, not true or false");
  });
});

describe("normalising a payload filter from an API body", () => {
  it("stores null for absent, null and blank filters", () => {
    expect(normalizePayloadFilter(undefined, LOC)).toBeNull();
    expect(normalizePayloadFilter(null, LOC)).toBeNull();
    expect(normalizePayloadFilter("", LOC)).toBeNull();
    expect(normalizePayloadFilter("  \n", LOC)).toBeNull();
  });

  it("keeps a valid filter as written", () => {
    expect(normalizePayloadFilter(" payload.amount > 1000 ", LOC)).toBe(" payload.amount > 1000 ");
  });

  it("refuses a filter that does not compile as a 422 problem at the given field", () => {
    let caught: unknown;
    try {
      normalizePayloadFilter("payload.amount >", LOC);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).problems).toMatchObject([
      { loc: LOC, type: "value_error.cel", msg: expect.stringContaining("Unexpected token") },
    ]);
  });
});

describe("the compiled-filter cache", () => {
  it("compiles each distinct filter text once", () => {
    const filters = new PayloadFilters();
    const first = filters.compiled("payload.amount > 1000");
    expect(filters.compiled("payload.amount > 1000"), "the same compiled program").toBe(first);
    filters.compiled("payload.amount > 10");
    expect(filters.size).toBe(2);
  });

  it("drops the least recently used filter past its bound", () => {
    const filters = new PayloadFilters({ maxEntries: 2 });
    const a = filters.compiled("payload.a == 1");
    const b = filters.compiled("payload.b == 1");
    expect(filters.compiled("payload.a == 1"), "a used again: b is now the oldest").toBe(a);
    filters.compiled("payload.c == 1");
    expect(filters.size).toBe(2);
    expect(filters.compiled("payload.a == 1"), "a kept").toBe(a);
    expect(filters.compiled("payload.b == 1"), "b was dropped and compiled anew").not.toBe(b);
  });

  it("decides per endpoint: no filter takes everything, a failing filter nothing", () => {
    const filters = new PayloadFilters();
    const plain = seed.endpoint("app_1", {});
    const big = seed.endpoint("app_1", { payloadFilter: "payload.amount > 1000" });
    const broken = seed.endpoint("app_1", { payloadFilter: "payload.amount >" });
    const missing = seed.endpoint("app_1", { payloadFilter: "payload.nope == 1" });
    const small = scope({ payload: { amount: 10 } });
    expect(filters.matches(plain, small)).toBe(true);
    expect(filters.matches(big, scope())).toBe(true);
    expect(filters.matches(big, small)).toBe(false);
    expect(filters.matches(broken, scope()), "a stored filter that does not compile").toBe(false);
    expect(filters.matches(missing, scope())).toBe(false);
    expect(filters.size, "the endpoint without a filter compiles nothing").toBe(3);
  });
});
