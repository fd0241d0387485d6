import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Store } from "../store/store.js";
import type { AuthService } from "./services.js";

const HASH_SETTING = "admin_api_key_sha256";

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * The admin API key. Only its SHA-256 is kept (in memory and, for a generated key, in the store);
 * the key itself is shown once, when it is generated on first start.
 */
export class ApiKeyAuth implements AuthService {
  readonly #hash: Buffer;

  private constructor(hash: Buffer) {
    this.#hash = hash;
  }

  /**
   * With a configured key, that key is the admin key. Without one, the key generated on a
   * previous start stays valid; on the very first start a new key is generated and returned once.
   */
  static async init(
    store: Store,
    configuredKey: string | null,
  ): Promise<{ auth: ApiKeyAuth; generatedKey: string | null }> {
    if (configuredKey !== null)
      return { auth: new ApiKeyAuth(sha256(configuredKey)), generatedKey: null };
    const stored = await store.getSetting(HASH_SETTING);
    if (stored !== null)
      return { auth: new ApiKeyAuth(Buffer.from(stored, "hex")), generatedKey: null };
    const key = `hk_${randomBytes(24).toString("base64url")}`;
    await store.setSetting(HASH_SETTING, sha256(key).toString("hex"));
    return { auth: new ApiKeyAuth(sha256(key)), generatedKey: key };
  }

  verify(token: string): boolean {
    return timingSafeEqual(sha256(token), this.#hash);
  }
}
