import { describe, expect, it } from "vitest";
import { eventFrom } from "../../src/http/routes/rules.js";
import {
  asText,
  celGuards,
  compileCel,
  compileCondition,
  compileJsonata,
  compileTemplate,
  compileValue,
  ExpressionError,
  plain,
  type ExpressionScope,
} from "../../src/rules/expressions.js";

// The rulebook's expression languages on event fixtures: CEL for conditions and {{ }} templates,
// JSONata for transform, and the guards an index reads off a CEL condition.

const PUSH = eventFrom({
  source: "github",
  type: "push",
  headers: { "X-GitHub-Event": "push", "X-Request-Id": "r-1" },
  payload: {
    ref: "refs/heads/main",
    size: 3,
    ratio: 0.5,
    forced: false,
    deleted: null,
    repository: { name: "web", topics: ["a", "b"] },
    commits: [{ id: "c1" }, { id: "c2" }],
  },
});

const SCOPE: ExpressionScope = {
  event: PUSH,
  vars: { team: "web", limit: 2 },
  steps: { deploy: { exitCode: 0, stdout: "ok\n" } },
};

function cel(source: string, scope: ExpressionScope = SCOPE): unknown {
  return compileCel(source)(scope);
}

describe("CEL over events", () => {
  const VALUES: Array<[source: string, expected: unknown]> = [
    ['event.headers["x-github-event"]', "push"],
    ["event.headers['x-request-id'] == 'r-1'", true],
    ["event.type", "push"],
    ["event.source", "github"],
    ["event.payload.repository.name", "web"],
    ["event.payload.repository.topics", ["a", "b"]],
    ["event.payload.commits[1].id", "c2"],
    ["event.payload.commits.size()", 2],
    ["event.payload.commits.map(c, c.id)", ["c1", "c2"]],
    ['event.payload.ref.startsWith("refs/heads/")', true],
    ["event.payload.deleted == null", true],
    ["!event.payload.forced", true],
    // JSON numbers are doubles: they compare with ints, but arithmetic wants double operands.
    ["event.payload.size == 3", true],
    ["event.payload.size > 2", true],
    ["event.payload.size + 1.0", 4],
    ["int(event.payload.size) + 1", 4],
    ["event.payload.ratio * 2.0", 1],
    ["has(event.payload.ref)", true],
    ["has(event.payload.tag)", false],
    ["has(event.payload.repository.name)", true],
    ['event.payload.?tag.orValue("none")', "none"],
    ['event.payload.?ref.orValue("none")', "refs/heads/main"],
    ["event.payload.?tag", null],
    ["event.payload.?repository.?name", "web"],
    ["vars.team + '-' + string(vars.limit)", "web-2"],
    ["steps.deploy.exitCode == 0", true],
    ['{"sha": event.payload.ref, "n": 2}', { sha: "refs/heads/main", n: 2 }],
    ["9007199254740993", "9007199254740993"],
  ];

  for (const [source, expected] of VALUES) {
    it(`evaluates ${source} to ${JSON.stringify(expected)}`, () => {
      expect(cel(source)).toEqual(expected);
    });
  }

  const ERRORS: Array<[source: string, message: RegExp]> = [
    ["event.payload.tag", /No such key: tag/],
    ["event.payload.size + 1", /no such overload/],
    ['event.headers["x-missing"]', /No such key/],
  ];

  for (const [source, message] of ERRORS) {
    it(`fails to evaluate ${source} with ${String(message)}`, () => {
      expect(() => cel(source)).toThrow(message);
    });
  }

  it("refuses a syntax error when compiling, with an ExpressionError showing where", () => {
    expect(() => compileCel("event.payload.(")).toThrow(ExpressionError);
    expect(() => compileCel("event.payload.(")).toThrow(/event\.payload\.\(\n\s*\^/);
  });

  it("evaluates a false right side of && to false even when the left side errs", () => {
    // CEL's && is commutative about errors; the rule index relies on it (see celGuards).
    expect(cel('event.payload.tag == "v1" && event.type == "pull"')).toBe(false);
    expect(cel('event.type == "pull" && event.payload.tag == "v1"')).toBe(false);
    expect(() => cel('event.payload.tag == "v1" && event.type == "push"')).toThrow(/No such key/);
  });
});

describe("CEL conditions", () => {
  it("gives true or false", () => {
    expect(compileCondition('event.type == "push"')(SCOPE)).toBe(true);
    expect(compileCondition("event.payload.size > 5.0")(SCOPE)).toBe(false);
  });

  const NOT_BOOLEAN: Array<[source: string, described: string]> = [
    ["event.type", "a string"],
    ["event.payload.size", "a number"],
    ["event.payload.deleted", "null"],
    ["event.payload.commits", "a list"],
    ["event.payload.repository", "a object"],
    ["event.payload.?tag", "null"],
  ];

  for (const [source, described] of NOT_BOOLEAN) {
    it(`throws when ${source} gives ${described}, not a boolean`, () => {
      const condition = compileCondition(source);
      expect(() => condition(SCOPE)).toThrow(`the condition gave ${described}, not true or false`);
    });
  }
});

describe("templates", () => {
  const TEMPLATES: Array<[text: string, expected: unknown]> = [
    // One placeholder and nothing else: the value keeps its type.
    ["{{ event.payload.size }}", 3],
    ["{{event.payload.size}}", 3],
    ["{{ event.payload.forced }}", false],
    ["{{ event.payload.deleted }}", null],
    ["{{ event.payload.repository }}", { name: "web", topics: ["a", "b"] }],
    ["{{ event.payload.commits.map(c, c.id) }}", ["c1", "c2"]],
    // Anything around it makes a text: strings as they are, the rest as JSON.
    [" {{ event.payload.size }}", " 3"],
    ["size={{ event.payload.size }}", "size=3"],
    ["{{ event.type }} to {{ event.payload.ref }}", "push to refs/heads/main"],
    ["repo: {{ event.payload.repository }}", 'repo: {"name":"web","topics":["a","b"]}'],
    ["{{ steps.deploy.stdout.trim() }} ({{ steps.deploy.exitCode }})", "ok (0)"],
    ["no placeholders", "no placeholders"],
    ["", ""],
  ];

  for (const [text, expected] of TEMPLATES) {
    it(`renders ${JSON.stringify(text)} as ${JSON.stringify(expected)}`, () => {
      expect(compileTemplate(text)(SCOPE)).toEqual(expected);
    });
  }

  it("refuses an empty placeholder and a placeholder with a syntax error", () => {
    expect(() => compileTemplate("a {{ }} b")).toThrow(
      new ExpressionError("an empty {{ }} placeholder"),
    );
    expect(() => compileTemplate("a {{ event. }} b")).toThrow(ExpressionError);
  });

  it("compiles every string inside a YAML value, keeping other values as they are", () => {
    const value = compileValue({
      sha: "{{ event.payload.ref }}",
      count: "{{ event.payload.size }}",
      label: "n={{ event.payload.size }}",
      fixed: 7,
      flag: true,
      none: null,
      list: ["{{ event.payload.size }}", "x", { deep: "{{ vars.team }}" }],
    });
    expect(value(SCOPE)).toEqual({
      sha: "refs/heads/main",
      count: 3,
      label: "n=3",
      fixed: 7,
      flag: true,
      none: null,
      list: [3, "x", { deep: "web" }],
    });
  });
});

describe("JSONata transforms", () => {
  const ALERTMANAGER = eventFrom({
    source: "alertmanager",
    payload: {
      status: "firing",
      commonLabels: { severity: "critical" },
      alerts: [
        { status: "firing", labels: { alertname: "DiskFull", instance: "db-1" }, startsAt: "t1" },
        { status: "resolved", labels: { alertname: "HighLoad", instance: "web-1" } },
        { status: "firing", labels: { alertname: "DiskFull", instance: "db-2" }, startsAt: "t2" },
      ],
    },
  });
  const scope: ExpressionScope = { event: ALERTMANAGER, vars: { channel: "#ops" }, steps: {} };

  it("reshapes an Alertmanager payload into a summary", async () => {
    const transform = compileJsonata(`{
      "channel": vars.channel,
      "severity": event.payload.commonLabels.severity,
      "firing": $count(event.payload.alerts[status = "firing"]),
      "names": [$distinct(event.payload.alerts[status = "firing"].labels.alertname)],
      "one": $distinct(event.payload.alerts[status = "firing"].labels.alertname),
      "instances": $join(event.payload.alerts[status = "firing"].labels.instance, ", ")
    }`);
    expect(await transform(scope)).toEqual({
      channel: "#ops",
      severity: "critical",
      firing: 2,
      names: ["DiskFull"],
      // JSONata gives a one-item sequence as the item; an array constructor keeps the list.
      one: "DiskFull",
      instances: "db-1, db-2",
    });
  });

  it("gives undefined for a path that matches nothing", async () => {
    expect(await compileJsonata("event.payload.nothing.here")(scope)).toBeUndefined();
  });

  it("refuses a syntax error when compiling, saying at which character", () => {
    expect(() => compileJsonata('{ "a": event.payload.( }')).toThrow(ExpressionError);
    expect(() => compileJsonata('{ "a": event.payload.( }')).toThrow(/\(at character \d+\)$/);
  });

  it("rejects with the library's message when evaluation fails", async () => {
    const transform = compileJsonata('$number("not a number")');
    await expect(transform(scope)).rejects.toThrow(/Unable to cast value to a number/);
  });
});

describe("plain values and text", () => {
  it("turns CEL values into JSON values", () => {
    expect(plain(3n)).toBe(3);
    expect(plain(2n ** 60n)).toBe("1152921504606846976");
    expect(
      plain(
        new Map<unknown, unknown>([
          ["a", 1n],
          [2, [4n]],
        ]),
      ),
    ).toEqual({ a: 1, 2: [4] });
    expect(plain(new Uint8Array([104, 105]))).toBe("aGk=");
    expect(plain(new Date(Date.UTC(2025, 0, 1)))).toBe("2025-01-01T00:00:00.000Z");
    expect(plain({ nested: { n: 1n } })).toEqual({ nested: { n: 1 } });
  });

  it("writes strings as they are and everything else as JSON", () => {
    expect([asText("a"), asText(1), asText(null), asText(undefined), asText({ a: [1] })]).toEqual([
      "a",
      "1",
      "null",
      "",
      '{"a":[1]}',
    ]);
  });
});

describe("celGuards", () => {
  const GUARDS: Array<[source: string, guards: Array<{ path: string[]; value: string }>]> = [
    ['event.type == "push"', [{ path: ["type"], value: "push" }]],
    ['"push" == event.type', [{ path: ["type"], value: "push" }]],
    [
      'event.type == "push" && event.payload.ref == "refs/heads/main"',
      [
        { path: ["type"], value: "push" },
        { path: ["payload", "ref"], value: "refs/heads/main" },
      ],
    ],
    [
      'event.type == "a" && (event.payload.x == "b" && "c" == event.payload.y.z)',
      [
        { path: ["type"], value: "a" },
        { path: ["payload", "x"], value: "b" },
        { path: ["payload", "y", "z"], value: "c" },
      ],
    ],
    [
      'event.headers["x-github-event"] == "push"',
      [{ path: ["headers", "x-github-event"], value: "push" }],
    ],
    ["event.payload['a.b'].c == 'd'", [{ path: ["payload", "a.b", "c"], value: "d" }]],
    // Only the &&-joined equalities: the other parts are left to the condition itself.
    [
      'event.type == "push" && event.payload.size > 2.0 && has(event.payload.ref)',
      [{ path: ["type"], value: "push" }],
    ],
    [
      'event.type == "push" && (event.payload.a == "x" || event.payload.b == "y")',
      [{ path: ["type"], value: "push" }],
    ],
    ['event.type == "push" || event.type == "pull"', []],
    ['!(event.type == "push")', []],
    ['event.type != "push"', []],
    // Not a text literal, or not the event.
    ["event.payload.size == 3", []],
    ["event.payload.forced == true", []],
    ['vars.team == "web"', []],
    ['steps.deploy.stdout == "ok"', []],
    ['payload.ref == "x"', []],
    ['event == "push"', []],
    ['event.payload[event.type] == "x"', []],
    ['event.payload.?ref == "x"', []],
    ["event.type == event.source", []],
    ['[1].exists(x, event.type == "push")', []],
    ['event.type == "push" ? true : false', []],
    ["event.type ==", []],
  ];

  for (const [source, guards] of GUARDS) {
    it(`reads ${JSON.stringify(guards)} off ${source}`, () => {
      expect(celGuards(source)).toEqual(guards);
    });
  }
});

describe("expressions are bounded: a pathological one fails, not the server", () => {
  const scope = (payload: unknown): ExpressionScope => ({
    event: eventFrom({ payload }),
    vars: {},
    steps: {},
  });

  it("refuses a comprehension over the whole event inside another (quadratic in the event)", () => {
    expect(() =>
      compileCel("event.payload.items.all(x, event.payload.items.exists(y, y == x))"),
    ).toThrow(/inside another comprehension must range over a part of the outer item/);
    expect(() => compileCel("event.payload.items.map(x, [1, 2].filter(y, y > 1))")).toThrow(
      ExpressionError,
    );
  });

  it("allows a comprehension over a part of the outer item, and chained ones (linear)", () => {
    const nested = compileCel('event.payload.items.exists(i, i.tags.exists(t, t == "hot"))');
    expect(nested(scope({ items: [{ tags: ["cold"] }, { tags: ["hot"] }] }))).toBe(true);
    const chained = compileCel("event.payload.items.map(i, i.n).filter(n, n > 1).all(n, n < 9)");
    expect(chained(scope({ items: [{ n: 1 }, { n: 2 }, { n: 3 }] }))).toBe(true);
  });

  it("takes a matches() pattern only as literal text, without nested quantifiers (ReDoS)", () => {
    expect(() => compileCel("event.payload.text.matches(event.payload.pattern)")).toThrow(
      /takes its pattern as a literal text/,
    );
    expect(() => compileCel('event.payload.text.matches("^(a+)+$")')).toThrow(
      /repeats a group that holds a repetition or an alternation/,
    );
    expect(() => compileCel('event.payload.text.matches("^((a)+)+$")')).toThrow(ExpressionError);
    expect(() => compileCel('event.payload.text.matches("^(a|aa)+$")')).toThrow(ExpressionError);
    expect(() => compileCel('matches(event.payload.text, "(x*){2,}")')).toThrow(ExpressionError);
    expect(compileCel('event.payload.text.matches("^(?:ab)+$")')(scope({ text: "abab" }))).toBe(
      true,
    );
  });

  it("stops a JSONata transform that recurses without end or runs too long, and runs the next", async () => {
    const recursive = compileJsonata("( $f := function($n) { 1 + $f($n + 1) }; $f(0) )");
    await expect(recursive(scope({}))).rejects.toThrow(/^stopped: /);
    const loop = compileJsonata("( $f := function($n) { $f($n + 1) }; $f(0) )"); // a tail call
    await expect(loop(scope({}))).rejects.toThrow(/^stopped: the expression ran longer than/);
    const squared = compileJsonata("$count([1..10000000].([1..10000000]))");
    await expect(squared(scope({}))).rejects.toThrow(/^stopped: the expression ran longer than/);
    const fine = compileJsonata("event.payload.n + 1");
    const [a, b] = await Promise.all([fine(scope({ n: 1 })), fine(scope({ n: 2 }))]);
    expect([a, b]).toEqual([2, 3]);
  });
});
