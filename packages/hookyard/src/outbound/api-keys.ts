import { createHash, randomBytes } from "node:crypto";
import type { Clock } from "../clock.js";
import { NotFoundError, ValidationError } from "../errors.js";
import type { IdGenerator } from "../ids.js";
import type { ApiKey, ApiKeyId, AppId } from "../model.js";
import type { Store } from "../store/store.js";

/** Who made a request to the management API (the admin key, or one of the API keys). */
export type Principal = { kind: "admin" } | { kind: "api-key"; key: ApiKey };

export const ADMIN: Principal = Object.freeze({ kind: "admin" });

/** Characters of a key kept in the clear to tell keys apart: the prefix and 6 of its body. */
const SHOWN_CHARS = 10;
const KEY_PREFIX = "hk_";
/** At most this many keys (revoked ones included) are kept: each is a map entry in memory. */
export const MAX_API_KEYS = 10_000;

export interface ApiKeyInput {
  name: string;
  /** The application's id or uid; null or absent = every application. */
  appId?: string | null;
  readOnly?: boolean;
}

/**
 * API keys beside the admin key (issue 16): each for every application or for one, read-write or
 * read-only. A key is shown once, when created; only its SHA-256 is stored. All keys are held in
 * memory by hash, so checking one costs a hash and a map lookup; other processes on the same
 * database reload them when the store's change feed reports a change (`reload`), so a key
 * revoked on one node is refused by every node within the notification's delay.
 */
export class ApiKeys {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #deps: Pick<ApiKeysDeps, "resolveApp">;
  #byHash = new Map<string, ApiKey>();
  #byId = new Map<ApiKeyId, ApiKey>();
  /** Moves with each change this process makes, so a read that raced one is read again. */
  #generation = 0;

  private constructor(deps: ApiKeysDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
    this.#deps = deps;
  }

  static async init(deps: ApiKeysDeps): Promise<ApiKeys> {
    const keys = new ApiKeys(deps);
    await keys.reload();
    return keys;
  }

  /** Reads every key again (another process created or revoked one). */
  async reload(): Promise<void> {
    for (;;) {
      const generation = this.#generation;
      const keys = await this.#store.listApiKeys();
      // A key this process created or revoked while the read ran may be missing from it, or
      // still active in it: read again rather than undo a revocation.
      if (generation !== this.#generation) continue;
      this.#byHash = new Map(keys.map((key) => [key.hash, key]));
      this.#byId = new Map(keys.map((key) => [key.id, key]));
      return;
    }
  }

  /** The key `token` is, `revoked` when it was revoked, or null when it is no key of ours. */
  authenticate(token: string): ApiKey | "revoked" | null {
    if (!token.startsWith(KEY_PREFIX) || this.#byHash.size === 0) return null;
    const key = this.#byHash.get(sha256Hex(token));
    if (key === undefined) return null;
    return key.revokedAt === null ? key : "revoked";
  }

  /** Makes a key; the token is returned only here. */
  async create(input: ApiKeyInput): Promise<{ key: ApiKey; token: string }> {
    const name = input.name.trim();
    if (name.length === 0) throw ValidationError.field(["body", "name"], "must not be empty");
    if (this.#byId.size >= MAX_API_KEYS) {
      throw ValidationError.field(
        ["body"],
        `at most ${MAX_API_KEYS} API keys are kept, revoked ones included`,
      );
    }
    let appId: AppId | null = null;
    if (input.appId != null) {
      try {
        appId = await this.#deps.resolveApp(input.appId);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        throw ValidationError.field(["body", "appId"], `no application "${input.appId}"`);
      }
    }
    const token = `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
    const key: ApiKey = {
      id: this.#ids.next("key"),
      name,
      prefix: token.slice(0, SHOWN_CHARS),
      hash: sha256Hex(token),
      appId,
      readOnly: input.readOnly ?? false,
      createdAt: this.#clock.now(),
      revokedAt: null,
    };
    await this.#store.insertApiKey(key);
    this.#remember(key);
    return { key, token };
  }

  /** Every key, newest first. */
  list(): ApiKey[] {
    return [...this.#byId.values()].reverse();
  }

  get(id: string): ApiKey {
    const key = this.#byId.get(id as ApiKeyId);
    if (key === undefined) throw new NotFoundError(`API key "${id}" not found`);
    return key;
  }

  /** Revokes the key for good; revoking a revoked key changes nothing. */
  async revoke(id: string): Promise<ApiKey> {
    const key = this.get(id);
    if (key.revokedAt !== null) return key;
    const now = this.#clock.now();
    await this.#store.revokeApiKey(key.id, now);
    const revoked = { ...key, revokedAt: now };
    this.#remember(revoked);
    return revoked;
  }

  #remember(key: ApiKey): void {
    this.#generation++;
    this.#byHash.set(key.hash, key);
    this.#byId.set(key.id, key);
  }
}

export interface ApiKeysDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  /** The id of the application `idOrUid` names; throws NotFoundError when there is none. */
  resolveApp(idOrUid: string): Promise<AppId>;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
