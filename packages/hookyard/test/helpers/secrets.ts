import { parseSecretKey, SecretBox, secretKey } from "../../src/secrets/secret-box.js";

/**
 * The secrets key of tests that open a store or a PostgreSQL server directly (a SQLite server
 * makes its own key file, as in production). Base64 of 32 fixed bytes.
 */
export const TEST_SECRETS_KEY = Buffer.alloc(32, 7).toString("base64");

/** A box sealing with `keyText` (default TEST_SECRETS_KEY) that also opens with `previous`. */
export function testSecretBox(
  keyText: string = TEST_SECRETS_KEY,
  previous: readonly string[] = [],
): SecretBox {
  const key = (text: string) => secretKey(parseSecretKey(text)!);
  return new SecretBox(key(keyText), previous.map(key));
}
