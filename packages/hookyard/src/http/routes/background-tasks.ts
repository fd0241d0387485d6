import type { FastifyInstance } from "fastify";
import type { BackgroundTasks } from "../../outbound/background-tasks.js";
import type { Statistics } from "../../outbound/statistics.js";
import { mapPage, toPageRequest } from "../pagination.js";
import {
  AppUsageStatsIn,
  AppUsageStatsOut,
  BackgroundTaskListQuery,
  BackgroundTaskOut,
  BackgroundTaskParams,
  ListBackgroundTaskOut,
  TaskStartedOut,
} from "../schemas/background-task.js";
import type {
  AppUsageStatsInBody,
  BackgroundTaskListQueryValue,
  BackgroundTaskParamsValue,
} from "../schemas/background-task.js";
import { ERROR_RESPONSES } from "../schemas/common.js";
import { epochMsOf } from "../schema-validation.js";
import { backgroundTaskOut, taskStartedOut } from "../serializers.js";

/** Svix's background tasks (polled results of recover, replays, statistics) and statistics. */
export function registerBackgroundTaskRoutes(
  app: FastifyInstance,
  deps: { tasks: BackgroundTasks; statistics: Statistics },
): void {
  const { tasks, statistics } = deps;

  app.get<{ Querystring: BackgroundTaskListQueryValue }>(
    "/background-task",
    {
      schema: {
        tags: ["Background Task"],
        summary: "List background tasks",
        description: "Newest first; filter by `status` and `task`.",
        querystring: BackgroundTaskListQuery,
        response: { 200: ListBackgroundTaskOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { status, task } = request.query;
      const filter = {
        ...(status !== undefined && { status }),
        ...(task !== undefined && { task }),
      };
      const page = await tasks.list(filter, toPageRequest(request.query));
      return mapPage(page, backgroundTaskOut);
    },
  );

  app.get<{ Params: BackgroundTaskParamsValue }>(
    "/background-task/:task_id",
    {
      schema: {
        tags: ["Background Task"],
        summary: "Get a background task",
        description: "`status` is running until the work is done; then `data` holds its result.",
        params: BackgroundTaskParams,
        response: { 200: BackgroundTaskOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => backgroundTaskOut(await tasks.get(request.params.task_id)),
  );

  app.post<{ Body: AppUsageStatsInBody }>(
    "/stats/usage/app",
    {
      schema: {
        tags: ["Statistics"],
        summary: "Count each application's message destinations",
        description:
          "A background task counting the deliveries (message × endpoint) created in [since, until) per application; its data is `{appStats: [{appId, appUid, messageDestinations}]}`. `unresolvedAppIds` lists given ids that name no application; 422 when none does.",
        body: AppUsageStatsIn,
        response: { 202: AppUsageStatsOut, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { since, until, appIds } = request.body;
      const started = await statistics.aggregateAppStats({
        since: epochMsOf(since),
        until: epochMsOf(until),
        appIds: appIds ?? null,
      });
      reply.code(202);
      return { ...taskStartedOut(started.task), unresolvedAppIds: started.unresolvedAppIds };
    },
  );

  app.put(
    "/stats/usage/event-types",
    {
      schema: {
        tags: ["Statistics"],
        summary: "Aggregate the event types each application subscribes to",
        description:
          "A background task; its data is `{event_types: [{appId, explicitlySubscribedEventTypes, hasCatchAllEndpoint}]}` (an endpoint without an event-type filter takes all). No body.",
        response: { 202: TaskStartedOut, ...ERROR_RESPONSES },
      },
    },
    async (_request, reply) => {
      const task = await statistics.aggregateEventTypes();
      reply.code(202);
      return taskStartedOut(task);
    },
  );
}
