import { createHmac } from "node:crypto";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import {
  diagnoseSignatures,
  parseSchemeSelector,
  secretFingerprint,
  type DiagnosisRequest,
  type SchemeDiagnosis,
} from "../../src/signing/signature-diagnosis.js";

// Signatures come from the providers' own libraries where there is one, else node:crypto; each
// test breaks one thing and checks the diagnosis names it.

const NOW = 1_700_000_000;
const SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const GITHUB_SECRET = "It's a Secret to Everybody";
const STRIPE_SECRET = "whsec_test_secret";
const SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const SHOPIFY_SECRET = "shpss_test_secret";
const BODY = '{"id":"evt_1","type":"invoice.paid","data":{"amount":1200,"note":"ok"}}';

function diagnose(
  headers: Record<string, string>,
  body: string | Buffer,
  secret: string,
  extra: Partial<DiagnosisRequest> = {},
) {
  return diagnoseSignatures({
    headers,
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
    secret,
    nowSeconds: NOW,
    ...extra,
  });
}

/** The one scheme diagnosed, failing with the whole diagnosis when there are more or none. */
function only(diagnosis: ReturnType<typeof diagnose>): SchemeDiagnosis {
  expect(diagnosis.schemes, JSON.stringify(diagnosis, null, 2)).toHaveLength(1);
  return diagnosis.schemes[0]!;
}

const hmac = (key: string | Buffer, content: string | Buffer) =>
  createHmac("sha256", key).update(content).digest();

function swHeaders(body: string, at = NOW, secret = SW_SECRET): Record<string, string> {
  const signature = new StandardWebhook(secret).sign("msg_1", new Date(at * 1000), body);
  return {
    "webhook-id": "msg_1",
    "webhook-timestamp": String(at),
    "webhook-signature": signature,
  };
}

async function githubHeaders(body: string, secret = GITHUB_SECRET) {
  return { "X-Hub-Signature-256": await githubSign(secret, body), "X-GitHub-Event": "push" };
}

function stripeHeaders(body: string, at = NOW, secret = STRIPE_SECRET) {
  const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: at });
  return { "Stripe-Signature": header };
}

function slackHeaders(body: string, at = NOW) {
  const signature = hmac(SLACK_SECRET, `v0:${at}:${body}`).toString("hex");
  return { "X-Slack-Signature": `v0=${signature}`, "X-Slack-Request-Timestamp": String(at) };
}

