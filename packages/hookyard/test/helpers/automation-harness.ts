import { onTestFinished, vi } from "vitest";
import { TimeSortableIds } from "../../src/ids.js";
import type { RuleRun } from "../../src/model.js";
import { createLogger } from "../../src/observability/logger.js";
import { Automation, type AutomationLimits } from "../../src/rules/automation.js";
import type { RuleEgress } from "../../src/rules/rule-targets.js";
import { parseRulebookFiles, type Rulebook } from "../../src/rules/rulebook.js";
import type { Store } from "../../src/store/store.js";
import { FakeClock } from "./fake-clock.js";
import { openTempSqliteStore } from "./temp-sqlite.js";

/**
 * An Automation on real parts: a SQLite store in a temp file and the fake clock (which waits for
 * the store between timers). Only the egress records instead of sending: its real implementation
 * (MessageEgress) is covered end to end by test/integration/rules.test.ts.
 */
export interface AutomationHarness {
  automation: Automation;
  clock: FakeClock;
  store: Store;
  egress: RecordingEgress;
  /** Every run of `rule`, oldest first. */
  runsOf(rule: string): Promise<RuleRun[]>;
  /** Waits until `rule` has `count` finished runs (succeeded, failed, interrupted). */
  finished(rule: string, count: number): Promise<RuleRun[]>;
}

export class RecordingEgress implements RuleEgress {
  readonly published: Array<Parameters<RuleEgress["publish"]>[0]> = [];
  readonly sent: Array<Parameters<RuleEgress["send"]>[0]> = [];

  publish(req: Parameters<RuleEgress["publish"]>[0]): Promise<{ messageId: string }> {
    this.published.push(req);
    return Promise.resolve({ messageId: `msg_published_${this.published.length}` });
  }

  send(req: Parameters<RuleEgress["send"]>[0]): Promise<{ messageId: string }> {
    this.sent.push(req);
    return Promise.resolve({ messageId: `msg_sent_${this.sent.length}` });
  }
}

/** A rulebook from one YAML text (throws RulebookError, with every problem, when it is wrong). */
export function rulebook(text: string, env: Record<string, string> = {}): Rulebook {
  return parseRulebookFiles([{ name: "rules.yaml", text }], env);
}

export async function startAutomation(
  book: Rulebook,
  opts: { limits?: Partial<AutomationLimits>; egress?: RecordingEgress } = {},
): Promise<AutomationHarness> {
  const clock = new FakeClock(Date.UTC(2025, 0, 1));
  const store = await openTempSqliteStore();
  clock.settleWith(() => store.whenIdle());
  const egress = opts.egress ?? new RecordingEgress();
  const automation = new Automation({
    ...(opts.limits !== undefined && { limits: opts.limits }),
    store,
    clock,
    ids: new TimeSortableIds({ now: () => clock.now() }),
    logger: createLogger({ level: "silent" }),
    owner: "test-process",
    egress,
  });
  // Registered after the store's cleanup, so it runs first (onTestFinished runs in reverse).
  onTestFinished(() => automation.close());
  automation.load(book);
  const runsOf = async (rule: string): Promise<RuleRun[]> => {
    const page = await store.listRuleRuns(
      { rule },
      { limit: 250, iterator: null, order: "ascending" },
    );
    return page.data;
  };
  const finished = async (rule: string, count: number): Promise<RuleRun[]> => {
    let last: RuleRun[] = [];
    await vi.waitFor(
      async () => {
        last = await runsOf(rule);
        const done = last.filter((r) => r.status !== "queued" && r.status !== "running");
        if (done.length !== count) {
          throw new Error(
            `waiting for ${count} finished run(s) of ${rule}; last saw ${JSON.stringify(last.map((r) => r.status))}`,
          );
        }
      },
      { timeout: 5_000, interval: 10 },
    );
    return last;
  };
  return { automation, clock, store, egress, runsOf, finished };
}

/** Lets everything already started settle: promise callbacks, store writes, immediates. */
export async function settle(clock: FakeClock): Promise<void> {
  for (let i = 0; i < 5; i++) await clock.advance(0);
}
