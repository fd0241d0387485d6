import type { Clock } from "../clock.js";
import type { DeliveryEngine } from "../delivery/engine.js";
import { checkUrl } from "../delivery/ssrf-guard.js";
import { ConflictError, NotFoundError, ValidationError } from "../errors.js";
import type { IdGenerator } from "../ids.js";
import type { Endpoint, EndpointStats, Message } from "../model.js";
import { generateSecret, isValidSecret } from "../signing/standard-webhooks.js";
import type { Page, PageRequest, Store } from "../store/store.js";
import type { Applications } from "./applications.js";
import { checkOneAuthorization, NO_AUTH, resolveAuth } from "./endpoint-auth.js";
import { cancelOpenDeliveries, type EndpointCache } from "./endpoint-cache.js";
import { normalizeHeaders, splitSensitive } from "./endpoint-headers.js";
import { checkTlsNeedsHttps, NO_TLS, resolveTls } from "./endpoint-tls-options.js";
import type { EventTypes } from "./event-types.js";
import type { Messages } from "./messages.js";
import { normalizePayloadFilter } from "./payload-filter.js";
import { latestSchema } from "./payload-schemas.js";
import type {
  EndpointHeaders,
  EndpointInput,
  EndpointPatch,
  EndpointService,
  EndpointUpdateInput,
} from "./services.js";

/** Svix keeps a rotated-out secret valid for 24 h by default. */
export const DEFAULT_SECRET_GRACE_MS = 24 * 60 * 60 * 1000;
const MAX_PREVIOUS_SECRETS = 10;

export interface EndpointsDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  applications: Applications;
  eventTypes: EventTypes;
  cache: EndpointCache;
  messages: Messages;
  engine: DeliveryEngine;
  leaseMs: number;
  /** Told when an update through the API disables or enables an endpoint (its new state). */
  onToggled?: (endpoint: Endpoint) => void;
}

export class Endpoints implements EndpointService {
  readonly #deps: EndpointsDeps;

  constructor(deps: EndpointsDeps) {
    this.#deps = deps;
  }

  async list(appIdOrUid: string, page: PageRequest): Promise<Page<Endpoint>> {
    const app = await this.#deps.applications.get(appIdOrUid);
    return this.#deps.store.listEndpoints(app.id, page);
  }

  async create(appIdOrUid: string, input: EndpointInput): Promise<Endpoint> {
    const app = await this.#deps.applications.get(appIdOrUid);
    checkEndpointUrl(input.url);
    if (input.secret != null && !isValidSecret(input.secret)) {
      throw ValidationError.field(
        ["body", "secret"],
        "must be whsec_ followed by base64 of 24 to 75 bytes",
      );
    }
    const now = this.#deps.clock.now();
    const given = credentials(input, { ...NO_AUTH, ...NO_TLS });
    const endpoint: Endpoint = {
      id: this.#deps.ids.next("ep"),
      appId: app.id,
      uid: input.uid ?? null,
      url: input.url,
      description: input.description ?? "",
      version: input.version ?? 1,
      disabled: input.disabled ?? false,
      filterTypes: emptyToNull(input.filterTypes),
      channels: emptyToNull(input.channels),
      rateLimit: input.rateLimit ?? null,
      metadata: input.metadata ?? {},
      headers: normalizeHeaders(input.headers ?? {}, ["body", "headers"]),
      secret: input.secret ?? generateSecret(),
      previousSecrets: [],
      payloadFilter: normalizePayloadFilter(input.payloadFilter, ["body", "payloadFilter"]),
      accept302: input.accept302 ?? false,
      failingSince: null,
      ...NO_AUTH,
      ...NO_TLS,
      ...given,
      createdAt: now,
      updatedAt: now,
    };
    checkCredentialsFit(endpoint, given);
    try {
      await this.#deps.store.insertEndpoint(endpoint);
    } catch (err) {
      throw uidConflict(err, endpoint.uid);
    }
    this.#deps.cache.put(endpoint);
    return endpoint;
  }

  async get(appIdOrUid: string, endpointIdOrUid: string): Promise<Endpoint> {
    const app = await this.#deps.applications.get(appIdOrUid);
    const endpoint = await this.#deps.store.getEndpoint(app.id, endpointIdOrUid);
    if (endpoint === null) throw new NotFoundError(`Endpoint "${endpointIdOrUid}" not found`);
    return endpoint;
  }