describe("a signature that matches", () => {
  it("matches Standard Webhooks signed by the standardwebhooks library, several signatures too", () => {
    const headers = swHeaders(BODY);
    const other = new StandardWebhook(Buffer.alloc(32, 7).toString("base64"));
    headers["webhook-signature"] =
      `${other.sign("msg_1", new Date(NOW * 1000), BODY)} ${headers["webhook-signature"]}`;
    const result = diagnose(headers, BODY, SW_SECRET);
    expect(result).toEqual({
      schemes: [
        {
          scheme: "standard-webhooks",
          header: "webhook-signature",
          verdict: "match",
          detail: "signature matches; timestamp 0 s old, within 300 s",
        },
      ],
      ok: true,
    });
  });

  it("matches Svix's svix-* headers signed by the svix library", () => {
    const signature = new SvixWebhook(SW_SECRET).sign("msg_2", new Date(NOW * 1000), BODY);
    const headers = {
      "svix-id": "msg_2",
      "svix-timestamp": String(NOW),
      "svix-signature": signature,
    };
    expect(only(diagnose(headers, BODY, SW_SECRET))).toMatchObject({
      header: "svix-signature",
      verdict: "match",
    });
  });

  it("matches GitHub's published vector and an @octokit/webhooks-methods signature", async () => {
    const vector = {
      "X-Hub-Signature-256":
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    };
    expect(only(diagnose(vector, "Hello, World!", GITHUB_SECRET)).verdict).toBe("match");
    const result = only(diagnose(await githubHeaders(BODY), BODY, GITHUB_SECRET));
    expect(result).toEqual({
      scheme: "github",
      header: "X-Hub-Signature-256",
      verdict: "match",
      detail: "signature matches",
    });
  });

  it("matches a Stripe-Signature made by stripe's generateTestHeaderString", () => {
    expect(only(diagnose(stripeHeaders(BODY), BODY, STRIPE_SECRET))).toMatchObject({
      scheme: "stripe",
      header: "Stripe-Signature",
      verdict: "match",
    });
  });

  it("matches Slack's published vector", () => {
    const body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const headers = {
      "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
      "X-Slack-Request-Timestamp": "1531420618",
    };
    const result = diagnose(headers, body, SLACK_SECRET, { nowSeconds: 1531420618 });
    expect(only(result)).toMatchObject({ scheme: "slack", verdict: "match" });
  });

  it("matches the Shopify vector of research/inbound.md", () => {
    const body = '{"id":"evt_1","type":"test"}';
    const headers = { "X-Shopify-Hmac-Sha256": "WjJw7TR24iYnSetbuQMlpAhrpYYNWqQQrcAz0Y0xL1k=" };
    expect(only(diagnose(headers, body, SHOPIFY_SECRET))).toMatchObject({
      scheme: "shopify",
      header: "X-Shopify-Hmac-Sha256",
      verdict: "match",
    });
  });

  it("matches a generic HMAC header in hex or base64 when its header is named", () => {
    const only = parseSchemeSelector("hmac:X-Signature")!;
    const hex = { "x-signature": `sha256=${hmac("k3y", BODY).toString("hex")}` };
    expect(diagnose(hex, BODY, "k3y", { only }).schemes).toEqual([
      {
        scheme: "hmac",
        header: "x-signature",
        verdict: "match",
        detail: "signature matches (HMAC-SHA256, hex)",
      },
    ]);
    const sha1 = { "x-signature": createHmac("sha1", "k3y").update(BODY).digest("base64") };
    expect(diagnose(sha1, BODY, "k3y", { only }).schemes[0]?.detail).toBe(
      "signature matches (HMAC-SHA1, base64)",
    );
    expect(diagnose(hex, BODY, "k3y").schemes, "hmac is never guessed").toEqual([]);
  });
});

