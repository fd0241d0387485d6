import { createHmac } from "node:crypto";
import { DEFAULT_TOLERANCE_S, secretBytes } from "./standard-webhooks.js";

/**
 * Why a webhook signature does not match, for `hookyard verify`. Where provider-schemes.ts says
 * yes or no (and must not say what was expected), this module is run by the secret's owner and
 * searches for the explanation: it recomputes each scheme's HMAC under variants of the key (the
 * `whsec_` handling), of the body (re-serialised JSON, newlines, charset) and of the encoding
 * (hex, base64), and names the variant that matches. Pure: the caller passes the time.
 *
 * Longer than one concept per file usually runs: the five schemes' header readers and the one
 * search they share are read together when a diagnosis looks wrong, so they stay together.
 */

export type SchemeName = "standard-webhooks" | "github" | "stripe" | "slack" | "shopify" | "hmac";

/** The schemes looked for when none is named (`hmac` needs its header, so it is never guessed). */
export const DETECTED_SCHEMES = [
  "standard-webhooks",
  "github",
  "stripe",
  "slack",
  "shopify",
] as const satisfies readonly SchemeName[];

/** Why a signature does not match; each is described in `hookyard verify --help`. */
export type Cause =
  | "whsec_prefix"
  | "hex_vs_base64"
  | "wrong_header_name"
  | "timestamp_outside_tolerance"
  | "body_changed"
  | "wrong_secret"
  | "missing_header"
  | "malformed_header"
  | "body_truncated";

/** `--scheme`: one scheme, and for `hmac` the header carrying its signature. */
export interface SchemeSelector {
  scheme: SchemeName;
  header?: string;
}

export interface DiagnosisRequest {
  /** Header names in any case; repeated headers joined with ", ". */
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
  /** When `body` keeps only the first bytes of what was received: how many were received. */
  bodyBytesReceived?: number;
  secret: string;
  /** The time timestamps are judged at, in epoch seconds. */
  nowSeconds: number;
  /** Check only this scheme (default: every scheme the headers show). */
  only?: SchemeSelector;
  /** Replaces each scheme's own tolerance. */
  toleranceSeconds?: number;
}

/** What supports a verdict; only the fields of its cause are set. */
export interface DiagnosisEvidence {
  /** body_changed: what the sender signed instead of the body as given. */
  signedVariant?: string;
  /** body_changed: the first byte where the given body and the signed one differ. */
  offset?: number;
  /** body_changed: the bytes around `offset`, escaped, in the given body and in the signed one. */
  given?: string;
  signed?: string;
  /** timestamp_outside_tolerance (and notes): the timestamp sent and how far it is from now. */
  timestamp?: number;
  skewSeconds?: number;
  toleranceSeconds?: number;
  /** whsec_prefix: the key that makes the signature match. */
  keyUsed?: string;
  keyExpected?: string;
  /** hex_vs_base64: how the header encodes the right HMAC, and what the scheme expects. */
  encodingFound?: string;
  encodingExpected?: string;
  /** wrong_header_name: where the signature was found, and where the scheme reads it. */
  headerFound?: string;
  headerExpected?: string;
  /** wrong_secret: a fingerprint of the secret that was tried (never the secret). */
  secret?: string;
}

export interface SchemeDiagnosis {
  scheme: SchemeName;
  /** The header the signature was read from (or should have been). */
  header: string;
  verdict: "match" | "mismatch";
  cause?: Cause;
  detail: string;
  evidence?: DiagnosisEvidence;
}

export interface Diagnosis {
  schemes: SchemeDiagnosis[];
  /** At least one scheme matches, with its timestamp within tolerance. */
  ok: boolean;
}

const SCHEME_ALIASES: Readonly<Record<string, SchemeName>> = {
  "standard-webhooks": "standard-webhooks",
  standardwebhooks: "standard-webhooks",
  svix: "standard-webhooks",
  github: "github",
  stripe: "stripe",
  slack: "slack",
  shopify: "shopify",
};

/** `github`, `svix`, `hmac:X-Signature`, …; null for a name this module does not know. */
export function parseSchemeSelector(text: string): SchemeSelector | null {
  const lower = text.trim().toLowerCase();
  if (lower.startsWith("hmac:") && /^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(lower.slice(5))) {
    return { scheme: "hmac", header: lower.slice(5) };
  }
  const scheme = SCHEME_ALIASES[lower];
  return scheme === undefined ? null : { scheme };
}

/** A secret as a bug report may show it: its first characters and its length. */
export function secretFingerprint(secret: string): string {
  const prefix = secret.startsWith(WHSEC) ? WHSEC : "";
  const rest = secret.slice(prefix.length);
  // A quarter at most, so a short secret is not half given away.
  const shown = rest.slice(0, Math.min(4, Math.floor(rest.length / 4)));
  return `${prefix}${escapeText(shown)}… (${secret.length} chars)`;
}