  async update(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: EndpointUpdateInput,
  ): Promise<{ endpoint: Endpoint; created: boolean }> {
    const app = await this.#deps.applications.get(appIdOrUid);
    const existing = await this.#deps.store.getEndpoint(app.id, endpointIdOrUid);
    if (existing === null) {
      const uid = input.uid ?? (endpointIdOrUid.startsWith("ep_") ? null : endpointIdOrUid);
      return { endpoint: await this.create(app.id, { ...input, uid }), created: true };
    }
    checkEndpointUrl(input.url);
    // A full replace of Svix's fields; Hookyard's own (payloadFilter, accept302) stay as they
    // are when absent, since the svix SDK's typed upsert can never send them (null clears).
    const payloadFilter =
      input.payloadFilter === undefined
        ? existing.payloadFilter
        : normalizePayloadFilter(input.payloadFilter, ["body", "payloadFilter"]);
    return {
      endpoint: await this.#save(existing, {
        url: input.url,
        description: input.description ?? "",
        uid: input.uid === undefined ? existing.uid : input.uid,
        version: input.version ?? existing.version,
        disabled: input.disabled ?? false,
        filterTypes: emptyToNull(input.filterTypes),
        channels: emptyToNull(input.channels),
        rateLimit: input.rateLimit ?? null,
        metadata: input.metadata ?? {},
        payloadFilter,
        accept302: input.accept302 ?? existing.accept302,
        ...credentials(input, existing),
      }),
      created: false,
    };
  }

  async patch(
    appIdOrUid: string,
    endpointIdOrUid: string,
    patch: EndpointPatch,
  ): Promise<Endpoint> {
    const existing = await this.get(appIdOrUid, endpointIdOrUid);
    if (patch.url !== undefined) checkEndpointUrl(patch.url);
    const payloadFilter =
      patch.payloadFilter === undefined
        ? undefined
        : normalizePayloadFilter(patch.payloadFilter, ["body", "payloadFilter"]);
    if (patch.secret != null && !isValidSecret(patch.secret)) {
      throw ValidationError.field(
        ["body", "secret"],
        "must be whsec_ followed by base64 of 24 to 75 bytes",
      );
    }
    const changes: Partial<Endpoint> = {
      ...(patch.url !== undefined && { url: patch.url }),
      ...(patch.description !== undefined && { description: patch.description }),
      ...(patch.uid !== undefined && { uid: patch.uid }),
      ...(patch.version != null && { version: patch.version }),
      ...(patch.disabled !== undefined && { disabled: patch.disabled }),
      ...(patch.filterTypes !== undefined && { filterTypes: emptyToNull(patch.filterTypes) }),
      ...(patch.channels !== undefined && { channels: emptyToNull(patch.channels) }),
      ...(patch.rateLimit !== undefined && { rateLimit: patch.rateLimit }),
      ...(patch.metadata !== undefined && { metadata: patch.metadata }),
      ...(payloadFilter !== undefined && { payloadFilter }),
      ...(patch.accept302 !== undefined && { accept302: patch.accept302 }),
      ...credentials(patch, existing),
    };
    if (patch.secret != null)
      Object.assign(changes, this.#rotated(existing, patch.secret, DEFAULT_SECRET_GRACE_MS));
    return this.#save(existing, changes);
  }

  async delete(appIdOrUid: string, endpointIdOrUid: string): Promise<void> {
    const endpoint = await this.get(appIdOrUid, endpointIdOrUid);
    await this.#deps.store.deleteEndpoint(endpoint.appId, endpoint.id);
    this.#deps.cache.remove(endpoint.appId, endpoint.id);
  }

  async getSecret(appIdOrUid: string, endpointIdOrUid: string): Promise<string> {
    return (await this.get(appIdOrUid, endpointIdOrUid)).secret;
  }

  async rotateSecret(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: { key?: string | null; gracePeriodSeconds?: number | null },
  ): Promise<void> {
    const existing = await this.get(appIdOrUid, endpointIdOrUid);
    if (input.key != null && !isValidSecret(input.key)) {
      throw ValidationError.field(
        ["body", "key"],
        "must be whsec_ followed by base64 of 24 to 75 bytes",
      );
    }
    const graceMs =
      input.gracePeriodSeconds != null ? input.gracePeriodSeconds * 1000 : DEFAULT_SECRET_GRACE_MS;
    await this.#save(existing, this.#rotated(existing, input.key ?? generateSecret(), graceMs));
  }

  async getHeaders(appIdOrUid: string, endpointIdOrUid: string): Promise<EndpointHeaders> {
    return splitSensitive((await this.get(appIdOrUid, endpointIdOrUid)).headers);
  }

  async setHeaders(
    appIdOrUid: string,
    endpointIdOrUid: string,
    headers: Record<string, string>,
  ): Promise<void> {
    const existing = await this.get(appIdOrUid, endpointIdOrUid);
    await this.#save(existing, { headers: normalizeHeaders(headers, ["body", "headers"]) });
  }

  async patchHeaders(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: { headers: Record<string, string>; deleteHeaders?: string[] },
  ): Promise<void> {
    const existing = await this.get(appIdOrUid, endpointIdOrUid);
    const headers = {
      ...existing.headers,
      ...normalizeHeaders(input.headers, ["body", "headers"]),
    };
    for (const name of input.deleteHeaders ?? []) delete headers[name.toLowerCase()];
    await this.#save(existing, { headers });
  }

  async sendExample(
    appIdOrUid: string,
    endpointIdOrUid: string,
    input: { eventType: string; exampleIndex?: number },
  ): Promise<Message> {
    const endpoint = await this.get(appIdOrUid, endpointIdOrUid);
    const eventType = await this.#deps.eventTypes.get(input.eventType);
    const examples = latestSchema(eventType.schemas)?.["examples"];
    const index = input.exampleIndex ?? 0;
    let payload: Record<string, unknown>;
    if (Array.isArray(examples) && examples.length > 0) {
      const example: unknown = examples[index];
      if (typeof example !== "object" || example === null || Array.isArray(example)) {
        throw ValidationError.field(
          ["body", "exampleIndex"],
          `event type "${eventType.name}" has no object example at index ${index}`,
        );
      }
      payload = example as Record<string, unknown>;
    } else {
      // No example in the schema: send a recognisable placeholder rather than refuse.
      payload = { type: eventType.name, example: true };
    }
    const { message } = await this.#deps.messages.publish(
      endpoint.appId,
      { eventType: eventType.name, payload },
      [endpoint],
    );
    return message;
  }

  async stats(
    appIdOrUid: string,
    endpointIdOrUid: string,
    range: { since?: number; until?: number },
  ): Promise<EndpointStats> {
    const endpoint = await this.get(appIdOrUid, endpointIdOrUid);
    return this.#deps.store.endpointStats(endpoint.id, range.since ?? null, range.until ?? null);
  }

  #rotated(
    existing: Endpoint,
    newSecret: string,
    graceMs: number,
  ): Pick<Endpoint, "secret" | "previousSecrets"> {
    const now = this.#deps.clock.now();
    const previousSecrets = [
      { key: existing.secret, expiresAt: now + graceMs },
      ...existing.previousSecrets,
    ]
      .filter((s) => s.expiresAt > now && s.key !== newSecret)
      .slice(0, MAX_PREVIOUS_SECRETS);
    return { secret: newSecret, previousSecrets };
  }

  async #save(existing: Endpoint, changes: Partial<Endpoint>): Promise<Endpoint> {
    const now = this.#deps.clock.now();
    const endpoint: Endpoint = { ...existing, ...changes, updatedAt: now };
    checkCredentialsFit(endpoint, changes);
    // Re-enabling clears the failure run; disabling cancels what is still queued for the endpoint.
    if (existing.disabled && !endpoint.disabled) endpoint.failingSince = null;
    try {
      await this.#deps.cache.save(endpoint);
    } catch (err) {
      throw uidConflict(err, endpoint.uid);
    }
    if (!existing.disabled && endpoint.disabled)
      await cancelOpenDeliveries(this.#deps.store, endpoint.id, now);
    if (existing.disabled !== endpoint.disabled) this.#deps.onToggled?.(endpoint);
    return endpoint;
  }
}

