import { createHmac } from "node:crypto";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import {
  verifyInbound,
  type InboundRequest,
  type SourceScheme,
  type Verdict,
} from "../../src/signing/provider-schemes.js";

// Vendor-published vectors and the providers' own npm libraries as independent oracles
// (research/inbound.md §1.3). Times are epoch milliseconds.

function request(
  body: string | Buffer,
  headers: Record<string, string>,
  url = "https://hooks.example.com/in/src_1",
): InboundRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { url, headers: lower, body: Buffer.isBuffer(body) ? body : Buffer.from(body) };
}

const failed = (reason: string | RegExp): Verdict => ({
  ok: false,
  reason: expect.stringMatching(reason) as unknown as string,
});

describe("github", () => {
  const scheme: SourceScheme = { type: "github", secret: "It's a Secret to Everybody" };

  it("accepts GitHub's published vector and a signature made by @octokit/webhooks-methods", async () => {
    const vector = request("Hello, World!", {
      "X-Hub-Signature-256":
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    });
    expect(verifyInbound(scheme, vector, 0)).toEqual({ ok: true });
    const body = JSON.stringify({ zen: "Design for failure.", hook_id: 1 });
    const signed = request(body, { "x-hub-signature-256": await githubSign(scheme.secret, body) });
    expect(verifyInbound(scheme, signed, 0)).toEqual({ ok: true });
  });

  it("refuses a changed body, a missing header, the legacy SHA-1 prefix and garbage", async () => {
    const signature = await githubSign(scheme.secret, "Hello, World!");
    const check = (body: string, headers: Record<string, string>) =>
      verifyInbound(scheme, request(body, headers), 0);
    expect(check("Hello, World?", { "x-hub-signature-256": signature })).toEqual(
      failed("signature does not match"),
    );
    expect(check("Hello, World!", {})).toEqual(failed("missing X-Hub-Signature-256 header"));
    expect(check("Hello, World!", { "x-hub-signature-256": "sha1=abc" })).toEqual(
      failed("does not start with sha256="),
    );
    expect(check("Hello, World!", { "x-hub-signature-256": "sha256=zz" })).toEqual(
      failed("signature does not match"),
    );
  });

  it("never puts the expected signature in the reason", async () => {
    const verdict = verifyInbound(
      scheme,
      request("other", { "x-hub-signature-256": await githubSign(scheme.secret, "x") }),
      0,
    );
    const expected = createHmac("sha256", scheme.secret).update("other").digest("hex");
    expect(JSON.stringify(verdict)).not.toContain(expected);
  });
});

describe("stripe", () => {
  const secret = "whsec_test_secret";
  const scheme: SourceScheme = { type: "stripe", secret };
  const body = '{"id":"evt_1","type":"test"}';
  const header = (timestamp: number, s = secret) =>
    Stripe.webhooks.generateTestHeaderString({ payload: body, secret: s, timestamp });

  it("accepts a header made by the stripe package's test helper within 300 s", () => {
    const t = 1_700_000_000;
    expect(header(t)).toBe(
      "t=1700000000,v1=a0bb9bdb8d6051a3cc87d1afaa1ea57ac43f0768ad34d66326df4de0ec5b7426",
    );
    for (const skew of [0, 299, -299]) {
      const verdict = verifyInbound(
        scheme,
        request(body, { "stripe-signature": header(t) }),
        (t + skew) * 1000,
      );
      expect(verdict, `${skew} s`).toEqual({ ok: true });
    }
  });

  it("refuses an expired timestamp, a wrong secret and a header without v1", () => {
    const t = 1_700_000_000;
    const at = (h: string, nowSeconds: number) =>
      verifyInbound(scheme, request(body, { "stripe-signature": h }), nowSeconds * 1000);
    expect(at(header(t), t + 301)).toEqual(failed(/301 s old, outside the 300 s tolerance/));
    expect(at(header(t, "whsec_other"), t)).toEqual(failed("signature does not match"));
    expect(at(`t=${t},v0=abcd`, t)).toEqual(failed("no v1 signature"));
    expect(at("v1=abcd", t)).toEqual(failed("no t=<timestamp>"));
  });

  it("passes if any of several v1 signatures matches (a secret being rotated)", () => {
    const t = 1_700_000_000;
    const good = header(t).split(",")[1]!;
    const rotated = `t=${t},v1=${"0".repeat(64)},${good}`;
    expect(verifyInbound(scheme, request(body, { "stripe-signature": rotated }), t * 1000)).toEqual(
      { ok: true },
    );
  });
});

