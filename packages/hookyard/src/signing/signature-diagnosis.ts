import { createHmac } from "node:crypto";
import {
  buildPlans,
  carries,
  display,
  type Plan,
  type Problem,
  type SchemeName,
} from "./signature-headers.js";
import {
  bodyVariants,
  encodingOf,
  escapeBytes,
  escapeText,
  keyVariants,
  WHSEC,
  type BodyVariant,
  type Encoding,
  type KeyVariant,
} from "./signature-variants.js";

/**
 * Why a webhook signature does not match, for `hookyard verify`. Where provider-schemes.ts says
 * yes or no (and must not say what was expected), this module is run by the secret's owner and
 * searches for the explanation: it recomputes each scheme's HMAC under variants of the key (the
 * `whsec_` handling), of the body (re-serialised JSON, newlines, charset) and of the encoding
 * (hex, base64), and names the variant that matches. Pure: the caller passes the time.
 * signature-headers.ts reads each scheme's headers, signature-variants.ts makes the variants.
 */

export type { SchemeName } from "./signature-headers.js";

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
  const scheme = Object.hasOwn(SCHEME_ALIASES, lower) ? SCHEME_ALIASES[lower] : undefined;
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

// --- the search ---

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
