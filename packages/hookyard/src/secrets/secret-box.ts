import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Envelope encryption of the secrets Hookyard keeps in its database (DESIGN principle 4, issue
 * 16): AES-256-GCM, a random 96-bit IV per value, and the id of the key that sealed it, so a
 * value says which key opens it and a rotation knows what is left to re-seal:
 *
 *     hy1:<keyId>:<base64 of iv ‖ tag ‖ ciphertext>
 *
 * Text without the prefix is a value written before encryption existed (or by a store that has
 * not been re-sealed yet): it is read as is, and the background pass (secrets-reseal.ts) seals it.
 * No plaintext Hookyard stores starts with `hy1:` (secrets are `whsec_…`, PEM, JSON or hex).
 */

export const SEALED_PREFIX = "hy1:";
/** Hex digits of a key id; fixed, so SQL can cut the id out of a value with substr. */
export const KEY_ID_LENGTH = 12;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** A sealed value: the prefix, the key id, then base64 of IV, tag and ciphertext (28+ bytes). */
const SEALED_FORM = /^hy1:[0-9a-f]{12}:(?=[A-Za-z0-9+/=]{40,}$)[A-Za-z0-9+/]+={0,2}$/;

export interface SecretKey {
  readonly id: string;
  readonly key: Buffer;
}

/** A 32-byte key from its base64 or hex text, or null when the text is neither. */
export function parseSecretKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-f]{64}$/i.test(trimmed)) return Buffer.from(trimmed, "hex");
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) return null;
  const bytes = Buffer.from(
    trimmed,
    trimmed.includes("-") || trimmed.includes("_") ? "base64url" : "base64",
  );
  return bytes.length === KEY_BYTES ? bytes : null;
}

/** A new random key as base64 text (what `secrets.key` and the key file hold). */
export function generateSecretKeyText(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}

/**
 * The key with its id: a hash of the key under a label, so the id names the key without helping
 * anyone who does not have it (a 256-bit random key cannot be guessed from 48 bits of a hash).
 */
export function secretKey(key: Buffer): SecretKey {
  if (key.length !== KEY_BYTES) throw new RangeError(`a secrets key has ${KEY_BYTES} bytes`);
  const id = createHash("sha256")
    .update("hookyard secrets key id\0")
    .update(key)
    .digest("hex")
    .slice(0, KEY_ID_LENGTH);
  return { id, key: Buffer.from(key) };
}

/** A sealed value whose key is not configured; the start check keeps this from happening. */
export class UnknownSecretKeyError extends Error {
  readonly keyId: string;
  constructor(keyId: string) {
    super(`a secret in the database is sealed with key ${keyId}, which is not configured`);
    this.name = "UnknownSecretKeyError";
    this.keyId = keyId;
  }
}

/** The id of the key that sealed `value`, or null for plaintext. */
export function sealedKeyId(value: string): string | null {
  // The whole form, not the prefix alone: a plaintext secret (a bearer token, a password) may
  // well begin with "hy1:".
  if (!value.startsWith(SEALED_PREFIX) || !SEALED_FORM.test(value)) return null;
  return value.slice(SEALED_PREFIX.length, SEALED_PREFIX.length + KEY_ID_LENGTH);
}

/** Seals with the current key; opens with the current key or any previous one. */
export class SecretBox {
  readonly current: SecretKey;
  readonly #byId: ReadonlyMap<string, SecretKey>;

  constructor(current: SecretKey, previous: readonly SecretKey[] = []) {
    this.current = current;
    this.#byId = new Map([...previous, current].map((k) => [k.id, k]));
  }

  /** Ids of every key this box can open with, the current one included. */
  get keyIds(): string[] {
    return [...this.#byId.keys()];
  }

  knows(keyId: string): boolean {
    return this.#byId.has(keyId);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.current.key, iv);
    // The key id is authenticated data: a value cannot be relabelled to another key.
    cipher.setAAD(Buffer.from(this.current.id));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
    return `${SEALED_PREFIX}${this.current.id}:${sealed}`;
  }

  /** The plaintext of a sealed value; plaintext (written before encryption) comes back as is. */
  open(value: string): string {
    const keyId = sealedKeyId(value);
    if (keyId === null) return value;
    const key = this.#byId.get(keyId);
    if (key === undefined) throw new UnknownSecretKeyError(keyId);
    const raw = Buffer.from(value.slice(SEALED_PREFIX.length + KEY_ID_LENGTH + 1), "base64");
    // A full tag, always: a cut value must not be checked against a 4-byte one.
    const decipher = createDecipheriv("aes-256-gcm", key.key, raw.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(keyId));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([
      decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]).toString("utf8");
  }

  /** `seal` for nullable columns. */
  sealNullable(plaintext: string | null): string | null {
    return plaintext === null ? null : this.seal(plaintext);
  }

  openNullable(value: string | null): string | null {
    return value === null ? null : this.open(value);
  }

  /** The value sealed with the current key (unchanged when it already is). */
  reseal(value: string): string {
    return sealedKeyId(value) === this.current.id ? value : this.seal(this.open(value));
  }
}
