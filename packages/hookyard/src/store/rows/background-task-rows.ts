import type {
  BackgroundTask,
  BackgroundTaskId,
  BackgroundTaskKind,
  BackgroundTaskStatus,
} from "../../model.js";
import type { Row } from "./config-rows.js";

/** Background tasks ⇄ rows (both adapters). */
export interface BackgroundTaskRow extends Row {
  id: string;
  task: string;
  status: string;
  data: string;
  created_at: number;
  updated_at: number;
}

export function backgroundTaskToRow(task: BackgroundTask): BackgroundTaskRow {
  return {
    id: task.id,
    task: task.task,
    status: task.status,
    data: JSON.stringify(task.data),
    created_at: task.createdAt,
    updated_at: task.updatedAt,
  };
}

export function rowToBackgroundTask(row: BackgroundTaskRow): BackgroundTask {
  return {
    id: row.id as BackgroundTaskId,
    task: row.task as BackgroundTaskKind,
    status: row.status as BackgroundTaskStatus,
    data: JSON.parse(row.data) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
