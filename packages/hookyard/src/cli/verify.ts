import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  diagnoseSignatures,
  parseSchemeSelector,
  secretFingerprint,
  type Diagnosis,
  type DiagnosisRequest,
  type SchemeDiagnosis,
  type SchemeSelector,
} from "../signing/signature-diagnosis.js";
import { ApiCallError, ApiClient, DEFAULT_SERVER_URL } from "./api-client.js";
import type { CliIo } from "./cli-io.js";
import { printable } from "./printable.js";

/** What `hookyard verify` was asked (see renderVerifyHelp). */
export interface VerifyRequest {
  /** `--request <req_…>`: a request a source captured (fetched from the server). */
  request: string | undefined;
  /** `--source <id|uid>`: the source of --request (optional: a request id is unique). */
  source: string | undefined;
  /** `--headers <file>` and `--body <file>`: a request given as files instead. */
  headersFile: string | undefined;
  bodyFile: string | undefined;
  secret: string | undefined;
  /** `--scheme <name>`: check only this scheme (default: every known one). */
  scheme: string | undefined;
  /** `--tolerance <seconds>`: the timestamp tolerance (default: each scheme's own). */
  tolerance: string | undefined;
  /** `--at <ISO time|unix seconds|now>`: judge timestamps then (default: when received, or now). */
  at: string | undefined;
  json: boolean;
  server: string;
  apiKey: string | undefined;
  io: CliIo;
}

const SECRET_ENV = "HOOKYARD_VERIFY_SECRET";

export function renderVerifyHelp(): string {
  return [
    "Usage: hookyard verify <req_…> [--source <id|uid>] [options]",
    "       hookyard verify --headers <file> --body <file> [options]",
    "",
    "Checks a webhook request's signature against a secret for each scheme its headers carry",
    "(Standard Webhooks / Svix, GitHub, Stripe, Slack, Shopify) and, when one does not match, says",
    "why. The report shows a fingerprint of the secret (its first characters and length), never",
    "the secret: the report can go into a bug report as it is.",
    "",
    "Options:",
    "  --secret <value>        The signing secret [HOOKYARD_VERIFY_SECRET, which keeps it out of",
    "                          your shell history]",
    "  --request <req_…>       A request a source captured (or give its id as the argument)",
    "  --source <id|uid>       The source that captured it: the request is looked up there only",
    "                          (default: whichever source received it)",
    "  --headers <file>        The request's headers: `Name: value` lines (curl -D, a raw HTTP",
    "                          request; request and status lines are skipped) or a JSON object",
    "  --body <file>           The request's body, byte for byte",
    "  --scheme <name>         Check only this scheme: standard-webhooks (or svix), github, stripe,",
    "                          slack, shopify, or hmac:<header> for an HMAC-SHA256/SHA-1/SHA-512",
    "                          of the body in any header (hex or base64)",
    "  --tolerance <seconds>   How far a signed timestamp may be from --at (default 300)",
    "  --at <time>             Judge timestamps at this ISO time or unix seconds, or `now`",
    "                          (default: when the server received --request; now for files)",
    "  --json                  Print {schemes: [{scheme, header, verdict, cause?, detail,",
    "                          evidence?}], ok, at} instead of the report",
    `  --server <url>          The Hookyard server (default ${DEFAULT_SERVER_URL}) [HOOKYARD_SERVER_URL]`,
    "  --api-key <key>         The admin API key, for --request [HOOKYARD_API_KEY]",
    "",
    "Causes of a mismatch:",
    "  whsec_prefix                 The HMAC matches with the whsec_ secret handled another way:",
    "                               used as text where the scheme decodes its base64 part (Standard",
    "                               Webhooks), or decoded or stripped where it is used as text",
    "                               (Stripe keys with the whole whsec_… text)",
    "  hex_vs_base64                The header carries the right HMAC in another encoding (hex for",
    "                               base64, base64 of the hex text, base64url, …)",
    "  wrong_header_name            The signature is under a near-miss name (X_Hub_Signature_256,",
    "                               X-Hub-Signature for X-Hub-Signature-256, svix-id with",
    "                               webhook-signature, a Stripe v0= entry instead of v1=)",
    "  timestamp_outside_tolerance  The signature matches, but its timestamp is too old or in the",
    "                               future: by how much, and the tolerance (see --tolerance, --at)",
    "  body_changed                 The signature matches a variant of the body: a trailing newline",
    "                               added or removed, CRLF/LF, JSON re-serialised (compact, indented,",
    "                               sorted keys, Python or PHP style), latin1/UTF-8 re-encoded; the",
    "                               first differing byte is shown in both",
    "  wrong_secret                 Nothing above explains it: another secret signed it, or the body",
    "                               changed beyond recognition (also: whitespace around the secret)",
    "  missing_header               The scheme's signature (or timestamp) header is absent",
    "  malformed_header             The header cannot be read (no t= in Stripe-Signature, no v0=, …)",
    "  body_truncated               The server kept only the start of this rejected request's body",
    "",
    "Exit status: 0 a signature matches (its timestamp within tolerance), 1 none does or the",
    "request cannot be fetched or read, 2 wrong usage.",
    "",
    "Examples:",
    "  HOOKYARD_VERIFY_SECRET=whsec_… hookyard verify req_2x8…",
    '  hookyard verify req_2x8… --source github-prod --secret "$GITHUB_WEBHOOK_SECRET"',
    "  hookyard verify --headers headers.txt --body body.json --scheme stripe --at 1700000000",
    "  hookyard verify --headers h.json --body b --scheme hmac:X-Signature --secret s3cr3t --json",
    "",
  ].join("\n");
}

