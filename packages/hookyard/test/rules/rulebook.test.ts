import { describe, expect, it } from "vitest";
import { eventFrom } from "../../src/http/routes/rules.js";
import type { RuleEvent } from "../../src/model.js";
import type { ExpressionScope } from "../../src/rules/expressions.js";
import {
  formatProblem,
  parseRulebookFiles,
  PAGERDUTY_EVENTS_URL,
  RulebookError,
  type Action,
  type ActionType,
  type Rule,
  type Rulebook,
  type RulebookProblem,
} from "../../src/rules/rulebook.js";

// Rulebook parsing: a wrong rulebook is refused with every problem named by file, line and field;
// a right one gives rules whose compiled parts do what the YAML says.

function parse(lines: readonly string[], env: Record<string, string> = {}): Rulebook {
  return parseRulebookFiles([{ name: "rules.yaml", text: lines.join("\n") }], env);
}

function problemsOf(
  files: ReadonlyArray<{ name: string; text: string }>,
  env: Record<string, string> = {},
): RulebookProblem[] {
  try {
    const book = parseRulebookFiles(files, env);
    throw new Error(`expected a RulebookError, got ${book.rules.length} rule(s)`);
  } catch (err) {
    if (!(err instanceof RulebookError)) throw err;
    return err.problems;
  }
}

function scopeOf(event: Partial<RuleEvent>, vars: Record<string, unknown> = {}): ExpressionScope {
  return { event: eventFrom(event), vars, steps: {} };
}

function ruleNamed(book: Rulebook, name: string): Rule {
  const rule = book.rules.find((r) => r.name === name);
  if (rule === undefined)
    throw new Error(`no rule ${name} in ${book.rules.map((r) => r.name).join(", ")}`);
  return rule;
}

function actionOf<T extends ActionType>(
  rule: Rule,
  index: number,
  type: T,
): Extract<Action, { type: T }> {
  const action = rule.actions[index];
  expect(action?.type, `${rule.name}.actions[${index}]`).toBe(type);
  return action as Extract<Action, { type: T }>;
}

/** A rule whose lines 1–5 are fine; a case adds its broken line(s) after them. */
const HEAD = ["rules:", "  - name: r", "    sources: [gh]"];

interface ProblemCase {
  what: string;
  lines: string[];
  env?: Record<string, string>;
  line: number;
  field: string;
  message: string | RegExp;
}

