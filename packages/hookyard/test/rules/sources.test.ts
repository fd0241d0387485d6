import { describe, expect, it } from "vitest";
import { eventFrom } from "../../src/http/routes/rules.js";
import { rulebook, settle, startAutomation } from "../helpers/automation-harness.js";

// Where rules listen besides inbound sources: cron schedules (on the fake clock), Hookyard's own
// operational events, and messages published to applications (event type patterns).

const MINUTE = 60_000;

const EVERY_MINUTE = [
  "rules:",
  "  - name: tick",
  '    sources: [{ schedule: "* * * * *" }]',
  '    actions: [{ log: "tick {{ event.payload.firedAt }}" }]',
].join("\n");

const OTHER = ["rules:", "  - name: other", "    sources: [gh]", "    actions: [{ log: hi }]"].join(
  "\n",
);

describe("schedule sources", () => {
  it("runs a rule every minute as the clock advances", async () => {
    const h = await startAutomation(rulebook(EVERY_MINUTE));
    await h.clock.advance(MINUTE - 1);
    await settle(h.clock);
    expect(await h.runsOf("tick"), "nothing before the first minute").toEqual([]);
    await h.clock.advance(1);
    await h.finished("tick", 1);
    await h.clock.advance(2 * MINUTE);
    const runs = await h.finished("tick", 3);
    const fired = runs.map((r) => (r.actions[0]?.output as { message: string }).message);
    expect(fired.sort()).toEqual([
      "tick 2025-01-01T00:01:00.000Z",
      "tick 2025-01-01T00:02:00.000Z",
      "tick 2025-01-01T00:03:00.000Z",
    ]);
    expect(runs[0]).toMatchObject({
      status: "succeeded",
      event: { kind: "schedule", source: "* * * * *", type: "schedule" },
    });
  });

  it("stops when a rulebook without the schedule is loaded", async () => {
    const h = await startAutomation(rulebook(EVERY_MINUTE));
    await h.clock.advance(MINUTE);
    await h.finished("tick", 1);
    h.automation.load(rulebook(OTHER));
    expect(h.clock.pendingTimers, "the schedule's timer is cancelled").toBe(0);
    await h.clock.advance(5 * MINUTE);
    await settle(h.clock);
    expect(await h.runsOf("tick")).toHaveLength(1);
  });

  it("fires once per tick when the same rulebook is loaded again", async () => {
    const h = await startAutomation(rulebook(EVERY_MINUTE));
    h.automation.load(rulebook(EVERY_MINUTE));
    h.automation.load(rulebook(EVERY_MINUTE));
    expect(h.clock.pendingTimers).toBe(1);
    await h.clock.advance(2 * MINUTE);
    await h.finished("tick", 2);
    await settle(h.clock);
    expect(await h.runsOf("tick")).toHaveLength(2);
  });

  it("arms no schedule of a disabled rule, and skips ticks whose condition is false", async () => {
    const h = await startAutomation(
      rulebook(
        [
          "rules:",
          "  - name: off",
          "    enabled: false",
          '    sources: [{ schedule: "* * * * *" }]',
          "    actions: [{ log: hi }]",
          "  - name: odd-minutes",
          '    sources: [{ schedule: "* * * * *" }]',
          '    condition: event.payload.firedAt.matches(":0[13]:00")',
          "    actions: [{ log: hi }]",
        ].join("\n"),
      ),
    );
    expect(h.clock.pendingTimers, "only odd-minutes is armed").toBe(1);
    await h.clock.advance(4 * MINUTE);
    const runs = await h.finished("odd-minutes", 2);
    expect(runs.map((r) => (r.event.payload as { firedAt: string }).firedAt).sort()).toEqual([
      "2025-01-01T00:01:00.000Z",
      "2025-01-01T00:03:00.000Z",
    ]);
    expect(await h.runsOf("off")).toEqual([]);
  });
});

