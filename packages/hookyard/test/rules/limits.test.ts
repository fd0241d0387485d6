import { describe, expect, it } from "vitest";
import { eventFrom } from "../../src/http/routes/rules.js";
import type { RuleEvent } from "../../src/model.js";
import type { RuleEgress } from "../../src/rules/rule-targets.js";
import {
  RecordingEgress,
  rulebook,
  settle,
  startAutomation,
} from "../helpers/automation-harness.js";

// Issue 18: what the rules hold in memory is bounded. A rule whose actions cannot keep up fails
// its newest runs (recorded, raised as rule.failed) instead of growing its queue without end.

let seq = 0;
function event(payload: Record<string, unknown> = {}): RuleEvent {
  seq += 1;
  return eventFrom({ id: `req_limit${seq}`, source: "hooks", payload, body: "x".repeat(100) });
}

/** An egress whose sends wait until `open()`: a slow target holding up its rule's queue. */
class GatedEgress extends RecordingEgress {
  #open!: () => void;
  readonly #gate = new Promise<void>((resolve) => (this.#open = resolve));

  override async send(req: Parameters<RuleEgress["send"]>[0]): Promise<{ messageId: string }> {
    await this.#gate;
    return super.send(req);
  }

  open(): void {
    this.#open();
  }
}

const FORWARDS = rulebook(
  [
    "rules:",
    "  - name: slow",
    "    sources: [hooks]",
    "    actions: [{ forward: 'https://example.com/hook' }]",
  ].join("\n"),
);

describe("rule queues", () => {
  it("fails the runs past a rule's queue limit and runs the rest once the target answers", async () => {
    const egress = new GatedEgress();
    const h = await startAutomation(FORWARDS, { egress, limits: { waitingRuns: 2 } });
    for (let i = 0; i < 5; i++) await h.automation.dispatch(event(), ["hooks"]);
    await settle(h.clock);
    // One runs (waiting on its target), two wait, two find the queue full.
    const refused = await h.finished("slow", 2);
    expect(refused.filter((r) => r.status === "failed").map((r) => r.error)).toEqual([
      "not started: 2 runs of this rule are waiting (concurrency 1)",
      "not started: 2 runs of this rule are waiting (concurrency 1)",
    ]);
    egress.open();
    const all = await h.finished("slow", 5);
    expect(all.filter((r) => r.status === "succeeded")).toHaveLength(3);
    expect(egress.sent).toHaveLength(3);
  });

  it("bounds the bytes of events waiting in all queues", async () => {
    const egress = new GatedEgress();
    // Each event counts 2 × 100 + 1024 bytes: room for two waiting ones in 2,500.
    const h = await startAutomation(FORWARDS, { egress, limits: { waitingBytes: 2_500 } });
    for (let i = 0; i < 4; i++) await h.automation.dispatch(event(), ["hooks"]);
    await settle(h.clock);
    const [refused] = (await h.finished("slow", 1)).filter((r) => r.status === "failed");
    expect(refused!.error).toBe(
      "not started: the runs waiting in all rules' queues hold 2500 bytes of events (concurrency 1)",
    );
    egress.open();
    expect((await h.finished("slow", 4)).filter((r) => r.status === "succeeded")).toHaveLength(3);
  });
});

describe("once_after windows", () => {
  it("past the cap of open windows, an event runs at once instead of opening another", async () => {
    const h = await startAutomation(
      rulebook(
        [
          "rules:",
          "  - name: page",
          "    sources: [hooks]",
          "    throttle: { once_after: 5m, group_by: [event.payload.alertname] }",
          '    actions: [{ log: "{{ event.id }}" }]',
        ].join("\n"),
      ),
      { limits: { openWindows: 1 } },
    );
    expect(h.automation.plan(event({ alertname: "A" }), ["hooks"])).toHaveLength(0);
    const [now] = h.automation.plan(event({ alertname: "B" }), ["hooks"]);
    expect(now?.rule, "B runs at once: A's window is the one open").toBe("page");
  });
});

describe("once_after windows hold bytes too", () => {
  it("runs an event at once when opening its window would pass the bytes waiting", async () => {
    const h = await startAutomation(
      rulebook(
        [
          "rules:",
          "  - name: page",
          "    sources: [hooks]",
          "    throttle: { once_after: 5m, group_by: [event.payload.alertname] }",
          '    actions: [{ log: "{{ event.id }}" }]',
        ].join("\n"),
      ),
      // Each event counts 2 × 100 + 1024 bytes: room for one open window in 2,000.
      { limits: { waitingBytes: 2_000 } },
    );
    expect(h.automation.plan(event({ alertname: "A" }), ["hooks"])).toHaveLength(0);
    expect(
      h.automation.plan(event({ alertname: "A" }), ["hooks"]),
      "A's window takes it",
    ).toHaveLength(0);
    expect(h.automation.plan(event({ alertname: "B" }), ["hooks"])).toHaveLength(1);
  });
});
