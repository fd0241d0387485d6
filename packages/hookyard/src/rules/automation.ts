import { resolve } from "node:path";
import { Cron } from "croner";
import type { Logger } from "pino";
import type { Clock, Timer } from "../clock.js";
import type { IdGenerator } from "../ids.js";
import { NotFoundError } from "../errors.js";
import type {
  ActionOutcome,
  InboundRequestId,
  RuleEvent,
  RuleRun,
  RuleRunId,
  RuleRunStatus,
} from "../model.js";
import type { Page, PageRequest, Store } from "../store/store.js";
import { runCommand } from "./command.js";
import { inboundEvent, ownEvent } from "./events.js";
import { asText, type ExpressionScope } from "./expressions.js";
import { notifyBody } from "./notify-payloads.js";
import { guardsDecide, RuleIndex } from "./rule-index.js";
import type { RuleEgress } from "./rule-targets.js";
import type { Action, Rule, Rulebook } from "./rulebook.js";
import { NO_RUN_FROM_UPLOADS, refusedRun, type RunPolicy } from "./run-policy.js";

export interface AutomationDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** This process's name on the runs it holds (the delivery engine's owner). */
  owner: string;
  egress: RuleEgress;
  /** Which programs an uploaded rule may start; checked again before each run (default: none). */
  runPolicy?: RunPolicy;
  /** What the rules may hold in memory (tests lower them). */
  limits?: Partial<AutomationLimits>;
  /** Told of each run that ends (succeeded, failed or interrupted), e.g. for metrics. */
  onRunFinished?: (run: RuleRun) => void;
}

export interface AutomationLimits {
  /** A rule's queue holds at most this many runs; the ones past it fail (see #enqueue). */
  waitingRuns: number;
  /** And all queues together at most about this many bytes of events. */
  waitingBytes: number;
  /** Open once_after windows (rule and group) held at once. */
  openWindows: number;
}

const DEFAULT_LIMITS: AutomationLimits = {
  waitingRuns: 1_000,
  waitingBytes: 256 * 1024 * 1024,
  openWindows: 10_000,
};

/** What a dry run says of one rule for one event. */
export interface DryRunRule {
  rule: string;
  file: string;
  line: number;
  matched: boolean;
  /** A condition that threw, or an action whose fields could not be evaluated. */
  error: string | null;
  throttle: string | null;
  /** What each action would do, with its fields evaluated. */
  actions: Array<{ type: string; id: string | null; would: unknown }>;
}

/** About what a run's event holds in memory: its body twice (as text and parsed), and a bit. */
function eventBytes(event: RuleEvent): number {
  return 2 * event.body.length + 1_024;
}

/** Past this many runs taken back at once, the rest wait for the next look. */
const RECOVER_BATCH = 100;
/** A run's lease: the longest its commands may take, plus this. */
const RUN_LEASE_MARGIN_MS = 5 * 60_000;

/**
 * Automate: the rules of the loaded rulebook, applied to each event. `plan` decides (pure and
 * quick: conditions, throttles) which rules run for an event and returns their runs, queued; the
 * caller stores them with the event when it can (an inbound request's transaction), then
 * `start`s them. Each rule has its own queue and concurrency, so a slow command holds up only
 * its own rule. Every run and each action's outcome is stored.
 */
export class Automation {
  readonly #deps: AutomationDeps;
  #book: Rulebook = { rules: [], files: [], secrets: new Map() };
  #byName = new Map<string, Rule>();
  /** Rules by the inbound source key (uid or id) they listen to, indexed by their guards. */
  #inbound = new Map<string, RuleIndex>();
  readonly #queues = new Map<string, RuleQueue>();
  /** About how much memory the events of every waiting run hold (see eventBytes). */
  #waitingBytes = 0;
  /** And those of the open once_after windows. */
  #windowBytes = 0;
  /** once_within: until when each (rule, group) is quiet. */
  readonly #quietUntil = new Map<string, number>();
  /** once_after: the latest event of each (rule, group) whose window is open. */
  readonly #collecting = new Map<string, { rule: Rule; event: RuleEvent; timer: Timer }>();
  /** Each rule's place in the rulebook: runs of one event are planned in this order. */
  #order = new Map<Rule, number>();
  #schedules: Timer[] = [];
  readonly #active = new Set<Promise<void>>();
  #closed = false;