/** Checks every scheme the request carries (or `only`) and explains each mismatch. */
export function diagnoseSignatures(req: DiagnosisRequest): Diagnosis {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name.toLowerCase(), value);
  }
  const selected =
    req.only === undefined
      ? DETECTED_SCHEMES.filter((scheme) => carries(headers, scheme))
      : [req.only.scheme];
  const schemes = selected.map((scheme) => {
    const built = buildPlans(scheme, headers, req.only?.header ?? "", req.toleranceSeconds);
    return Array.isArray(built) ? search(built, req) : built;
  });
  return { schemes, ok: schemes.some((s) => s.verdict === "match") };
}

// --- reading each scheme's headers into plans ---

type Algorithm = "sha256" | "sha1" | "sha512";
type Encoding =
  | "hex"
  | "base64"
  | "unpadded base64"
  | "base64url"
  | "base64 of the hex digest"
  | "hex of the base64 digest";

interface Problem {
  cause: "wrong_header_name" | "malformed_header";
  text: string;
  headerFound?: string;
  headerExpected?: string;
}

/** One way to read the request under a scheme: what was signed, with what, and how it is sent. */
interface Plan {
  scheme: SchemeName;
  header: string;
  /** The signatures sent, each without its `sha256=`/`v1,`-style prefix. */
  signatures: readonly string[];
  /** What the scheme signs before the body (`${t}.`, `v0:${ts}:`, `${id}.${ts}.`). */
  signedPrefix: string;
  algorithm: Algorithm;
  encodings: readonly Encoding[];
  /** `text`: the secret's UTF-8 bytes; `whsec`: the base64 part after `whsec_`, decoded. */
  key: "text" | "whsec";
  timestamp: { header: string; value: number } | null;
  toleranceSeconds: number;
  /** Why this reading is not the scheme's own (a near-miss header, a missing prefix). */
  problems: readonly Problem[];
}

const WHSEC = "whsec_";

/** Every header name a scheme reads or that shows a request is of that scheme. */
const SCHEME_HEADERS: Readonly<Record<SchemeName, readonly string[]>> = {
  "standard-webhooks": [
    "webhook-signature",
    "webhook-id",
    "webhook-timestamp",
    "svix-signature",
    "svix-id",
    "svix-timestamp",
  ],
  github: ["x-hub-signature-256", "x-hub-signature", "x-github-event", "x-github-delivery"],
  stripe: ["stripe-signature"],
  slack: ["x-slack-signature", "x-slack-request-timestamp"],
  shopify: ["x-shopify-hmac-sha256", "shopify-hmac-sha256", "x-shopify-topic"],
  hmac: [],
};
const SIGNATURE_HEADERS: Readonly<Record<SchemeName, readonly string[]>> = {
  "standard-webhooks": ["webhook-signature", "svix-signature"],
  github: ["x-hub-signature-256"],
  stripe: ["stripe-signature"],
  slack: ["x-slack-signature"],
  shopify: ["x-shopify-hmac-sha256"],
  hmac: [],
};
const KNOWN_HEADERS = new Set(Object.values(SCHEME_HEADERS).flat());
const DISPLAY_NAMES: Readonly<Record<string, string>> = {
  "x-hub-signature-256": "X-Hub-Signature-256",
  "x-hub-signature": "X-Hub-Signature",
  "stripe-signature": "Stripe-Signature",
  "x-slack-signature": "X-Slack-Signature",
  "x-slack-request-timestamp": "X-Slack-Request-Timestamp",
  "x-shopify-hmac-sha256": "X-Shopify-Hmac-Sha256",
  "shopify-hmac-sha256": "Shopify-Hmac-Sha256",
};
const display = (name: string) => DISPLAY_NAMES[name] ?? name;

type Headers = ReadonlyMap<string, string>;

function carries(headers: Headers, scheme: SchemeName): boolean {
  return (
    SCHEME_HEADERS[scheme].some((name) => headers.has(name)) ||
    [...headers.keys()].some((name) => nearMissOf(name, SIGNATURE_HEADERS[scheme]) !== null)
  );
}

interface Found {
  name: string;
  value: string;
  exact: boolean;
}

/** The first of `names` present, else a header whose name is a near miss of one of them. */
function lookup(headers: Headers, names: readonly string[]): Found | null {
  for (const name of names) {
    const value = headers.get(name);
    if (value !== undefined) return { name, value, exact: true };
  }
  for (const [name, value] of headers) {
    if (nearMissOf(name, names) !== null) return { name, value, exact: false };
  }
  return null;
}

