import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventFrom } from "../../src/http/routes/rules.js";
import type { RuleEvent } from "../../src/model.js";
import { guardsDecide, RuleIndex } from "../../src/rules/rule-index.js";
import { parseRulebookFiles, type Rule } from "../../src/rules/rulebook.js";

// The rule index may skip a rule only when the rule's condition is false anyway: these tests pin
// which rules are candidates, and a property test checks it never skips a rule that would match.

/** Rules from `name: condition` pairs (a condition as YAML text; "" for none). */
function rules(conditions: ReadonlyArray<readonly [name: string, condition: string]>): Rule[] {
  const text = [
    "rules:",
    ...conditions.flatMap(([name, condition]) => [
      `  - name: ${name}`,
      "    sources: [gh]",
      ...(condition === "" ? [] : [`    condition: ${condition}`]),
      "    actions: [{ log: hi }]",
    ]),
  ].join("\n");
  return parseRulebookFiles([{ name: "rules.yaml", text }], {}).rules;
}

function candidateNames(index: RuleIndex, event: Partial<RuleEvent>): string[] {
  return index.candidates(eventFrom(event)).map((r) => r.name);
}

describe("rule index candidates", () => {
  const REPOS = rules([
    ["web", `'event.type == "push" && event.payload.repo == "web"'`],
    ["api", `'event.type == "push" && event.payload.repo == "api"'`],
    ["any-push", ""],
    ["docs", `'event.type == "push" && event.payload.repo == "docs"'`],
    ["tags", `'event.payload.ref.startsWith("refs/tags/")'`],
  ]);
  const index = new RuleIndex(REPOS);

  it("offers only the rules of the event's value, and the unguarded ones, in rulebook order", () => {
    expect(candidateNames(index, { type: "push", payload: { repo: "api" } })).toEqual([
      "api",
      "any-push",
      "tags",
    ]);
    expect(candidateNames(index, { type: "push", payload: { repo: "other" } })).toEqual([
      "any-push",
      "tags",
    ]);
  });

  it("files each rule under its most selective guard, not under the one all rules share", () => {
    // Filed under payload.repo (one rule each), not under type == "push" (three rules): a pull of
    // web is still a candidate (its condition will say false), a push of web offers web alone.
    expect(candidateNames(index, { type: "pull", payload: { repo: "web" } })).toEqual([
      "web",
      "any-push",
      "tags",
    ]);
    expect(candidateNames(index, { type: "push", payload: { repo: "web" } })).toEqual([
      "web",
      "any-push",
      "tags",
    ]);
  });

  const UNDECIDED: Array<[what: string, payload: unknown]> = [
    ["missing", {}],
    ["a number", { repo: 7 }],
    ["null", { repo: null }],
    ["a list", { repo: ["web"] }],
    ["an object", { repo: { name: "web" } }],
  ];

  for (const [what, payload] of UNDECIDED) {
    it(`offers the whole bucket when the guarded value is ${what}`, () => {
      expect(candidateNames(index, { type: "push", payload })).toEqual([
        "web",
        "api",
        "any-push",
        "docs",
        "tags",
      ]);
    });
  }

  it("offers the whole bucket when the guarded path runs through a non-object", () => {
    expect(candidateNames(index, { type: "push", payload: "web" })).toEqual([
      "web",
      "api",
      "any-push",
      "docs",
      "tags",
    ]);
  });

  it("always offers rules without guards: none, ||, non-text literals, other roots", () => {
    const unguarded = new RuleIndex(
      rules([
        ["none", ""],
        ["either", `'event.type == "a" || event.type == "b"'`],
        ["number", "event.payload.size == 3"],
        ["vars", `'vars.x == "y"'`],
        ["any-of", "{ any: [{ header: x-kind, equals: a }] }"],
      ]),
    );
    expect(candidateNames(unguarded, { type: "c" })).toEqual([
      "none",
      "either",
      "number",
      "vars",
      "any-of",
    ]);
  });

  it("indexes header and field matches under the lower-cased header and the field's path", () => {
    const matches = new RuleIndex(
      rules([
        ["push", "{ header: X-GitHub-Event, equals: push }"],
        ["issues", "{ header: X-GitHub-Event, equals: issues }"],
        ["opened", "{ field: payload.action, equals: opened }"],
        ["closed", "{ field: payload.action, equals: closed }"],
      ]),
    );
    expect(
      candidateNames(matches, {
        headers: { "X-GitHub-Event": "issues" },
        payload: { action: "opened" },
      }),
    ).toEqual(["issues", "opened"]);
    expect(candidateNames(matches, { headers: {}, payload: { action: "closed" } })).toEqual([
      "push",
      "issues",
      "closed",
    ]);
  });

  it("offers nothing from an empty rulebook", () => {
    expect(new RuleIndex([]).candidates(eventFrom({ type: "push" }))).toEqual([]);
  });
});

