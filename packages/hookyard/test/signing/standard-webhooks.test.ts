import fc from "fast-check";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import {
  generateSecret,
  isValidSecret,
  secretBytes,
  signatureHeader,
  signPayload,
  verifySignature,
} from "../../src/signing/standard-webhooks.js";

// The known-answer vector used by the Standard Webhooks and Svix libraries' own tests.
const SPEC = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  msgId: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

const secretArb = fc
  .uint8Array({ minLength: 24, maxLength: 64 })
  .map((bytes) => "whsec_" + Buffer.from(bytes).toString("base64"));
const msgIdArb = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes(" "));
const timestampArb = fc.integer({ min: 0, max: 4_102_444_800 });

describe("Standard Webhooks signing", () => {
  it("reproduces the spec's known-answer signature", () => {
    expect(signPayload(SPEC.secret, SPEC.msgId, SPEC.timestamp, SPEC.body)).toBe(SPEC.signature);
    expect(signatureHeader([SPEC.secret], SPEC.msgId, SPEC.timestamp, SPEC.body)).toBe(
      SPEC.signature,
    );
  });

  it("verifies the spec's known-answer signature within tolerance", () => {
    const base = {
      secrets: [SPEC.secret],
      msgId: SPEC.msgId,
      timestampSeconds: SPEC.timestamp,
      body: SPEC.body,
      signatureHeader: SPEC.signature,
    };
    expect(verifySignature({ ...base, nowSeconds: SPEC.timestamp + 300 })).toBe(true);
    expect(verifySignature({ ...base, nowSeconds: SPEC.timestamp - 300 })).toBe(true);
    expect(verifySignature({ ...base, nowSeconds: SPEC.timestamp + 301 }), "too old").toBe(false);
    expect(verifySignature({ ...base, nowSeconds: SPEC.timestamp - 301 }), "too new").toBe(false);
    expect(
      verifySignature({ ...base, nowSeconds: SPEC.timestamp + 3600, toleranceSeconds: 3600 }),
    ).toBe(true);
  });

  it("skips unknown signature versions and accepts any matching v1 in the list", () => {
    const base = {
      secrets: [SPEC.secret],
      msgId: SPEC.msgId,
      timestampSeconds: SPEC.timestamp,
      body: SPEC.body,
      nowSeconds: SPEC.timestamp,
    };
    const header = `v1a,${SPEC.signature.slice(3)} v1,bm9wZQ== garbage ${SPEC.signature}`;
    expect(verifySignature({ ...base, signatureHeader: header })).toBe(true);
    expect(verifySignature({ ...base, signatureHeader: `v2,${SPEC.signature.slice(3)}` })).toBe(
      false,
    );
    expect(verifySignature({ ...base, signatureHeader: "" })).toBe(false);
  });

  it("generates whsec_ secrets of 24 random bytes that validate", () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(secretBytes(a)).toHaveLength(24);
    expect(a).not.toBe(b);
    expect(isValidSecret(a)).toBe(true);
    expect(isValidSecret(SPEC.secret)).toBe(true);
  });

  it("rejects secrets without the prefix, with bad base64, or of the wrong size", () => {
    const bytes = (n: number): string => "whsec_" + Buffer.alloc(n, 7).toString("base64");
    expect(isValidSecret(bytes(24))).toBe(true);
    expect(isValidSecret(bytes(75))).toBe(true);
    expect(isValidSecret(bytes(23)), "23 bytes is too short").toBe(false);
    expect(isValidSecret(bytes(76)), "76 bytes is too long").toBe(false);
    expect(isValidSecret(SPEC.secret.slice("whsec_".length)), "no prefix").toBe(false);
    expect(isValidSecret("whsec_" + "!".repeat(32))).toBe(false);
    expect(isValidSecret("whsec_")).toBe(false);
    expect(isValidSecret(SPEC.secret + "A"), "dangling base64 character").toBe(false);
  });

  it("produces headers the official standardwebhooks verifier accepts", () => {
    const secret = generateSecret();
    const now = Math.floor(Date.now() / 1000); // the library checks the wall clock
    const body = JSON.stringify({ type: "invoice.paid", data: { id: "in_1", note: "é ✓" } });
    const headers = {
      "webhook-id": "msg_1",
      "webhook-timestamp": String(now),
      "webhook-signature": signatureHeader([generateSecret(), secret], "msg_1", now, body),
    };
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("produces headers the official svix verifier accepts under svix-* and webhook-* names", () => {
    const secret = generateSecret();
    const now = Math.floor(Date.now() / 1000); // the library checks the wall clock
    const body = JSON.stringify({ hello: "world" });
    const signature = signatureHeader([secret], "msg_2", now, body);
    const wh = new SvixWebhook(secret);
    // svix 2.x's verify returns nothing and throws when a check fails.
    expect(() =>
      wh.verify(body, {
        "svix-id": "msg_2",
        "svix-timestamp": String(now),
        "svix-signature": signature,
      }),
    ).not.toThrow();
    expect(() =>
      wh.verify(body, {
        "webhook-id": "msg_2",
        "webhook-timestamp": String(now),
        "webhook-signature": signature,
      }),
    ).not.toThrow();
    expect(() =>
      wh.verify(body + " ", {
        "webhook-id": "msg_2",
        "webhook-timestamp": String(now),
        "webhook-signature": signature,
      }),
    ).toThrow();
  });

  it("round-trips sign → verify for arbitrary bodies, ids and timestamps", () => {
    fc.assert(
      fc.property(
        secretArb,
        msgIdArb,
        timestampArb,
        fc.oneof(fc.string(), fc.uint8Array({ maxLength: 512 })),
        (secret, msgId, ts, body) => {
          const header = signatureHeader([secret], msgId, ts, body);
          return verifySignature({
            secrets: [secret],
            msgId,
            timestampSeconds: ts,
            body,
            signatureHeader: header,
            nowSeconds: ts,
          });
        },
      ),
    );
  });

  it("fails verification when any byte of the body is flipped", () => {
    fc.assert(
      fc.property(
        secretArb,
        msgIdArb,
        timestampArb,
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (secret, msgId, ts, body, position, mask) => {
          const header = signatureHeader([secret], msgId, ts, body);
          const tampered = Buffer.from(body);
          const index = position % tampered.length;
          tampered[index] = (tampered[index] ?? 0) ^ mask;
          return !verifySignature({
            secrets: [secret],
            msgId,
            timestampSeconds: ts,
            body: tampered,
            signatureHeader: header,
            nowSeconds: ts,
          });
        },
      ),
    );
  });

  it("signs once per secret so each rotated secret verifies on its own", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(secretArb, { minLength: 1, maxLength: 4 }),
        msgIdArb,
        timestampArb,
        fc.string(),
        (secrets, msgId, ts, body) => {
          const header = signatureHeader(secrets, msgId, ts, body);
          expect(header.split(" ")).toHaveLength(secrets.length);
          for (const secret of secrets) {
            const ok = verifySignature({
              secrets: [secret],
              msgId,
              timestampSeconds: ts,
              body,
              signatureHeader: header,
              nowSeconds: ts,
            });
            expect(ok, `secret ${secret} of ${secrets.length}`).toBe(true);
          }
          const stranger = verifySignature({
            secrets: [generateSecret()],
            msgId,
            timestampSeconds: ts,
            body,
            signatureHeader: header,
            nowSeconds: ts,
          });
          expect(stranger, "an unrelated secret").toBe(false);
        },
      ),
      { numRuns: 50 },
    );
  });
});
