import type { Clock } from "../clock.js";
import { ConflictError, NotFoundError, ValidationError } from "../errors.js";
import type { EventType } from "../model.js";
import type { Page, PageRequest, Store } from "../store/store.js";
import { matchesStored, parseOpenApiSource, webhookEventTypes } from "./openapi-import.js";
import type { ImportedEventType, ImportedWebhook } from "./openapi-import.js";
import type { PayloadSchemas } from "./payload-schemas.js";
import type {
  EventTypeImportInput,
  EventTypeImportResult,
  EventTypeInput,
  EventTypePatch,
  EventTypeService,
  EventTypeUpdateInput,
} from "./services.js";

/** Page size when `replaceAll` walks the whole catalog. */
const CATALOG_PAGE_SIZE = 250;

export class EventTypes implements EventTypeService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #schemas: PayloadSchemas;
  /** Publishing checks the event type of every message, so the catalog is read from memory. */
  readonly #cache = new Map<string, EventType | null>();

  constructor(deps: { store: Store; clock: Clock; schemas: PayloadSchemas }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#schemas = deps.schemas;
  }

  list(req: { page: PageRequest; includeArchived: boolean }): Promise<Page<EventType>> {
    return this.#store.listEventTypes(req);
  }

  async create(input: EventTypeInput): Promise<EventType> {
    this.#schemas.checkSchemas(input.schemas);
    const now = this.#clock.now();
    const eventType = this.#build(input.name, input, now, now);
    try {
      await this.#store.insertEventType(eventType);
    } catch (err) {
      if (err instanceof ConflictError) {
        throw new ConflictError(`Event type "${input.name}" already exists`, { cause: err });
      }
      throw err;
    }
    this.#cache.set(eventType.name, eventType);
    return eventType;
  }

  async get(name: string): Promise<EventType> {
    const eventType = await this.find(name);
    if (eventType === null) throw new NotFoundError(`Event type "${name}" not found`);
    return eventType;
  }

  /** Drops the cached entry (another process changed the event type), or all with no name. */
  forget(name?: string): void {
    if (name === undefined) this.#cache.clear();
    else this.#cache.delete(name);
  }

  /** The event type, or null when the catalog does not have it (publishing allows that, as Svix does). */
  async find(name: string): Promise<EventType | null> {
    if (this.#cache.has(name)) return this.#cache.get(name) ?? null;
    const eventType = await this.#store.getEventType(name);
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(name, eventType);
    return eventType;
  }

  async update(
    name: string,
    input: EventTypeUpdateInput,
  ): Promise<{ eventType: EventType; created: boolean }> {
    const existing = await this.find(name);
    if (existing === null)
      return { eventType: await this.create({ ...input, name }), created: true };
    this.#schemas.checkSchemas(input.schemas);
    const eventType = this.#build(name, input, existing.createdAt, this.#clock.now());
    await this.#save(eventType);
    return { eventType, created: false };
  }

  async patch(name: string, patch: EventTypePatch): Promise<EventType> {
    const existing = await this.get(name);
    this.#schemas.checkSchemas(patch.schemas);
    const eventType: EventType = {
      ...existing,
      ...(patch.description !== undefined && { description: patch.description }),
      ...(patch.schemas !== undefined && { schemas: patch.schemas }),
      ...(patch.archived !== undefined && { archived: patch.archived }),
      ...(patch.deprecated !== undefined && { deprecated: patch.deprecated }),
      ...(patch.featureFlag !== undefined && { featureFlag: patch.featureFlag }),
      ...(patch.groupName !== undefined && { groupName: patch.groupName }),
      updatedAt: this.#clock.now(),
    };
    await this.#save(eventType);
    return eventType;
  }

  async delete(name: string, _opts: { expunge: boolean }): Promise<void> {
    // Svix's delete archives: the type leaves the catalog listing, but messages of it stay valid.
    const existing = await this.get(name);
    await this.#save({ ...existing, archived: true, updatedAt: this.#clock.now() });
  }

  async importOpenApi(input: EventTypeImportInput): Promise<EventTypeImportResult> {
    const webhooks = webhookEventTypes(parseOpenApiSource(input));
    // Everything is checked before anything is written, so a refused document changes nothing.
    for (const webhook of webhooks) this.#checkImportedSchemas(webhook);
    const pending: Array<{ imported: ImportedEventType; stored: EventType | null }> = [];
    for (const { eventType: imported } of webhooks) {
      // The store, not the cache: another process may have changed the catalog.
      const stored = await this.#store.getEventType(imported.name);
      if (stored === null || !matchesStored(stored, imported)) pending.push({ imported, stored });
    }
    const named = new Set(webhooks.map((w) => w.eventType.name));
    const unlisted = input.replaceAll ? await this.#listedExcept(named) : [];
    if (input.dryRun) return { modified: [], toModify: pending.map((p) => p.imported) };

    const now = this.#clock.now();
    for (const { imported, stored } of pending) await this.#writeImported(imported, stored, now);
    for (const eventType of unlisted) {
      await this.#save({ ...eventType, archived: true, updatedAt: now });
    }
    return {
      modified: [...pending.map((p) => p.imported.name), ...unlisted.map((e) => e.name)],
      toModify: null,
    };
  }

  /** The PayloadSchemas check of `create`, its problem renamed after the webhook. */
  #checkImportedSchemas({ eventType, loc }: ImportedWebhook): void {
    try {
      this.#schemas.checkSchemas(eventType.schemas);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const problems = err.problems.map((p) => ({ ...p, loc, msg: `its schema ${p.msg}` }));
      throw new ValidationError(problems, { cause: err });
    }
  }

  /** Every non-archived event type whose name is not in `names`. */
  async #listedExcept(names: ReadonlySet<string>): Promise<EventType[]> {
    const out: EventType[] = [];
    let iterator: string | null = null;
    for (;;) {
      const page: Page<EventType> = await this.#store.listEventTypes({
        page: { limit: CATALOG_PAGE_SIZE, iterator },
        includeArchived: false,
      });
      out.push(...page.data.filter((e) => !e.archived && !names.has(e.name)));
      if (page.done || page.iterator === null) return out;
      iterator = page.iterator;
    }
  }

  async #writeImported(
    imported: ImportedEventType,
    stored: EventType | null,
    now: number,
  ): Promise<void> {
    const eventType: EventType = {
      name: imported.name,
      description: imported.description,
      schemas: imported.schemas,
      archived: false,
      deprecated: imported.deprecated,
      featureFlag: stored?.featureFlag ?? null,
      groupName: imported.groupName,
      createdAt: stored?.createdAt ?? now,
      updatedAt: now,
    };
    if (stored !== null) return this.#save(eventType);
    try {
      await this.#store.insertEventType(eventType);
      this.#cache.set(eventType.name, eventType);
    } catch (err) {
      // Created meanwhile by another request: the import's version wins, as an upsert's would.
      if (!(err instanceof ConflictError)) throw err;
      await this.#save(eventType);
    }
  }

  async #save(eventType: EventType): Promise<void> {
    await this.#store.updateEventType(eventType);
    this.#cache.set(eventType.name, eventType);
  }

  #build(
    name: string,
    input: EventTypeUpdateInput,
    createdAt: number,
    updatedAt: number,
  ): EventType {
    return {
      name,
      description: input.description,
      schemas: input.schemas ?? null,
      archived: input.archived ?? false,
      deprecated: input.deprecated ?? false,
      featureFlag: input.featureFlag ?? null,
      groupName: input.groupName ?? null,
      createdAt,
      updatedAt,
    };
  }
}
