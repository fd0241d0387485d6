import { describe, expect, it } from "vitest";
import { eventFrom } from "../../src/http/routes/rules.js";
import type { RuleEvent } from "../../src/model.js";
import { rulebook, settle, startAutomation } from "../helpers/automation-harness.js";

// Throttles on the fake clock: once_within acts on a group's first event and then stays quiet
// for the window; once_after waits for the window to close and acts once, on the latest event.

const MINUTE = 60_000;
const START = Date.UTC(2025, 0, 1);

let seq = 0;
/** An Alertmanager-like event, each with an id of its own (runs store their event by id). */
function alert(payload: Record<string, unknown>): RuleEvent {
  seq += 1;
  return eventFrom({ id: `req_alert${seq}`, source: "alertmanager", payload });
}

function throttled(throttle: string, condition = "") {
  return rulebook(
    [
      "rules:",
      "  - name: page",
      "    sources: [alertmanager]",
      ...(condition === "" ? [] : [`    condition: ${condition}`]),
      `    throttle: ${throttle}`,
      '    actions: [{ log: "{{ event.id }}" }]',
    ].join("\n"),
  );
}

describe("once_within", () => {
  it("lets one run per group through per 10 min window, then opens a new window", async () => {
    const h = await startAutomation(
      throttled("{ once_within: 10m, group_by: [event.payload.alertname] }"),
    );
    const plan = (alertname: string) =>
      h.automation.plan(alert({ alertname }), ["alertmanager"]).length;

    expect(plan("DiskFull"), "DiskFull opens its window").toBe(1);
    expect(plan("DiskFull"), "DiskFull again at once").toBe(0);
    expect(plan("HighLoad"), "another group has a window of its own").toBe(1);
    await h.clock.advance(5 * MINUTE);
    expect(plan("DiskFull"), "DiskFull at 5 min").toBe(0);
    await h.clock.advance(5 * MINUTE - 1);
    expect(plan("DiskFull"), "DiskFull 1 ms before the window ends").toBe(0);
    await h.clock.advance(1);
    // The window runs from the first event: the throttled ones at 5 min did not extend it.
    expect(plan("DiskFull"), "DiskFull at 10 min").toBe(1);
    expect(plan("HighLoad"), "HighLoad at 10 min").toBe(1);
    expect(plan("DiskFull"), "DiskFull again in the new window").toBe(0);
    await h.clock.advance(10 * MINUTE);
    expect(plan("DiskFull"), "DiskFull at 20 min").toBe(1);
  });

  it("groups by every group_by value together", async () => {
    const h = await startAutomation(
      throttled("{ once_within: 1h, group_by: [event.payload.alertname, event.payload.env] }"),
    );
    const plan = (alertname: string, env: string) =>
      h.automation.plan(alert({ alertname, env }), ["alertmanager"]).length;
    expect([plan("Disk", "prod"), plan("Disk", "dev"), plan("Disk", "prod")]).toEqual([1, 1, 0]);
    expect([plan("Load", "prod"), plan("Load", "dev"), plan("Load", "dev")]).toEqual([1, 1, 0]);
  });

  it("puts events whose group_by cannot be read into one group of their own", async () => {
    const h = await startAutomation(
      throttled("{ once_within: 10m, group_by: [event.payload.alertname] }"),
    );
    const plan = (payload: Record<string, unknown>) =>
      h.automation.plan(alert(payload), ["alertmanager"]).length;
    expect(plan({ other: 1 }), "the first event without alertname runs").toBe(1);
    expect(plan({ other: 2 }), "a second one, otherwise different, is throttled with it").toBe(0);
    expect(plan({ alertname: "DiskFull" }), "a readable group is apart").toBe(1);
    await h.clock.advance(10 * MINUTE);
    expect(plan({}), "the unreadable group's window ends too").toBe(1);
  });

  it("throttles everything together without group_by, and each rule on its own", async () => {
    const h = await startAutomation(
      rulebook(
        [
          "rules:",
          "  - name: a",
          "    sources: [alertmanager]",
          "    throttle: { once_within: 1m }",
          "    actions: [{ log: a }]",
          "  - name: b",
          "    sources: [alertmanager]",
          "    throttle: { once_within: 1m }",
          "    actions: [{ log: b }]",
        ].join("\n"),
      ),
    );
    const plan = (alertname: string) =>
      h.automation.plan(alert({ alertname }), ["alertmanager"]).map((r) => r.rule);
    expect(plan("DiskFull")).toEqual(["a", "b"]);
    expect(plan("HighLoad")).toEqual([]);
    await h.clock.advance(MINUTE);
    expect(plan("HighLoad")).toEqual(["a", "b"]);
  });

  it("opens no window for an event whose condition is false", async () => {
    const h = await startAutomation(
      throttled(
        "{ once_within: 10m, group_by: [event.payload.alertname] }",
        "event.payload.status == 'firing'",
      ),
    );
    const plan = (status: string) =>
      h.automation.plan(alert({ alertname: "DiskFull", status }), ["alertmanager"]).length;
    expect(plan("resolved")).toBe(0);
    expect(plan("firing"), "the resolved event did not start the window").toBe(1);
    expect(plan("firing")).toBe(0);
  });
});

