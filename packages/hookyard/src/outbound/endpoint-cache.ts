import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { EndpointSource } from "../delivery/engine.js";
import type { AppId, DeliveryStatus, Endpoint, EndpointId } from "../model.js";
import type { DeliveryUpdate, EndpointHealth, Store } from "../store/store.js";

/**
 * Endpoint configuration kept in memory (DESIGN principle 5): publishing and delivering read
 * endpoints on every message, so they come from here, loaded once per application and updated by
 * every write that goes through `put`/`remove`; changes other processes commit arrive through
 * `Store.onChange` (main.ts wires it) and drop the application's entry.
 */
export class EndpointCache implements EndpointSource {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #disableAfterFailingMs: number;
  readonly #byApp = new Map<AppId, Map<EndpointId, Endpoint>>();
  readonly #loading = new Map<AppId, Promise<Map<EndpointId, Endpoint>>>();

  constructor(deps: { store: Store; clock: Clock; logger: Logger; disableAfterFailingMs: number }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#log = deps.logger.child({ component: "endpoint-cache" });
    this.#disableAfterFailingMs = deps.disableAfterFailingMs;
  }

  /** Every endpoint of the application. */
  async forApp(appId: AppId): Promise<ReadonlyMap<EndpointId, Endpoint>> {
    const cached = this.#byApp.get(appId);
    if (cached !== undefined) return cached;
    let loading = this.#loading.get(appId);
    if (loading === undefined) {
      loading = this.#store.listAllEndpoints(appId).then((list) => {
        const map = new Map(list.map((e) => [e.id, e]));
        this.#byApp.set(appId, map);
        this.#loading.delete(appId);
        return map;
      });
      this.#loading.set(appId, loading);
    }
    return loading;
  }

  async get(appId: AppId, endpointId: EndpointId): Promise<Endpoint | null> {
    return (await this.forApp(appId)).get(endpointId) ?? null;
  }

  /** Call after the store committed a new or changed endpoint. */
  put(endpoint: Endpoint): void {
    this.#byApp.get(endpoint.appId)?.set(endpoint.id, endpoint);
  }

  remove(appId: AppId, endpointId: EndpointId): void {
    this.#byApp.get(appId)?.delete(endpointId);
  }

  forgetApp(appId: AppId): void {
    this.#byApp.delete(appId);
  }

  clear(): void {
    this.#byApp.clear();
  }

  /** Writes the endpoint and updates the cache. */
  async save(endpoint: Endpoint): Promise<void> {
    await this.#store.updateEndpoint(endpoint);
    this.put(endpoint);
  }

  /**
   * Writes only the health fields, then applies them to the newest cached copy: the API may have
   * changed the endpoint's other fields meanwhile, and those must stay.
   */
  async #saveHealth(endpoint: Endpoint, health: EndpointHealth): Promise<void> {
    await this.#store.updateEndpointHealth(endpoint.appId, endpoint.id, health);
    const latest = this.#byApp.get(endpoint.appId)?.get(endpoint.id);
    if (latest !== undefined) this.put({ ...latest, ...health });
  }

  async recordHealth(endpoint: Endpoint, succeeded: boolean): Promise<void> {
    const current = (await this.get(endpoint.appId, endpoint.id)) ?? endpoint;
    const now = this.#clock.now();
    if (succeeded) {
      if (current.failingSince !== null)
        await this.#saveHealth(current, { failingSince: null, updatedAt: now });
      return;
    }
    if (current.failingSince === null) {
      await this.#saveHealth(current, { failingSince: now, updatedAt: now });
    } else if (!current.disabled && now - current.failingSince >= this.#disableAfterFailingMs) {
      const hours = Math.round(this.#disableAfterFailingMs / 3_600_000);
      await this.disable(current, `the endpoint failed continuously for ${hours} h`);
    }
  }

  async disable(endpoint: Endpoint, reason: string): Promise<void> {
    const current = (await this.get(endpoint.appId, endpoint.id)) ?? endpoint;
    if (current.disabled) return;
    const now = this.#clock.now();
    await this.#saveHealth(current, { disabled: true, updatedAt: now });
    await cancelOpenDeliveries(this.#store, current.id, now);
    this.#log.warn({ appId: current.appId, endpointId: current.id, reason }, "endpoint disabled");
    this.onDisabled?.(current, reason);
  }

  /** Told of each endpoint Hookyard disables (an operational event for rules). */
  onDisabled: ((endpoint: Endpoint, reason: string) => void) | null = null;
}

/** Marks every open delivery of the endpoint cancelled (endpoint deleted or disabled). */
export async function cancelOpenDeliveries(
  store: Store,
  endpointId: EndpointId,
  now: number,
): Promise<void> {
  const open = await store.listOpenDeliveriesOfEndpoint(endpointId);
  const status: DeliveryStatus = "cancelled";
  const updates: DeliveryUpdate[] = open.map((d) => ({
    id: d.id,
    status,
    attempts: d.attempts,
    nextAttemptAt: null,
    leaseOwner: null,
    leaseUntil: null,
    updatedAt: now,
  }));
  if (updates.length > 0) await store.updateDeliveries(updates);
}