  readonly #limits: AutomationLimits;

  constructor(deps: AutomationDeps) {
    this.#deps = deps;
    this.#limits = { ...DEFAULT_LIMITS, ...deps.limits };
  }

  get rulebook(): Rulebook {
    return this.#book;
  }

  /** True when some rule listens to this inbound source (by any of its keys). */
  listensToInbound(keys: readonly string[]): boolean {
    return keys.some((key) => this.#inbound.has(key));
  }

  /** Makes `book` the rules in force: later events see it; runs already queued finish. */
  load(book: Rulebook): void {
    this.#book = book;
    this.#byName = new Map(book.rules.map((rule) => [rule.name, rule]));
    this.#order = new Map(book.rules.map((rule, i) => [rule, i]));
    // A once_after window stays open while its rule (by name) still throttles once_after; one of
    // a rule that is gone, or no longer throttled so, closes without a run.
    for (const [key, open] of this.#collecting) {
      const rule = this.#byName.get(key.slice(0, key.indexOf("\u0000")));
      if (rule?.throttle?.mode !== "once_after") {
        open.timer.cancel();
        this.#forgetWindow(key);
      }
    }
    const byKey = new Map<string, Rule[]>();
    for (const rule of book.rules) {
      if (!rule.enabled) continue;
      for (const source of rule.sources) {
        if (source.kind !== "inbound") continue;
        const list = byKey.get(source.source) ?? [];
        if (!list.includes(rule)) list.push(rule);
        byKey.set(source.source, list);
      }
    }
    this.#inbound = new Map([...byKey].map(([key, rules]) => [key, new RuleIndex(rules)]));
    for (const timer of this.#schedules) timer.cancel();
    this.#schedules = [];
    if (this.#closed) return;
    for (const rule of book.rules) {
      if (!rule.enabled) continue;
      for (const source of rule.sources) {
        if (source.kind === "schedule") this.#arm(rule, source.cron);
      }
    }
  }

  /**
   * The runs `event` starts, queued (or failed: a condition that threw), not yet stored or
   * started. `keys` name the event's origin: the source's or application's id and uid.
   */
  plan(event: RuleEvent, keys: readonly string[]): RuleRun[] {
    const runs: RuleRun[] = [];
    for (const rule of this.#listening(event, keys)) {
      const scope: ExpressionScope = { event, vars: {}, steps: {} };
      let matched: boolean;
      try {
        matched =
          rule.condition === null ||
          ((rule.decidedByGuards ? guardsDecide(rule.guards, event) : null) ??
            rule.condition(scope));
      } catch (err) {
        const run = this.#newRun(rule, event);
        runs.push({
          ...run,
          status: "failed",
          error: `condition: ${messageOf(err)}`,
          owner: null,
          leaseUntil: null,
          finishedAt: run.createdAt,
        });
        continue;
      }
      if (!matched || !this.#passesThrottle(rule, event, scope)) continue;
      const run = this.#newRun(rule, event);
      // Only set and log: nothing to wait for and nothing done outside, so the run is done here
      // and stored finished with the event (one write instead of three).
      runs.push(rule.actions.every(isLocal) ? this.#runLocally(rule, run, scope) : run);
    }
    return runs;
  }

  /**
   * Whether a rule listens to messages of `type` published to the application `keys` name, so
   * that a publish builds the rule event (a parse of its payload) only when one does.
   */
  listensToMessage(type: string, keys: readonly string[]): boolean {
    return this.#book.rules.some(
      (rule) =>
        rule.enabled &&
        rule.sources.some(
          (source) => source.kind === "outbound" && hearsMessage(source, type, keys),
        ),
    );
  }

  /** Runs stored `queued` by this process: each goes to its rule's queue. */
  start(runs: readonly RuleRun[]): void {
    for (const run of runs) {
      if (run.status === "queued") {
        this.#enqueue(run);
        continue;
      }
      // Done while planned (set/log only): its log lines are written now that it is stored.
      for (const outcome of run.actions) {
        if (outcome.type === "log" && outcome.status === "succeeded") {
          const { message } = outcome.output as { message: string };
          this.#deps.logger.info({ rule: run.rule, run: run.id }, message);
        }
      }
      this.#deps.onRunFinished?.(run);
      if (run.status === "failed") this.#failed(run);
    }
  }

  /** Plans, stores and starts the runs of an event that is already stored (a message, a tick). */
  async dispatch(event: RuleEvent, keys: readonly string[]): Promise<void> {
    const runs = this.plan(event, keys);
    if (runs.length === 0) return;
    await this.#deps.store.insertRuleRuns(runs);
    this.start(runs);
  }

  /** An operational event (`endpoint.disabled`, `rule.failed`) for the rules listening to it. */
  operational(type: string, payload: Record<string, unknown>): void {
    if (this.#closed) return;
    const now = this.#deps.clock.now();
    const event = ownEvent(
      "operational",
      this.#deps.ids.next("rrun"),
      "hookyard",
      type,
      payload,
      now,
    );
    this.dispatch(event, []).catch((err: unknown) =>
      this.#deps.logger.error({ err, type }, "rules: an operational event could not be dispatched"),
    );
  }

  /**
   * Takes over runs whose process is gone (their lease expired; `all`: every open run, for a
   * single-process store at start): a queued run runs now; a run that was running is marked
   * interrupted, since its commands may have half run.
   */
  async recover(opts: { all: boolean }): Promise<number> {
    const { store, clock, owner } = this.#deps;
    let taken = 0;
    for (;;) {
      const now = clock.now();
      const runs = await store.takeExpiredRuleRuns({
        owner,
        now: opts.all ? Number.MAX_SAFE_INTEGER : now,
        leaseUntil: now + RUN_LEASE_MARGIN_MS,
        limit: RECOVER_BATCH,
      });
      for (const run of runs) {
        if (run.status === "queued") {
          this.#enqueue(run);
        } else {
          const interrupted: RuleRun = {
            ...run,
            status: "interrupted",
            error: "the process running it stopped before it finished",
            owner: null,
            leaseUntil: null,
            finishedAt: now,
          };
          await store.updateRuleRun(interrupted);
          this.#deps.onRunFinished?.(interrupted);
        }
      }
      taken += runs.length;
      if (runs.length < RECOVER_BATCH) return taken;
    }
  }

  /** Runs, newest first. */
  listRuns(
    filter: { rule?: string; status?: RuleRunStatus },
    page: PageRequest,
  ): Promise<Page<RuleRun>> {
    return this.#deps.store.listRuleRuns(filter, page);
  }

  async getRun(id: string): Promise<RuleRun> {
    const run = await this.#deps.store.getRuleRun(id as RuleRunId);
    if (run === null) throw new NotFoundError(`Rule run "${id}" not found`);
    return run;
  }

  /**
   * The event a rule saw (or would see) for a request a source received, and the keys naming
   * its source: what a dry run against a captured request evaluates.
   */
  async eventOfRequest(requestId: string): Promise<{ event: RuleEvent; keys: string[] }> {
    const { store } = this.#deps;
    const request = await store.getInboundRequestById(requestId as InboundRequestId);
    if (request === null) throw new NotFoundError(`Request "${requestId}" not found`);
    const source = await store.getSource(request.sourceId);
    const keys = source?.uid == null ? [request.sourceId] : [source.uid, request.sourceId];
    return { event: inboundEvent(request, keys[0]!), keys };
  }

  /** What the rules of `book` would do for `event`: conditions and action fields, no effects. */
  async dryRun(book: Rulebook, event: RuleEvent, keys: readonly string[]): Promise<DryRunRule[]> {
    const out: DryRunRule[] = [];
    for (const rule of book.rules) {
      if (!rule.enabled || !listens(rule, event, keys)) continue;
      const scope: ExpressionScope = { event, vars: {}, steps: {} };
      const result: DryRunRule = {
        rule: rule.name,
        file: rule.file,
        line: rule.line,
        matched: false,
        error: null,
        throttle: rule.throttle === null ? null : describeThrottle(rule),
        actions: [],
      };
      out.push(result);
      try {
        result.matched = rule.condition === null || rule.condition(scope);
      } catch (err) {
        result.error = `condition: ${messageOf(err)}`;
        continue;
      }
      if (!result.matched) continue;
      for (const [index, action] of rule.actions.entries()) {
        try {
          const would = await this.#perform(action, scope, null, index, rule, event);
          result.actions.push({ type: action.type, id: action.id, would });
          if (action.id !== null) scope.steps[action.id] = standIn(action, would);
        } catch (err) {
          result.error = `actions[${index}] (${action.type}): ${messageOf(err)}`;
          break;
        }
      }
    }
    return out;
  }

  /** Stops schedules and throttle timers; waits up to `waitMs` for runs in progress. */
  async close(waitMs = 10_000): Promise<void> {
    this.#closed = true;
    for (const timer of this.#schedules) timer.cancel();
    for (const { timer } of this.#collecting.values()) timer.cancel();
    this.#collecting.clear();
    this.#windowBytes = 0;
    for (const queue of this.#queues.values()) queue.waiting.length = 0;
    this.#waitingBytes = 0;
    if (this.#active.size === 0) return;
    await Promise.race([
      Promise.allSettled([...this.#active]),
      new Promise<void>((resolve) => this.#deps.clock.setTimer(waitMs, resolve)),
    ]);
  }

  #listening(event: RuleEvent, keys: readonly string[]): Rule[] {
    if (event.kind === "inbound") {
      const indexes = keys.flatMap((key) => this.#inbound.get(key) ?? []);
      if (indexes.length === 1) return indexes[0]!.candidates(event);
      const found = new Set<Rule>();
      for (const index of indexes) for (const rule of index.candidates(event)) found.add(rule);
      return [...found].sort((a, b) => this.#order.get(a)! - this.#order.get(b)!);
    }
    return this.#book.rules.filter((rule) => rule.enabled && listens(rule, event, keys));
  }

  #newRun(rule: Rule, event: RuleEvent): RuleRun {
    const now = this.#deps.clock.now();
    return {
      id: this.#deps.ids.next("rrun"),
      rule: rule.name,
      status: "queued",
      event,
      actions: [],
      error: null,
      owner: this.#deps.owner,
      leaseUntil: now + leaseMsOf(rule),
      createdAt: now,
      startedAt: null,
      finishedAt: null,
    };
  }

  #passesThrottle(rule: Rule, event: RuleEvent, scope: ExpressionScope): boolean {
    const throttle = rule.throttle;
    if (throttle === null) return true;
    let group: string;
    try {
      group = JSON.stringify(throttle.groupBy.map((key) => key(scope)));
    } catch {
      group = "[]"; // a group_by that cannot be read (a missing field) throttles with the rest
    }
    const key = `${rule.name}\u0000${group}`;
    const now = this.#deps.clock.now();
    if (throttle.mode === "once_within") {
      if ((this.#quietUntil.get(key) ?? 0) > now) return false;
      this.#quietUntil.set(key, now + throttle.windowMs);
      if (this.#quietUntil.size > 10_000) this.#forgetQuiet(now);
      return true;
    }
    // once_after: the window opens with the first event; the latest event runs when it closes.
    const open = this.#collecting.get(key);
    if (open !== undefined) {
      this.#windowBytes += eventBytes(event) - eventBytes(open.event);
      open.event = event;
      return false;
    }
    // Each open window holds its latest event: past the caps, an event that would open another
    // runs at once (it is not lost, only not collapsed) rather than grow the memory without end.
    if (
      this.#collecting.size >= this.#limits.openWindows ||
      this.#waitingBytes + this.#windowBytes + eventBytes(event) > this.#limits.waitingBytes
    ) {
      this.#deps.logger.warn(
        { rule: rule.name, open: this.#collecting.size },
        "rules: too many once_after windows are open; this event runs without waiting",
      );
      return true;
    }
    const timer = this.#deps.clock.setTimer(throttle.windowMs, () => {
      const closing = this.#collecting.get(key);
      this.#forgetWindow(key);
      if (closing === undefined || this.#closed) return;
      const run = this.#newRun(rule, closing.event);
      this.#deps.store.insertRuleRuns([run]).then(
        () => this.start([run]),
        (err: unknown) =>
          this.#deps.logger.error(
            { err, rule: rule.name },
            "rules: a throttled run could not be stored",
          ),
      );
    });
    this.#collecting.set(key, { rule, event, timer });
    this.#windowBytes += eventBytes(event);
    return false;
  }

  #forgetWindow(key: string): void {
    const open = this.#collecting.get(key);
    if (open === undefined) return;
    this.#collecting.delete(key);
    this.#windowBytes -= eventBytes(open.event);
  }

  #forgetQuiet(now: number): void {
    for (const [key, until] of this.#quietUntil) if (until <= now) this.#quietUntil.delete(key);
  }

  #arm(rule: Rule, cron: string): void {
    const { clock } = this.#deps;
    const next = new Cron(cron, { paused: true, timezone: "UTC" }).nextRun(new Date(clock.now()));
    if (next === null) return;
    const timer = clock.setTimer(next.getTime() - clock.now(), () => {
      if (this.#closed || this.#byName.get(rule.name) !== rule) return;
      const at = clock.now();
      const event = ownEvent(
        "schedule",
        this.#deps.ids.next("rrun"),
        cron,
        "schedule",
        { schedule: cron, firedAt: new Date(at).toISOString() },
        at,
      );
      const runs =
        rule.condition === null || safeCondition(rule, event) ? [this.#newRun(rule, event)] : [];
      this.#deps.store.insertRuleRuns(runs).then(
        () => this.start(runs),
        (err: unknown) =>
          this.#deps.logger.error(
            { err, rule: rule.name },
            "rules: a scheduled run could not be stored",
          ),
      );
      this.#schedules = this.#schedules.filter((t) => t !== timer);
      this.#arm(rule, cron);
    });
    this.#schedules.push(timer);
  }

  #track(work: Promise<void>): void {
    this.#active.add(work);
    void work.finally(() => this.#active.delete(work));
  }

  #enqueue(run: RuleRun): void {
    if (this.#closed) return; // stays queued in the store; the next start takes it
    const rule = this.#byName.get(run.rule);
    const concurrency = rule?.concurrency ?? 1;
    let queue = this.#queues.get(run.rule);
    if (queue === undefined) {
      queue = { active: 0, waiting: [] };
      this.#queues.set(run.rule, queue);
    }
    // Waiting runs hold their events (a request's body) in memory: a rule whose commands cannot
    // keep up fails its newest runs, recorded and raised as rule.failed, instead of the server.
    const bytes = eventBytes(run.event);
    const { waitingRuns, waitingBytes } = this.#limits;
    const full =
      queue.waiting.length >= waitingRuns
        ? `${waitingRuns} runs of this rule are waiting`
        : this.#waitingBytes + bytes > waitingBytes
          ? `the runs waiting in all rules' queues hold ${waitingBytes} bytes of events`
          : null;
    if (full !== null) {
      this.#refuse(run, `not started: ${full} (concurrency ${concurrency})`);
      return;
    }
    this.#waitingBytes += bytes;
    queue.waiting.push(run);
    this.#pump(run.rule, queue, concurrency);
  }

  /** Fails a run that was stored queued but cannot be held (see #enqueue, once_after). */
  #refuse(run: RuleRun, error: string): void {
    const now = this.#deps.clock.now();
    const failed: RuleRun = {
      ...run,
      status: "failed",
      error,
      owner: null,
      leaseUntil: null,
      finishedAt: now,
    };
    this.#deps.onRunFinished?.(failed);
    this.#deps.store.updateRuleRun(failed).then(
      () => this.#failed(failed),
      (err: unknown) =>
        this.#deps.logger.error(
          { err, rule: run.rule, run: run.id },
          "rules: a run could not be recorded",
        ),
    );
  }

  #pump(name: string, queue: RuleQueue, concurrency: number): void {
    while (queue.active < concurrency && queue.waiting.length > 0) {
      const run = queue.waiting.shift()!;
      this.#waitingBytes -= eventBytes(run.event);
      queue.active++;
      const done = this.#execute(run)
        .catch((err: unknown) =>
          this.#deps.logger.error(
            { err, rule: name, run: run.id },
            "rules: a run could not be recorded",
          ),
        )
        .finally(() => {
          queue.active--;
          this.#active.delete(done);
          this.#pump(name, queue, this.#byName.get(name)?.concurrency ?? concurrency);
        });
      this.#active.add(done);
    }
  }

  async #execute(queued: RuleRun): Promise<void> {
    const { store, clock, logger } = this.#deps;
    const rule = this.#byName.get(queued.rule);
    const startedAt = clock.now();
    if (rule === undefined) {
      const failed: RuleRun = {
        ...queued,
        status: "failed",
        error: "the rule is no longer in the rulebook",
        owner: null,
        leaseUntil: null,
        startedAt,
        finishedAt: startedAt,
      };
      await store.updateRuleRun(failed);
      this.#deps.onRunFinished?.(failed);
      return;
    }
    let run: RuleRun = {
      ...queued,
      status: "running",
      startedAt,
      leaseUntil: startedAt + leaseMsOf(rule),
    };
    // "running" is written before actions with effects outside (a command, a delivery), so a run
    // cut short by a crash is marked interrupted, not done twice. A run of only set/log/transform
    // can simply run again; it skips that write.
    if (rule.actions.some((action) => EFFECTFUL.has(action.type))) await store.updateRuleRun(run);
    const scope: ExpressionScope = { event: run.event, vars: {}, steps: {} };
    const outcomes: ActionOutcome[] = [];
    let error: string | null = null;
    for (const [index, action] of rule.actions.entries()) {
      const began = clock.now();
      let outcome: ActionOutcome;
      try {
        const output = await this.#perform(action, scope, run, index, rule, run.event);
        outcome = outcomeOf(action, index, "succeeded", output, null, began, clock.now());
        if (action.id !== null) scope.steps[action.id] = output;
      } catch (err) {
        const output = err instanceof ActionFailed ? err.output : null;
        outcome = outcomeOf(action, index, "failed", output, messageOf(err), began, clock.now());
        if (action.id !== null) scope.steps[action.id] = output;
        error = `actions[${index}] (${action.type}): ${messageOf(err)}`;
      }
      outcomes.push(outcome);
      if (error !== null) break;
    }
    run = {
      ...run,
      status: error === null ? "succeeded" : "failed",
      actions: outcomes,
      error,
      owner: null,
      leaseUntil: null,
      finishedAt: clock.now(),
    };
    // The rule's queue moves on while the outcome is written: its concurrency bounds actions,
    // not bookkeeping. close() still waits for the write.
    this.#track(
      store
        .updateRuleRun(run)
        .catch((err: unknown) =>
          logger.error(
            { err, rule: rule.name, run: run.id },
            "rules: a run's outcome could not be recorded",
          ),
        ),
    );
    this.#deps.onRunFinished?.(run);
    if (error !== null) this.#failed(run);
  }

  /** A failed run is logged and raises `rule.failed` (not for a run of such an event: no loop). */
  #failed(run: RuleRun): void {
    this.#deps.logger.warn({ rule: run.rule, run: run.id, error: run.error }, "rule run failed");
    if (run.event.type !== "rule.failed") {
      this.operational("rule.failed", { rule: run.rule, runId: run.id, error: run.error });
    }
  }

  /** Runs a rule of only `set` and `log` actions at once (see `plan`). */
  #runLocally(rule: Rule, queued: RuleRun, scope: ExpressionScope): RuleRun {
    const { clock } = this.#deps;
    const now = clock.now();
    const outcomes: ActionOutcome[] = [];
    let error: string | null = null;
    for (const [index, action] of rule.actions.entries()) {
      let output: unknown = null;
      try {
        // A log line is written when the run starts (see start): a duplicate request plans
        // runs that are never stored, and must not leave log lines either.
        if (action.type === "set") output = setVars(action, scope);
        else if (action.type === "log") output = { message: asText(action.message(scope)) };
        outcomes.push(outcomeOf(action, index, "succeeded", output, null, now, now));
      } catch (err) {
        outcomes.push(outcomeOf(action, index, "failed", null, messageOf(err), now, now));
        error = `actions[${index}] (${action.type}): ${messageOf(err)}`;
        break;
      }
      if (action.id !== null) scope.steps[action.id] = output;
    }
    return {
      ...queued,
      status: error === null ? "succeeded" : "failed",
      actions: outcomes,
      error,
      owner: null,
      leaseUntil: null,
      startedAt: now,
      finishedAt: now,
    };
  }

