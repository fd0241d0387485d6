import type { LookupAddress, LookupOptions } from "node:dns";
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { SecureContext } from "node:tls";
import { buildConnector, Pool } from "undici";
import type { AttemptErrorClass } from "../model.js";
import { endpointSecureContext, keepTlsAlerts } from "./endpoint-tls.js";
import {
  checkUrl,
  resolvePinned,
  type Cidr,
  type LookupFn,
  type PinnedAddress,
  type PinResult,
} from "./ssrf-guard.js";

export type { LookupFn } from "./ssrf-guard.js";

/**
 * The only code in Hookyard that sends HTTP (DESIGN principle 1; STYLE 2.3: the only importer of
 * undici). Every request passes the egress guard first and then connects to exactly the address
 * the guard checked: one keep-alive `Pool` per origin is pinned to that address through the
 * connector's `lookup`, so TLS SNI and the Host header still carry the hostname while a DNS
 * answer that changes later (rebinding) is only ever seen by the guard, never by the socket.
 * Requests with TLS options (a client certificate, a CA bundle) get a pool per (origin, TLS
 * identity), so two endpoints on one origin never share a connection made with the other's
 * certificate.
 *
 * Failures of the outside world are values: `send` never throws.
 */

export interface SendRequest {
  url: string;
  /** POST unless given (a forwarded inbound request keeps its method). */
  method?: string;
  headers: Record<string, string>;
  /** Bytes for a forwarded inbound request, sent exactly as received. */
  body: string | Uint8Array;
  /** The endpoint's TLS options (endpoint-tls.ts); https only. */
  tls?: TlsOptions;
}

/** PEM texts for the TLS handshake; they cross to the sending thread as strings. */
export interface TlsOptions {
  /** Names this TLS identity: connections are shared only by requests with the same id. */
  id: string;
  /** Client certificate (chain) and its key, presented to the receiver (mTLS). */
  cert: string | null;
  key: string | null;
  /** Replaces the system roots the receiver's certificate must chain to. */
  ca: string | null;
}

export interface SendOutcome {
  /** 0 when no HTTP response arrived. */
  statusCode: number;
  /** Lower-case names; repeated headers joined with ", ". null when no response arrived. */
  headers: Record<string, string> | null;
  /** At most `maxResponseBodyBytes` of the response body, decoded as UTF-8. */
  body: string;
  durationMs: number;
  /** null whenever an HTTP response (any status) arrived. */
  errorClass: AttemptErrorClass | null;
  /** Short human-readable detail of the failure; never contains secrets. */
  errorMessage: string | null;
}

export interface HttpSenderDeps {
  /** Networks the egress guard lets through anyway (tests allow 127.0.0.1/32). */
  allow: readonly Cidr[];
  /** Upper bound for one request: waiting for a connection, connect, headers and body. */
  timeoutMs: number;
  /** Keep-alive connections per origin. */
  connectionsPerOrigin: number;
  maxResponseBodyBytes: number;
  lookup?: LookupFn;
  /** Monotonic ms for durations, deadlines and the DNS TTL; default `performance.now`. */
  now?: () => number;
  /** How long a checked DNS answer stays pinned before the name is resolved (and checked) again. */
  dnsTtlMs?: number;
}

const DEFAULT_DNS_TTL_MS = 60_000;
/** A pool unused this long is closed by the next sweep. */
const IDLE_POOL_MS = 5 * 60_000;
/** Idle pools and expired DNS answers are swept every this many sends. */
const SWEEP_EVERY_SENDS = 4096;
const MAX_ERROR_MESSAGE_CHARS = 300;
const MAX_CACHED_TARGETS = 4096;

type Target =
  { ok: true; hostname: string; origin: string; path: string } | { ok: false; reason: string };

interface PoolEntry {
  pool: Pool;
  address: string;
  lastUsedAt: number;
}

interface DnsEntry {
  pin: PinnedAddress;
  expiresAt: number;
}

/** The `signal` undici accepts: an EventEmitter with `aborted`/`reason`, far cheaper than AbortSignal. */
type DeadlineSignal = EventEmitter & { aborted: boolean; reason: Error | undefined };

interface Deadline {
  at: number;
  /** Cleared when the request finishes, so the queue holds no stream or emitter longer than needed. */
  signal: DeadlineSignal | null;
}

class DeadlineExceededError extends Error {
  override readonly name = "DeadlineExceededError";
}

