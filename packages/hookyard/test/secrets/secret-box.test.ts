import { describe, expect, it } from "vitest";
import {
  generateSecretKeyText,
  parseSecretKey,
  SecretBox,
  sealedKeyId,
  secretKey,
  UnknownSecretKeyError,
} from "../../src/secrets/secret-box.js";

const key = (fill: number) => secretKey(Buffer.alloc(32, fill));

describe("secret box", () => {
  it("seals with a fresh IV each time and opens back to the plaintext", () => {
    const box = new SecretBox(key(1));
    const a = box.seal("whsec_abc");
    const b = box.seal("whsec_abc");
    expect(a, "same plaintext, different envelopes").not.toBe(b);
    expect(a).toMatch(new RegExp(`^hy1:${key(1).id}:[A-Za-z0-9+/]+=*$`));
    expect(box.open(a)).toBe("whsec_abc");
    expect(box.open("{}"), "plaintext from before sealing reads as is").toBe("{}");
  });

  it("refuses a changed envelope, and one relabelled to another key", () => {
    const box = new SecretBox(key(1), [key(2)]);
    const sealed = box.seal("secret");
    const body = Buffer.from(sealed.split(":")[2]!, "base64");
    body[body.length - 1]! ^= 1;
    expect(() => box.open(`hy1:${key(1).id}:${body.toString("base64")}`)).toThrow();
    expect(() => box.open(sealed.replace(key(1).id, key(2).id))).toThrow();
  });

  it("opens with a previous key, re-seals with the current one, and names an unknown key", () => {
    const old = new SecretBox(key(1)).seal("s");
    const rotated = new SecretBox(key(2), [key(1)]);
    expect(rotated.open(old)).toBe("s");
    expect(sealedKeyId(rotated.reseal(old))).toBe(key(2).id);
    expect(() => new SecretBox(key(3)).open(old)).toThrow(UnknownSecretKeyError);
  });

  it("reads a key as base64 or hex of 32 bytes, and nothing else", () => {
    const text = generateSecretKeyText();
    expect(parseSecretKey(text)).toHaveLength(32);
    expect(parseSecretKey("ab".repeat(32))).toEqual(Buffer.alloc(32, 0xab));
    expect(parseSecretKey("ab".repeat(16))).toBeNull();
    expect(parseSecretKey("not a key")).toBeNull();
  });

  it("takes a plaintext that merely starts like an envelope for plaintext", () => {
    const box = new SecretBox(key(1));
    for (const plaintext of ["hy1:", "hy1:0123456789ab:", "hy1:0123456789ab:c2hvcnQ=", "hy1:x:y"]) {
      expect(sealedKeyId(plaintext)).toBeNull();
      expect(box.open(plaintext)).toBe(plaintext);
    }
    expect(sealedKeyId(box.seal(""))).toBe(box.current.id);
    expect(box.open(box.seal(""))).toBe("");
  });
});