  /**
   * Does one action (or, with no `run`, says what it would do): its result is the action's
   * output. A failure is an exception; ActionFailed carries an output too (a command's).
   */
  async #perform(
    action: Action,
    scope: ExpressionScope,
    run: RuleRun | null,
    index: number,
    rule: Rule,
    original: RuleEvent,
  ): Promise<unknown> {
    const { egress, clock, logger } = this.#deps;
    const text = (compiled: (s: ExpressionScope) => unknown) => asText(compiled(scope));
    const texts = (map: Record<string, (s: ExpressionScope) => unknown>) =>
      Object.fromEntries(Object.entries(map).map(([k, v]) => [k, text(v)]));
    const eventId = run === null ? "" : `${run.id}.${index}`;
    switch (action.type) {
      case "run": {
        // Checked at upload and at load; once more here, so no path around the policy starts
        // a program (a rulebook loaded some other way, a policy narrowed since).
        const refused =
          rule.origin === "file"
            ? null
            : refusedRun(action, this.#deps.runPolicy ?? NO_RUN_FROM_UPLOADS);
        if (refused !== null) throw new Error(`refused: ${refused.field}: ${refused.message}`);
        const spec = {
          argv: action.argv.map(text),
          cwd: resolve(rule.dir ?? ".", action.cwd === null ? "." : text(action.cwd)),
          env: texts(action.env),
          timeoutMs: action.timeoutMs,
          maxOutputBytes: action.maxOutputBytes,
        };
        if (run === null) return spec;
        const result = await runCommand(spec, clock);
        if (result.timedOut) {
          throw new ActionFailed(`timed out after ${action.timeoutMs} ms`, result);
        }
        if (result.exitCode !== 0) {
          const why =
            result.exitCode === null
              ? result.signal !== null
                ? `ended by ${result.signal}`
                : result.stderr
              : `exit code ${result.exitCode}`;
          throw new ActionFailed(why, result);
        }
        return result;
      }
      case "forward": {
        const url = text(action.url);
        const headers = texts(action.headers);
        const event = scope.event as RuleEvent;
        const body =
          action.body !== null
            ? { json: action.body(scope) }
            : // Untransformed, a received request goes on as it came: its bytes and headers.
              event.kind === "inbound" && event.payload === original.payload
              ? { inboundRequestId: event.id as `req_${string}` }
              : { json: event.payload };
        if (run === null)
          return { url, headers, body: "json" in body ? body.json : "(the request as received)" };
        return egress.send({
          url,
          headers,
          body,
          eventType: event.type ?? "rule.forward",
          eventId,
        });
      }
      case "notify": {
        const fields = Object.fromEntries(
          Object.entries(action.fields).map(([k, v]) => [k, v(scope)]),
        );
        const { notifier } = action;
        const routingKey = notifier.routingKey === null ? null : text(notifier.routingKey);
        const url = text(notifier.url);
        const json = notifyBody(notifier.type, fields, routingKey);
        if (run === null) {
          return { to: notifier.type, url, body: redactKey(json) };
        }
        return egress.send({
          url,
          headers: {},
          body: { json },
          eventType: `rule.notify.${notifier.type}`,
          eventId,
        });
      }
      case "publish": {
        const channels = action.channels === null ? null : action.channels(scope);
        const req = {
          app: text(action.app),
          eventType: text(action.eventType),
          payload: action.payload(scope),
          channels: Array.isArray(channels) ? channels.map((c) => asText(c)) : null,
          eventId,
        };
        if (run === null)
          return {
            app: req.app,
            eventType: req.eventType,
            payload: req.payload,
            channels: req.channels,
          };
        if (typeof req.payload !== "object" || req.payload === null || Array.isArray(req.payload)) {
          throw new Error("the payload must be an object");
        }
        return egress.publish(req);
      }
      case "transform": {
        const payload = await action.expression(scope);
        scope.event = { ...(scope.event as RuleEvent), payload: payload ?? null };
        return payload ?? null;
      }
      case "set":
        return setVars(action, scope);
      case "log": {
        const message = text(action.message);
        if (run !== null) logger.info({ rule: rule.name, run: run.id }, message);
        return { message };
      }
    }
  }
}