type Credentials = Pick<Endpoint, "auth" | "authSecret" | "tls" | "tlsClientKey">;

/**
 * The changes to `auth` and `tls` the input asks for: Hookyard's own fields, so on PUT as on
 * PATCH an absent one stays as it is (the svix SDK cannot send them) and null clears it.
 */
function credentials(
  input: Pick<EndpointInput, "auth" | "tls">,
  existing: Credentials,
): Partial<Credentials> {
  return {
    ...(input.auth !== undefined && resolveAuth(input.auth, existing, ["body", "auth"])),
    ...(input.tls !== undefined && resolveTls(input.tls, existing, ["body", "tls"])),
  };
}

/** The credentials agree with the rest of the endpoint; the 422 names what the call changed. */
function checkCredentialsFit(endpoint: Endpoint, changed: Partial<Endpoint>): void {
  checkOneAuthorization(endpoint, "auth" in changed ? "auth" : "headers");
  checkTlsNeedsHttps(endpoint, "tls" in changed ? "tls" : "url");
}

function checkEndpointUrl(url: string): void {
  const checked = checkUrl(url);
  if (!checked.ok) throw ValidationError.field(["body", "url"], checked.reason);
}

function emptyToNull(list: string[] | null | undefined): string[] | null {
  return list == null || list.length === 0 ? null : list;
}

function uidConflict(err: unknown, uid: string | null): unknown {
  return err instanceof ConflictError
    ? new ConflictError(`An endpoint with uid "${uid}" already exists in this application`, {
        cause: err,
      })
    : err;
}
