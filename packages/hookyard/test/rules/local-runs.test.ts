import { describe, expect, it } from "vitest";
import { eventFrom } from "../../src/http/routes/rules.js";
import { rulebook, settle, startAutomation } from "../helpers/automation-harness.js";

// A rule of only set and log actions is run while it is planned: its run is finished before it
// is stored, so the request's transaction stores it done (no later writes for it).

const BOOK = `
rules:
  - name: tag
    sources: [hooks]
    actions:
      - id: vars
        set: { ref: "{{ event.payload.ref }}", n: "{{ event.payload.n }}" }
      - log: "ref {{ vars.ref }}"
  - name: alarm
    sources: [{ operational: rule.failed }]
    actions:
      - log: "{{ event.payload.rule }} failed"
`;

describe("runs of only set and log", () => {
  it("are planned already finished, with each action's outcome", async () => {
    const h = await startAutomation(rulebook(BOOK));
    const event = eventFrom({ id: "req_local1", source: "hooks", payload: { ref: "main", n: 2 } });
    const [run] = h.automation.plan(event, ["hooks"]);
    expect(run).toMatchObject({
      rule: "tag",
      status: "succeeded",
      error: null,
      owner: null,
      leaseUntil: null,
      startedAt: h.clock.now(),
      finishedAt: h.clock.now(),
      actions: [
        { index: 0, id: "vars", type: "set", status: "succeeded", output: { ref: "main", n: 2 } },
        { index: 1, type: "log", status: "succeeded", output: { message: "ref main" } },
      ],
    });
  });

  it("fail at the action that throws, and raise rule.failed once started", async () => {
    const h = await startAutomation(rulebook(BOOK));
    const event = eventFrom({ id: "req_local2", source: "hooks", payload: {} });
    const runs = h.automation.plan(event, ["hooks"]);
    expect(runs).toMatchObject([
      {
        status: "failed",
        error: expect.stringMatching(/^actions\[0\] \(set\): No such key: ref/) as unknown,
        actions: [{ type: "set", status: "failed" }],
      },
    ]);
    await h.store.insertRuleRuns(runs);
    h.automation.start(runs);
    await settle(h.clock);
    const [alarm] = await h.finished("alarm", 1);
    expect(alarm!.actions[0]!.output).toEqual({ message: "tag failed" });
  });
});
