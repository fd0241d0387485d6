import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import { PAGE_QUERY } from "../pagination.js";
import {
  AnyObject,
  CHANNEL_PATTERN,
  DateTime,
  ID_PATTERN,
  INPUT_OBJECT,
  ListResponse,
  Nullable,
  StringEnum,
  TAG_PATTERN,
} from "./common.js";

const TASK_KINDS = [
  "endpoint.recover",
  "endpoint.replay",
  "endpoint.bulk-replay",
  "application.stats",
  "event-type.aggregate",
] as const;
const TASK_STATUSES = ["running", "finished", "failed"] as const;

const TASK_FIELDS = {
  id: Type.String({ description: "The task's id (`qtask_…`): poll `GET /background-task/{id}`." }),
  status: StringEnum(TASK_STATUSES),
  task: StringEnum(TASK_KINDS),
  updatedAt: Type.String({ format: "date-time" }),
};

/** What an API call that starts a task answers (Svix's RecoverOut, ReplayOut, …). */
export const TaskStartedOut = Type.Object(TASK_FIELDS, { title: "BackgroundTaskStartedOut" });

export const BackgroundTaskOut = Type.Object(
  {
    ...TASK_FIELDS,
    data: AnyObject({
      description:
        "The result: `{messagesSent, messagesSkipped}` for recover and replays (skipped = payload expunged), `{appStats: [{appId, appUid, messageDestinations}]}` for application.stats, `{event_types: [{appId, explicitlySubscribedEventTypes, hasCatchAllEndpoint}]}` for event-type.aggregate, `{error}` when failed; `{}` while running.",
    }),
  },
  { title: "BackgroundTaskOut" },
);
export const ListBackgroundTaskOut = ListResponse(
  BackgroundTaskOut,
  "ListResponse_BackgroundTaskOut_",
);

export const BackgroundTaskListQuery = Type.Object({
  ...PAGE_QUERY,
  status: Type.Optional(StringEnum(TASK_STATUSES, { description: "Only tasks in this status." })),
  task: Type.Optional(StringEnum(TASK_KINDS, { description: "Only tasks of this kind." })),
});
export type BackgroundTaskListQueryValue = Static<typeof BackgroundTaskListQuery>;

export const BackgroundTaskParams = Type.Object({
  task_id: Type.String({ minLength: 1, maxLength: 256, description: "The task's id (`qtask_…`)." }),
});
export type BackgroundTaskParamsValue = Static<typeof BackgroundTaskParams>;

const WINDOW = {
  since: DateTime({ description: "From this time (messages created at or after it)." }),
  until: Type.Optional(
    Nullable(DateTime({ description: "…until before this time (default now)." })),
  ),
};

export const ReplayIn = Type.Object(WINDOW, { ...INPUT_OBJECT, title: "ReplayIn" });
export type ReplayInBody = Static<typeof ReplayIn>;

export const BulkReplayIn = Type.Object(
  {
    ...WINDOW,
    eventTypes: Type.Optional(
      Nullable(Type.Array(Type.String({ pattern: ID_PATTERN, maxLength: 256 }), { maxItems: 100 })),
    ),
    channel: Type.Optional(Nullable(Type.String({ pattern: CHANNEL_PATTERN, maxLength: 128 }))),
    tag: Type.Optional(Nullable(Type.String({ pattern: TAG_PATTERN, maxLength: 128 }))),
    status: Type.Optional(
      Nullable(
        Type.Integer({
          enum: [0, 1, 2, 3, 4],
          description:
            "Only messages whose delivery is in this Svix status (0 success, 2 fail, …).",
        }),
      ),
    ),
    statusCodeClass: Type.Optional(
      Nullable(
        Type.Integer({
          enum: [0, 100, 200, 300, 400, 500],
          description: "Only messages with an attempt whose response status is in this class.",
        }),
      ),
    ),
  },
  { ...INPUT_OBJECT, title: "BulkReplayIn" },
);
export type BulkReplayInBody = Static<typeof BulkReplayIn>;

export const AppUsageStatsIn = Type.Object(
  {
    since: DateTime({ description: "Count deliveries created at or after this time…" }),
    until: DateTime({ description: "…and before this time." }),
    appIds: Type.Optional(
      Nullable(
        Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
          maxItems: 1000,
          description: "Applications (ids or uids); null = every application.",
        }),
      ),
    ),
  },
  { ...INPUT_OBJECT, title: "AppUsageStatsIn" },
);
export type AppUsageStatsInBody = Static<typeof AppUsageStatsIn>;

export const AppUsageStatsOut = Type.Object(
  {
    ...TASK_FIELDS,
    unresolvedAppIds: Type.Array(Type.String(), {
      description: "The given ids or uids that name no application (left out of the result).",
    }),
  },
  { title: "AppUsageStatsOut" },
);
