import type {
  BackgroundTask,
  BackgroundTaskId,
  BackgroundTaskKind,
  BackgroundTaskStatus,
} from "../../model.js";
import * as rows from "../rows/background-task-rows.js";
import type { Page, PageRequest } from "../store.js";
import { conflictOn } from "./sqlite-driver.js";
import type { SqliteContext } from "./statements.js";

/** Background tasks (recover, replays, statistics): see `Store`. */

export function insertBackgroundTask({ s }: SqliteContext, task: BackgroundTask): void {
  conflictOn(
    () => s.insertBackgroundTask.run(rows.backgroundTaskToRow(task)),
    () => `background task ${task.id} already exists`,
  );
}

export function updateBackgroundTask({ s }: SqliteContext, task: BackgroundTask): void {
  s.updateBackgroundTask.run(rows.backgroundTaskToRow(task));
}

export function getBackgroundTask(
  { s }: SqliteContext,
  id: BackgroundTaskId,
): BackgroundTask | null {
  const row = s.getBackgroundTask.get(id) as rows.BackgroundTaskRow | undefined;
  return row === undefined ? null : rows.rowToBackgroundTask(row);
}

export function listBackgroundTasks(
  { listings }: SqliteContext,
  filter: { status?: BackgroundTaskStatus; task?: BackgroundTaskKind },
  page: PageRequest,
): Page<BackgroundTask> {
  const where: string[] = [];
  const params: string[] = [];
  if (filter.status !== undefined) {
    where.push("status = ?");
    params.push(filter.status);
  }
  if (filter.task !== undefined) {
    where.push("task = ?");
    params.push(filter.task);
  }
  return listings.page({
    select: "SELECT * FROM background_task",
    where,
    params,
    cursorColumn: "id",
    page,
    defaultOrder: "descending",
    map: rows.rowToBackgroundTask,
    cursorOf: (task) => task.id,
  });
}

export function failRunningBackgroundTasks(
  { s }: SqliteContext,
  now: number,
  error: string,
): number {
  const running = (s.runningBackgroundTasks.all() as rows.BackgroundTaskRow[]).map(
    rows.rowToBackgroundTask,
  );
  for (const task of running) {
    s.updateBackgroundTask.run(
      rows.backgroundTaskToRow({
        ...task,
        status: "failed",
        data: { ...task.data, error },
        updatedAt: now,
      }),
    );
  }
  return running.length;
}