interface RuleQueue {
  active: number;
  waiting: RuleRun[];
}

/** An action that failed but produced something worth keeping (a command's output). */
class ActionFailed extends Error {
  readonly output: unknown;

  constructor(message: string, output: unknown) {
    super(message);
    this.output = output;
  }
}

/** A `set`: its values, evaluated and added to `vars`. */
function setVars(
  action: Extract<Action, { type: "set" }>,
  scope: ExpressionScope,
): Record<string, unknown> {
  const values = Object.fromEntries(Object.entries(action.vars).map(([k, v]) => [k, v(scope)]));
  Object.assign(scope.vars, values);
  return values;
}

function isLocal(action: Action): boolean {
  return action.type === "set" || action.type === "log";
}

/** Actions whose effects reach outside Hookyard's own records. */
const EFFECTFUL = new Set<Action["type"]>(["run", "forward", "notify", "publish"]);

function listens(rule: Rule, event: RuleEvent, keys: readonly string[]): boolean {
  return rule.sources.some((source) => {
    switch (source.kind) {
      case "inbound":
        return event.kind === "inbound" && keys.includes(source.source);
      case "outbound":
        return event.kind === "outbound" && hearsMessage(source, event.type, keys);
      case "schedule":
        return event.kind === "schedule" && event.source === source.cron;
      case "operational":
        return event.kind === "operational" && event.type === source.event;
    }
  });
}