describe("slack", () => {
  // api.slack.com/authentication/verifying-requests-from-slack
  const scheme: SourceScheme = { type: "slack", secret: "8f742231b10e8888abcd99yyyzzz85a5" };
  const body =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
  const headers = {
    "x-slack-request-timestamp": "1531420618",
    "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
  };

  it("accepts Slack's published vector within 5 minutes and refuses it after", () => {
    expect(verifyInbound(scheme, request(body, headers), 1_531_420_618_000 + 300_000)).toEqual({
      ok: true,
    });
    expect(verifyInbound(scheme, request(body, headers), 1_531_420_618_000 + 301_000)).toEqual(
      failed("outside the 300 s tolerance"),
    );
    expect(
      verifyInbound(scheme, request(`${body}x`, headers), 1_531_420_618_000),
      "a changed body",
    ).toEqual(failed("signature does not match"));
  });
});

describe("shopify", () => {
  const scheme: SourceScheme = { type: "shopify", secret: "shpss_test_secret" };
  const body = '{"id":"evt_1","type":"test"}';

  it("accepts the base64 HMAC of the body, with or without the X- prefix", () => {
    const hmac = "WjJw7TR24iYnSetbuQMlpAhrpYYNWqQQrcAz0Y0xL1k=";
    expect(verifyInbound(scheme, request(body, { "x-shopify-hmac-sha256": hmac }), 0)).toEqual({
      ok: true,
    });
    expect(verifyInbound(scheme, request(body, { "shopify-hmac-sha256": hmac }), 0)).toEqual({
      ok: true,
    });
    expect(verifyInbound(scheme, request(body, { "x-shopify-hmac-sha256": "AAAA" }), 0)).toEqual(
      failed("signature does not match"),
    );
  });
});

describe("standard-webhooks and svix", () => {
  // The Standard Webhooks libraries' shared test vector.
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const body = '{"test": 2432232314}';
  const vector = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  };
  const at = 1_614_265_330_000;

  it("accepts the published vector, and svix-* headers signed by the svix package", () => {
    const scheme: SourceScheme = { type: "standard-webhooks", secret };
    expect(verifyInbound(scheme, request(body, vector), at)).toEqual({ ok: true });
    const svixSecret = "whsec_" + Buffer.alloc(24, 7).toString("base64");
    const signedAt = new Date(at);
    const signature = new SvixWebhook(svixSecret).sign("msg_svix_1", signedAt, body);
    const svixHeaders = {
      "svix-id": "msg_svix_1",
      "svix-timestamp": String(at / 1000),
      "svix-signature": signature,
    };
    expect(
      verifyInbound({ type: "svix", secret: svixSecret }, request(body, svixHeaders), at),
    ).toEqual({ ok: true });
  });

  it("accepts any of several signatures and refuses a stale or future timestamp", () => {
    const scheme: SourceScheme = { type: "standard-webhooks", secret };
    const other = new StandardWebhook(Buffer.alloc(32, 1).toString("base64"));
    const extra = other.sign(vector["webhook-id"], new Date(at), body);
    const both = { ...vector, "webhook-signature": `${extra} ${vector["webhook-signature"]}` };
    expect(verifyInbound(scheme, request(body, both), at)).toEqual({ ok: true });
    expect(verifyInbound(scheme, request(body, vector), at + 301_000)).toEqual(failed("301 s old"));
    expect(verifyInbound(scheme, request(body, vector), at - 301_000)).toEqual(
      failed("301 s in the future"),
    );
    const { "webhook-id": _, ...noId } = vector;
    expect(verifyInbound(scheme, request(body, noId), at)).toEqual(failed("missing webhook-id"));
  });
});

describe("gitlab", () => {
  it("compares the plain token in constant time, whatever its length", () => {
    const scheme: SourceScheme = { type: "gitlab", secret: "s3cret-token" };
    const check = (token?: string) =>
      verifyInbound(
        scheme,
        request("{}", token === undefined ? {} : { "x-gitlab-token": token }),
        0,
      );
    expect(check("s3cret-token")).toEqual({ ok: true });
    expect(check("s3cret-token-and-more")).toEqual(failed("X-Gitlab-Token does not match"));
    expect(check("")).toEqual(failed("X-Gitlab-Token does not match"));
    expect(check()).toEqual(failed("missing X-Gitlab-Token header"));
  });

  it("verifies GitLab's Standard Webhooks signing token when the secret is a whsec_ key", () => {
    const secret = "whsec_" + Buffer.alloc(32, 9).toString("base64");
    const at = 1_700_000_000_000;
    const body = '{"object_kind":"push"}';
    const signature = new StandardWebhook(secret).sign("idem-1", new Date(at), body);
    const headers = {
      "webhook-id": "idem-1",
      "webhook-timestamp": String(at / 1000),
      "webhook-signature": signature,
      "idempotency-key": "idem-1",
    };
    expect(verifyInbound({ type: "gitlab", secret }, request(body, headers), at)).toEqual({
      ok: true,
    });
  });
});

