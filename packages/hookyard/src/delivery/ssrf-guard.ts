import { lookup as dnsLookup } from "node:dns/promises";
import { isIPv4, isIPv6 } from "node:net";

/**
 * The egress guard (DESIGN principle 4): outgoing requests may not reach loopback, private,
 * link-local, metadata or otherwise non-public addresses unless an operator allow-lists them.
 * Names are resolved here and every answer is checked; the sender then connects to the checked
 * address only (it is "pinned"), so a DNS-rebinding answer can never slip past the check.
 */

/** An IPv4 or IPv6 network, e.g. `10.0.0.0/8`; a bare address is a /32 or /128. */
export interface Cidr {
  readonly family: 4 | 6;
  /** Network address, 4 or 16 bytes. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
  /** As written in the configuration. */
  readonly text: string;
}

/** A CIDR entry that does not parse; the message names the entry. */
export class InvalidCidrError extends Error {
  readonly entry: string;
  constructor(entry: string, detail: string) {
    super(`invalid CIDR "${entry}": ${detail}`);
    this.name = "InvalidCidrError";
    this.entry = entry;
  }
}

export type AddressCheck = { allowed: true } | { allowed: false; reason: string };
export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };
export type PinnedAddress = { ok: true; address: string; family: 4 | 6 };
export type PinResult =
  PinnedAddress | { ok: false; errorClass: "dns" | "egress_blocked"; reason: string };

/** Resolves a host name to all its addresses; `dns.promises.lookup(name, { all: true })` by default. */
export type LookupFn = (
  hostname: string,
) => Promise<ReadonlyArray<{ address: string; family: number }>>;

export const MAX_URL_LENGTH = 65_536;

interface Ip {
  family: 4 | 6;
  bytes: Uint8Array;
}

export function parseCidr(text: string): Cidr {
  const entry = text.trim();
  const slash = entry.indexOf("/");
  const addressText = slash < 0 ? entry : entry.slice(0, slash);
  const ip = parseIp(addressText);
  if (ip === null) throw new InvalidCidrError(text, `"${addressText}" is not an IP address`);
  const maxPrefix = ip.family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const prefixText = entry.slice(slash + 1);
    prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix <= maxPrefix)) {
      throw new InvalidCidrError(text, `prefix length must be 0–${maxPrefix}`);
    }
  }
  return { family: ip.family, bytes: maskBytes(ip.bytes, prefix), prefix, text: entry };
}

/** Parses a comma-separated list (blank entries ignored) or an array of CIDRs. */
export function parseCidrList(input: string | readonly string[]): Cidr[] {
  const entries = typeof input === "string" ? input.split(",") : input;
  return entries.filter((entry) => entry.trim() !== "").map(parseCidr);
}