/** A request to check, wherever it came from. */
interface Input {
  headers: Record<string, string>;
  body: Buffer;
  bodyBytesReceived?: number;
  /** When the server received it (epoch seconds), for a captured request. */
  receivedAtSeconds?: number;
  /** One line saying what is checked (no secret in it). */
  what: string;
}

/** Why verify cannot check anything: one line for stderr, and the exit code it earns. */
class VerifyFailure extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

const usage = (message: string) => new VerifyFailure(message, 2);

export async function runVerify(req: VerifyRequest): Promise<number> {
  const { io } = req;
  try {
    const secret = req.secret ?? io.env[SECRET_ENV];
    if (secret === undefined || secret === "") {
      throw usage(`no secret: give --secret <value> or set ${SECRET_ENV}`);
    }
    const only = schemeOf(req.scheme);
    const toleranceSeconds = toleranceOf(req.tolerance);
    const at = atOf(req.at);
    const input = await inputOf(req);
    const nowSeconds =
      at === "now" ? nowInSeconds() : (at ?? input.receivedAtSeconds ?? nowInSeconds());
    const diagnosis = diagnoseSignatures({
      headers: input.headers,
      body: input.body,
      secret,
      nowSeconds,
      ...optional({ only, toleranceSeconds, bodyBytesReceived: input.bodyBytesReceived }),
    });
    const atIso = new Date(nowSeconds * 1000).toISOString();
    if (req.json) {
      io.stdout.write(`${JSON.stringify({ ...diagnosis, at: atIso }, null, 2)}\n`);
    } else {
      const context = `${input.what}, secret ${secretFingerprint(secret)}, at ${atIso}`;
      io.stdout.write(renderReport(diagnosis, context, input.headers));
    }
    return diagnosis.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof VerifyFailure) {
      io.stderr.write(`hookyard verify: ${printable(err.message)}\n`);
      return err.exitCode;
    }
    if (err instanceof ApiCallError) {
      io.stderr.write(`hookyard verify: ${printable(err.message)}\n`);
      return 1;
    }
    throw err;
  }
}

/** The fields of `values` that are set, for exactOptionalPropertyTypes. */
function optional(values: {
  only: SchemeSelector | undefined;
  toleranceSeconds: number | undefined;
  bodyBytesReceived: number | undefined;
}): Partial<DiagnosisRequest> {
  const out: Partial<DiagnosisRequest> = {};
  if (values.only !== undefined) out.only = values.only;
  if (values.toleranceSeconds !== undefined) out.toleranceSeconds = values.toleranceSeconds;
  if (values.bodyBytesReceived !== undefined) out.bodyBytesReceived = values.bodyBytesReceived;
  return out;
}

