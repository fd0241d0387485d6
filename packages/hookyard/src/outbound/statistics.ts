import { ValidationError } from "../errors.js";
import type { AppId, Application, BackgroundTask } from "../model.js";
import type { Store } from "../store/store.js";
import type { BackgroundTasks } from "./background-tasks.js";

const PAGE = 250;

/** What `statistics.aggregateAppStats` starts: the task and the ids that named no application. */
export interface AppStatsTask {
  task: BackgroundTask;
  unresolvedAppIds: string[];
}

/**
 * Svix's usage statistics, as background tasks. `application.stats` counts each application's
 * message destinations (deliveries) created in a window; `event-type.aggregate` says, per
 * application, which event types its endpoints subscribe to by name and whether one takes all.
 */
export class Statistics {
  readonly #deps: { store: Store; tasks: BackgroundTasks };

  constructor(deps: { store: Store; tasks: BackgroundTasks }) {
    this.#deps = deps;
  }

  /**
   * @param appIds ids or uids; null = every application.
   * @throws ValidationError naming `appIds` when none of them names an application.
   */
  async aggregateAppStats(input: {
    since: number;
    until: number;
    appIds: string[] | null;
  }): Promise<AppStatsTask> {
    const { store, tasks } = this.#deps;
    if (input.until < input.since) {
      throw ValidationError.field(["body", "until"], "must not be before since");
    }
    let apps: Application[] | null = null;
    const unresolvedAppIds: string[] = [];
    if (input.appIds !== null) {
      apps = [];
      for (const idOrUid of new Set(input.appIds)) {
        const app = await store.getApplication(idOrUid);
        if (app === null) unresolvedAppIds.push(idOrUid);
        else apps.push(app);
      }
      if (apps.length === 0 && input.appIds.length > 0) {
        throw ValidationError.field(["body", "appIds"], "none of these names an application");
      }
    }
    const task = await tasks.start("application.stats", async () => {
      const wanted = apps ?? (await this.#allApplications());
      const counts = await store.countDeliveriesByApp({
        since: input.since,
        until: input.until,
        appIds: apps === null ? null : apps.map((a) => a.id),
      });
      const byApp = new Map<AppId, number>(counts.map((c) => [c.appId, c.deliveries]));
      return {
        appStats: wanted.map((app) => ({
          appId: app.id,
          appUid: app.uid,
          messageDestinations: byApp.get(app.id) ?? 0,
        })),
      };
    });
    return { task, unresolvedAppIds };
  }

  aggregateEventTypes(): Promise<BackgroundTask> {
    const { store, tasks } = this.#deps;
    return tasks.start("event-type.aggregate", async () => {
      const perApp = [];
      for (const app of await this.#allApplications()) {
        const endpoints = await store.listAllEndpoints(app.id);
        const named = new Set<string>();
        let catchAll = false;
        for (const endpoint of endpoints) {
          if (endpoint.filterTypes === null) catchAll = true;
          else for (const type of endpoint.filterTypes) named.add(type);
        }
        perApp.push({
          appId: app.id,
          explicitlySubscribedEventTypes: [...named].sort(),
          hasCatchAllEndpoint: catchAll,
        });
      }
      // Svix's key is snake_case here.
      return { event_types: perApp };
    });
  }

  async #allApplications(): Promise<Application[]> {
    const all: Application[] = [];
    let iterator: string | null = null;
    for (;;) {
      const page = await this.#deps.store.listApplications({ limit: PAGE, iterator });
      all.push(...page.data);
      if (page.done || page.iterator === null) return all;
      iterator = page.iterator;
    }
  }
}