/** Which of `names` `name` misspells: `_` for `-`, a CGI `HTTP_` prefix, or a typo or two. */
function nearMissOf(name: string, names: readonly string[]): string | null {
  if (KNOWN_HEADERS.has(name)) return null;
  const normal = name.replaceAll("_", "-").replace(/^http-/, "");
  return (
    names.find((n) => normal === n || editDistance(normal, n) <= (n.length >= 10 ? 2 : 1)) ?? null
  );
}

function renamed(found: Found, expected: string): Problem[] {
  if (found.exact) return [];
  return [
    {
      cause: "wrong_header_name",
      text: `the signature's header is named ${found.name}, not ${display(expected)}`,
      headerFound: found.name,
      headerExpected: display(expected),
    },
  ];
}

function unsigned(scheme: SchemeName, header: string, hint: string): SchemeDiagnosis {
  return {
    scheme,
    header: display(header),
    verdict: "mismatch",
    cause: "missing_header",
    detail: `no ${display(header)} header${hint}`,
  };
}

function malformed(scheme: SchemeName, header: string, detail: string): SchemeDiagnosis {
  return {
    scheme,
    header: display(header),
    verdict: "mismatch",
    cause: "malformed_header",
    detail,
  };
}

function buildPlans(
  scheme: SchemeName,
  headers: Headers,
  hmacHeader: string,
  tolerance: number | undefined,
): Plan[] | SchemeDiagnosis {
  const toleranceSeconds = tolerance ?? DEFAULT_TOLERANCE_S;
  switch (scheme) {
    case "standard-webhooks":
      return standardWebhooksPlans(headers, toleranceSeconds);
    case "github":
      return githubPlans(headers);
    case "stripe":
      return stripePlans(headers, toleranceSeconds);
    case "slack":
      return slackPlans(headers, toleranceSeconds);
    case "shopify":
      return shopifyPlans(headers);
    case "hmac":
      return hmacPlans(headers, hmacHeader);
  }
}

const PLAIN = { timestamp: null, toleranceSeconds: 0, signedPrefix: "", key: "text" } as const;

function githubPlans(headers: Headers): Plan[] | SchemeDiagnosis {
  const base = { ...PLAIN, scheme: "github", encodings: ["hex"] } as const;
  const found = lookup(headers, ["x-hub-signature-256"]);
  if (found !== null) {
    const match = /^(sha1|sha256)=(.*)$/s.exec(found.value);
    const problems = renamed(found, "x-hub-signature-256");
    if (match?.[1] === "sha256") {
      return [
        { ...base, header: found.name, signatures: [match[2]!], algorithm: "sha256", problems },
      ];
    }
    const what = match === null ? "does not start with sha256=" : "carries a sha1= signature";
    const problem: Problem = { cause: "malformed_header", text: `${display(found.name)} ${what}` };
    return [
      {
        ...base,
        header: found.name,
        signatures: [match?.[2] ?? found.value],
        algorithm: match === null ? "sha256" : "sha1",
        problems: [...problems, problem],
      },
    ];
  }
  const legacy = headers.get("x-hub-signature");
  if (legacy === undefined) {
    return unsigned(
      "github",
      "x-hub-signature-256",
      " (GitHub sends it when the hook has a secret)",
    );
  }
  // Bitbucket sends SHA-256 in X-Hub-Signature; GitHub's legacy header is SHA-1.
  const match = /^(sha1|sha256)=(.*)$/s.exec(legacy);
  const algorithm = match?.[1] === "sha256" ? "sha256" : "sha1";
  const problem: Problem = {
    cause: "wrong_header_name",
    text: `there is no X-Hub-Signature-256; the signature is the ${algorithm} one in X-Hub-Signature (GitHub's legacy header), which a github source does not check`,
    headerFound: "X-Hub-Signature",
    headerExpected: "X-Hub-Signature-256",
  };
  return [
    {
      ...base,
      header: "x-hub-signature",
      signatures: [match?.[2] ?? legacy],
      algorithm,
      problems: [problem],
    },
  ];
}