describe("twilio", () => {
  const scheme: SourceScheme = { type: "twilio", secret: "12345" };

  it("accepts Twilio's published form-body vector (URL + sorted parameters)", () => {
    // twilio.com/docs/usage/security
    const params = {
      CallSid: "CA1234567890ABCDE",
      Caller: "+12349013030",
      Digits: "1234",
      From: "+12349013030",
      To: "+18005551212",
    };
    // Sent in another order than signed: the verifier sorts them.
    const body = new URLSearchParams(Object.entries(params).reverse()).toString();
    const req = request(
      body,
      {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
      },
      "https://mycompany.com/myapp.php?foo=1&bar=2",
    );
    expect(verifyInbound(scheme, req, 0)).toEqual({ ok: true });
    const tampered = { ...req, body: Buffer.from(body.replace("1234", "9999")) };
    expect(verifyInbound(scheme, tampered, 0)).toEqual(failed("signature does not match"));
  });

  it("checks a JSON body against bodySHA256 (Twilio's published hash) and signs the URL alone", () => {
    const body = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}';
    const url =
      "https://mycompany.com/myapp.php?bodySHA256=5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9";
    const signature = createHmac("sha1", "12345").update(url).digest("base64");
    const headers = { "content-type": "application/json", "x-twilio-signature": signature };
    expect(verifyInbound(scheme, request(body, headers, url), 0)).toEqual({ ok: true });
    expect(verifyInbound(scheme, request(`${body} `, headers, url), 0)).toEqual(
      failed("bodySHA256 does not match the body"),
    );
  });
});

describe("generic-hmac", () => {
  it("follows the configured header, algorithm, encoding, prefix and signed content", () => {
    const scheme: SourceScheme = {
      type: "generic-hmac",
      secret: "k",
      header: "X-Signature",
      algorithm: "sha512",
      encoding: "base64",
      prefix: "sha512=",
      signedContent: "{id}:{timestamp}:{body}",
      timestampHeader: "X-Timestamp",
      idHeader: "X-Id",
    };
    const body = Buffer.from([0xff, 0x00, 0x7b]); // not UTF-8: the bytes are signed as they are
    const mac = createHmac("sha512", "k").update("e1:1700000000:").update(body).digest("base64");
    const headers = { "x-signature": `sha512=${mac}`, "x-timestamp": "1700000000", "x-id": "e1" };
    expect(verifyInbound(scheme, request(body, headers), 1_700_000_000_000)).toEqual({ ok: true });
    expect(verifyInbound(scheme, request(body, headers), 1_700_000_400_000)).toEqual(
      failed("outside the 300 s tolerance"),
    );
    expect(
      verifyInbound(scheme, request(body, { ...headers, "x-id": "e2" }), 1_700_000_000_000),
    ).toEqual(failed("signature does not match"));
  });

  it("defaults to the body alone, as adnanh/webhook's hex HMACs", () => {
    const scheme: SourceScheme = {
      type: "generic-hmac",
      secret: "k",
      header: "X-Signature",
      algorithm: "sha1",
      encoding: "hex",
    };
    const mac = createHmac("sha1", "k").update("payload").digest("hex");
    expect(verifyInbound(scheme, request("payload", { "x-signature": mac }), 0)).toEqual({
      ok: true,
    });
  });
});

describe("bearer and basic", () => {
  it("accepts the configured token or credentials only", () => {
    const bearer: SourceScheme = { type: "bearer", token: "tok_1" };
    const auth = (value?: string) =>
      request("{}", value === undefined ? {} : { authorization: value });
    expect(verifyInbound(bearer, auth("Bearer tok_1"), 0)).toEqual({ ok: true });
    expect(verifyInbound(bearer, auth("Bearer tok_2"), 0)).toEqual(failed("does not match"));
    expect(verifyInbound(bearer, auth("Basic dG9rXzE="), 0)).toEqual(failed("not a Bearer"));
    expect(verifyInbound(bearer, auth(), 0)).toEqual(failed("missing Authorization"));

    const basic: SourceScheme = { type: "basic", username: "u", password: "p:w" };
    const encoded = Buffer.from("u:p:w").toString("base64");
    expect(verifyInbound(basic, auth(`Basic ${encoded}`), 0)).toEqual({ ok: true });
    expect(verifyInbound(basic, auth(`Basic ${Buffer.from("u:p").toString("base64")}`), 0)).toEqual(
      failed("credentials do not match"),
    );
  });

  it("generic-webhook verifies nothing", () => {
    expect(verifyInbound({ type: "generic-webhook" }, request("anything", {}), 0)).toEqual({
      ok: true,
    });
  });
});