export class HttpSender {
  readonly #allow: readonly Cidr[];
  readonly #timeoutMs: number;
  readonly #connections: number;
  readonly #maxBodyBytes: number;
  readonly #lookup: LookupFn | undefined;
  readonly #now: () => number;
  readonly #dnsTtlMs: number;
  readonly #pools = new Map<string, PoolEntry>();
  readonly #dns = new Map<string, DnsEntry>();
  readonly #resolving = new Map<string, Promise<PinResult>>();
  readonly #targets = new Map<string, Target>();
  /** Deadlines in start order; all share one timeout, so they also expire in this order. */
  #deadlines: Deadline[] = [];
  #deadlineHead = 0;
  #deadlineTimer: NodeJS.Timeout | null = null;
  readonly #tickMs: number;
  #sendsSinceSweep = 0;
  #closed = false;

  constructor(deps: HttpSenderDeps) {
    this.#allow = deps.allow;
    this.#timeoutMs = deps.timeoutMs;
    this.#connections = deps.connectionsPerOrigin;
    this.#maxBodyBytes = deps.maxResponseBodyBytes;
    this.#lookup = deps.lookup;
    this.#now = deps.now ?? (() => performance.now());
    this.#dnsTtlMs = deps.dnsTtlMs ?? DEFAULT_DNS_TTL_MS;
    this.#tickMs = Math.min(250, Math.max(10, Math.floor(this.#timeoutMs / 20)));
  }

