import { DEFAULT_TOLERANCE_S } from "./standard-webhooks.js";
import type { Encoding, KeyKind } from "./signature-variants.js";
import { editDistance } from "../edit-distance.js";

/**
 * How each scheme's headers read, for signature-diagnosis.ts: every way to read a request under
 * a scheme becomes a Plan (what was signed, with which key and algorithm, how it is encoded),
 * with the near misses that reading took (a misspelt header name, a missing `v0=`) as problems.
 */

export type SchemeName = "standard-webhooks" | "github" | "stripe" | "slack" | "shopify" | "hmac";

type Algorithm = "sha256" | "sha1" | "sha512";

export interface Problem {
  cause: "wrong_header_name" | "malformed_header";
  text: string;
  headerFound?: string;
  headerExpected?: string;
}

/** One way to read the request under a scheme: what was signed, with what, and how it is sent. */
export interface Plan {
  scheme: SchemeName;
  header: string;
  /** The signatures sent, each without its `sha256=`/`v1,`-style prefix. */
  signatures: readonly string[];
  /** What the scheme signs before the body (`${t}.`, `v0:${ts}:`, `${id}.${ts}.`). */
  signedPrefix: string;
  algorithm: Algorithm;
  encodings: readonly Encoding[];
  key: KeyKind;
  timestamp: { header: string; value: number } | null;
  toleranceSeconds: number;
  /** Why this reading is not the scheme's own (a near-miss header, a missing prefix). */
  problems: readonly Problem[];
}

/** A scheme whose headers leave nothing to check: a mismatch whatever the secret. */
export interface UnreadableHeaders {
  scheme: SchemeName;
  header: string;
  verdict: "mismatch";
  cause: "missing_header" | "malformed_header";
  detail: string;
}

/** Header names lower-cased, as diagnoseSignatures collects them. */
export type HeaderMap = ReadonlyMap<string, string>;

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
export const display = (name: string) => DISPLAY_NAMES[name] ?? name;

/** Whether the headers show a request of `scheme`, a near-miss signature header included. */
export function carries(headers: HeaderMap, scheme: SchemeName): boolean {
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
function lookup(headers: HeaderMap, names: readonly string[]): Found | null {
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

function unsigned(scheme: SchemeName, header: string, hint: string): UnreadableHeaders {
  return malformed(scheme, header, `no ${display(header)} header${hint}`, "missing_header");
}

function malformed(
  scheme: SchemeName,
  header: string,
  detail: string,
  cause: UnreadableHeaders["cause"] = "malformed_header",
): UnreadableHeaders {
  return { scheme, header: display(header), verdict: "mismatch", cause, detail };
}

/** The ways to read `headers` under `scheme`, best first; or why there is nothing to check. */
export function buildPlans(
  scheme: SchemeName,
  headers: HeaderMap,
  hmacHeader: string,
  tolerance: number | undefined,
): Plan[] | UnreadableHeaders {
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

function githubPlans(headers: HeaderMap): Plan[] | UnreadableHeaders {
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

function stripePlans(headers: HeaderMap, toleranceSeconds: number): Plan[] | UnreadableHeaders {
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

function slackPlans(headers: HeaderMap, toleranceSeconds: number): Plan[] | UnreadableHeaders {
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

function shopifyPlans(headers: HeaderMap): Plan[] | UnreadableHeaders {
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

function hmacPlans(headers: HeaderMap, header: string): Plan[] | UnreadableHeaders {
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
  headers: HeaderMap,
  toleranceSeconds: number,
): Plan[] | UnreadableHeaders {
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
