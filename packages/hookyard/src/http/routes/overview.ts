import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { ActivitySeries, ActivityWindow } from "../../outbound/activity.js";
import { ERROR_RESPONSES } from "../schemas/common.js";
import { iso } from "../serializers.js";

const Count = Type.Integer({ minimum: 0 });

const ActivityOut = Type.Object(
  {
    window: Type.Union([Type.Literal("1h"), Type.Literal("24h")]),
    since: Type.String({ format: "date-time" }),
    bucketSeconds: Type.Integer(),
    buckets: Type.Array(
      Type.Object({
        start: Type.String({ format: "date-time" }),
        messages: Count,
        attemptsSucceeded: Count,
        attemptsFailed: Count,
        received: Count,
        rejected: Count,
        ruleRunsFailed: Count,
      }),
    ),
    bySource: Type.Array(
      Type.Object({
        sourceId: Type.String(),
        name: Type.Union([Type.Null(), Type.String()]),
        accepted: Count,
        rejected: Count,
        duplicate: Count,
      }),
    ),
    backlog: Type.Integer({ description: "Deliveries waiting to be sent (pending or retrying)." }),
    failingCount: Type.Integer({ description: "Endpoints failing now." }),
    failingEndpoints: Type.Array(
      // The 10 failing longest.
      Type.Object({
        appId: Type.String(),
        endpointId: Type.String(),
        url: Type.String(),
        failingSince: Type.String({ format: "date-time" }),
      }),
    ),
  },
  { title: "ActivityOut" },
);

/** The dashboard overview's numbers (Hookyard extension). */
export function registerOverviewRoutes(
  app: FastifyInstance,
  activity: (window: ActivityWindow) => Promise<ActivitySeries>,
): void {
  app.get<{ Querystring: { window?: ActivityWindow } }>(
    "/stats/activity",
    {
      schema: {
        tags: ["Statistics"],
        summary: "Activity: messages, attempts, received requests and rule runs over time",
        description:
          "Hookyard extension, what the dashboard's overview charts: for the last hour by minute (`window=1h`, the default) or the last day by quarter hour (`24h`), messages published, attempts that succeeded and failed, requests received and rejected, rule runs that failed; received requests per source over the window; the deliveries waiting now (backlog) and the endpoints failing now.",
        querystring: Type.Object({
          window: Type.Optional(Type.Union([Type.Literal("1h"), Type.Literal("24h")])),
        }),
        response: { 200: ActivityOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const series = await activity(request.query.window ?? "1h");
      return {
        window: series.window,
        since: iso(series.since),
        bucketSeconds: series.bucketMs / 1000,
        buckets: series.buckets.map((b) => ({ ...b, start: iso(b.start) })),
        bySource: series.bySource,
        backlog: series.backlog,
        failingCount: series.failingCount,
        failingEndpoints: series.failingEndpoints.map((e) => ({
          ...e,
          failingSince: iso(e.failingSince),
        })),
      };
    },
  );
}