describe("operational sources", () => {
  const FAILING = [
    "rules:",
    "  - name: broken",
    "    sources: [gh]",
    "    actions:",
    "      - log: first",
    '      - log: "{{ event.payload.missing }}"',
    "  - name: on-failure",
    "    sources: [{ operational: rule.failed }]",
    '    actions: [{ log: "{{ event.payload.rule }}: {{ event.payload.error }}" }]',
  ];

  it("runs a rule.failed rule when another rule's run fails", async () => {
    const h = await startAutomation(rulebook(FAILING.join("\n")));
    await h.automation.dispatch(eventFrom({ id: "req_1", payload: {} }), ["gh"]);
    const [broken] = await h.finished("broken", 1);
    expect(broken).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/^actions\[1\] \(log\): No such key: missing/),
    });
    const [notice] = await h.finished("on-failure", 1);
    expect(notice).toMatchObject({
      status: "succeeded",
      event: {
        kind: "operational",
        type: "rule.failed",
        source: "hookyard",
        payload: { rule: "broken", runId: broken!.id, error: broken!.error },
      },
      actions: [{ output: { message: `broken: ${broken!.error}` } }],
    });
  });

  it("does not run rule.failed rules for a succeeding run", async () => {
    const book = FAILING.map((line) => line.replace("{{ event.payload.missing }}", "second"));
    const h = await startAutomation(rulebook(book.join("\n")));
    await h.automation.dispatch(eventFrom({ id: "req_1", payload: {} }), ["gh"]);
    await h.finished("broken", 1);
    await settle(h.clock);
    expect(await h.runsOf("on-failure")).toEqual([]);
  });

  it("does not loop when a rule.failed rule fails itself", async () => {
    const h = await startAutomation(
      rulebook(
        [
          ...FAILING,
          "  - name: failing-watcher",
          "    sources: [{ operational: rule.failed }]",
          '    actions: [{ log: "{{ event.payload.nothing }}" }]',
        ].join("\n"),
      ),
    );
    await h.automation.dispatch(eventFrom({ id: "req_1", payload: {} }), ["gh"]);
    const [watcher] = await h.finished("failing-watcher", 1);
    expect(watcher).toMatchObject({ status: "failed", event: { payload: { rule: "broken" } } });
    await h.finished("on-failure", 1);
    // A loop would have planned the next rule.failed run synchronously with this failure.
    await settle(h.clock);
    expect(await h.runsOf("failing-watcher"), "one failure, no rule.failed for it").toHaveLength(1);
    const notices = await h.runsOf("on-failure");
    expect(notices.map((r) => (r.event.payload as { rule: string }).rule)).toEqual(["broken"]);
  });

  it("runs an endpoint.disabled rule for that operational event", async () => {
    const h = await startAutomation(
      rulebook(
        [
          "rules:",
          "  - name: disabled",
          "    sources: [{ operational: endpoint.disabled }]",
          '    actions: [{ log: "{{ event.payload.endpointId }}" }]',
          "  - name: failures",
          "    sources: [{ operational: rule.failed }]",
          "    actions: [{ log: hi }]",
        ].join("\n"),
      ),
    );
    h.automation.operational("endpoint.disabled", { endpointId: "ep_1" });
    const [run] = await h.finished("disabled", 1);
    expect(run!.actions[0]!.output).toEqual({ message: "ep_1" });
    expect(await h.runsOf("failures")).toEqual([]);
  });
});

