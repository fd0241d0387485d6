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

  /**
   * The key as last presented and verified, kept so that the next request with it is checked by
   * a constant-time byte comparison instead of a SHA-256 (a hash object per request was ≈ 3 % of
   * the publish path). Only ever a token whose hash matched; other tokens still go through the hash.
   */
  #verified: Buffer | null = null;

  verify(token: string): boolean {
    const known = this.#verified;
    if (known !== null && token.length === known.length) {
      // The kept key is ASCII (one byte per character); a token of the same length in characters
      // and in UTF-8 bytes is ASCII too, so the byte comparison is exact.
      const bytes = Buffer.from(token, "utf8");
      if (bytes.length === known.length && timingSafeEqual(bytes, known)) return true;
    }
    const ok = timingSafeEqual(sha256(token), this.#hash);
    if (ok && Buffer.byteLength(token) === token.length)
      this.#verified = Buffer.from(token, "utf8");
    return ok;
  }
}