const PROBLEMS: ProblemCase[] = [
  {
    what: "an unknown key of a rule (a typo)",
    lines: [...HEAD, "    colour: red", "    actions: [{ log: hi }]"],
    line: 4,
    field: "rules[0].colour",
    message: /^unknown key; expected one of name, sources, condition, throttle/,
  },
  {
    what: "an unknown top-level key",
    lines: ["notifier: { ops: { type: slack, url: https://x.example } }", "rules: []"],
    line: 1,
    field: "notifier",
    message: /^unknown key; expected one of rules, notifiers/,
  },
  {
    what: "an unknown key of a run action",
    lines: [...HEAD, "    actions:", "      - run: { argv: [ls], shell: true }"],
    line: 5,
    field: "rules[0].actions[0].run.shell",
    message: /^unknown key; expected one of argv, cwd, env, timeout/,
  },
  {
    what: "a run action given as one shell line",
    lines: [...HEAD, "    actions:", "      - run: ./deploy.sh --prod"],
    line: 5,
    field: "rules[0].actions[0].run.argv",
    message: "must be a list (the program, then each argument), never a shell line",
  },
  {
    what: "a run argv given as one shell line",
    lines: [...HEAD, "    actions:", "      - run:", "          argv: ./deploy.sh --prod"],
    line: 6,
    field: "rules[0].actions[0].run.argv",
    message: /never a shell line/,
  },
  {
    what: "a throttle window that is not a duration",
    lines: [...HEAD, "    throttle: { once_within: soon }", "    actions: [{ log: hi }]"],
    line: 4,
    field: "rules[0].throttle.once_within",
    message: "must be a duration such as 30s, 5m, 1h",
  },
  {
    what: "a throttle with both modes",
    lines: [
      ...HEAD,
      "    throttle: { once_within: 1m, once_after: 1m }",
      "    actions: [{ log: hi }]",
    ],
    line: 4,
    field: "rules[0].throttle",
    message: "needs exactly one of once_within, once_after",
  },
  {
    what: "a command timeout over 24 h",
    lines: [
      ...HEAD,
      "    actions:",
      "      - run:",
      "          argv: [ls]",
      "          timeout: 25h",
    ],
    line: 7,
    field: "rules[0].actions[0].run.timeout",
    message: "must be a duration from 1ms to 24h, such as 30s or 5m",
  },
  {
    what: "a cron schedule with a minute of 61",
    lines: [
      "rules:",
      "  - name: r",
      '    sources: [{ schedule: "61 * * * *" }]',
      "    actions: [{ log: hi }]",
    ],
    line: 3,
    field: "rules[0].sources[0].schedule",
    message: /^not a cron schedule: .*minute/,
  },
  {
    what: "a CEL condition with a syntax error",
    lines: [...HEAD, "    condition: event.payload.ref ==", "    actions: [{ log: hi }]"],
    line: 4,
    field: "rules[0].condition",
    // The message shows the expression with a caret under the place.
    message: /event\.payload\.ref ==\n\s*\^/,
  },
  {
    what: "a CEL syntax error inside all:",
    lines: [
      ...HEAD,
      "    condition:",
      "      all:",
      '        - event.type == "push"',
      "        - event.payload.(",
      "    actions: [{ log: hi }]",
    ],
    line: 7,
    field: "rules[0].condition.all[1]",
    message: /event\.payload\.\(/,
  },
  {
    what: "a CEL syntax error in a template",
    lines: [...HEAD, "    actions:", '      - log: "ref {{ event.payload. }}"'],
    line: 5,
    field: "rules[0].actions[0].log",
    message: /event\.payload\./,
  },
  {
    what: "an empty {{ }} placeholder",
    lines: [...HEAD, "    actions:", '      - log: "ref {{ }}"'],
    line: 5,
    field: "rules[0].actions[0].log",
    message: "an empty {{ }} placeholder",
  },
  {
    what: "a CEL syntax error in a group_by",
    lines: [
      ...HEAD,
      "    throttle:",
      "      once_after: 1m",
      "      group_by: [event.payload.(]",
      "    actions: [{ log: hi }]",
    ],
    line: 6,
    field: "rules[0].throttle.group_by[0]",
    message: /event\.payload\.\(/,
  },
  {
    what: "a JSONata transform with a syntax error",
    lines: [
      ...HEAD,
      "    actions:",
      "      - log: first",
      '      - transform: "{ \\"a\\": event.payload.( }"',
    ],
    line: 6,
    field: "rules[0].actions[1].transform",
    message: /\(at character \d+\)$/,
  },
  {
    what: "a notification to a notifier nobody declared",
    lines: [...HEAD, "    actions:", "      - notify: { to: nobody, text: hi }"],
    line: 5,
    field: "rules[0].actions[0].notify.to",
    message: 'no notifier named "nobody"',
  },
  {
    what: "a notifier of an unknown service",
    lines: ["notifiers:", "  ops: { type: irc, url: https://x.example }", "rules: []"],
    line: 2,
    field: "notifiers.ops.type",
    message: "must be one of slack, discord, teams, pagerduty",
  },
  {
    what: "a pagerduty notifier without its routing key",
    lines: ["notifiers:", "  oncall: { type: pagerduty }", "rules: []"],
    line: 2,
    field: "notifiers.oncall",
    message: "a pagerduty notifier needs routingKey (its integration key)",
  },
  {
    what: "a slack notification without text",
    lines: [...HEAD, "    actions:", "      - notify: { type: slack, url: https://x.example }"],
    line: 5,
    field: "rules[0].actions[0].notify",
    message: "a slack notification needs text",
  },
  {
    what: "an environment variable that is not set",
    lines: [...HEAD, "    actions:", '      - forward: "https://ci.example/${env:CI_HOST_PATH}"'],
    line: 5,
    field: "rules[0].actions[0].forward.url",
    message: "environment variable CI_HOST_PATH is not set",
  },
  {
    what: "an environment variable that is not set, in a notifier",
    lines: ["notifiers:", '  ops: { type: slack, url: "${env:SLACK_URL}" }', "rules: []"],
    env: { OTHER: "x" },
    line: 2,
    field: "notifiers.ops.url",
    message: "environment variable SLACK_URL is not set",
  },
  {
    what: "a concurrency of 0",
    lines: [...HEAD, "    concurrency: 0", "    actions: [{ log: hi }]"],
    line: 4,
    field: "rules[0].concurrency",
    message: "must be an integer from 1 to 64",
  },
  {
    what: "a concurrency of 65",
    lines: [...HEAD, "    concurrency: 65", "    actions: [{ log: hi }]"],
    line: 4,
    field: "rules[0].concurrency",
    message: "must be an integer from 1 to 64",
  },
  {
    what: "a concurrency of 1.5",
    lines: [...HEAD, "    concurrency: 1.5", "    actions: [{ log: hi }]"],
    line: 4,
    field: "rules[0].concurrency",
    message: "must be an integer from 1 to 64",
  },
  {
    what: "an unknown operational event",
    lines: [
      "rules:",
      "  - name: r",
      "    sources: [{ operational: rule.done }]",
      "    actions: [{ log: hi }]",
    ],
    line: 3,
    field: "rules[0].sources[0].operational",
    message: "one of endpoint.disabled, rule.failed",
  },
  {
    what: "an outbound event type pattern with a * in the middle",
    lines: [
      "rules:",
      "  - name: r",
      '    sources: [{ outbound: "invoice.*.paid" }]',
      "    actions: [{ log: hi }]",
    ],
    line: 3,
    field: "rules[0].sources[0].outbound",
    message: 'an event type, a prefix ending in "*", or "*"',
  },
  {
    what: "a rule without sources",
    lines: ["rules:", "  - name: r", "    actions: [{ log: hi }]"],
    line: 2,
    field: "rules[0].sources",
    message: /^required: a list of what the rule listens to/,
  },
  {
    what: "an action with two types",
    lines: [...HEAD, "    actions:", "      - { log: hi, run: [ls] }"],
    line: 5,
    field: "rules[0].actions[0]",
    message: "needs exactly one of run, forward, notify, publish, transform, set, log",
  },
  {
    what: "two actions of a rule with one id",
    lines: [...HEAD, "    actions:", "      - { id: a, log: one }", "      - { id: a, log: two }"],
    line: 6,
    field: "rules[0].actions[1].id",
    message: 'another action of this rule is "a"',
  },
  {
    what: "a header match with two tests",
    lines: [
      ...HEAD,
      "    condition: { header: x-kind, equals: a, exists: true }",
      "    actions: [{ log: hi }]",
    ],
    line: 4,
    field: "rules[0].condition",
    message: "a match has exactly one of equals, matches, exists",
  },
  {
    what: "a field match with a broken regular expression",
    lines: [
      ...HEAD,
      '    condition: { field: payload.ref, matches: "(" }',
      "    actions: [{ log: hi }]",
    ],
    line: 4,
    field: "rules[0].condition.matches",
    message: /^not a regular expression: /,
  },
];

/** A YAML error on line 7: a key given twice. */
const DUPLICATE_KEY = [
  "rules:",
  "  - name: r",
  "    sources: [gh]",
  "    actions: [{ log: hi }]",
  "  - name: s",
  "    sources: [gh]",
  "    sources: [gl]",
  "    actions: [{ log: hi }]",
];

describe("rulebook problems", () => {
  for (const c of PROBLEMS) {
    it(`names the file, line and field of ${c.what}`, () => {
      const problems = problemsOf([{ name: "rules.yaml", text: c.lines.join("\n") }], c.env);
      expect(problems, c.lines.join("\n")).toEqual([
        {
          file: "rules.yaml",
          line: c.line,
          field: c.field,
          message: typeof c.message === "string" ? c.message : expect.stringMatching(c.message),
        },
      ]);
    });
  }

  it("points a YAML syntax error at its line, with the parser's message and no field", () => {
    const problems = problemsOf([{ name: "rules.yaml", text: DUPLICATE_KEY.join("\n") }]);
    expect(problems).toEqual([
      { file: "rules.yaml", line: 7, field: "", message: "Map keys must be unique" },
    ]);
  });

  // An unknown key's problem points at the key the user mistyped, not at its value's first
  // line (a block value starts on the line below).
  it("points an unknown key with a block value at the key's own line", () => {
    const text = [...HEAD, "    throttel:", "      once_within: 5m", "    actions: [{ log: hi }]"];
    const problems = problemsOf([{ name: "rules.yaml", text: text.join("\n") }]);
    expect(problems).toMatchObject([{ field: "rules[0].throttel", line: 4 }]);
  });

  it("reports every problem of a file in one error, not only the first", () => {
    const text = [
      "rules:",
      "  - name: a",
      "    sources: [gh]",
      "    concurrency: 100",
      "    actions:",
      "      - run: make deploy",
      "  - name: b",
      "    sources: [{ schedule: every minute }]",
      "    condition: event.type ==",
      "    actions: [{ log: hi }]",
    ].join("\n");
    const problems = problemsOf([{ name: "rules.yaml", text }]);
    expect(problems.map((p) => `${p.line} ${p.field}`)).toEqual([
      "4 rules[0].concurrency",
      "6 rules[0].actions[0].run.argv",
      "8 rules[1].sources[0].schedule",
      "9 rules[1].condition",
    ]);
  });

  it("formats a problem as file:line: field: message, leaving out an empty field", () => {
    const problem = { file: "a.yaml", line: 3, field: "rules[0].name", message: "required" };
    expect(formatProblem(problem)).toBe("a.yaml:3: rules[0].name: required");
    expect(formatProblem({ ...problem, field: "" })).toBe("a.yaml:3: required");
    const err = new RulebookError([problem, { ...problem, line: 4, field: "" }]);
    expect(err.message).toBe("a.yaml:3: rules[0].name: required\na.yaml:4: required");
  });

  it("refuses two rules of one name, at the second one's line", () => {
    const text = [
      "rules:",
      "  - name: deploy",
      "    sources: [gh]",
      "    actions: [{ log: one }]",
      "  - name: deploy",
      "    sources: [gh]",
      "    actions: [{ log: two }]",
    ].join("\n");
    const [problem, ...rest] = problemsOf([{ name: "rules.yaml", text }]);
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({
      file: "rules.yaml",
      line: 5,
      message: 'rule "deploy" is also declared in rules.yaml:2',
    });
  });

  // Like every other problem, a duplicate name gives the field's full path.
  it("gives a duplicate rule name's field as its full path", () => {
    const text = [
      "rules:",
      "  - name: deploy",
      "    sources: [gh]",
      "    actions: [{ log: one }]",
      "  - name: deploy",
      "    sources: [gh]",
      "    actions: [{ log: two }]",
    ].join("\n");
    const problems = problemsOf([{ name: "rules.yaml", text }]);
    expect(problems.map((p) => p.field)).toEqual(["rules[1].name"]);
  });
});

describe("rulebook of several files", () => {
  const ALERTS = [
    "notifiers:",
    "  ops: { type: slack, url: https://hooks.slack.example/1 }",
    "rules:",
    "  - name: page",
    "    sources: [alertmanager]",
    "    actions: [{ notify: { to: ops, text: hi } }]",
  ].join("\n");

  it("points each problem at its own file and line", () => {
    const broken = [
      "# deploys",
      "rules:",
      "  - name: deploy",
      "    sources: [gh]",
      "    throttle: { once_within: 10 minutes }",
      "    actions: [{ notify: { to: pager, text: hi } }]",
    ].join("\n");
    const problems = problemsOf([
      { name: "rules/alerts.yaml", text: `${ALERTS}\n    concurrency: -1` },
      { name: "rules/deploys.yaml", text: broken },
    ]);
    expect(problems).toEqual([
      {
        file: "rules/alerts.yaml",
        line: 7,
        field: "rules[0].concurrency",
        message: "must be an integer from 1 to 64",
      },
      {
        file: "rules/deploys.yaml",
        line: 5,
        field: "rules[0].throttle.once_within",
        message: "must be a duration such as 30s, 5m, 1h",
      },
      {
        file: "rules/deploys.yaml",
        line: 6,
        field: "rules[0].actions[0].notify.to",
        message: 'no notifier named "pager"',
      },
    ]);
  });

  it("lets a rule use a notifier of another file and records each rule's file and line", () => {
    const deploys = [
      "rules:",
      "  - name: deploy",
      "    sources: [gh]",
      "    actions: [{ notify: { to: ops, text: deployed } }]",
    ].join("\n");
    // deploys.yaml comes first: notifiers are read from every file before any rule.
    const book = parseRulebookFiles(
      [
        { name: "rules/deploys.yaml", text: deploys },
        { name: "rules/alerts.yaml", text: ALERTS },
      ],
      {},
    );
    expect(book.files).toEqual(["rules/deploys.yaml", "rules/alerts.yaml"]);
    expect(book.rules.map((r) => [r.name, r.file, r.line])).toEqual([
      ["deploy", "rules/deploys.yaml", 2],
      ["page", "rules/alerts.yaml", 4],
    ]);
    const notify = actionOf(ruleNamed(book, "deploy"), 0, "notify");
    expect(notify.notifier.type).toBe("slack");
    expect(notify.notifier.url(scopeOf({}))).toBe("https://hooks.slack.example/1");
  });

  it("refuses a rule name or a notifier declared in two files, naming the first", () => {
    const problems = problemsOf([
      { name: "a.yaml", text: ALERTS },
      { name: "b.yaml", text: `\n${ALERTS}` },
    ]);
    expect(problems).toEqual([
      {
        file: "b.yaml",
        line: 3,
        field: "notifiers.ops",
        message: 'notifier "ops" is also declared in a.yaml',
      },
      expect.objectContaining({
        file: "b.yaml",
        line: 5,
        message: 'rule "page" is also declared in a.yaml:4',
      }),
    ]);
  });
});

describe("a valid rulebook", () => {
  const FULL = [
    "notifiers:",
    '  ops: { type: slack, url: "${env:SLACK_URL}" }',
    '  oncall: { type: pagerduty, routingKey: "${env:PD_KEY}" }',
    "rules:",
    "  - name: deploy-main",
    "    sources: [github, { inbound: src_123 }]",
    '    condition: event.headers["x-github-event"] == "push" && event.payload.ref == "refs/heads/${env:BRANCH}"',
    "    concurrency: 2",
    "    actions:",
    "      - id: deploy",
    '        run: [./deploy.sh, "{{ event.payload.after }}", 42]',
    "      - run:",
    "          argv: [node, build.js]",
    "          cwd: /srv/app",
    '          env: { REF: "{{ event.payload.ref }}", TOKEN: "${env:CI_TOKEN}" }',
    "          timeout: 1h30m",
    "          maxOutputBytes: 1024",
    "      - forward: https://archive.example/hooks",
    "      - forward:",
    '          url: "https://ci.example/{{ event.payload.repository.name }}"',
    '          headers: { authorization: "Bearer ${env:CI_TOKEN}" }',
    '          body: { sha: "{{ event.payload.after }}", size: "{{ event.payload.size }}" }',
    '      - notify: { to: ops, text: "deployed {{ event.payload.after }}" }',
    "      - notify: { type: discord, url: https://discord.example/hook, text: hi }",
    '      - notify: { to: oncall, summary: "deploy of {{ event.payload.after }}", severity: info }',
    "      - publish:",
    "          app: acme",
    "          eventType: deploy.done",
    '          payload: { sha: "{{ event.payload.after }}" }',
    "          channels: [deploys]",
    "      - id: shaped",
    '        transform: \'{"sha": event.payload.after, "files": $count(event.payload.commits.added)}\'',
    '      - set: { sha: "{{ event.payload.after }}", size: "{{ event.payload.size }}" }',
    '      - log: "deploy {{ vars.sha }}"',
    "  - name: invoices",
    "    enabled: false",
    "    sources:",
    '      - { outbound: "invoice.*", app: acme }',
    '      - { schedule: "*/5 * * * *" }',
    "      - { operational: rule.failed }",
    "      - { operational: endpoint.disabled }",
    "    throttle: { once_after: 2m30s, group_by: [event.payload.customer] }",
    "    actions: [{ log: hi }]",
  ];
  const ENV = {
    SLACK_URL: "https://hooks.slack.example/T1",
    PD_KEY: "pd-routing-key",
    BRANCH: "main",
    CI_TOKEN: "ci-secret",
  };
  const PUSH = {
    headers: { "X-GitHub-Event": "push" },
    payload: {
      ref: "refs/heads/main",
      after: "abc123",
      size: 3,
      repository: { name: "web" },
      commits: [{ added: ["a", "b"] }, { added: ["c"] }],
    },
  };

  it("reads sources, concurrency, throttle and enabled as written", () => {
    const book = parse(FULL, ENV);
    expect(book.rules.map((r) => r.name)).toEqual(["deploy-main", "invoices"]);
    const deploy = ruleNamed(book, "deploy-main");
    expect(deploy).toMatchObject({
      file: "rules.yaml",
      line: 5,
      enabled: true,
      concurrency: 2,
      throttle: null,
      sources: [
        { kind: "inbound", source: "github" },
        { kind: "inbound", source: "src_123" },
      ],
    });
    const invoices = ruleNamed(book, "invoices");
    expect(invoices).toMatchObject({
      enabled: false,
      concurrency: 1,
      condition: null,
      guards: [],
      sources: [
        { kind: "outbound", eventType: "invoice.*", app: "acme" },
        { kind: "schedule", cron: "*/5 * * * *" },
        { kind: "operational", event: "rule.failed" },
        { kind: "operational", event: "endpoint.disabled" },
      ],
      throttle: { mode: "once_after", windowMs: 150_000 },
    });
    const groupBy = invoices.throttle!.groupBy.map((g) =>
      g(scopeOf({ payload: { customer: "cus_1" } })),
    );
    expect(groupBy).toEqual(["cus_1"]);
  });

  it("fills ${env:NAME} in conditions, notifiers, headers and command environments", () => {
    const deploy = ruleNamed(parse(FULL, ENV), "deploy-main");
    expect(deploy.condition!(scopeOf(PUSH))).toBe(true);
    const otherBranch = { ...PUSH, payload: { ...PUSH.payload, ref: "refs/heads/dev" } };
    expect(deploy.condition!(scopeOf(otherBranch))).toBe(false);
    expect(deploy.guards).toEqual([
      { path: ["headers", "x-github-event"], value: "push" },
      { path: ["payload", "ref"], value: "refs/heads/main" },
    ]);
    const scope = scopeOf(PUSH);
    expect(actionOf(deploy, 1, "run").env["TOKEN"]!(scope)).toBe("ci-secret");
    expect(actionOf(deploy, 3, "forward").headers["authorization"]!(scope)).toBe(
      "Bearer ci-secret",
    );
    const slack = actionOf(deploy, 4, "notify").notifier;
    expect(slack.url(scope)).toBe("https://hooks.slack.example/T1");
    const pagerduty = actionOf(deploy, 6, "notify").notifier;
    expect(pagerduty.url(scope)).toBe(PAGERDUTY_EVENTS_URL);
    expect(pagerduty.routingKey!(scope)).toBe("pd-routing-key");
  });

  it("compiles every action type with its fields, ids and lines", async () => {
    const deploy = ruleNamed(parse(FULL, ENV), "deploy-main");
    const scope = scopeOf(PUSH, { sha: "abc123" });
    expect(deploy.actions.map((a) => [a.type, a.id, a.line])).toEqual([
      ["run", "deploy", 10],
      ["run", null, 12],
      ["forward", null, 18],
      ["forward", null, 19],
      ["notify", null, 23],
      ["notify", null, 24],
      ["notify", null, 25],
      ["publish", null, 26],
      ["transform", "shaped", 31],
      ["set", null, 33],
      ["log", null, 34],
    ]);

    const short = actionOf(deploy, 0, "run");
    expect(short.argv.map((a) => a(scope))).toEqual(["./deploy.sh", "abc123", "42"]);
    expect(short).toMatchObject({ cwd: null, timeoutMs: 60_000, maxOutputBytes: 65_536 });
    const long = actionOf(deploy, 1, "run");
    expect(long).toMatchObject({ timeoutMs: 5_400_000, maxOutputBytes: 1024 });
    expect(long.cwd!(scope)).toBe("/srv/app");
    expect(long.env["REF"]!(scope)).toBe("refs/heads/main");

    const plain = actionOf(deploy, 2, "forward");
    expect([plain.url(scope), plain.body, plain.headers]).toEqual([
      "https://archive.example/hooks",
      null,
      {},
    ]);
    const shaped = actionOf(deploy, 3, "forward");
    expect(shaped.url(scope)).toBe("https://ci.example/web");
    expect(shaped.body!(scope), "one placeholder keeps the number").toEqual({
      sha: "abc123",
      size: 3,
    });

    const slack = actionOf(deploy, 4, "notify");
    expect(slack.fields["text"]!(scope)).toBe("deployed abc123");
    const discord = actionOf(deploy, 5, "notify");
    expect(discord.notifier.type).toBe("discord");
    expect(discord.notifier.url(scope)).toBe("https://discord.example/hook");
    expect(Object.keys(discord.fields)).toEqual(["text"]);
    const page = actionOf(deploy, 6, "notify");
    expect(page.fields["summary"]!(scope)).toBe("deploy of abc123");
    expect(page.fields["severity"]!(scope)).toBe("info");

    const publish = actionOf(deploy, 7, "publish");
    expect([
      publish.app(scope),
      publish.eventType(scope),
      publish.payload(scope),
      publish.channels!(scope),
    ]).toEqual(["acme", "deploy.done", { sha: "abc123" }, ["deploys"]]);

    const transform = actionOf(deploy, 8, "transform");
    expect(await transform.expression(scope)).toEqual({ sha: "abc123", files: 3 });
    const set = actionOf(deploy, 9, "set");
    expect(set.vars["sha"]!(scope)).toBe("abc123");
    expect(set.vars["size"]!(scope)).toBe(3);
    expect(actionOf(deploy, 10, "log").message(scope)).toBe("deploy abc123");
  });

  it("publishes the event's payload when publish gives none", () => {
    const book = parse([
      ...HEAD,
      "    actions:",
      "      - publish: { app: acme, eventType: relayed }",
    ]);
    const publish = actionOf(ruleNamed(book, "r"), 0, "publish");
    expect(publish.payload(scopeOf({ payload: { a: [1, 2] } }))).toEqual({ a: [1, 2] });
    expect(publish.channels).toBeNull();
  });

  it("reads an empty file as a rulebook without rules", () => {
    expect(parse([""])).toMatchObject({ rules: [], files: ["rules.yaml"] });
    expect(parse(["# only a comment"]).rules).toEqual([]);
  });
});

describe("rulebook conditions", () => {
  const CONDITIONS: Array<{
    condition: string[];
    event: Partial<RuleEvent>;
    holds: boolean;
  }> = [
    {
      condition: ["{ header: X-GitHub-Event, equals: push }"],
      event: { headers: { "x-github-event": "push" } },
      holds: true,
    },
    {
      condition: ["{ header: X-GitHub-Event, equals: push }"],
      event: { headers: { "x-github-event": "issues" } },
      holds: false,
    },
    {
      condition: ['{ field: payload.ref, matches: "^refs/tags/v" }'],
      event: { payload: { ref: "refs/tags/v1.2" } },
      holds: true,
    },
    {
      condition: ['{ field: payload.ref, matches: "^refs/tags/v" }'],
      event: { payload: { ref: "refs/heads/main" } },
      holds: false,
    },
    {
      condition: ['{ field: payload.ref, matches: "^refs/tags/v" }'],
      event: { payload: {} },
      holds: false,
    },
    {
      condition: ["{ field: payload.pull_request.number, exists: true }"],
      event: { payload: { pull_request: { number: 7 } } },
      holds: true,
    },
    {
      condition: ["{ field: payload.pull_request.number, exists: false }"],
      event: { payload: { pull_request: { number: 7 } } },
      holds: false,
    },
    {
      condition: ['{ field: payload.count, equals: "3" }'],
      event: { payload: { count: 3 } },
      holds: true,
    },
    {
      condition: ["{ field: payload.commits.0.id, equals: c1 }"],
      event: { payload: { commits: [{ id: "c1" }] } },
      holds: true,
    },
    {
      condition: ["{ field: payload.labels, equals: { team: web } }"],
      event: { payload: { labels: { team: "web" } } },
      holds: true,
    },
    {
      condition: [
        "",
        "      all:",
        "        - { header: x-kind, equals: a }",
        "        - event.payload.n > 2.0",
      ],
      event: { headers: { "x-kind": "a" }, payload: { n: 3 } },
      holds: true,
    },
    {
      condition: [
        "",
        "      all:",
        "        - { header: x-kind, equals: a }",
        "        - event.payload.n > 2.0",
      ],
      event: { headers: { "x-kind": "a" }, payload: { n: 1 } },
      holds: false,
    },
    {
      condition: [
        "",
        "      any:",
        "        - { header: x-kind, equals: a }",
        '        - event.type == "b"',
      ],
      event: { type: "b" },
      holds: true,
    },
    {
      condition: [
        "",
        "      any:",
        "        - { header: x-kind, equals: a }",
        '        - event.type == "b"',
      ],
      event: { type: "c", headers: { "x-kind": "c" } },
      holds: false,
    },
    { condition: ["false"], event: {}, holds: false },
  ];

  for (const [i, c] of CONDITIONS.entries()) {
    it(`evaluates condition #${i} (${c.condition.join(" ").trim()}) to ${c.holds}`, () => {
      const [first, ...more] = c.condition;
      const book = parse([
        ...HEAD,
        `    condition: ${first!}`,
        ...more,
        "    actions: [{ log: hi }]",
      ]);
      expect(ruleNamed(book, "r").condition!(scopeOf(c.event))).toBe(c.holds);
    });
  }

  it("derives index guards from header and field equality matches, not from any:", () => {
    const guardsOf = (condition: string[]) => {
      const [first, ...more] = condition;
      const book = parse([
        ...HEAD,
        `    condition: ${first!}`,
        ...more,
        "    actions: [{ log: hi }]",
      ]);
      return ruleNamed(book, "r").guards;
    };
    expect(guardsOf(["{ header: X-GitHub-Event, equals: push }"])).toEqual([
      { path: ["headers", "x-github-event"], value: "push" },
    ]);
    expect(guardsOf(["{ field: payload.action, equals: opened }"])).toEqual([
      { path: ["payload", "action"], value: "opened" },
    ]);
    expect(
      guardsOf([
        "",
        "      all:",
        "        - { field: type, equals: a }",
        '        - event.payload.k == "v"',
      ]),
    ).toEqual([
      { path: ["type"], value: "a" },
      { path: ["payload", "k"], value: "v" },
    ]);
    expect(guardsOf(["", "      any:", "        - { field: type, equals: a }"])).toEqual([]);
    expect(guardsOf(["{ field: payload.n, equals: 3 }"]), "a number is no text guard").toEqual([]);
  });
});

describe("hostile YAML", () => {
  it("reports a document that expands too many aliases as a problem, not a crash", () => {
    const lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (let i = 0; i < 8; i++) {
      const prev = String.fromCharCode(97 + i);
      const next = String.fromCharCode(98 + i);
      lines.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    lines.push("rules: []");
    let error: unknown;
    try {
      parseRulebookFiles([{ name: "bomb.yaml", text: lines.join("\n") }], {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RulebookError);
    expect((error as RulebookError).problems[0]).toMatchObject({ file: "bomb.yaml", line: 1 });
  });
});

describe("a run action's program", () => {
  it("is written out, never chosen by the event, in files on disk too", () => {
    const problems = problemsOf([
      {
        name: "rules.yaml",
        text: [
          "rules:",
          "  - name: picks",
          "    sources: [hooks]",
          "    actions:",
          '      - run: ["{{ event.payload.program }}", "--flag"]',
        ].join("\n"),
      },
    ]);
    expect(problems).toEqual([
      {
        file: "rules.yaml",
        line: 5,
        field: "rules[0].actions[0].run.argv[0]",
        message:
          "the program must be written out, not a {{ }} template: an event may fill arguments, never choose what runs",
      },
    ]);
  });
});
