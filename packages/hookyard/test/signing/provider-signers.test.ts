import { createHmac, randomBytes } from "node:crypto";
import { verify as githubVerify } from "@octokit/webhooks-methods";
import fc from "fast-check";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { loadFixtures, serializeBody } from "../../src/debug/fixtures.js";
import {
  githubSignature1,
  githubSignature256,
  shopifySignature,
  signatureHeaders,
  slackSignature,
  stripeSignature,
  type SigningScheme,
} from "../../src/signing/provider-signers.js";
import { verifyInbound, type SourceScheme } from "../../src/signing/provider-schemes.js";

// Known-answer vectors from research/inbound.md §1.3 (vendor-published where marked), the
// providers' own libraries as independent verifiers, and round-trips through Hookyard's own
// verifiers (provider-schemes.ts), which a trigger must satisfy byte for byte.

/** Slack's signed example request (api.slack.com, "Verifying requests from Slack"). */
const SLACK_EXAMPLE = {
  secret: "8f742231b10e8888abcd99yyyzzz85a5",
  timestamp: 1531420618,
  body:
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V" +
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=" +
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" +
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
  signature: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
};

describe("provider signers: known answers", () => {
  it("matches GitHub's published X-Hub-Signature-256 vector", () => {
    const body = Buffer.from("Hello, World!");
    expect(githubSignature256("It's a Secret to Everybody", body)).toBe(
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    );
    expect(githubSignature1("It's a Secret to Everybody", body)).toBe(
      `sha1=${createHmac("sha1", "It's a Secret to Everybody").update(body).digest("hex")}`,
    );
  });

  it("matches Slack's published example, whose body is the slack.slash_command fixture", () => {
    const { secret, timestamp, body, signature } = SLACK_EXAMPLE;
    expect(slackSignature(secret, Buffer.from(body), timestamp)).toBe(signature);
    const fixture = loadFixtures().find((f) => f.name === "slack.slash_command");
    expect(fixture, "slack.slash_command fixture").toBeDefined();
    expect(serializeBody("slack", fixture!.body).toString()).toBe(body);
  });

  it("matches the Standard Webhooks spec vector", () => {
    const headers = signatureHeaders(
      { type: "standard-webhooks", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
      {
        body: Buffer.from('{"test": 2432232314}'),
        timestampSeconds: 1614265330,
        msgId: "msg_p5jXN8AQM9LWM0D4loKWxJek",
      },
    );
    expect(headers).toEqual({
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  it("matches the computed Stripe and Shopify vectors, and Stripe's own test header", () => {
    const body = Buffer.from('{"id":"evt_1","type":"test"}');
    const stripeHeader = stripeSignature("whsec_test_secret", body, 1700000000);
    expect(stripeHeader).toBe(
      "t=1700000000,v1=a0bb9bdb8d6051a3cc87d1afaa1ea57ac43f0768ad34d66326df4de0ec5b7426",
    );
    const stripe = new Stripe("sk_test_x");
    expect(
      stripe.webhooks.generateTestHeaderString({
        payload: body.toString(),
        secret: "whsec_test_secret",
        timestamp: 1700000000,
      }),
    ).toBe(stripeHeader);
    expect(shopifySignature("shpss_test_secret", body)).toBe(
      "WjJw7TR24iYnSetbuQMlpAhrpYYNWqQQrcAz0Y0xL1k=",
    );
  });
});

describe("provider signers: the providers' own verifiers accept them", () => {
  const body = Buffer.from(JSON.stringify({ zen: "Keep it logically awesome.", note: "é ✓" }));

  it("GitHub: @octokit/webhooks-methods verify", async () => {
    const headers = signatureHeaders({ type: "github", secret: "s3cret" }, input(body));
    expect(await githubVerify("s3cret", body.toString(), headers["x-hub-signature-256"]!)).toBe(
      true,
    );
    expect(await githubVerify("other", body.toString(), headers["x-hub-signature-256"]!)).toBe(
      false,
    );
  });

  it("Stripe: stripe.webhooks.constructEvent at the current time", () => {
    const now = Math.floor(Date.now() / 1000); // the library checks the wall clock
    const headers = signatureHeaders(
      { type: "stripe", secret: "whsec_abc" },
      { ...input(body), timestampSeconds: now },
    );
    const stripe = new Stripe("sk_test_x");
    const event = stripe.webhooks.constructEvent(body, headers["stripe-signature"]!, "whsec_abc");
    expect(event as unknown).toEqual(JSON.parse(body.toString()));
    expect(() =>
      stripe.webhooks.constructEvent(body, headers["stripe-signature"]!, "whsec_abd"),
    ).toThrow(/signature/i);
  });

  it("Standard Webhooks: the standardwebhooks library at the current time", () => {
    const secret = `whsec_${randomBytes(32).toString("base64")}`;
    const now = Math.floor(Date.now() / 1000); // the library checks the wall clock
    const headers = signatureHeaders(
      { type: "standard-webhooks", secret },
      { ...input(body), timestampSeconds: now },
    );
    expect(new StandardWebhook(secret).verify(body.toString(), headers)).toEqual(
      JSON.parse(body.toString()),
    );
  });
});

describe("provider signers: Hookyard's verifiers accept exactly what they sign", () => {
  const secretArb = fc.string({ minLength: 1, maxLength: 40 });
  const swSecretArb = fc
    .uint8Array({ minLength: 24, maxLength: 64 })
    .map((b) => `whsec_${Buffer.from(b).toString("base64")}`);
  const timestampArb = fc.integer({ min: 1_000_000_000, max: 4_000_000_000 });
  const bodyArb = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b));
  const schemeArb: fc.Arbitrary<[SigningScheme, SourceScheme]> = fc.oneof(
    ...(["github", "stripe", "slack", "shopify"] as const).map((type) =>
      secretArb.map((secret): [SigningScheme, SourceScheme] => [
        { type, secret },
        { type, secret },
      ]),
    ),
    swSecretArb.map((secret): [SigningScheme, SourceScheme] => [
      { type: "standard-webhooks", secret },
      { type: "standard-webhooks", secret },
    ]),
    // A header value cannot carry line breaks, and the verifier trims: a token is printable.
    fc.uint8Array({ minLength: 8, maxLength: 32 }).map((b): [SigningScheme, SourceScheme] => {
      const token = Buffer.from(b).toString("base64url");
      return [
        { type: "bearer", token },
        { type: "bearer", token },
      ];
    }),
  );

  const requestOf = (headers: Record<string, string>, body: Buffer) => ({
    url: "https://hooks.example.com/in/src_1",
    headers,
    body,
  });

  it("round-trips sign → verify for arbitrary bodies, secrets and timestamps", () => {
    fc.assert(
      fc.property(schemeArb, bodyArb, timestampArb, ([signer, verifier], body, ts) => {
        const headers = signatureHeaders(signer, { body, timestampSeconds: ts, msgId: "msg_1" });
        const verdict = verifyInbound(verifier, requestOf(headers, body), ts * 1000);
        expect(verdict, `${signer.type} at ${ts}`).toEqual({ ok: true });
      }),
    );
  });

  it("fails verification when any byte of a signed body is flipped", () => {
    fc.assert(
      fc.property(
        schemeArb.filter(([signer]) => signer.type !== "bearer"),
        bodyArb,
        timestampArb,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        ([signer, verifier], body, ts, position, mask) => {
          const headers = signatureHeaders(signer, { body, timestampSeconds: ts, msgId: "msg_1" });
          const tampered = Buffer.from(body);
          const index = position % tampered.length;
          tampered[index] = (tampered[index] ?? 0) ^ mask;
          const verdict = verifyInbound(verifier, requestOf(headers, tampered), ts * 1000);
          expect(verdict.ok, `${signer.type}: byte ${index} flipped`).toBe(false);
        },
      ),
    );
  });
});

function input(body: Buffer) {
  return { body, timestampSeconds: 1_700_000_000, msgId: "msg_1" };
}
