import { describe, expect, it } from "vitest";
import { ApiKeyAuth } from "../../src/outbound/api-key.js";
import type { Store } from "../../src/store/store.js";

// A configured key never touches the store.
const NO_STORE = {} as Store;
const KEY = "hk_configured_admin_key_0123456789";

describe("admin API key", () => {
  it("accepts the key on every request, also after it was verified once", async () => {
    const { auth } = await ApiKeyAuth.init(NO_STORE, KEY);
    expect(auth.verify(KEY)).toBe(true);
    expect(auth.verify(KEY)).toBe(true);
  });

  it("refuses other tokens of the same length once the key has been seen", async () => {
    const { auth } = await ApiKeyAuth.init(NO_STORE, KEY);
    expect(auth.verify(KEY)).toBe(true);
    expect(auth.verify(KEY.slice(0, -1) + "X")).toBe(false);
    expect(auth.verify(KEY.slice(0, -1))).toBe(false);
  });

  it("refuses a non-ASCII token whose characters truncate to the key's bytes", async () => {
    const { auth } = await ApiKeyAuth.init(NO_STORE, KEY);
    expect(auth.verify(KEY)).toBe(true);
    // U+0168 is 0x68 ("h") in its low byte: a latin1 comparison would have matched.
    expect(auth.verify("\u0168" + KEY.slice(1))).toBe(false);
  });
});