  async send(req: SendRequest): Promise<SendOutcome> {
    const startedAt = this.#now();
    if (this.#closed) return this.#failure(startedAt, "network", "the sender is closed");
    const url = this.#target(req.url);
    if (!url.ok) return this.#failure(startedAt, "invalid_url", url.reason);
    const pin = await this.#pin(url.hostname);
    if (!pin.ok) return this.#failure(startedAt, pin.errorClass, pin.reason);
    if (this.#closed) return this.#failure(startedAt, "network", "the sender is closed");
    if (++this.#sendsSinceSweep >= SWEEP_EVERY_SENDS) this.#sweep(startedAt);

    const pool = this.#poolFor(url.origin, pin.address, startedAt, req.tls);
    if (typeof pool === "string") return this.#failure(startedAt, "tls", pool);
    const deadline = this.#startDeadline(startedAt);
    const signal = deadline.signal as DeadlineSignal;
    try {
      const response = await pool.request({
        path: url.path,
        method: req.method ?? "POST",
        headers: req.headers,
        body: req.body,
        signal,
      });
      const body = await readLimited(response.body, this.#maxBodyBytes);
      return {
        statusCode: response.statusCode,
        headers: flattenHeaders(response.headers),
        body,
        durationMs: Math.round(this.#now() - startedAt),
        errorClass: null,
        errorMessage: null,
      };
    } catch (err) {
      const [errorClass, message] = classifyError(err, this.#timeoutMs);
      return this.#failure(startedAt, errorClass, message);
    } finally {
      deadline.signal = null;
    }
  }

  /** Closes every connection; requests still in flight fail. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#deadlineTimer !== null) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = null;
    const pools = [...this.#pools.values()].map((entry) => entry.pool);
    this.#pools.clear();
    this.#dns.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }

  #failure(startedAt: number, errorClass: AttemptErrorClass, message: string): SendOutcome {
    return {
      statusCode: 0,
      headers: null,
      body: "",
      durationMs: Math.round(this.#now() - startedAt),
      errorClass,
      errorMessage: message,
    };
  }

  /**
   * The checked parts of a URL; every endpoint sends to the same few URLs, so the parse and
   * check (pure functions of the text) are kept per URL string.
   */
  #target(text: string): Target {
    const cached = this.#targets.get(text);
    if (cached !== undefined) return cached;
    const checked = checkUrl(text);
    const target: Target = checked.ok
      ? {
          ok: true,
          hostname: checked.url.hostname,
          origin: checked.url.origin,
          path: checked.url.pathname + checked.url.search,
        }
      : checked;
    // Bounded: past the limit the cache starts over (the first sends re-parse, nothing else).
    if (this.#targets.size >= MAX_CACHED_TARGETS) this.#targets.clear();
    this.#targets.set(text, target);
    return target;
  }

  /** The checked address for `hostname`, from the cache while its TTL runs, else resolved anew. */
  async #pin(hostname: string): Promise<PinResult> {
    const cached = this.#dns.get(hostname);
    if (cached !== undefined && cached.expiresAt > this.#now()) return cached.pin;
    let pending = this.#resolving.get(hostname);
    if (pending === undefined) {
      pending = resolvePinned(hostname, this.#allow, this.#lookup).then((pin) => {
        this.#resolving.delete(hostname);
        // Only good answers are cached: a refused or failed name is re-checked on every attempt.
        if (pin.ok && !this.#closed) {
          this.#dns.set(hostname, { pin, expiresAt: this.#now() + this.#dnsTtlMs });
        }
        return pin;
      });
      this.#resolving.set(hostname, pending);
    }
    return pending;
  }

  /** The pool for the origin (and TLS identity), or why its TLS options cannot be used. */
  #poolFor(
    origin: string,
    address: string,
    now: number,
    tls: TlsOptions | undefined,
  ): Pool | string {
    const withTls = tls !== undefined && origin.startsWith("https:");
    const key = withTls ? `${origin} ${tls.id}` : origin;
    const entry = this.#pools.get(key);
    if (entry !== undefined && entry.address === address) {
      entry.lastUsedAt = now;
      return entry.pool;
    }
    let secureContext: SecureContext | undefined;
    try {
      if (withTls) secureContext = endpointSecureContext(tls);
    } catch (err) {
      return `the endpoint's TLS options cannot be used: ${shortMessage(err)}`;
    }
    if (entry !== undefined) retire(entry.pool);
    const pool = new Pool(origin, {
      connections: this.#connections,
      pipelining: 1,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      connect: keepTlsAlerts(
        buildConnector({
          timeout: this.#timeoutMs,
          lookup: pinnedLookup(address),
          ...(secureContext !== undefined && { secureContext }),
        }),
      ),
    });
    this.#pools.set(key, { pool, address, lastUsedAt: now });
    return pool;
  }

  #startDeadline(now: number): Deadline {
    const signal: DeadlineSignal = Object.assign(new EventEmitter(), {
      aborted: false,
      reason: undefined,
    });
    const deadline: Deadline = { at: now + this.#timeoutMs, signal };
    this.#deadlines.push(deadline);
    if (this.#deadlineTimer === null) this.#armDeadlineTimer();
    return deadline;
  }

  #armDeadlineTimer(): void {
    // A real timer on purpose: it bounds real sockets, like undici's own timeouts (not domain time).
    // eslint-disable-next-line no-restricted-globals -- network deadline sweep, see above
    this.#deadlineTimer = setTimeout(() => this.#expireDeadlines(), this.#tickMs);
    this.#deadlineTimer.unref();
  }

  #expireDeadlines(): void {
    this.#deadlineTimer = null;
    const now = this.#now();
    const queue = this.#deadlines;
    let head = this.#deadlineHead;
    for (let d = queue[head]; d !== undefined && d.at <= now; d = queue[++head]) {
      const signal = d.signal;
      if (signal === null) continue;
      d.signal = null;
      signal.aborted = true;
      signal.reason = new DeadlineExceededError(
        `no complete response within ${this.#timeoutMs} ms`,
      );
      signal.emit("abort");
    }
    if (head >= queue.length) {
      this.#deadlines = [];
      this.#deadlineHead = 0;
      return;
    }
    if (head > 1024 && head * 2 > queue.length) {
      this.#deadlines = queue.slice(head);
      head = 0;
    }
    this.#deadlineHead = head;
    if (!this.#closed) this.#armDeadlineTimer();
  }

  #sweep(now: number): void {
    this.#sendsSinceSweep = 0;
    for (const [key, entry] of this.#pools) {
      if (now - entry.lastUsedAt > IDLE_POOL_MS) {
        this.#pools.delete(key);
        retire(entry.pool);
      }
    }
    for (const [hostname, entry] of this.#dns) {
      if (entry.expiresAt <= now) this.#dns.delete(hostname);
    }
  }
}

/** Closes a pool once its requests in flight are done. */
function retire(pool: Pool): void {
  // Deliberate swallow: closing an unused pool can only fail if it is already closed.
  pool.close().catch(() => undefined);
}

/** A `lookup` for net/tls.connect that answers every name with the pinned address. */
function pinnedLookup(address: string) {
  const family = address.includes(":") ? 6 : 4;
  const all: LookupAddress[] = [{ address, family }];
  return (
    _hostname: string,
    options: LookupOptions,
    callback: (
      err: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    // Node's happy-eyeballs connect asks for { all: true } and then expects an array.
    if (options.all === true) callback(null, all);
    else callback(null, address, family);
  };
}

/** Reads at most `limit` bytes as UTF-8, then discards the rest in the background. */
function readLimited(
  body: Readable & { dump(opts?: { limit: number }): Promise<void> },
  limit: number,
): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (truncated: boolean): void => {
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", onError);
      const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      // StringDecoder holds back a multi-byte character cut by the limit instead of emitting U+FFFD.
      resolve(truncated ? new StringDecoder("utf8").write(bytes) : bytes.toString("utf8"));
      if (truncated) {
        // Deliberate swallow: the rest of the body is unwanted; a failure only closes the socket.
        body.dump().catch(() => undefined);
      }
    };
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length >= limit) {
        chunks.push(chunk.subarray(0, limit - size));
        size = limit;
        finish(true);
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    };
    const onEnd = (): void => finish(false);
    // A body cut short (deadline, reset) still leaves the response that arrived: keep what was read.
    const onError = (): void => finish(true);
    body.on("data", onData);
    body.once("end", onEnd);
    body.once("error", onError);
  });
}