function nowInSeconds(): number {
  // eslint-disable-next-line no-restricted-syntax -- the CLI judges timestamps at the user's now unless --at says otherwise
  return Math.floor(Date.now() / 1000);
}

function schemeOf(text: string | undefined): SchemeSelector | undefined {
  if (text === undefined) return undefined;
  const selector = parseSchemeSelector(text);
  if (selector === null) {
    throw usage(
      `unknown --scheme "${text}": use standard-webhooks, svix, github, stripe, slack, shopify or hmac:<header>`,
    );
  }
  return selector;
}

function toleranceOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text.trim())) {
    throw usage(`--tolerance takes whole seconds, got "${text}"`);
  }
  return Number(text.trim());
}

function atOf(text: string | undefined): number | "now" | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === "now") return "now";
  if (/^\d{1,12}$/.test(trimmed)) return Number(trimmed);
  const ms = Date.parse(trimmed);
  if (!/^\d{4}-\d{2}-\d{2}/.test(trimmed) || Number.isNaN(ms)) {
    throw usage(
      `--at takes an ISO time (2025-01-31T12:00:00Z), unix seconds or now, got "${text}"`,
    );
  }
  return Math.floor(ms / 1000);
}

async function inputOf(req: VerifyRequest): Promise<Input> {
  const fromFiles = req.headersFile !== undefined || req.bodyFile !== undefined;
  if (req.request !== undefined && fromFiles) {
    throw usage("give a captured request (--request) or --headers/--body, not both");
  }
  if (req.request !== undefined) return capturedRequest(req, req.request);
  if (!fromFiles) {
    throw usage(
      "nothing to check: give a captured request (<req_…>) or --headers <file> --body <file>",
    );
  }
  if (req.source !== undefined) {
    throw usage("--source names the source of a captured request (<req_…>), not of files");
  }
  if (req.headersFile === undefined || req.bodyFile === undefined) {
    throw usage("--headers and --body go together: give both files (an empty body is a file too)");
  }
  const headersText = await readInput(req, req.headersFile, "--headers").then((b) =>
    b.toString("utf8"),
  );
  const body = await readInput(req, req.bodyFile, "--body");
  return {
    headers: parseHeaderFile(headersText, req.headersFile),
    body,
    what: `${req.headersFile} + ${req.bodyFile} (${body.length} B body)`,
  };
}

async function readInput(req: VerifyRequest, path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(resolve(req.io.cwd, path));
  } catch (err) {
    const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
    throw new VerifyFailure(`cannot read the ${flag} file ${path}${code ? ` (${code})` : ""}`, 1);
  }
}

/**
 * Headers as `Name: value` lines (curl -D, a raw HTTP request, a browser's copy) or a JSON
 * object. Request and status lines, HTTP/2 pseudo-headers and blank lines are skipped; names are
 * lower-cased and repeated names joined with ", ", as the server stores them.
 */
