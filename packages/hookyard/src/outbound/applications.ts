import type { Clock } from "../clock.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.js";
import type { IdGenerator } from "../ids.js";
import type { AppId, Application } from "../model.js";
import type { ApplicationFilter, Page, PageRequest, Store } from "../store/store.js";
import type { EndpointCache } from "./endpoint-cache.js";
import { OPERATIONAL_APP_UID } from "./operational-webhooks.js";
import type { ApplicationInput, ApplicationPatch, ApplicationService } from "./services.js";

export class Applications implements ApplicationService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #endpoints: EndpointCache;
  /**
   * Every publish looks its application up, so applications are kept in memory (by id and by
   * uid), filled on read and refreshed by every write that goes through this service.
   */
  readonly #byKey = new Map<string, Application>();

  constructor(deps: { store: Store; clock: Clock; ids: IdGenerator; endpoints: EndpointCache }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
    this.#endpoints = deps.endpoints;
  }

  async list(page: PageRequest, filter: ApplicationFilter = {}): Promise<Page<Application>> {
    const found = await this.#store.listApplications(page, filter);
    // Hookyard's own application is not one of the sender's customers. A page may hold one
    // fewer than asked; its iterator still continues after it.
    const data = found.data.filter((app) => app.uid !== OPERATIONAL_APP_UID);
    return data.length === found.data.length ? found : { ...found, data };
  }

  async create(
    input: ApplicationInput,
    opts: { getIfExists: boolean; internal?: boolean },
  ): Promise<{ app: Application; created: boolean }> {
    if (input.uid === OPERATIONAL_APP_UID && opts.internal !== true) refuseReserved();
    if (opts.getIfExists && input.uid != null) {
      const existing = await this.#store.getApplication(input.uid);
      if (existing !== null) return { app: existing, created: false };
    }
    const now = this.#clock.now();
    const app: Application = {
      id: this.#ids.next("app"),
      uid: input.uid ?? null,
      name: input.name,
      rateLimit: input.rateLimit ?? null,
      metadata: input.metadata ?? {},
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.#store.insertApplication(app);
      this.#remember(app);
    } catch (err) {
      // Two getOrCreate calls with one uid may race; the loser returns the winner's application.
      if (err instanceof ConflictError && opts.getIfExists && input.uid != null) {
        const winner = await this.#store.getApplication(input.uid);
        if (winner !== null) return { app: winner, created: false };
      }
      if (err instanceof ConflictError) {
        throw new ConflictError(`An application with uid "${input.uid}" already exists`, {
          cause: err,
        });
      }
      throw err;
    }
    return { app, created: true };
  }

  async get(idOrUid: string): Promise<Application> {
    const cached = this.#byKey.get(idOrUid);
    if (cached !== undefined) return cached;
    const app = await this.#store.getApplication(idOrUid);
    if (app === null) throw new NotFoundError(`Application "${idOrUid}" not found`);
    this.#remember(app);
    return app;
  }

  async update(
    idOrUid: string,
    input: ApplicationInput,
  ): Promise<{ app: Application; created: boolean }> {
    const existing = await this.#store.getApplication(idOrUid);
    if (existing === null) {
      const uid = input.uid ?? (idOrUid.startsWith("app_") ? null : idOrUid);
      return this.create({ ...input, uid }, { getIfExists: false });
    }
    if (existing.uid === OPERATIONAL_APP_UID || input.uid === OPERATIONAL_APP_UID) refuseReserved();
    const app: Application = {
      ...existing,
      name: input.name,
      uid: input.uid === undefined ? existing.uid : input.uid,
      rateLimit: input.rateLimit ?? null,
      metadata: input.metadata ?? {},
      updatedAt: this.#clock.now(),
    };
    await this.#save(app);
    return { app, created: false };
  }

  async patch(idOrUid: string, patch: ApplicationPatch): Promise<Application> {
    const existing = await this.get(idOrUid);
    if (existing.uid === OPERATIONAL_APP_UID || patch.uid === OPERATIONAL_APP_UID) refuseReserved();
    const app: Application = {
      ...existing,
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.uid !== undefined && { uid: patch.uid }),
      ...(patch.rateLimit !== undefined && { rateLimit: patch.rateLimit }),
      ...(patch.metadata !== undefined && { metadata: patch.metadata }),
      updatedAt: this.#clock.now(),
    };
    await this.#save(app);
    return app;
  }

  async delete(idOrUid: string): Promise<void> {
    const app = await this.get(idOrUid);
    if (app.uid === OPERATIONAL_APP_UID) refuseReserved();
    await this.#store.deleteApplication(app.id);
    this.#forget(app);
    this.#endpoints.forgetApp(app.id);
  }

  /** Drops what is cached of the application (another process changed it). */
  forget(appId: AppId): void {
    const cached = this.#byKey.get(appId);
    if (cached !== undefined) this.#forget(cached);
  }

  /** Drops every cached application. */
  clear(): void {
    this.#byKey.clear();
  }

  #remember(app: Application): void {
    // Bounded: beyond this many keys the cache starts over (a miss is one indexed read).
    if (this.#byKey.size > 100_000) this.#byKey.clear();
    this.#byKey.set(app.id, app);
    if (app.uid !== null) this.#byKey.set(app.uid, app);
  }

  #forget(app: Application): void {
    this.#byKey.delete(app.id);
    if (app.uid !== null) this.#byKey.delete(app.uid);
  }

  async #save(app: Application): Promise<void> {
    try {
      const previous = await this.#store.getApplication(app.id);
      await this.#store.updateApplication(app);
      if (previous !== null) this.#forget(previous);
      this.#remember(app);
    } catch (err) {
      if (err instanceof ConflictError) {
        throw new ConflictError(`An application with uid "${app.uid}" already exists`, {
          cause: err,
        });
      }
      throw err;
    }
  }
}

function refuseReserved(): never {
  throw new ForbiddenError(
    `The application "${OPERATIONAL_APP_UID}" is Hookyard's own (operational webhooks): manage it with /api/v1/operational-webhook/endpoint`,
  );
}