describe("the cause of a mismatch", () => {
  it("whsec_prefix: a Standard Webhooks signature keyed with the secret's text", () => {
    const signature = hmac(SW_SECRET, `msg_1.${NOW}.${BODY}`).toString("base64");
    const headers = { ...swHeaders(BODY), "webhook-signature": `v1,${signature}` };
    expect(only(diagnose(headers, BODY, SW_SECRET))).toEqual({
      scheme: "standard-webhooks",
      header: "webhook-signature",
      verdict: "mismatch",
      cause: "whsec_prefix",
      detail:
        "it matches with the secret's text, whsec_ prefix included; standard-webhooks keys the HMAC with the base64 part after whsec_, decoded",
      evidence: {
        keyUsed: "the secret's text, whsec_ prefix included",
        keyExpected: "the base64 part after whsec_, decoded",
      },
    });
  });

  it("whsec_prefix: a Stripe secret given without its whsec_ prefix", () => {
    const result = only(diagnose(stripeHeaders(BODY), BODY, "test_secret"));
    expect(result).toMatchObject({
      scheme: "stripe",
      cause: "whsec_prefix",
      evidence: { keyUsed: "the secret's text with a whsec_ prefix" },
    });
  });

  it("hex_vs_base64: a Shopify header with the HMAC in hex, and with base64 of the hex text", () => {
    const digest = hmac(SHOPIFY_SECRET, BODY);
    const hex = only(
      diagnose({ "X-Shopify-Hmac-Sha256": digest.toString("hex") }, BODY, SHOPIFY_SECRET),
    );
    expect(hex).toMatchObject({
      verdict: "mismatch",
      cause: "hex_vs_base64",
      detail: "the header carries the right HMAC as hex; shopify expects base64",
      evidence: { encodingFound: "hex", encodingExpected: "base64" },
    });
    // PHP's base64_encode(hash_hmac(...)) without raw output: base64 of the hex digest.
    const php = Buffer.from(digest.toString("hex")).toString("base64");
    const doubled = only(diagnose({ "X-Shopify-Hmac-Sha256": php }, BODY, SHOPIFY_SECRET));
    expect(doubled.evidence?.encodingFound).toBe("base64 of the hex digest");
  });

  it("wrong_header_name: GitHub's sha1 X-Hub-Signature without X-Hub-Signature-256", () => {
    const sha1 = createHmac("sha1", GITHUB_SECRET).update(BODY).digest("hex");
    const result = only(diagnose({ "X-Hub-Signature": `sha1=${sha1}` }, BODY, GITHUB_SECRET));
    expect(result).toMatchObject({
      scheme: "github",
      header: "X-Hub-Signature",
      cause: "wrong_header_name",
      evidence: { headerFound: "X-Hub-Signature", headerExpected: "X-Hub-Signature-256" },
    });
    expect(result.detail).toContain("the signature is the sha1 one in X-Hub-Signature");
  });

  it("wrong_header_name: a signature under a misspelt header, and mixed svix/webhook families", async () => {
    const github = await githubHeaders(BODY);
    const typo = { x_hub_signature_256: github["X-Hub-Signature-256"] };
    expect(only(diagnose(typo, BODY, GITHUB_SECRET))).toMatchObject({
      scheme: "github",
      header: "x_hub_signature_256",
      cause: "wrong_header_name",
      detail: "the signature's header is named x_hub_signature_256, not X-Hub-Signature-256",
    });
    const sw = swHeaders(BODY);
    const mixed = {
      "svix-id": sw["webhook-id"]!,
      "svix-timestamp": sw["webhook-timestamp"]!,
      "webhook-signature": sw["webhook-signature"]!,
    };
    expect(only(diagnose(mixed, BODY, SW_SECRET))).toMatchObject({
      cause: "wrong_header_name",
      evidence: {
        headerFound: "svix-id, svix-timestamp",
        headerExpected: "webhook-id, webhook-timestamp",
      },
    });
  });

  it("wrong_header_name: a Stripe-Signature with no v1= entry", () => {
    const header = stripeHeaders(BODY)["Stripe-Signature"].replace("v1=", "v0=");
    expect(only(diagnose({ "Stripe-Signature": header }, BODY, STRIPE_SECRET))).toMatchObject({
      cause: "wrong_header_name",
      evidence: { headerFound: "Stripe-Signature v0=", headerExpected: "Stripe-Signature v1=" },
    });
  });

  it("timestamp_outside_tolerance: a good signature too old, too new, and --tolerance/--at", () => {
    const old = diagnose(swHeaders(BODY, NOW - 912), BODY, SW_SECRET);
    expect(old.ok).toBe(false);
    expect(only(old)).toEqual({
      scheme: "standard-webhooks",
      header: "webhook-signature",
      verdict: "mismatch",
      cause: "timestamp_outside_tolerance",
      detail: `the signature matches, but webhook-timestamp ${NOW - 912} is 912 s old at 2023-11-14T22:13:20Z: 612 s outside the 300 s tolerance`,
      evidence: { timestamp: NOW - 912, skewSeconds: 912, toleranceSeconds: 300 },
    });
    const future = only(diagnose(slackHeaders(BODY, NOW + 400), BODY, SLACK_SECRET));
    expect(future.detail).toContain("is 400 s in the future");
    const wider = diagnose(swHeaders(BODY, NOW - 912), BODY, SW_SECRET, { toleranceSeconds: 1000 });
    expect(wider.ok, "a 1000 s tolerance takes 912 s").toBe(true);
    const then = diagnose(stripeHeaders(BODY, NOW - 912), BODY, STRIPE_SECRET, {
      nowSeconds: NOW - 900,
    });
    expect(then.ok, "judged 12 s after signing").toBe(true);
  });

  it("timestamp_outside_tolerance: a timestamp in milliseconds, and a second cause beside it", () => {
    const ms = NOW * 1000;
    const signature = hmac(Buffer.from(SW_SECRET.slice(6), "base64"), `msg_1.${ms}.${BODY}`);
    const headers = {
      "webhook-id": "msg_1",
      "webhook-timestamp": String(ms),
      "webhook-signature": `v1,${signature.toString("base64")}`,
    };
    const inMs = only(diagnose(headers, BODY, SW_SECRET));
    expect(inMs.cause).toBe("timestamp_outside_tolerance");
    expect(inMs.detail).toMatch(
      /s in the future .* \(it looks like milliseconds; the scheme wants seconds\)$/,
    );
    const both = only(diagnose(swHeaders(BODY, NOW - 600), `${BODY}\n`, SW_SECRET));
    expect(both.cause, "the body first, the timestamp beside it").toBe("body_changed");
    expect(both.detail).toMatch(
      /yours ends with; also webhook-timestamp \d+ is 600 s old at .*: 300 s outside the 300 s tolerance$/,
    );
    expect(both.evidence).toMatchObject({ offset: BODY.length, skewSeconds: 600 });
  });

  it("body_changed: a trailing newline added to the body, with the first differing byte", async () => {
    const given = `${BODY}\n`;
    const result = only(diagnose(await githubHeaders(BODY), given, GITHUB_SECRET));
    expect(result).toEqual({
      scheme: "github",
      header: "X-Hub-Signature-256",
      verdict: "mismatch",
      cause: "body_changed",
      detail: 'the sender signed the body without the trailing "\\n" yours ends with',
      evidence: {
        signedVariant: 'the body without its trailing "\\n"',
        offset: BODY.length,
        given: '…note\\":\\"ok\\"}}\\n',
        signed: '…note\\":\\"ok\\"}}',
      },
    });
  });

  it("body_changed: JSON re-serialised with indentation, for the compact JSON the sender signed", () => {
    const given = JSON.stringify(JSON.parse(BODY), null, 2);
    const result = only(diagnose(stripeHeaders(BODY), given, STRIPE_SECRET));
    expect(result).toMatchObject({
      cause: "body_changed",
      detail: "the sender signed the compact JSON; your body is re-serialised",
      evidence: { offset: 1, given: '{\\n  \\"id\\": \\"ev…', signed: '{\\"id\\":\\"evt_1\\"…' },
    });
  });

  it("body_changed: the sender's Python-style JSON re-serialised compact by the receiver", () => {
    const signed = '{"test": 2432232314, "name": "caf\\u00e9"}';
    const given = JSON.stringify(JSON.parse(signed));
    const result = only(diagnose(swHeaders(signed), given, SW_SECRET));
    expect(result.detail).toBe(
      'the sender signed the JSON with ", " and ": " separators (Python\'s json.dumps); your body is re-serialised',
    );
  });

  it("body_changed: a charset change, UTF-8 signed and latin1 received", async () => {
    const text = '{"name":"Zoë Café"}';
    const given = Buffer.from(text, "latin1");
    const result = only(diagnose(await githubHeaders(text), given, GITHUB_SECRET));
    expect(result).toMatchObject({
      cause: "body_changed",
      evidence: {
        signedVariant: "the body re-encoded from latin1 to UTF-8",
        offset: 11,
        given: '{\\"name\\":\\"Zo\\xeb Caf\\xe9\\"}',
        signed: '{\\"name\\":\\"Zo\\xc3\\xab Caf\\xc3\\xa9\\"}',
      },
    });
  });

  it("body_changed: CRLF line ends where the sender signed LF", () => {
    const signed = "line one\nline two\n";
    const headers = { "x-shopify-hmac-sha256": hmac(SHOPIFY_SECRET, signed).toString("base64") };
    const result = only(diagnose(headers, signed.replaceAll("\n", "\r\n"), SHOPIFY_SECRET));
    expect(result).toMatchObject({
      cause: "body_changed",
      detail: "the sender signed the body with LF line ends; yours has CRLF",
      evidence: { offset: 8 },
    });
  });

  it("wrong_secret: nothing explains it, and only the secret's fingerprint is shown", async () => {
    const secret = "a-completely-different-secret";
    const result = only(diagnose(await githubHeaders(BODY), BODY, secret));
    expect(result).toEqual({
      scheme: "github",
      header: "X-Hub-Signature-256",
      verdict: "mismatch",
      cause: "wrong_secret",
      detail:
        "the signature was made with a different secret than a-co… (29 chars), or the body changed in a way I cannot recognise",
      evidence: { secret: "a-co… (29 chars)" },
    });
    expect(JSON.stringify(result)).not.toContain(secret);
  });

  it("wrong_secret: a secret with a trailing CR, as a Windows .env file leaves it", () => {
    const result = only(diagnose(slackHeaders(BODY), BODY, `${SLACK_SECRET}\r`));
    expect(result.cause).toBe("wrong_secret");
    expect(result.detail).toContain(
      'the secret without the whitespace around it (the one given has "\\r")',
    );
  });

  it("missing_header and malformed_header: what a scheme needs is not there", () => {
    const selected = { only: { scheme: "github" as const } };
    expect(only(diagnose({ "X-GitHub-Event": "push" }, BODY, "s"))).toMatchObject({
      cause: "missing_header",
      detail: "no X-Hub-Signature-256 header (GitHub sends it when the hook has a secret)",
    });
    expect(only(diagnose({}, BODY, "s", selected)).cause).toBe("missing_header");
    expect(only(diagnose({ "Stripe-Signature": "v1=abc" }, BODY, "s"))).toMatchObject({
      cause: "malformed_header",
      detail: "Stripe-Signature has no t=<unix seconds> entry",
    });
  });

  it("body_truncated: a stored body that keeps only the start of the request", async () => {
    const headers = await githubHeaders(BODY);
    const result = only(
      diagnose(headers, BODY.slice(0, 10), GITHUB_SECRET, { bodyBytesReceived: BODY.length }),
    );
    expect(result.cause).toBe("body_truncated");
  });
});