describe("once_after", () => {
  it("keeps a window open through a reload that keeps its rule", async () => {
    const book = () => throttled("{ once_after: 5m, group_by: [event.payload.alertname] }");
    const h = await startAutomation(book());
    const event = alert({ alertname: "DiskFull" });
    expect(h.automation.plan(event, ["alertmanager"])).toEqual([]);
    h.automation.load(book()); // the same rules, parsed anew (a file saved, an upload adopted)
    await h.clock.advance(5 * MINUTE);
    const [run] = await h.finished("page", 1);
    expect(run!.event.id).toBe(event.id);
  });

  it("closes a window without a run when a reload drops its rule", async () => {
    const h = await startAutomation(
      throttled("{ once_after: 5m, group_by: [event.payload.alertname] }"),
    );
    expect(h.automation.plan(alert({ alertname: "DiskFull" }), ["alertmanager"])).toEqual([]);
    h.automation.load(rulebook("rules: []\n"));
    await h.clock.advance(10 * MINUTE);
    await settle(h.clock);
    expect(await h.runsOf("page"), "no run, not even a failed one").toEqual([]);
  });

  it("collects a group's events and runs once, on the latest, when the window closes", async () => {
    const h = await startAutomation(
      throttled("{ once_after: 5m, group_by: [event.payload.alertname] }"),
    );
    const plan = (payload: Record<string, unknown>) => {
      const event = alert(payload);
      expect(h.automation.plan(event, ["alertmanager"]), `plan of ${event.id}`).toEqual([]);
      return event;
    };
    plan({ alertname: "DiskFull", n: 1 }); // opens DiskFull's window at 0
    await h.clock.advance(MINUTE);
    plan({ alertname: "DiskFull", n: 2 });
    await h.clock.advance(MINUTE);
    plan({ alertname: "HighLoad", n: 1 }); // opens HighLoad's window at 2 min
    await h.clock.advance(2 * MINUTE);
    const latest = plan({ alertname: "DiskFull", n: 3 });

    await h.clock.advance(MINUTE - 1);
    await settle(h.clock);
    expect(await h.runsOf("page"), "nothing before the window closes").toEqual([]);

    await h.clock.advance(1); // 5 min: DiskFull's window closes
    const [disk] = await h.finished("page", 1);
    expect(disk).toMatchObject({
      status: "succeeded",
      createdAt: START + 5 * MINUTE,
      event: { id: latest.id, payload: { alertname: "DiskFull", n: 3 } },
      actions: [{ type: "log", status: "succeeded", output: { message: latest.id } }],
    });

    await h.clock.advance(2 * MINUTE); // 7 min: HighLoad's window closes
    const runs = await h.finished("page", 2);
    const load = runs.find((r) => r.id !== disk!.id);
    expect(load).toMatchObject({
      status: "succeeded",
      createdAt: START + 7 * MINUTE,
      event: { payload: { alertname: "HighLoad", n: 1 } },
    });
  });

  it("opens a new window with the first event after one closed", async () => {
    const h = await startAutomation(throttled("{ once_after: 30s }"));
    const first = alert({ n: 1 });
    expect(h.automation.plan(first, ["alertmanager"])).toEqual([]);
    await h.clock.advance(30_000);
    await h.finished("page", 1);

    const second = alert({ n: 2 });
    expect(h.automation.plan(second, ["alertmanager"])).toEqual([]);
    await h.clock.advance(29_999);
    await settle(h.clock);
    expect(await h.runsOf("page"), "the second window is still open").toHaveLength(1);
    await h.clock.advance(1);
    const runs = await h.finished("page", 2);
    expect(runs.map((r) => r.event.id).sort()).toEqual([first.id, second.id].sort());
  });

  it("runs nothing for a window still open when the automation closes", async () => {
    const h = await startAutomation(throttled("{ once_after: 1m }"));
    h.automation.plan(alert({ n: 1 }), ["alertmanager"]);
    await h.automation.close();
    await h.clock.advance(2 * MINUTE);
    await settle(h.clock);
    expect(await h.runsOf("page")).toEqual([]);
    expect(h.clock.pendingTimers, "the window's timer was cancelled").toBe(0);
  });
});