function stripePlans(headers: Headers, toleranceSeconds: number): Plan[] | SchemeDiagnosis {
  const found = lookup(headers, ["stripe-signature"]);
  if (found === null) return unsigned("stripe", "stripe-signature", "");
  let timestamp: string | null = null;
  const v1: string[] = [];
  const others: Array<[string, string]> = [];
  for (const part of found.value.split(",")) {
    const eq = part.indexOf("=");
    const [key, value] = [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    if (key === "t") timestamp = value;
    else if (key === "v1") v1.push(value);
    else if (eq > 0) others.push([key, value]);
  }
  if (timestamp === null || !/^\d+$/.test(timestamp)) {
    return malformed("stripe", found.name, "Stripe-Signature has no t=<unix seconds> entry");
  }
  if (v1.length === 0 && others.length === 0) {
    return malformed("stripe", found.name, "Stripe-Signature has a t= entry but no signature");
  }
  const problems = renamed(found, "stripe-signature");
  const plan: Plan = {
    scheme: "stripe",
    header: found.name,
    signatures: v1.length > 0 ? v1 : others.map(([, value]) => value),
    signedPrefix: `${timestamp}.`,
    algorithm: "sha256",
    encodings: ["hex"],
    key: "text",
    timestamp: { header: "Stripe-Signature t=", value: Number(timestamp) },
    toleranceSeconds,
    problems:
      v1.length > 0
        ? problems
        : [
            ...problems,
            {
              cause: "wrong_header_name",
              text: `Stripe-Signature has no v1= entry, only ${others.map(([k]) => `${k}=`).join(", ")}; Stripe's libraries check v1= only`,
              headerFound: `Stripe-Signature ${others[0]![0]}=`,
              headerExpected: "Stripe-Signature v1=",
            },
          ],
  };
  return [plan];
}

function slackPlans(headers: Headers, toleranceSeconds: number): Plan[] | SchemeDiagnosis {
  const found = lookup(headers, ["x-slack-signature"]);
  if (found === null) return unsigned("slack", "x-slack-signature", "");
  const ts = lookup(headers, ["x-slack-request-timestamp"]);
  if (ts === null) return unsigned("slack", "x-slack-request-timestamp", "");
  if (!/^\d+$/.test(ts.value.trim())) {
    return malformed("slack", found.name, `${display(ts.name)} is not unix seconds`);
  }
  const prefixed = found.value.startsWith("v0=");
  const problems = [
    ...renamed(found, "x-slack-signature"),
    ...renamed(ts, "x-slack-request-timestamp"),
  ];
  if (!prefixed) {
    problems.push({
      cause: "malformed_header",
      text: `${display(found.name)} does not start with v0=`,
    });
  }
  const value = Number(ts.value.trim());
  return [
    {
      scheme: "slack",
      header: found.name,
      signatures: [prefixed ? found.value.slice(3) : found.value],
      signedPrefix: `v0:${value}:`,
      algorithm: "sha256",
      encodings: ["hex"],
      key: "text",
      timestamp: { header: display(ts.name), value },
      toleranceSeconds,
      problems,
    },
  ];
}

function shopifyPlans(headers: Headers): Plan[] | SchemeDiagnosis {
  // The newer "Events" deliveries drop the X- prefix; both are Shopify's own names.
  const found = lookup(headers, ["x-shopify-hmac-sha256", "shopify-hmac-sha256"]);
  if (found === null) return unsigned("shopify", "x-shopify-hmac-sha256", "");
  return [
    {
      ...PLAIN,
      scheme: "shopify",
      header: found.name,
      signatures: [found.value.trim()],
      algorithm: "sha256",
      // Shopify's verifiers decode the base64, so missing padding passes them.
      encodings: ["base64", "unpadded base64"],
      problems: renamed(found, "x-shopify-hmac-sha256"),
    },
  ];
}

function hmacPlans(headers: Headers, header: string): Plan[] | SchemeDiagnosis {
  const found = lookup(headers, [header]);
  if (found === null) return unsigned("hmac", header, "");
  const match = /^(sha1|sha256|sha512)=(.*)$/is.exec(found.value.trim());
  const named = match?.[1]?.toLowerCase() as Algorithm | undefined;
  const algorithms: Algorithm[] = [named ?? "sha256", "sha256", "sha1", "sha512"];
  // Any algorithm and either encoding is a match: a generic HMAC header has no fixed recipe.
  return [...new Set(algorithms)].map((algorithm) => ({
    ...PLAIN,
    scheme: "hmac",
    header: found.name,
    signatures: [match?.[2] ?? found.value.trim()],
    algorithm,
    encodings: ["hex", "base64", "unpadded base64", "base64url"],
    problems: renamed(found, header),
  }));
}

function standardWebhooksPlans(
  headers: Headers,
  toleranceSeconds: number,
): Plan[] | SchemeDiagnosis {
  const found = lookup(headers, SIGNATURE_HEADERS["standard-webhooks"]);
  const scheme = "standard-webhooks";
  if (found === null) return unsigned(scheme, "webhook-signature", " (nor svix-signature)");
  const family = found.name.includes("svix") ? "svix" : "webhook";
  const other = family === "svix" ? "webhook" : "svix";
  // The signature's own family first: svix reads svix-* first, Hookyard webhook-* first, and
  // the standardwebhooks library webhook-* only, so a mixed set passes some verifiers only.
  const part = (suffix: string): Found[] => {
    const exact = [family, other].flatMap((f) => {
      const value = headers.get(`${f}-${suffix}`);
      return value === undefined ? [] : [{ name: `${f}-${suffix}`, value, exact: true }];
    });
    const near = lookup(headers, [`webhook-${suffix}`, `svix-${suffix}`]);
    return exact.length > 0 ? exact : near === null ? [] : [near];
  };
  const ids = part("id");
  const timestamps = part("timestamp").filter((t) => /^\d+$/.test(t.value.trim()));
  if (ids.length === 0) return unsigned(scheme, `${family}-id`, "");
  if (timestamps.length === 0) {
    return headers.has(`${family}-timestamp`) || headers.has(`${other}-timestamp`)
      ? malformed(scheme, found.name, `${family}-timestamp is not unix seconds`)
      : unsigned(scheme, `${family}-timestamp`, "");
  }
  const entries = found.value.split(" ").filter((e) => e !== "");
  const v1 = entries.filter((e) => e.startsWith("v1,")).map((e) => e.slice(3));
  const format: Problem[] = [];
  if (v1.length === 0) {
    if (entries.some((e) => e.startsWith("v1a,"))) {
      return malformed(
        scheme,
        found.name,
        `${found.name} has only v1a (Ed25519) signatures; verify checks HMAC (v1) ones`,
      );
    }
    format.push({ cause: "malformed_header", text: `${found.name} has no v1,<base64> entry` });
  }
  const signatures = v1.length > 0 ? v1 : entries.map((e) => e.replace(/^[^,]*,/, ""));
  const plans: Plan[] = [];
  for (const id of ids) {
    for (const ts of timestamps) {
      const strays = [id, ts].filter((h) => !h.exact || !h.name.startsWith(`${family}-`));
      const mixed: Problem[] =
        strays.length === 0
          ? []
          : [
              {
                cause: "wrong_header_name",
                text: `the headers mix families: ${found.name} with ${id.name} and ${ts.name} (the standardwebhooks library reads webhook-* only, svix reads svix-* first)`,
                headerFound: strays.map((h) => h.name).join(", "),
                headerExpected: strays
                  .map((h) => h.name.replace(/^.*-(id|timestamp)$/, `${family}-$1`))
                  .join(", "),
              },
            ];
      const value = Number(ts.value.trim());
      plans.push({
        scheme,
        header: found.name,
        signatures,
        signedPrefix: `${id.value}.${value}.`,
        algorithm: "sha256",
        encodings: ["base64"],
        key: "whsec",
        timestamp: { header: ts.name, value },
        toleranceSeconds,
        problems: [...renamed(found, `${family}-signature`), ...mixed, ...format],
      });
    }
  }
  return plans;
}

// --- the search ---

interface KeyVariant {
  bytes: Buffer;
  label: string;
  /** A match with this key is explained by this cause. */
  cause: "whsec_prefix" | "wrong_secret";
}

interface BodyVariant {
  bytes: Buffer;
  /** What the sender signed, in a sentence; "" for the body as given. */
  story: string;
  label: string;
}

interface Hit {
  plan: Plan;
  key: KeyVariant;
  canonicalKey: KeyVariant;
  body: BodyVariant;
  encoding: Encoding;
  score: number;
}

function search(plans: readonly Plan[], req: DiagnosisRequest): SchemeDiagnosis {
  const first = plans[0]!;
  const truncated = req.bodyBytesReceived !== undefined && req.bodyBytesReceived > req.body.length;
  const bodies = truncated ? [] : bodyVariants(req.body);
  let best: Hit | null = null;
  for (const plan of plans) {
    const keys = keyVariants(req.secret, plan.key);
    for (const key of keys) {
      for (const body of bodies) {
        const digest = createHmac(plan.algorithm, key.bytes)
          .update(plan.signedPrefix)
          .update(body.bytes)
          .digest();
        for (const signature of plan.signatures) {
          const encoding = encodingOf(signature, digest);
          if (encoding === null) continue;
          const score =
            (plan.problems.length > 0 ? 1 : 0) +
            (key === keys[0] ? 0 : 1) +
            (body === bodies[0] ? 0 : 1) +
            (plan.encodings.includes(encoding) ? 0 : 1);
          if (best === null || score < best.score) {
            best = { plan, key, canonicalKey: keys[0]!, body, encoding, score };
          }
          if (score === 0) return verdictOf(best, req);
        }
      }
    }
  }
  if (best !== null) return verdictOf(best, req);
  const header = display(first.header);
  const notes = timestampNotes(first, req);
  if (truncated) {
    return {
      scheme: first.scheme,
      header,
      verdict: "mismatch",
      cause: "body_truncated",
      detail: `only the first ${req.body.length} of ${req.bodyBytesReceived} bytes of this request were kept (Hookyard keeps the start of a rejected request), so no signature over the whole body can be checked; capture it whole and use --headers/--body${notes}`,
    };
  }
  const problem = first.problems[0];
  if (problem !== undefined) {
    return {
      scheme: first.scheme,
      header,
      verdict: "mismatch",
      cause: problem.cause,
      detail: `${first.problems.map((p) => p.text).join("; ")}; the value does not match under any variant I know either${notes}`,
      ...problemEvidence(problem),
    };
  }
  const fingerprint = secretFingerprint(req.secret);
  return {
    scheme: first.scheme,
    header,
    verdict: "mismatch",
    cause: "wrong_secret",
    detail: `the signature was made with a different secret than ${fingerprint}, or the body changed in a way I cannot recognise${notes}`,
    evidence: { secret: fingerprint },
  };
}

function verdictOf(hit: Hit, req: DiagnosisRequest): SchemeDiagnosis {
  const { plan } = hit;
  const header = display(plan.header);
  const skew = skewOf(plan, req.nowSeconds);
  const stale = skew !== null && Math.abs(skew.skewSeconds) > skew.toleranceSeconds;
  if (hit.score === 0 && !stale) {
    const algorithm =
      plan.scheme === "hmac" ? ` (HMAC-${plan.algorithm.toUpperCase()}, ${hit.encoding})` : "";
    const when =
      skew === null
        ? ""
        : `; timestamp ${describeSkew(skew.skewSeconds)}, within ${skew.toleranceSeconds} s`;
    return {
      scheme: plan.scheme,
      header,
      verdict: "match",
      detail: `signature matches${algorithm}${when}`,
    };
  }
  const reasons: Array<{ cause: Cause; text: string; evidence: DiagnosisEvidence }> = [];
  for (const problem of plan.problems) {
    reasons.push({
      cause: problem.cause,
      text: problem.text,
      evidence: problemEvidence(problem).evidence ?? {},
    });
  }
  if (hit.key !== hit.canonicalKey) {
    reasons.push({
      cause: hit.key.cause,
      text: `it matches with ${hit.key.label}; ${plan.scheme} keys the HMAC with ${hit.canonicalKey.label}`,
      evidence: { keyUsed: hit.key.label, keyExpected: hit.canonicalKey.label },
    });
  }
  if (!plan.encodings.includes(hit.encoding)) {
    reasons.push({
      cause: "hex_vs_base64",
      text: `the header carries the right HMAC as ${hit.encoding}; ${plan.scheme} expects ${plan.encodings[0]!}`,
      evidence: { encodingFound: hit.encoding, encodingExpected: plan.encodings[0]! },
    });
  }
  if (hit.body.story !== "") {
    reasons.push({
      cause: "body_changed",
      text: hit.body.story,
      evidence: firstDifference(req.body, hit.body),
    });
  }
  if (stale) {
    const text = `${plan.timestamp!.header} ${plan.timestamp!.value} is ${describeSkew(skew.skewSeconds)} at ${isoSeconds(req.nowSeconds)}: ${Math.abs(skew.skewSeconds) - skew.toleranceSeconds} s outside the ${skew.toleranceSeconds} s tolerance${millisecondsHint(plan)}`;
    reasons.push({
      cause: "timestamp_outside_tolerance",
      text: reasons.length === 0 ? `the signature matches, but ${text}` : text,
      evidence: { timestamp: plan.timestamp!.value, ...skew },
    });
  }
  const [main] = reasons;
  return {
    scheme: plan.scheme,
    header,
    verdict: "mismatch",
    cause: main!.cause,
    detail: reasons.map((r) => r.text).join("; also "),
    evidence: reasons.reduce<DiagnosisEvidence>((all, r) => ({ ...all, ...r.evidence }), {}),
  };
}

function problemEvidence(problem: Problem): { evidence?: DiagnosisEvidence } {
  if (problem.headerFound === undefined || problem.headerExpected === undefined) return {};
  return { evidence: { headerFound: problem.headerFound, headerExpected: problem.headerExpected } };
}

/** The key as the scheme derives it first, then the mistakes people make with `whsec_`. */
function keyVariants(secret: string, kind: Plan["key"]): KeyVariant[] {
  const prefixed = secret.startsWith(WHSEC);
  const rest = prefixed ? secret.slice(WHSEC.length) : secret;
  const text: KeyVariant = {
    bytes: Buffer.from(secret),
    label: prefixed ? "the secret's text, whsec_ prefix included" : "the secret's text",
    cause: "whsec_prefix",
  };
  const decoded: KeyVariant = {
    bytes: secretBytes(secret),
    label: prefixed ? "the base64 part after whsec_, decoded" : "the secret base64-decoded",
    cause: "whsec_prefix",
  };
  const variants = kind === "whsec" ? [decoded, text] : [text, decoded];
  if (prefixed) {
    variants.push({
      bytes: Buffer.from(rest),
      label: "the secret's text without its whsec_ prefix",
      cause: "whsec_prefix",
    });
  } else {
    // Stripe keys with the whole `whsec_…` text; a secret pasted without its prefix misses it.
    variants.push({
      bytes: Buffer.from(WHSEC + secret),
      label: "the secret's text with a whsec_ prefix",
      cause: "whsec_prefix",
    });
  }
  const trimmed = secret.trim();
  if (trimmed !== secret) {
    const around = /^\s*/.exec(secret)![0] + /\s*$/.exec(secret)![0];
    variants.push({
      bytes: kind === "whsec" ? secretBytes(trimmed) : Buffer.from(trimmed),
      label: `the secret without the whitespace around it (the one given has "${escapeText(around)}")`,
      cause: "wrong_secret",
    });
  }
  // The scheme's own key stays first even when empty; an empty variant explains nothing.
  return distinct(variants).filter((v, i) => i === 0 || v.bytes.length > 0);
}

/** Edits on the way (an editor, `echo`, a proxy): what was signed, the story, the edit. */
const TEXT_EDITS: ReadonlyArray<readonly [string, string, (text: string) => string | null]> = [
  [
    'without its trailing "\\r\\n"',
    'without the trailing "\\r\\n" yours ends with',
    (t) => (t.endsWith("\r\n") ? t.slice(0, -2) : null),
  ],
  [
    'without its trailing "\\n"',
    'without the trailing "\\n" yours ends with',
    (t) => (t.endsWith("\n") ? t.slice(0, -1) : null),
  ],
  [
    'with a trailing "\\n"',
    'with a trailing "\\n" yours lacks',
    (t) => (t.endsWith("\n") ? null : `${t}\n`),
  ],
  [
    'with a trailing "\\r\\n"',
    'with a trailing "\\r\\n" yours lacks',
    (t) => (t.endsWith("\n") ? null : `${t}\r\n`),
  ],
  [
    "with LF line ends",
    "with LF line ends; yours has CRLF",
    (t) => (t.includes("\r\n") ? t.replaceAll("\r\n", "\n") : null),
  ],
  [
    "with CRLF line ends",
    "with CRLF line ends; yours has LF",
    (t) => (!t.includes("\r\n") && t.includes("\n") ? t.replaceAll("\n", "\r\n") : null),
  ],
  ["without surrounding whitespace", "without the whitespace around it", (t) => t.trim()],
];

/** The body as given, then what a sender (or a proxy) signs that differs from it. */
function bodyVariants(given: Buffer): BodyVariant[] {
  const variants: BodyVariant[] = [{ bytes: given, story: "", label: "the body as given" }];
  const add = (bytes: Buffer, label: string, story: string) =>
    variants.push({ bytes, label, story: `the sender signed ${story}` });
  // latin1 maps bytes to characters one to one, so these edits keep every other byte as is.
  const text = given.toString("latin1");
  for (const [label, story, edit] of TEXT_EDITS) {
    const edited = edit(text);
    if (edited !== null)
      add(Buffer.from(edited, "latin1"), `the body ${label}`, `the body ${story}`);
  }
  for (const { label, text: json } of jsonVariants(given)) {
    add(Buffer.from(json), label, `${label}; your body is re-serialised`);
    add(
      Buffer.from(`${json}\n`),
      `${label} + "\\n"`,
      `${label} + "\\n"; your body is re-serialised`,
    );
  }
  if (/[\x80-\xff]/.test(text)) {
    const change = "(a charset change on the way)";
    add(
      Buffer.from(text, "utf8"),
      "the body re-encoded from latin1 to UTF-8",
      `the UTF-8 encoding of the same text; your body is latin1 ${change}`,
    );
    const utf8 = given.toString("utf8");
    // Only text latin1 can hold: beyond U+00FF a latin1 re-encoding is lossy, not a variant.
    if (!utf8.includes("\ufffd") && [...utf8].every((c) => c.charCodeAt(0) <= 0xff)) {
      add(
        Buffer.from(utf8, "latin1"),
        "the body re-encoded from UTF-8 to latin1",
        `the latin1 encoding of the same text; your body is UTF-8 ${change}`,
      );
    }
  }
  return distinct(variants);
}

function jsonVariants(given: Buffer): Array<{ label: string; text: string }> {
  let value: unknown;
  try {
    value = JSON.parse(given.toString("utf8"));
  } catch {
    return [];
  }
  if (typeof value !== "object" || value === null) return [];
  const sorted = sortKeys(value);
  const ascii = (t: string) =>
    t.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return [
    { label: "the compact JSON", text: JSON.stringify(value) },
    { label: "the JSON indented by 2 spaces", text: JSON.stringify(value, null, 2) },
    { label: "the JSON indented by 4 spaces", text: JSON.stringify(value, null, 4) },
    { label: "the compact JSON with sorted keys", text: JSON.stringify(sorted) },
    {
      label: "the JSON with sorted keys, indented by 2 spaces",
      text: JSON.stringify(sorted, null, 2),
    },
    {
      label: 'the JSON with ", " and ": " separators (Python\'s json.dumps)',
      text: ascii(spaced(value)),
    },
    {
      label: "the compact JSON with non-ASCII escaped as \\uXXXX",
      text: ascii(JSON.stringify(value)),
    },
    {
      label: "the compact JSON with / and non-ASCII escaped (PHP's json_encode)",
      text: ascii(JSON.stringify(value)).replaceAll("/", "\\/"),
    },
  ];
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
}

/** JSON with Python's default separators: `, ` between items, `: ` after keys. */
function spaced(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(spaced).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const items = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${spaced(v)}`);
    return `{${items.join(", ")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function distinct<T extends { bytes: Buffer }>(variants: T[]): T[] {
  return variants.filter((v, i) => variants.findIndex((w) => w.bytes.equals(v.bytes)) === i);
}

/** How `text` encodes `digest`, if it does. */
function encodingOf(text: string, digest: Buffer): Encoding | null {
  const hex = digest.toString("hex");
  const base64 = digest.toString("base64");
  const unpad = (t: string) => t.replace(/=+$/, "");
  if (text.toLowerCase() === hex) return "hex";
  if (text === base64) return "base64";
  if (text === unpad(base64)) return "unpadded base64";
  if (text === digest.toString("base64url")) return "base64url";
  if (unpad(text) === unpad(Buffer.from(hex).toString("base64"))) return "base64 of the hex digest";
  if (text.toLowerCase() === Buffer.from(base64).toString("hex")) return "hex of the base64 digest";
  return null;
}

// --- timestamps and evidence ---

function skewOf(
  plan: Plan,
  nowSeconds: number,
): { skewSeconds: number; toleranceSeconds: number } | null {
  if (plan.timestamp === null) return null;
  return {
    skewSeconds: nowSeconds - plan.timestamp.value,
    toleranceSeconds: plan.toleranceSeconds,
  };
}

function timestampNotes(plan: Plan, req: DiagnosisRequest): string {
  const skew = skewOf(plan, req.nowSeconds);
  if (skew === null || Math.abs(skew.skewSeconds) <= skew.toleranceSeconds) return "";
  return `; also, ${plan.timestamp!.header} is ${describeSkew(skew.skewSeconds)}, outside the ${skew.toleranceSeconds} s tolerance${millisecondsHint(plan)}`;
}

function millisecondsHint(plan: Plan): string {
  // Past the year 5000 in seconds: far likelier a sender that wrote milliseconds.
  const value = plan.timestamp?.value ?? 0;
  return value > 1e11 ? " (it looks like milliseconds; the scheme wants seconds)" : "";
}

function describeSkew(skewSeconds: number): string {
  return skewSeconds >= 0 ? `${skewSeconds} s old` : `${-skewSeconds} s in the future`;
}

function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

const CONTEXT_BYTES = 12;

function firstDifference(given: Buffer, signed: BodyVariant): DiagnosisEvidence {
  let offset = 0;
  const shorter = Math.min(given.length, signed.bytes.length);
  while (offset < shorter && given[offset] === signed.bytes[offset]) offset++;
  return {
    signedVariant: signed.label,
    offset,
    given: excerpt(given, offset),
    signed: excerpt(signed.bytes, offset),
  };
}

/** The bytes around `offset`, escaped, with `…` where the excerpt cuts the body. */
function excerpt(bytes: Buffer, offset: number): string {
  const start = Math.max(0, offset - CONTEXT_BYTES);
  const end = Math.min(bytes.length, offset + CONTEXT_BYTES);
  return `${start > 0 ? "…" : ""}${escapeBytes(bytes.subarray(start, end))}${end < bytes.length ? "…" : ""}`;
}

/** Printable ASCII as is, `\n` `\r` `\t` `\"` `\\`, every other byte as `\xNN`. */
function escapeBytes(bytes: Buffer): string {
  let out = "";
  for (const byte of bytes) {
    if (byte === 0x0a) out += "\\n";
    else if (byte === 0x0d) out += "\\r";
    else if (byte === 0x09) out += "\\t";
    else if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

function escapeText(text: string): string {
  return escapeBytes(Buffer.from(text, "utf8"));
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