function parseHeaderFile(text: string, path: string): Record<string, string> {
  const headers: Record<string, string> = {};
  const add = (name: string, value: string) => {
    const key = name.trim().toLowerCase();
    const existing = headers[key];
    headers[key] = existing === undefined ? value : `${existing}, ${value}`;
  };
  if (text.trimStart().startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new VerifyFailure(`${path} is not JSON: ${(err as Error).message}`, 1);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new VerifyFailure(`${path} is not a JSON object of headers`, 1);
    }
    for (const [name, value] of Object.entries(parsed)) {
      const values: unknown[] = Array.isArray(value) ? value : [value];
      for (const v of values) {
        if (typeof v !== "string" && typeof v !== "number") {
          throw new VerifyFailure(`${path}: header "${name}" is not a string`, 1);
        }
        add(name, String(v));
      }
    }
    return headers;
  }
  let last: string | null = null;
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === "" || line.startsWith(":")) continue;
    if (/^HTTP\/\d/.test(line) || /^[A-Z]+ \S+ HTTP\/\d/.test(line)) continue;
    if (/^[ \t]/.test(line) && last !== null) {
      // An obsolete folded line continues the previous header's value.
      headers[last] = `${headers[last] ?? ""} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new VerifyFailure(`${path} line ${index + 1} is not "Name: value"`, 1);
    }
    add(line.slice(0, colon), line.slice(colon + 1).trim());
    last = line.slice(0, colon).trim().toLowerCase();
  }
  return headers;
}

/** The request's shape in InboundRequestOut (http/schemas/source.ts), the fields used here. */
interface CapturedRequest {
  id: string;
  sourceId: string;
  status: string;
  reason: string | null;
  headers: Record<string, string>;
  body: string;
  bodyEncoding: "utf8" | "base64";
  bodyTruncated: boolean;
  bodyBytes: number;
  receivedAt: string;
}

async function capturedRequest(req: VerifyRequest, id: string): Promise<Input> {
  const api = new ApiClient(req.server, req.apiKey);
  const request = `request/${encodeURIComponent(id)}`;
  const path =
    req.source === undefined
      ? `/ingest/api/v1/${request}`
      : `/ingest/api/v1/source/${encodeURIComponent(req.source)}/${request}`;
  const captured = await api.json<CapturedRequest>("GET", path);
  const body = Buffer.from(captured.body, captured.bodyEncoding === "base64" ? "base64" : "utf8");
  const receivedAt = Date.parse(captured.receivedAt);
  const verdict =
    captured.reason === null ? captured.status : `${captured.status}: ${captured.reason}`;
  return {
    headers: captured.headers,
    body,
    ...(captured.bodyTruncated && { bodyBytesReceived: captured.bodyBytes }),
    ...(!Number.isNaN(receivedAt) && { receivedAtSeconds: Math.floor(receivedAt / 1000) }),
    what: `${captured.id} of ${captured.sourceId} (${verdict}; ${captured.bodyBytes} B body)`,
  };
}

// --- the report ---

function renderReport(
  diagnosis: Diagnosis,
  context: string,
  headers: Readonly<Record<string, string>>,
): string {
  const lines = [`checking ${context}`];
  if (diagnosis.schemes.length === 0) {
    const names = Object.keys(headers).join(", ") || "none";
    lines.push(
      `✗ no signature header of a known scheme (standard-webhooks/svix, github, stripe, slack, shopify); headers: ${names}`,
      "  name the scheme with --scheme, or --scheme hmac:<header> for a custom HMAC header",
    );
    return `${lines.map((text) => printable(text)).join("\n")}\n`;
  }
  const schemeWidth = Math.max(...diagnosis.schemes.map((s) => s.scheme.length));
  const headerWidth = Math.max(...diagnosis.schemes.map((s) => s.header.length));
  for (const s of diagnosis.schemes) {
    const lead = `${s.scheme.padEnd(schemeWidth)}  ${s.header.padEnd(headerWidth)}  `;
    lines.push(`${lead}${verdictText(s)}`);
    const evidence = evidenceLine(s);
    if (evidence !== null) lines.push(`${" ".repeat(lead.length + 2)}${evidence}`);
  }
  const matched = diagnosis.schemes.filter((s) => s.verdict === "match").map((s) => s.scheme);
  lines.push(
    matched.length > 0
      ? `✓ the signature matches (${matched.join(", ")})`
      : `✗ no signature matches (${diagnosis.schemes.length} scheme(s) checked)`,
  );
  return `${lines.map((text) => printable(text)).join("\n")}\n`;
}

function verdictText(s: SchemeDiagnosis): string {
  if (s.verdict === "match") return `✓ ${s.detail}`;
  return `✗ ${(s.cause ?? "mismatch").replaceAll("_", " ")}: ${s.detail}`;
}

function evidenceLine(s: SchemeDiagnosis): string | null {
  const e = s.evidence;
  if (e?.offset === undefined || e.given === undefined || e.signed === undefined) return null;
  return `offset ${e.offset}: given "${e.given}" signed "${e.signed}"`;
}

/** `text` with every control or bidi character escaped: headers come from anyone. */