describe("reading the request", () => {
  it("finds every scheme the headers carry and none they do not", async () => {
    const headers = { ...(await githubHeaders(BODY)), ...stripeHeaders(BODY), "content-type": "x" };
    const result = diagnose(headers, BODY, GITHUB_SECRET);
    expect(result.schemes.map((s) => [s.scheme, s.verdict])).toEqual([
      ["github", "match"],
      ["stripe", "mismatch"],
    ]);
    expect(result.ok, "one match is enough").toBe(true);
    expect(diagnose({ "content-type": "application/json" }, BODY, "s")).toEqual({
      schemes: [],
      ok: false,
    });
  });

  it("parses --scheme names and refuses unknown ones", () => {
    expect(parseSchemeSelector("svix")).toEqual({ scheme: "standard-webhooks" });
    expect(parseSchemeSelector("GitHub")).toEqual({ scheme: "github" });
    expect(parseSchemeSelector("hmac:X-Sig")).toEqual({ scheme: "hmac", header: "x-sig" });
    expect(parseSchemeSelector("hmac:")).toBeNull();
    expect(parseSchemeSelector("paypal")).toBeNull();
  });

  it("shows at most a quarter of a secret, and never more than four characters", () => {
    expect(secretFingerprint("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).toBe(
      "whsec_MfKQ… (38 chars)",
    );
    expect(secretFingerprint("abcdefg")).toBe("a… (7 chars)");
    expect(secretFingerprint("abc")).toBe("… (3 chars)");
  });
});
