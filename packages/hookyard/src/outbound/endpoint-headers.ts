import { ValidationError } from "../errors.js";

/**
 * Custom endpoint headers (Svix rules): names Hookyard sets itself or that would break the
 * request are refused, and values that look like credentials are reported as sensitive.
 */
const FORBIDDEN = new Set([
  "connection",
  "content-length",
  "content-type",
  "host",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "user-agent",
]);
const FORBIDDEN_PREFIXES = ["webhook-", "svix-", "x-svix-", "x-hookyard-"];
const SENSITIVE = new Set(["authorization", "cookie", "x-api-key", "api-key", "x-auth-token"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/;
const MAX_VALUE_BYTES = 4096;

/** Lower-cases names and checks every header. @throws ValidationError naming the header. */
export function normalizeHeaders(
  headers: Record<string, string>,
  loc: string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    const at = [...loc, rawName];
    if (!TOKEN.test(rawName)) throw ValidationError.field(at, "is not a valid HTTP header name");
    if (FORBIDDEN.has(name) || FORBIDDEN_PREFIXES.some((p) => name.startsWith(p))) {
      throw ValidationError.field(
        at,
        `header "${rawName}" is set by Hookyard and cannot be overridden`,
      );
    }
    if (typeof value !== "string" || /[\r\n\0]/.test(value)) {
      throw ValidationError.field(at, "must be a string without line breaks");
    }
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES) {
      throw ValidationError.field(at, `must be at most ${MAX_VALUE_BYTES} bytes`);
    }
    out[name] = value;
  }
  return out;
}

/** Splits headers into those shown as-is and the names of sensitive ones (values hidden). */
export function splitSensitive(headers: Record<string, string>): {
  headers: Record<string, string>;
  sensitive: string[];
} {
  const shown: Record<string, string> = {};
  const sensitive: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (SENSITIVE.has(name)) sensitive.push(name);
    else shown[name] = value;
  }
  return { headers: shown, sensitive };
}