/** Parses `a.b.c.d` or an IPv6 address (zone id ignored); null when it is neither. */
function parseIp(text: string): Ip | null {
  if (isIPv4(text)) {
    return { family: 4, bytes: Uint8Array.from(text.split("."), Number) };
  }
  const zone = text.indexOf("%");
  const v6 = zone < 0 ? text : text.slice(0, zone);
  if (!isIPv6(v6)) return null;
  const bytes = new Uint8Array(16);
  const halves = v6.split("::");
  const head = halves[0] === "" ? [] : (halves[0] ?? "").split(":");
  const tail = halves.length > 1 && halves[1] !== "" ? (halves[1] ?? "").split(":") : [];
  const groups = (parts: string[]): number[] => {
    const out: number[] = [];
    for (const part of parts) {
      if (part.includes(".")) {
        const [a = 0, b = 0, c = 0, d = 0] = part.split(".").map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const headGroups = groups(head);
  const tailGroups = groups(tail);
  const all = [
    ...headGroups,
    ...new Array<number>(8 - headGroups.length - tailGroups.length).fill(0),
    ...tailGroups,
  ];
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return { family: 6, bytes };
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.min(8, Math.max(0, prefix - 8 * i));
    out[i] = (out[i] ?? 0) & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function contains(cidr: Cidr, ip: Ip): boolean {
  if (cidr.family !== ip.family) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((ip.bytes[i] ?? 0) & mask) !== (cidr.bytes[i] ?? 0)) return false;
  }
  return true;
}

/** Non-public ranges, most specific first; the label starts the refusal reason. */
const BLOCKED: ReadonlyArray<{ cidr: Cidr; label: string }> = [
  ["169.254.169.254/32", "cloud metadata"],
  ["fd00:ec2::254/128", "cloud metadata"],
  ["255.255.255.255/32", "broadcast"],
  ["0.0.0.0/8", "unspecified"],
  ["127.0.0.0/8", "loopback"],
  ["10.0.0.0/8", "private"],
  ["172.16.0.0/12", "private"],
  ["192.168.0.0/16", "private"],
  ["100.64.0.0/10", "shared (CGNAT)"],
  ["169.254.0.0/16", "link-local"],
  ["192.0.0.0/24", "IETF protocol assignment"],
  ["192.0.2.0/24", "documentation"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["192.88.99.0/24", "reserved (6to4 relay)"],
  ["198.18.0.0/15", "benchmarking"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"],
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["::/96", "reserved (IPv4-compatible)"],
  ["64:ff9b:1::/48", "private (local NAT64)"],
  ["100::/64", "reserved (discard)"],
  ["2001::/32", "reserved (Teredo)"],
  ["2001:db8::/32", "documentation"],
  ["fc00::/7", "private (unique local)"],
  ["fe80::/10", "link-local"],
  ["fec0::/10", "private (site-local)"],
  ["ff00::/8", "multicast"],
].map(([text, label]) => ({ cidr: parseCidr(text as string), label: label as string }));

const GLOBAL_UNICAST_V6 = parseCidr("2000::/3");
/** IPv6 forms that carry an IPv4 address, judged by that address: [range, offset of the IPv4]. */
const EMBEDS_V4: ReadonlyArray<[Cidr, number]> = [
  [parseCidr("::ffff:0:0/96"), 12],
  [parseCidr("64:ff9b::/96"), 12],
  [parseCidr("2002::/16"), 2],
];

/**
 * Whether `ip` lies in one of `list` (an IPv4 address written as IPv4-mapped IPv6, as a
 * dual-stack socket reports it, counts as the IPv4 address). False for text that is no address.
 */
export function inCidrList(ip: string, list: readonly Cidr[]): boolean {
  const parsed = parseIp(ip);
  if (parsed === null) return false;
  const mapped = EMBEDS_V4[0]!;
  const candidates =
    parsed.family === 6 && contains(mapped[0], parsed)
      ? [parsed, { family: 4 as const, bytes: parsed.bytes.slice(mapped[1], mapped[1] + 4) }]
      : [parsed];
  return list.some((cidr) => candidates.some((candidate) => contains(cidr, candidate)));
}

/**
 * The network `ip` stands for when counting clients: an IPv4 address itself (also written as
 * IPv4-mapped IPv6, as a dual-stack socket reports it), an IPv6 address its `/v6Prefix` (one
 * host is usually given a whole /64). Text that is no address is returned as it is.
 */
export function clientNetwork(ip: string, v6Prefix = 64): string {
  // node:net's IPv4 form has no leading zeros, so the text already is the canonical key.
  if (isIPv4(ip)) return ip;
  const parsed = parseIp(ip);
  if (parsed === null) return ip;
  const [mapped, offset] = EMBEDS_V4[0]!;
  if (parsed.family === 4) return parsed.bytes.join(".");
  if (contains(mapped, parsed)) return parsed.bytes.slice(offset, offset + 4).join(".");
  const masked = maskBytes(parsed.bytes, v6Prefix);
  const groups = Array.from({ length: 8 }, (_, i) =>
    (((masked[2 * i] ?? 0) << 8) | (masked[2 * i + 1] ?? 0)).toString(16),
  );
  return `${groups.join(":")}/${v6Prefix}`;
}

/** Whether the sender may connect to `ip`. Anything inside `allow` is allowed regardless. */
export function checkAddress(ip: string, allow: readonly Cidr[]): AddressCheck {
  const parsed = parseIp(ip);
  if (parsed === null) return { allowed: false, reason: `"${ip}" is not an IP address` };
  return checkParsed(parsed, ip, allow);
}

function checkParsed(ip: Ip, text: string, allow: readonly Cidr[]): AddressCheck {
  for (const cidr of allow) if (contains(cidr, ip)) return { allowed: true };
  if (ip.family === 6) {
    for (const [range, offset] of EMBEDS_V4) {
      if (!contains(range, ip)) continue;
      const v4: Ip = { family: 4, bytes: ip.bytes.slice(offset, offset + 4) };
      const v4Text = v4.bytes.join(".");
      const verdict = checkParsed(v4, v4Text, allow);
      return verdict.allowed
        ? verdict
        : { allowed: false, reason: `${verdict.reason} (embedded in ${text})` };
    }
  }
  for (const { cidr, label } of BLOCKED) {
    if (contains(cidr, ip))
      return { allowed: false, reason: `${label} address ${text} is not allowed` };
  }
  if (ip.family === 6 && !contains(GLOBAL_UNICAST_V6, ip)) {
    return { allowed: false, reason: `reserved address ${text} is not allowed` };
  }
  return { allowed: true };
}

/** Whether `text` is a URL Hookyard may send to (before any name resolution). */
export function checkUrl(text: string): UrlCheck {
  if (text.length > MAX_URL_LENGTH) {
    return { ok: false, reason: `URL is longer than ${MAX_URL_LENGTH} characters` };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: "not a valid absolute URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return {
      ok: false,
      reason: `scheme "${url.protocol.slice(0, -1)}" is not allowed (use http or https)`,
    };
  }
  if (url.hostname === "") return { ok: false, reason: "URL has no host" };
  if (url.username !== "" || url.password !== "") {
    return {
      ok: false,
      reason: "URL must not contain credentials (user:pass@); use endpoint auth instead",
    };
  }
  return { ok: true, url };
}

const defaultLookup: LookupFn = (hostname) => dnsLookup(hostname, { all: true });

/**
 * Resolves `hostname` (a name, an IPv4 literal or a bracketed IPv6 literal as in `URL.hostname`)
 * and checks every address; the first one is the address to connect to. A name with any refused
 * address is refused, so a mixed public/private answer cannot be used to reach the private one.
 */
export async function resolvePinned(
  hostname: string,
  allow: readonly Cidr[],
  lookup: LookupFn = defaultLookup,
): Promise<PinResult> {
  const host =
    hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  const literal = parseIp(host);
  if (literal !== null) {
    const verdict = checkParsed(literal, host, allow);
    return verdict.allowed
      ? { ok: true, address: host, family: literal.family }
      : { ok: false, errorClass: "egress_blocked", reason: verdict.reason };
  }
  let answers: ReadonlyArray<{ address: string; family: number }>;
  try {
    answers = await lookup(host);
  } catch (err) {
    const code = errorCode(err);
    return {
      ok: false,
      errorClass: "dns",
      reason: `DNS lookup of ${host} failed${code ? ` (${code})` : ""}`,
    };
  }
  const first = answers[0];
  if (first === undefined) {
    return { ok: false, errorClass: "dns", reason: `DNS lookup of ${host} returned no address` };
  }
  for (const answer of answers) {
    const verdict = checkAddress(answer.address, allow);
    if (!verdict.allowed) {
      return {
        ok: false,
        errorClass: "egress_blocked",
        reason: `${host} resolves to a refused address: ${verdict.reason}`,
      };
    }
  }
  return { ok: true, address: first.address, family: isIPv4(first.address) ? 4 : 6 };
}

function errorCode(err: unknown): string | null {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "string") {
    return err.code;
  }
  return null;
}