describe("rule index property", () => {
  /** Rule conditions built from these parts; the values overlap with the events' values. */
  const TYPES = ["t1", "t2", "t3"];
  const VALUES = ["v1", "v2", "1"];

  const guardPart = fc.oneof(
    fc
      .constantFrom(...TYPES)
      .map((t) => ({ cel: `event.type == "${t}"`, yaml: `{ field: type, equals: "${t}" }` })),
    fc.tuple(fc.constantFrom("k", "j"), fc.constantFrom(...VALUES)).map(([key, v]) => ({
      cel: `event.payload.${key} == "${v}"`,
      yaml: `{ field: payload.${key}, equals: "${v}" }`,
    })),
    fc.constantFrom(...VALUES).map((v) => ({
      cel: `event.headers["x-h"] == "${v}"`,
      yaml: `{ header: X-H, equals: "${v}" }`,
    })),
  );
  /** Parts that give no guard but still decide (or err). */
  const otherPart = fc.constantFrom(
    { cel: "event.payload.n > 1.0", yaml: "event.payload.n > 1.0" },
    {
      cel: 'event.type == "t1" || event.payload.k == "v2"',
      yaml: `'event.type == "t1" || event.payload.k == "v2"'`,
    },
    { cel: "has(event.payload.k)", yaml: "has(event.payload.k)" },
  );
  const conditionOf = (forms: ReadonlyArray<"cel" | "all">) =>
    fc.record({
      parts: fc.array(
        fc.oneof({ weight: 4, arbitrary: guardPart }, { weight: 1, arbitrary: otherPart }),
        { minLength: 0, maxLength: 3 },
      ),
      /** CEL `a && b`, or YAML `all: [a, b]` of matches and CEL. */
      form: fc.constantFrom(...forms),
    });
  const rulebookOf = (forms: ReadonlyArray<"cel" | "all">) =>
    fc.array(conditionOf(forms), { minLength: 1, maxLength: 12 }).map((conditions) =>
      rules(
        conditions.map(({ parts, form }, i): [string, string] => {
          if (parts.length === 0) return [`r${i}`, ""];
          if (form === "cel") return [`r${i}`, `'${parts.map((p) => p.cel).join(" && ")}'`];
          return [`r${i}`, `{ all: [${parts.map((p) => p.yaml).join(", ")}] }`];
        }),
      ),
    );

  const fieldValue = fc.oneof(
    fc.constantFrom(...VALUES),
    fc.constantFrom(1, 2.5, null, true, ["v1"], { v: "v1" }),
    fc.string({ maxLength: 3 }),
  );
  const event = fc
    .record(
      {
        type: fc.option(fc.constantFrom(...TYPES, "t9"), { nil: null }),
        k: fieldValue,
        j: fieldValue,
        n: fc.oneof(fc.double({ noNaN: true, min: -5, max: 5 }), fc.constant("x")),
        header: fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 2 })),
      },
      { requiredKeys: ["type"] },
    )
    .map((e): RuleEvent =>
      eventFrom({
        type: e.type,
        payload: {
          ...(e.k !== undefined && { k: e.k }),
          ...(e.j !== undefined && { j: e.j }),
          ...(e.n !== undefined && { n: e.n }),
        },
        headers: e.header === undefined ? {} : { "X-H": e.header },
      }),
    );

  /** What a rule's condition gives for an event: "true", "false" or "error: …". */
  function outcomeOf(rule: Rule, e: RuleEvent): string {
    try {
      return String(rule.condition === null || rule.condition({ event: e, vars: {}, steps: {} }));
    } catch (err) {
      return `error: ${(err as Error).message.split("\n")[0]!}`;
    }
  }

  /** Checks every event against every rule: `counts(outcome)` rules must be candidates. */
  function neverSkips(book: Rule[], events: RuleEvent[], counts: (outcome: string) => boolean) {
    const index = new RuleIndex(book);
    for (const e of events) {
      const candidates = index.candidates(e);
      const order = candidates.map((r) => book.indexOf(r));
      expect(order, "candidates in rulebook order").toEqual([...order].sort((a, b) => a - b));
      for (const rule of book) {
        const outcome = outcomeOf(rule, e);
        if (!counts(outcome)) continue;
        const seen = JSON.stringify({ type: e.type, payload: e.payload, headers: e.headers });
        expect(
          candidates.includes(rule),
          `rule ${rule.name} (guards ${JSON.stringify(rule.guards)}) gives ${outcome} for ${seen}, but is not a candidate`,
        ).toBe(true);
      }
    }
  }

  it("never skips a rule whose condition is true, and keeps rulebook order", () => {
    fc.assert(
      fc.property(
        rulebookOf(["cel", "all"]),
        fc.array(event, { minLength: 1, maxLength: 5 }),
        (book, events) => neverSkips(book, events, (outcome) => outcome === "true"),
      ),
      { numRuns: 300 },
    );
  });

  it("never skips a rule whose CEL condition errs (its error is reported, not lost)", () => {
    fc.assert(
      fc.property(
        rulebookOf(["cel"]),
        fc.array(event, { minLength: 1, maxLength: 5 }),
        (book, events) => neverSkips(book, events, (outcome) => outcome !== "false"),
      ),
      { numRuns: 300 },
    );
  });

  it("decides a rule by its guards alone only as its condition would", () => {
    fc.assert(
      fc.property(
        rulebookOf(["cel", "all"]),
        fc.array(event, { minLength: 1, maxLength: 5 }),
        (book, events) => {
          for (const rule of book) {
            if (!rule.decidedByGuards) continue;
            for (const e of events) {
              const decided = guardsDecide(rule.guards, e);
              if (decided === null) continue;
              expect(String(decided), `${rule.name} on ${JSON.stringify(e.payload)}`).toBe(
                outcomeOf(rule, e),
              );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  // guardsOf takes guards from every part of an `all:`; that is sound only because `all:` has
  // CEL's `&&` semantics (a false part decides even when another part errs). Found by the
  // property test above when `all:` still short-circuited like JavaScript's `every`.
  it("skips an all: rule only when its condition is false", () => {
    const [rule] = rules([
      ["r0", '{ all: ["event.payload.n > 1.0", { header: X-H, equals: v1 }] }'],
    ]);
    const e = eventFrom({ payload: {}, headers: { "X-H": "v2" } });
    const outcome = outcomeOf(rule!, e);
    const candidate = new RuleIndex([rule!]).candidates(e).includes(rule!);
    expect(
      outcome === "false" || candidate,
      `the condition gives ${outcome}; candidate: ${candidate}`,
    ).toBe(true);
  });
});