function hearsMessage(
  source: Extract<Rule["sources"][number], { kind: "outbound" }>,
  type: string | null,
  keys: readonly string[],
): boolean {
  return (source.app === null || keys.includes(source.app)) && typeMatches(source.eventType, type);
}

function typeMatches(pattern: string, type: string | null): boolean {
  if (type === null) return pattern === "*";
  if (pattern.endsWith("*")) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

function safeCondition(rule: Rule, event: RuleEvent): boolean {
  try {
    return rule.condition === null || rule.condition({ event, vars: {}, steps: {} });
  } catch {
    return false;
  }
}

function leaseMsOf(rule: Rule): number {
  let total = RUN_LEASE_MARGIN_MS;
  for (const action of rule.actions) if (action.type === "run") total += action.timeoutMs + 2_000;
  return total;
}

function outcomeOf(
  action: Action,
  index: number,
  status: "succeeded" | "failed",
  output: unknown,
  error: string | null,
  began: number,
  ended: number,
): ActionOutcome {
  return {
    index,
    id: action.id,
    type: action.type,
    status,
    output: output ?? null,
    error,
    startedAt: began,
    durationMs: ended - began,
  };
}

/**
 * What a later action of a dry run sees of an earlier one: a command's result has the shape of
 * a real one (placeholder output, exit 0), so templates such as `{{ steps.deploy.stdout }}` can
 * be shown; other actions' results are what they would send.
 */
function standIn(action: Action, would: unknown): unknown {
  if (action.type !== "run") return would;
  return {
    ...(would as object),
    exitCode: 0,
    signal: null,
    timedOut: false,
    stdout: "(the command's output)",
    stderr: "",
    truncated: false,
    durationMs: 0,
  };
}

function describeThrottle(rule: Rule): string {
  const t = rule.throttle!;
  return `${t.mode} ${t.windowMs} ms`;
}

/** A dry run shows a PagerDuty body without its routing key. */
function redactKey(json: Record<string, unknown>): Record<string, unknown> {
  return "routing_key" in json ? { ...json, routing_key: "(hidden)" } : json;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0]! : String(err);
}
