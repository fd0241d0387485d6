import type { Clock } from "../clock.js";
import type { DeliveryEngine } from "../delivery/engine.js";
import { MissingPayloadError, NotFoundError } from "../errors.js";
import type { IdGenerator } from "../ids.js";
import type { Attempt, AttemptId, EndpointId } from "../model.js";
import type {
  AttemptFilter,
  EndpointMessage,
  EndpointMessageFilter,
  Page,
  PageRequest,
  Store,
} from "../store/store.js";
import type { Applications } from "./applications.js";
import type { Endpoints } from "./endpoints.js";
import type { Messages } from "./messages.js";
import type { AttemptService, Destination } from "./services.js";

export class Attempts implements AttemptService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #applications: Applications;
  readonly #endpoints: Endpoints;
  readonly #messages: Messages;
  readonly #engine: DeliveryEngine;
  readonly #leaseMs: number;

  constructor(deps: {
    store: Store;
    clock: Clock;
    ids: IdGenerator;
    applications: Applications;
    endpoints: Endpoints;
    messages: Messages;
    engine: DeliveryEngine;
    leaseMs: number;
  }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
    this.#applications = deps.applications;
    this.#endpoints = deps.endpoints;
    this.#messages = deps.messages;
    this.#engine = deps.engine;
    this.#leaseMs = deps.leaseMs;
  }

  async listByMessage(
    appIdOrUid: string,
    msgId: string,
    filter: Omit<AttemptFilter, "endpointId"> & { endpointId?: string },
    page: PageRequest,
  ): Promise<Page<Attempt>> {
    const message = await this.#messages.get(appIdOrUid, msgId);
    const { endpointId, ...rest } = filter;
    let endpointFilter: { endpointId?: EndpointId } = {};
    if (endpointId !== undefined) {
      endpointFilter = { endpointId: (await this.#endpoints.get(message.appId, endpointId)).id };
    }
    return this.#store.listAttemptsByMessage(
      message.appId,
      message.id,
      { ...rest, ...endpointFilter },
      page,
    );
  }

  async listByEndpoint(
    appIdOrUid: string,
    endpointIdOrUid: string,
    filter: Omit<AttemptFilter, "endpointId">,
    page: PageRequest,
  ): Promise<Page<Attempt>> {
    const endpoint = await this.#endpoints.get(appIdOrUid, endpointIdOrUid);
    return this.#store.listAttemptsByEndpoint(endpoint.appId, endpoint.id, filter, page);
  }

  async get(appIdOrUid: string, msgId: string, attemptId: string): Promise<Attempt> {
    const app = await this.#applications.get(appIdOrUid);
    const attempt = attemptId.startsWith("atmpt_")
      ? await this.#store.getAttempt(app.id, attemptId as AttemptId)
      : null;
    if (attempt === null || attempt.msgId !== msgId)
      throw new NotFoundError(`Attempt "${attemptId}" not found`);
    return attempt;
  }

  async listDestinations(
    appIdOrUid: string,
    msgId: string,
    page: PageRequest,
  ): Promise<Page<Destination>> {
    const message = await this.#messages.get(appIdOrUid, msgId);
    const deliveries = (await this.#store.listDeliveriesOfMessage(message.id)).sort((a, b) =>
      a.endpointId < b.endpointId ? -1 : 1,
    );
    const start =
      page.iterator === null ? 0 : deliveries.findIndex((d) => d.endpointId > page.iterator!);
    const slice = start < 0 ? [] : deliveries.slice(start, start + page.limit);
    const data: Destination[] = [];
    for (const delivery of slice) {
      const endpoint = await this.#store.getEndpoint(message.appId, delivery.endpointId);
      if (endpoint !== null) data.push({ endpoint, delivery });
    }
    const last = slice.at(-1);
    return {
      data,
      iterator: last?.endpointId ?? null,
      prevIterator: null,
      done: start < 0 || start + page.limit >= deliveries.length,
    };
  }

  async listEndpointMessages(
    appIdOrUid: string,
    endpointIdOrUid: string,
    filter: EndpointMessageFilter,
    page: PageRequest,
  ): Promise<Page<EndpointMessage>> {
    const endpoint = await this.#endpoints.get(appIdOrUid, endpointIdOrUid);
    return this.#store.listEndpointMessages(endpoint.id, filter, page);
  }

  async expungeContent(appIdOrUid: string, msgId: string, attemptId: string): Promise<void> {
    const attempt = await this.get(appIdOrUid, msgId, attemptId);
    if (!(await this.#store.expungeAttemptContent(attempt.appId, attempt.id))) {
      throw new NotFoundError(`Attempt "${attemptId}" not found`);
    }
  }

  async resend(appIdOrUid: string, msgId: string, endpointIdOrUid: string): Promise<void> {
    const message = await this.#messages.get(appIdOrUid, msgId);
    if (message.payload === "") {
      throw new MissingPayloadError(
        `Message "${message.id}" cannot be resent: its payload was expunged`,
      );
    }
    const endpoint = await this.#endpoints.get(message.appId, endpointIdOrUid);
    const now = this.#clock.now();
    let delivery = await this.#store.getDelivery(message.id, endpoint.id);
    if (delivery === null) {
      // The endpoint did not exist or did not match when the message was published.
      delivery = {
        id: this.#ids.next("dlv"),
        msgId: message.id,
        endpointId: endpoint.id,
        appId: message.appId,
        status: "failed",
        attempts: 0,
        nextAttemptAt: null,
        leaseOwner: this.#engine.owner,
        leaseUntil: now + this.#leaseMs,
        createdAt: now,
        updatedAt: now,
      };
      await this.#store.insertDeliveries([delivery]);
    }
    this.#engine.resend(delivery, message);
  }
}
