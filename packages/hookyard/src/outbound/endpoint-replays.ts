import type { Clock } from "../clock.js";
import type { DeliveryEngine } from "../delivery/engine.js";
import { newLeasedDeliveries } from "../delivery/new-deliveries.js";
import { ConflictError, ValidationError } from "../errors.js";
import type { IdGenerator } from "../ids.js";
import type { BackgroundTask, Endpoint, Message, MessageId } from "../model.js";
import type { DeliveryUpdate, EndpointMessageFilter, Store } from "../store/store.js";
import type { BackgroundTasks } from "./background-tasks.js";
import { endpointAccepts } from "./endpoint-filter.js";
import type { Endpoints } from "./endpoints.js";
import type { BulkReplayInput, EndpointReplayService, TimeWindow } from "./services.js";

/** Svix stops a recovery or replay at this many messages; call again for the rest. */
export const MAX_REPLAYED_MESSAGES = 10_000;
const PAGE = 250;

export interface EndpointReplaysDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  endpoints: Endpoints;
  engine: DeliveryEngine;
  tasks: BackgroundTasks;
  leaseMs: number;
  /** Whether the endpoint takes the message by its payload filter (see Messages). */
  payloadAccepts: (endpoint: Endpoint, message: Message) => boolean;
}

/**
 * Recover, replay-missing and bulk-replay: each checks the endpoint and window at once, then
 * sends in a background task whose data ends as `{messagesSent}` (Svix's). Expunged messages
 * (their payload is gone) are skipped and counted as `messagesSkipped`.
 */
export class EndpointReplays implements EndpointReplayService {
  readonly #deps: EndpointReplaysDeps;

  constructor(deps: EndpointReplaysDeps) {
    this.#deps = deps;
  }

  async recover(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: TimeWindow,
  ): Promise<BackgroundTask> {
    const endpoint = await this.#deps.endpoints.get(appIdOrUid, endpointIdOrUid);
    const { since, until } = this.#window(input);
    return this.#deps.tasks.start("endpoint.recover", async () => {
      const { store, clock, engine, leaseMs } = this.#deps;
      const failed = (await store.listFailedDeliveries(endpoint.id, since, until)).slice(
        0,
        MAX_REPLAYED_MESSAGES,
      );
      let sent = 0;
      let skipped = 0;
      for (const delivery of failed) {
        const message = await store.getMessage(delivery.appId, delivery.msgId);
        if (message === null || message.payload === "") {
          skipped++;
          continue;
        }
        const now = clock.now();
        const update: DeliveryUpdate = {
          id: delivery.id,
          status: "pending",
          // The retry schedule starts over for a recovered delivery, as for a new one.
          attempts: 0,
          nextAttemptAt: now,
          leaseOwner: engine.owner,
          leaseUntil: now + leaseMs,
          updatedAt: now,
        };
        await store.updateDeliveries([update]);
        engine.enqueue([{ delivery: { ...delivery, ...update }, message }]);
        sent++;
      }
      return { messagesSent: sent, messagesSkipped: skipped };
    });
  }

  async replayMissing(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: TimeWindow,
  ): Promise<BackgroundTask> {
    const endpoint = await this.#deps.endpoints.get(appIdOrUid, endpointIdOrUid);
    const { since, until } = this.#window(input);
    return this.#deps.tasks.start("endpoint.replay", async () => {
      const { store, clock, ids, engine, leaseMs, payloadAccepts } = this.#deps;
      let sent = 0;
      let skipped = 0;
      let afterId: MessageId | null = null;
      // Page by page: most messages without a delivery may be ones the filters leave out.
      while (sent < MAX_REPLAYED_MESSAGES) {
        const missing: Message[] = await store.listMessagesWithoutDelivery({
          appId: endpoint.appId,
          endpointId: endpoint.id,
          since,
          until,
          afterId,
          limit: PAGE,
        });
        for (const message of missing) {
          if (sent >= MAX_REPLAYED_MESSAGES) break;
          // Only what the endpoint takes now: its event types, channels and payload filter.
          if (!endpointAccepts(endpoint, message)) continue;
          if (message.payload === "") {
            skipped++;
            continue;
          }
          if (!payloadAccepts(endpoint, message)) continue;
          const deliveries = newLeasedDeliveries({
            message,
            targets: [endpoint],
            ids,
            owner: engine.owner,
            now: clock.now(),
            leaseMs,
          });
          try {
            await store.insertDeliveries(deliveries);
          } catch (err) {
            // Delivered meanwhile (a resend made its delivery): not missing any more.
            if (err instanceof ConflictError) continue;
            throw err;
          }
          engine.enqueue(deliveries.map((delivery) => ({ delivery, message })));
          sent++;
        }
        if (missing.length < PAGE) break;
        afterId = missing.at(-1)!.id;
      }
      return { messagesSent: sent, messagesSkipped: skipped };
    });
  }

  async bulkReplay(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: BulkReplayInput,
  ): Promise<BackgroundTask> {
    const endpoint = await this.#deps.endpoints.get(appIdOrUid, endpointIdOrUid);
    const { since, until } = this.#window(input);
    const { since: _since, until: _until, ...fields } = input;
    // The store's bounds are strict: `after` since - 1 takes messages created at `since`.
    const filter: EndpointMessageFilter = { ...fields, after: since - 1, before: until };
    return this.#deps.tasks.start("endpoint.bulk-replay", async () => {
      const { store, engine } = this.#deps;
      let sent = 0;
      let skipped = 0;
      let iterator: string | null = null;
      while (sent + skipped < MAX_REPLAYED_MESSAGES) {
        const page = await store.listEndpointMessages(endpoint.id, filter, {
          limit: Math.min(PAGE, MAX_REPLAYED_MESSAGES - sent - skipped),
          iterator,
          order: "ascending",
        });
        for (const { delivery, message } of page.data) {
          if (message.payload === "") {
            skipped++;
            continue;
          }
          // Within the endpoint's throttleRate: a replay of thousands must not flood it.
          engine.resend(delivery, message, { throttled: true });
          sent++;
        }
        if (page.done || page.iterator === null) break;
        iterator = page.iterator;
      }
      return { messagesSent: sent, messagesSkipped: skipped };
    });
  }

  #window(input: TimeWindow): { since: number; until: number } {
    const until = input.until ?? this.#deps.clock.now();
    if (until < input.since) {
      throw ValidationError.field(["body", "until"], "must not be before since");
    }
    return { since: input.since, until };
  }
}
