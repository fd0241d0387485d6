import { secretBytes } from "./standard-webhooks.js";

/**
 * What a sender may have signed instead of what the scheme says, for signature-diagnosis.ts:
 * the key (the `whsec_` handling, whitespace around the secret), the body (newlines, line ends,
 * re-serialised JSON, charset) and the encoding of the HMAC (hex, base64 and their mix-ups).
 * Each variant comes with the words that explain it; the first of each list is the scheme's own.
 */

/** `text`: the secret's UTF-8 bytes; `whsec`: the base64 part after `whsec_`, decoded. */
export type KeyKind = "text" | "whsec";

export type Encoding =
  | "hex"
  | "base64"
  | "unpadded base64"
  | "base64url"
  | "base64 of the hex digest"
  | "hex of the base64 digest";

export const WHSEC = "whsec_";

export interface KeyVariant {
  bytes: Buffer;
  label: string;
  /** A match with this key is explained by this cause. */
  cause: "whsec_prefix" | "wrong_secret";
}

export interface BodyVariant {
  bytes: Buffer;
  /** What the sender signed, in a sentence; "" for the body as given. */
  story: string;
  label: string;
}

/** The key as the scheme derives it first, then the mistakes people make with `whsec_`. */
export function keyVariants(secret: string, kind: KeyKind): KeyVariant[] {
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
export function bodyVariants(given: Buffer): BodyVariant[] {
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
export function encodingOf(text: string, digest: Buffer): Encoding | null {
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

/** Printable ASCII as is, `\n` `\r` `\t` `\"` `\\`, every other byte as `\xNN`. */
export function escapeBytes(bytes: Buffer): string {
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

export function escapeText(text: string): string {
  return escapeBytes(Buffer.from(text, "utf8"));
}