describe("outbound sources", () => {
  const OUTBOUND = rulebook(
    [
      "rules:",
      "  - name: invoices",
      '    sources: [{ outbound: "invoice.*" }]',
      "    actions: [{ log: hi }]",
      "  - name: everything",
      '    sources: [{ outbound: "*" }]',
      "    actions: [{ log: hi }]",
      "  - name: paid",
      "    sources: [{ outbound: invoice.paid }]",
      "    actions: [{ log: hi }]",
      "  - name: acme-paid",
      "    sources: [{ outbound: invoice.paid, app: acme }]",
      "    actions: [{ log: hi }]",
      "  - name: inv-prefix",
      '    sources: [{ outbound: "inv*" }]',
      "    actions: [{ log: hi }]",
      "  - name: inbound-only",
      "    sources: [acme]",
      "    actions: [{ log: hi }]",
    ].join("\n"),
  );

  const CASES: Array<[type: string | null, keys: string[], listening: string[]]> = [
    [
      "invoice.paid",
      ["app_1", "acme"],
      ["invoices", "everything", "paid", "acme-paid", "inv-prefix"],
    ],
    ["invoice.paid", ["app_2", "globex"], ["invoices", "everything", "paid", "inv-prefix"]],
    ["invoice.created", ["app_1", "acme"], ["invoices", "everything", "inv-prefix"]],
    ["invoice.paid.late", ["app_1"], ["invoices", "everything", "inv-prefix"]],
    ["invoice", ["app_1"], ["everything", "inv-prefix"]],
    ["invoices.created", ["app_1"], ["everything", "inv-prefix"]],
    ["user.created", ["app_1", "acme"], ["everything"]],
    [null, ["app_1", "acme"], ["everything"]],
  ];

  for (const [type, keys, listening] of CASES) {
    it(`plans ${listening.join(", ")} for ${String(type)} from ${keys.join("/")}`, async () => {
      const h = await startAutomation(OUTBOUND);
      const event = eventFrom({ kind: "outbound", type, source: keys.at(-1)! });
      expect(h.automation.plan(event, keys).map((r) => r.rule)).toEqual(listening);
      const dry = await h.automation.dryRun(OUTBOUND, event, keys);
      expect(dry.map((r) => [r.rule, r.matched])).toEqual(listening.map((name) => [name, true]));
    });
  }

  it("ignores outbound rules for an inbound event, and inbound rules for an outbound one", async () => {
    const h = await startAutomation(OUTBOUND);
    const inbound = eventFrom({ kind: "inbound", type: "invoice.paid", source: "acme" });
    expect(h.automation.plan(inbound, ["acme"]).map((r) => r.rule)).toEqual(["inbound-only"]);
    const outbound = eventFrom({ kind: "outbound", type: "user.created", source: "acme" });
    expect(h.automation.plan(outbound, ["acme"]).map((r) => r.rule)).toEqual(["everything"]);
  });

  it("dry-runs an outbound rule's actions with their fields, sending nothing", async () => {
    const book = rulebook(
      [
        "rules:",
        "  - name: mirror",
        '    sources: [{ outbound: "invoice.*", app: acme }]',
        "    condition: event.payload.amount > 100.0",
        "    actions:",
        "      - publish:",
        "          app: mirror",
        '          eventType: "mirror.{{ event.type }}"',
        '          payload: { amount: "{{ event.payload.amount }}" }',
        '      - forward: "https://archive.example/{{ event.payload.id }}"',
      ].join("\n"),
    );
    const h = await startAutomation(book);
    const event = (amount: number) =>
      eventFrom({ kind: "outbound", type: "invoice.paid", payload: { id: "in_1", amount } });
    const [big] = await h.automation.dryRun(book, event(250), ["app_1", "acme"]);
    expect(big).toMatchObject({
      rule: "mirror",
      matched: true,
      error: null,
      actions: [
        {
          type: "publish",
          would: {
            app: "mirror",
            eventType: "mirror.invoice.paid",
            payload: { amount: 250 },
            channels: null,
          },
        },
        {
          type: "forward",
          would: {
            url: "https://archive.example/in_1",
            headers: {},
            body: { id: "in_1", amount: 250 },
          },
        },
      ],
    });
    const [small] = await h.automation.dryRun(book, event(5), ["app_1", "acme"]);
    expect(small).toMatchObject({ rule: "mirror", matched: false, actions: [] });
    expect([h.egress.published, h.egress.sent]).toEqual([[], []]);
  });

  it("publishes and forwards through the egress when an outbound event is dispatched", async () => {
    const book = rulebook(
      [
        "rules:",
        "  - name: mirror",
        '    sources: [{ outbound: "invoice.*" }]',
        "    actions:",
        '      - publish: { app: mirror, eventType: "mirror.{{ event.type }}" }',
        '      - forward: "https://archive.example/{{ event.payload.id }}"',
      ].join("\n"),
    );
    const h = await startAutomation(book);
    const event = eventFrom({
      kind: "outbound",
      id: "msg_1",
      type: "invoice.paid",
      payload: { id: "in_1" },
    });
    await h.automation.dispatch(event, ["app_1"]);
    const [run] = await h.finished("mirror", 1);
    expect(run).toMatchObject({
      status: "succeeded",
      actions: [
        { type: "publish", output: { messageId: "msg_published_1" } },
        { type: "forward", output: { messageId: "msg_sent_1" } },
      ],
    });
    expect(h.egress.published).toEqual([
      {
        app: "mirror",
        eventType: "mirror.invoice.paid",
        payload: { id: "in_1" },
        channels: null,
        eventId: `${run!.id}.0`,
      },
    ]);
    expect(h.egress.sent).toEqual([
      {
        url: "https://archive.example/in_1",
        headers: {},
        body: { json: { id: "in_1" } },
        eventType: "invoice.paid",
        eventId: `${run!.id}.1`,
      },
    ]);
  });
});

describe("inbound sources named by uid and by id", () => {
  it("plans an event's runs in rulebook order whichever key each rule uses", async () => {
    const h = await startAutomation(
      rulebook(
        [
          "rules:",
          "  - { name: a, sources: [src_1], actions: [{ log: a }] }",
          "  - { name: b, sources: [gh], actions: [{ log: b }] }",
          "  - { name: c, sources: [src_1, gh], actions: [{ log: c }] }",
        ].join("\n"),
      ),
    );
    const event = eventFrom({ id: "req_order1", source: "gh" });
    expect(h.automation.plan(event, ["gh", "src_1"]).map((r) => r.rule)).toEqual(["a", "b", "c"]);
  });
});
