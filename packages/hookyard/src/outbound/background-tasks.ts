import type { Clock, Timer } from "../clock.js";
import { HookyardError, NotFoundError } from "../errors.js";
import type { IdGenerator } from "../ids.js";
import type {
  BackgroundTask,
  BackgroundTaskId,
  BackgroundTaskKind,
  BackgroundTaskStatus,
} from "../model.js";
import type { Page, PageRequest, Store } from "../store/store.js";

/** The slice of a logger this service needs. */
export interface TaskLogger {
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * Svix's background tasks: an API call that may take long (recover an endpoint, replay what it
 * missed, aggregate statistics) answers at once with a `running` task; the work goes on here and
 * its result is written to the task (`finished` with its data, or `failed` with the error), which
 * the caller polls. A task is stored before its work starts, so a poll never misses it.
 */
export class BackgroundTasks {
  readonly #deps: { store: Store; clock: Clock; ids: IdGenerator; log: TaskLogger };
  readonly #running = new Set<Promise<void>>();

  constructor(deps: { store: Store; clock: Clock; ids: IdGenerator; log: TaskLogger }) {
    this.#deps = deps;
  }

  /** Stores a running task of `kind` (data `{}`), then runs `work` without waiting for it. */
  async start(
    kind: BackgroundTaskKind,
    work: () => Promise<Record<string, unknown>>,
  ): Promise<BackgroundTask> {
    const { store, clock, ids } = this.#deps;
    const now = clock.now();
    const task: BackgroundTask = {
      id: ids.next("qtask"),
      task: kind,
      status: "running",
      data: {},
      createdAt: now,
      updatedAt: now,
    };
    await store.insertBackgroundTask(task);
    const run = this.#run(task, work);
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
    return task;
  }

  async get(id: string): Promise<BackgroundTask> {
    const task = id.startsWith("qtask_")
      ? await this.#deps.store.getBackgroundTask(id as BackgroundTaskId)
      : null;
    if (task === null) throw new NotFoundError(`Background task "${id}" not found`);
    return task;
  }

  list(
    filter: { status?: BackgroundTaskStatus; task?: BackgroundTaskKind },
    page: PageRequest,
  ): Promise<Page<BackgroundTask>> {
    return this.#deps.store.listBackgroundTasks(filter, page);
  }

  /**
   * Resolves once every task started so far has written its outcome, or after `timeoutMs`
   * (shutdown: a long replay must not hold the process; its task then stays running, and a
   * single-process store marks it failed at the next start).
   */
  async whenIdle(timeoutMs: number): Promise<void> {
    let timer: Timer | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.#deps.clock.setTimer(timeoutMs, resolve);
    });
    const settled = (async () => {
      while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    })();
    await Promise.race([settled, timedOut]);
    timer?.cancel();
  }

  async #run(task: BackgroundTask, work: () => Promise<Record<string, unknown>>): Promise<void> {
    const { store, clock, log } = this.#deps;
    let outcome: BackgroundTask;
    try {
      const data = await work();
      outcome = { ...task, status: "finished", data, updatedAt: clock.now() };
    } catch (err) {
      log.error({ err, taskId: task.id, task: task.task }, "background task failed");
      // Anyone with the key reads the task: only a refusal's own message, nothing internal.
      const error =
        err instanceof HookyardError ? err.message : "the task failed (see the server's log)";
      outcome = {
        ...task,
        status: "failed",
        data: { ...task.data, error },
        updatedAt: clock.now(),
      };
    }
    try {
      await store.updateBackgroundTask(outcome);
    } catch (err) {
      // The database is away: the task stays "running" in it; its work is done (or failed).
      log.error({ err, taskId: task.id }, "background task outcome could not be stored");
    }
  }
}