function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    flat[name.toLowerCase()] = typeof value === "string" ? value : value.join(", ");
  }
  return flat;
}

/** Error codes (Node, OpenSSL, undici) by the attempt error class they mean. */
const codes = (list: string): ReadonlySet<string> => new Set(list.split(/\s+/));
const TIMEOUT_CODES = codes(
  "UND_ERR_CONNECT_TIMEOUT UND_ERR_HEADERS_TIMEOUT UND_ERR_BODY_TIMEOUT ETIMEDOUT",
);
const DNS_CODES = codes("ENOTFOUND EAI_AGAIN EAI_FAIL EAI_NONAME ENODATA ESERVFAIL");
const CONNECT_CODES = codes(`ECONNREFUSED ECONNRESET ECONNABORTED EHOSTUNREACH EHOSTDOWN ENETUNREACH
  ENETDOWN EADDRNOTAVAIL EPIPE UND_ERR_SOCKET`);
const TLS_CODES = codes(`EPROTO CERT_HAS_EXPIRED CERT_NOT_YET_VALID CERT_REVOKED CERT_UNTRUSTED
  DEPTH_ZERO_SELF_SIGNED_CERT SELF_SIGNED_CERT_IN_CHAIN UNABLE_TO_GET_ISSUER_CERT
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY UNABLE_TO_VERIFY_LEAF_SIGNATURE HOSTNAME_MISMATCH`);

function classifyError(err: unknown, timeoutMs: number): [AttemptErrorClass, string] {
  if (err instanceof DeadlineExceededError) return ["timeout", err.message];
  const code = errorCode(err);
  const message = shortMessage(err);
  if (code !== null) {
    if (TIMEOUT_CODES.has(code)) return ["timeout", `timed out after ${timeoutMs} ms (${code})`];
    if (DNS_CODES.has(code)) return ["dns", message];
    if (CONNECT_CODES.has(code)) return ["connect", message];
    if (TLS_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_")) {
      return ["tls", message];
    }
  }
  return ["network", message];
}

function errorCode(err: unknown): string | null {
  for (let e = err, depth = 0; depth < 3 && typeof e === "object" && e !== null; depth++) {
    if ("code" in e && typeof e.code === "string") return e.code;
    e = "cause" in e ? e.cause : undefined;
  }
  return null;
}

/** OpenSSL's `<hex>:error:<hex>:SSL routines:<function>:<reason>:<file>:<line>:…`. */
const OPENSSL_LINE = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/;

function shortMessage(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  const code = errorCode(err);
  const line = text.split("\n", 1)[0] ?? "";
  // The reason is what a reader needs; the file and line inside OpenSSL are not.
  const firstLine = OPENSSL_LINE.exec(line)?.[1] ?? line;
  const withCode = code !== null && !firstLine.includes(code) ? `${code}: ${firstLine}` : firstLine;
  return withCode.length > MAX_ERROR_MESSAGE_CHARS
    ? withCode.slice(0, MAX_ERROR_MESSAGE_CHARS - 1) + "…"
    : withCode;
}
