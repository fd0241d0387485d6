import { randomBytes, type X509Certificate } from "node:crypto";
import type { Clock } from "../clock.js";
import { ConflictError, NotFoundError, ValidationError } from "../errors.js";
import type { IdGenerator } from "../ids.js";
import type {
  Application,
  Attempt,
  Delivery,
  InboundRequest,
  Message,
  InboundRequestId,
  InboundStatus,
  Source,
  SourceToken,
} from "../model.js";
import { InvalidCidrError, parseCidrList, type Cidr } from "../delivery/ssrf-guard.js";
import type { HmacAlgorithm, SourceScheme } from "../signing/provider-schemes.js";
import { secretProblem } from "../signing/standard-webhooks.js";
import { parseCertificateBundle } from "./client-certificates.js";
import type { FactSpec } from "./provider-facts.js";
import type { Page, PageRequest, Store } from "../store/store.js";

/** A message that forwarded a received request, with its deliveries and attempts. */
export interface RequestForward {
  message: Message;
  deliveries: Delivery[];
  attempts: Attempt[];
}

/** At most this many forwards of one request, and attempts of each, are shown. */
const MAX_FORWARDS_SHOWN = 50;

/** How long a rotated-out ingest token keeps working (Svix Ingest: 48 h). */
export const TOKEN_GRACE_MS = 48 * 3_600_000;

/**
 * Svix Ingest's source types that are Svix-powered senders: they sign with Standard Webhooks
 * (`svix-*` headers) and share Svix's `SvixConfig` (`{ secret }`).
 */
const SVIX_POWERED = [
  "beehiiv",
  "brex",
  "clerk",
  "guesty",
  "incident-io",
  "lithic",
  "nash",
  "pleo",
  "psi-fi",
  "replicate",
  "resend",
  "safebase",
  "sardine",
  "stych",
] as const;

/** A source that captures whatever it is sent and verifies nothing: a request bin. */
export const REQUEST_BIN = "request-bin";

/** Every source type Hookyard verifies (Svix Ingest's names, plus Hookyard's own). */
export const SOURCE_TYPES = [
  "generic-webhook",
  REQUEST_BIN,
  "github",
  "stripe",
  "slack",
  "shopify",
  "standard-webhooks",
  "svix",
  "gitlab",
  "twilio",
  "generic-hmac",
  "bearer",
  "basic",
  ...SVIX_POWERED,
] as const;

/** The config keys that hold secrets: stored, used to verify, never shown back. */
const SECRET_KEYS = new Set(["secret", "token", "password"]);

export interface SourceInput {
  name: string;
  uid?: string | null;
  type: string;
  config?: Record<string, unknown>;
  metadata?: Record<string, string>;
}

/** Inbound sources (Svix Ingest's `ingest.source` API): CRUD and ingest-token rotation. */
export class Sources {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #changed: () => void;
  readonly #clientCertificates: boolean;

  constructor(deps: {
    store: Store;
    clock: Clock;
    ids: IdGenerator;
    /** Called after every write: the receive pipeline caches sources. */
    onChange?: () => void;
    /** Whether senders can present client certificates (the server speaks HTTPS); default no. */
    clientCertificates?: boolean;
  }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
    this.#changed = deps.onChange ?? (() => undefined);
    this.#clientCertificates = deps.clientCertificates ?? false;
  }

  list(page: PageRequest): Promise<Page<Source>> {
    return this.#store.listSources(page);
  }

  async create(input: SourceInput): Promise<Source> {
    const config = input.config ?? {};
    sourceScheme(input.type, config); // validates type and config
    this.#checkOptions(config, input.type);
    const now = this.#clock.now();
    const id = this.#ids.next("src");
    // The source's destinations are the endpoints of an application of its own: the same
    // endpoints, deliveries and attempts as outbound, through the one delivery engine.
    const app: Application = {
      id: this.#ids.next("app"),
      uid: null,
      name: `Source: ${input.name}`,
      rateLimit: null,
      metadata: { "hookyard.source": id },
      createdAt: now,
      updatedAt: now,
    };
    await this.#store.insertApplication(app);
    const source: Source = {
      id,
      appId: app.id,
      uid: input.uid ?? null,
      name: input.name,
      type: input.type,
      config,
      metadata: input.metadata ?? {},
      tokens: [{ token: newToken(), expiresAt: null }],
      createdAt: now,
      updatedAt: now,
    };
    try {
      await uidConflict(this.#store.insertSource(source), input.uid);
      this.#changed();
    } catch (err) {
      await this.#store.deleteApplication(app.id);
      throw err;
    }
    return source;
  }

  async get(idOrUid: string): Promise<Source> {
    const source = await this.#store.getSource(idOrUid);
    if (source === null) throw new NotFoundError(`Source "${idOrUid}" not found`);
    return source;
  }

  /** Replaces name, uid, type, config and metadata (Svix's PUT); the ingest URL stays. */
  async update(idOrUid: string, input: SourceInput): Promise<Source> {
    const current = await this.get(idOrUid);
    const config = input.config ?? {};
    sourceScheme(input.type, config);
    this.#checkOptions(config, input.type);
    const source: Source = {
      ...current,
      uid: input.uid ?? null,
      name: input.name,
      type: input.type,
      config,
      metadata: input.metadata ?? {},
      updatedAt: this.#clock.now(),
    };
    await uidConflict(this.#store.updateSource(source), input.uid);
    this.#changed();
    return source;
  }

  /** `sourceOptions`, and what this server can do: a client certificate needs HTTPS. */
  #checkOptions(config: Record<string, unknown>, type: string): void {
    const options = sourceOptions(config, type);
    if (options.clientCa !== undefined && !this.#clientCertificates) {
      throw ValidationError.field(
        ["body", "config", "clientCa"],
        "needs HTTPS: this server has no server.tls.cert and server.tls.key, so no sender can present a client certificate",
      );
    }
  }

  async delete(idOrUid: string): Promise<void> {
    const source = await this.get(idOrUid);
    await this.#store.deleteSource(source.id);
    this.#changed();
    // Its destinations go with it; deliveries still open end cancelled.
    await this.#store.deleteApplication(source.appId);
  }

  /** Requests the source received (accepted, rejected and duplicates), newest first. */
  async listRequests(
    idOrUid: string,
    filter: { status?: InboundStatus },
    page: PageRequest,
  ): Promise<Page<InboundRequest>> {
    const source = await this.get(idOrUid);
    return this.#store.listInboundRequests(source.id, filter, page);
  }

  async getRequest(idOrUid: string, requestId: string): Promise<InboundRequest> {
    const source = await this.get(idOrUid);
    const request = await this.#store.getInboundRequest(source.id, requestId as InboundRequestId);
    if (request === null) throw new NotFoundError(`Request "${requestId}" not found`);
    return request;
  }

  /** A request any source received, by its id alone (the id is unique across sources). */
  async getRequestById(requestId: string): Promise<InboundRequest> {
    const request = await this.#store.getInboundRequestById(requestId as InboundRequestId);
    if (request === null) throw new NotFoundError(`Request "${requestId}" not found`);
    return request;
  }

  /**
   * What became of a received request: each message that carried it to destinations (the
   * forward made when it arrived, then any replays), newest first, with its deliveries and
   * their attempts. Bounded: a request is forwarded a handful of times, not thousands.
   */
  async forwardsOf(idOrUid: string, requestId: string): Promise<RequestForward[]> {
    const source = await this.get(idOrUid);
    const request = await this.getRequest(source.id, requestId);
    const messages = await this.#store.listMessages(
      source.appId,
      { inboundRequestId: request.id },
      { limit: MAX_FORWARDS_SHOWN, iterator: null },
    );
    return Promise.all(
      messages.data.map(async (message) => ({
        message,
        deliveries: await this.#store.listDeliveriesOfMessage(message.id),
        attempts: (
          await this.#store.listAttemptsByMessage(
            source.appId,
            message.id,
            {},
            { limit: MAX_FORWARDS_SHOWN, iterator: null },
          )
        ).data,
      })),
    );
  }

  async deleteRequest(idOrUid: string, requestId: string): Promise<void> {
    const source = await this.get(idOrUid);
    const deleted = await this.#store.deleteInboundRequest(
      source.id,
      requestId as InboundRequestId,
    );
    if (!deleted) throw new NotFoundError(`Request "${requestId}" not found`);
  }

  /**
   * A new ingest token (and so a new ingest URL); the previous one keeps working for 48 h, so
   * the sender can be reconfigured without losing requests. Expired tokens are dropped.
   */
  async rotateToken(idOrUid: string): Promise<Source> {
    const current = await this.get(idOrUid);
    const now = this.#clock.now();
    const kept: SourceToken[] = current.tokens
      .map((t) => (t.expiresAt === null ? { ...t, expiresAt: now + TOKEN_GRACE_MS } : t))
      .filter((t) => t.expiresAt !== null && t.expiresAt > now);
    const source: Source = {
      ...current,
      tokens: [{ token: newToken(), expiresAt: null }, ...kept],
      updatedAt: now,
    };
    await this.#store.updateSource(source);
    this.#changed();
    return source;
  }
}

/** The token of the source's ingest URL: the current one. */
export function currentToken(source: Source): string {
  const current = source.tokens.find((t) => t.expiresAt === null) ?? source.tokens[0];
  if (current === undefined) throw new Error(`source ${source.id} has no ingest token`);
  return current.token;
}

/** The source's config as the API shows it: everything but its secrets. */
export function publicConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([key]) => !SECRET_KEYS.has(key)));
}

/**
 * The verification scheme of a source `type` with its `config`; a type Hookyard does not verify
 * or a config it cannot use is a `ValidationError` naming the field.
 */
export function sourceScheme(type: string, config: Record<string, unknown>): SourceScheme {
  const field = (name: string) => ["body", "config", name];
  const text = (name: string, required = true): string | undefined => {
    const value = config[name];
    if (value === undefined || value === null) {
      if (required) throw ValidationError.field(field(name), "is required", "missing");
      return undefined;
    }
    if (typeof value !== "string" || value.length === 0) {
      throw ValidationError.field(field(name), "must be a non-empty string", "type_error");
    }
    // A blank secret is as good as none: anyone could compute the signature or send the token.
    if (SECRET_KEYS.has(name) && value.trim() === "") {
      throw ValidationError.field(field(name), "must not be blank: anyone could sign with it");
    }
    return value;
  };
  /** A Standard Webhooks (Svix) signing secret: a key of 24–75 bytes, as the spec's libraries take. */
  const signingKey = (): string => {
    const secret = text("secret")!;
    const problem = secretProblem(secret, { prefix: "optional" });
    if (problem !== null) throw ValidationError.field(field("secret"), problem);
    return secret;
  };
  const tolerance = (): { toleranceSeconds?: number } => {
    const value = config.toleranceSeconds;
    if (value === undefined) return {};
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 86_400) {
      throw ValidationError.field(field("toleranceSeconds"), "must be an integer from 1 to 86400");
    }
    return { toleranceSeconds: value };
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback?: T): T => {
    const value = config[name] ?? fallback;
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      throw ValidationError.field(field(name), `must be one of ${allowed.join(", ")}`);
    }
    return value as T;
  };

  switch (type) {
    case "generic-webhook":
      return { type };
    case REQUEST_BIN:
      return { type: "generic-webhook" };
    case "github":
    case "shopify":
    case "twilio":
      return { type, secret: text("secret")! };
    case "gitlab": {
      // A `whsec_` signing token is verified as Standard Webhooks: its key has the same bounds.
      const secret = text("secret")!;
      return { type, secret: secret.startsWith("whsec_") ? signingKey() : secret };
    }
    case "stripe":
    case "slack":
      return { type, secret: text("secret")!, ...tolerance() };
    case "standard-webhooks":
    case "svix":
      return { type, secret: signingKey(), ...tolerance() };
    case "generic-hmac": {
      const algorithms: readonly HmacAlgorithm[] = ["sha1", "sha256", "sha512"];
      const optional = (name: string) => {
        const value = text(name, false);
        return value === undefined ? {} : { [name]: value };
      };
      return {
        type,
        secret: text("secret")!,
        header: text("header")!,
        algorithm: oneOf("algorithm", algorithms, "sha256"),
        encoding: oneOf("encoding", ["hex", "base64"] as const, "hex"),
        ...optional("prefix"),
        ...optional("signedContent"),
        ...optional("timestampHeader"),
        ...optional("idHeader"),
        ...tolerance(),
      };
    }
    case "bearer":
      return { type, token: text("token")! };
    case "basic":
      return { type, username: text("username")!, password: text("password")! };
    default:
      if ((SVIX_POWERED as readonly string[]).includes(type)) {
        return { type: "svix", secret: signingKey(), ...tolerance() };
      }
      throw ValidationError.field(
        ["body", "type"],
        `"${type}" is not a source type Hookyard verifies; one of ${SOURCE_TYPES.join(", ")}`,
      );
  }
}

/** The receive options a source's config may carry besides its scheme's keys. */
export interface SourceOptions {
  dedupWindowSeconds?: number;
  maxBodyBytes?: number;
  /** Only requests from these networks are accepted (others: 403, recorded as rejected). */
  allowedIps?: Cidr[];
  /**
   * Only requests over a connection whose client certificate leads to one of these are accepted
   * (others: 401 like a failed signature, recorded as rejected).
   */
  clientCa?: X509Certificate[];
  /** The answer to an accepted request: status, headers, body, and a delay before it. */
  response?: ResponseSpec;
  /** A request bin keeps this many requests, evicting the oldest (default 500 for bins). */
  maxRequests?: number;
  /** Where to read the event type (filters, routing) instead of the provider's own rule. */
  eventType?: FactSpec;
  /** Where to read the delivery id (de-duplication) instead of the provider's own rule. */
  deliveryId?: FactSpec;
}

export interface ResponseSpec {
  status: number;
  headers: Record<string, string>;
  body: string;
  contentType: string;
  delayMs: number;
}

/** Requests a bin keeps unless its config says otherwise. */
export const BIN_DEFAULT_MAX_REQUESTS = 500;
const MAX_RESPONSE_DELAY_MS = 30_000;

/**
 * Hookyard's receive options, for any source type: `dedupWindowSeconds` and `maxBodyBytes`
 * override the server-wide settings; `allowedIps` (CIDRs) restricts who may call, and `clientCa`
 * (a PEM bundle) which client certificate they must present; and
 * `responseStatus` / `responseBody` / `responseContentType` shape the answer to an accepted
 * request (default 200 with `{"id", "status"}`); `eventTypeHeader` / `eventTypeField` and
 * `deliveryIdHeader` / `deliveryIdField` say where the event type and the delivery id are when
 * the provider's own rule does not fit. Invalid values are a `ValidationError`.
 */
export function sourceOptions(config: Record<string, unknown>, type?: string): SourceOptions {
  const field = (name: string) => ["body", "config", name];
  const bin = type === REQUEST_BIN;
  // A bin captures every request, repeats included, and keeps the newest few hundred.
  const options: SourceOptions = bin
    ? { dedupWindowSeconds: 0, maxRequests: BIN_DEFAULT_MAX_REQUESTS }
    : {};
  for (const [name, min] of [
    ["dedupWindowSeconds", 0],
    ["maxBodyBytes", 1],
    ["maxRequests", 1],
  ] as const) {
    const value = config[name];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
      throw ValidationError.field(field(name), `must be an integer ≥ ${min}`);
    }
    options[name] = value;
  }
  if (config.allowedIps !== undefined) {
    const list = config.allowedIps;
    if (!Array.isArray(list) || list.length === 0 || !list.every((e) => typeof e === "string")) {
      throw ValidationError.field(field("allowedIps"), "must be a non-empty list of CIDRs");
    }
    try {
      options.allowedIps = parseCidrList(list);
    } catch (err) {
      if (err instanceof InvalidCidrError)
        throw ValidationError.field(field("allowedIps"), err.message);
      throw err;
    }
  }
  if (config.clientCa !== undefined) {
    const pem = config.clientCa;
    if (typeof pem !== "string") {
      throw ValidationError.field(field("clientCa"), "must be a PEM bundle of CA certificates");
    }
    const bundle = parseCertificateBundle(pem);
    if ("problem" in bundle) throw ValidationError.field(field("clientCa"), bundle.problem);
    options.clientCa = bundle.certificates;
  }
  for (const [fact, headerKey, fieldKey] of [
    ["eventType", "eventTypeHeader", "eventTypeField"],
    ["deliveryId", "deliveryIdHeader", "deliveryIdField"],
  ] as const) {
    const spec: FactSpec = {};
    const header = config[headerKey];
    const path = config[fieldKey];
    if (header !== undefined) {
      if (typeof header !== "string" || !HEADER_NAME.test(header)) {
        throw ValidationError.field(field(headerKey), "must be a header name");
      }
      spec.header = header;
    }
    if (path !== undefined) {
      if (typeof path !== "string" || path === "" || path.split(".").includes("")) {
        throw ValidationError.field(
          field(fieldKey),
          'must be a dotted path into the payload, e.g. "data.object.type"',
        );
      }
      spec.field = path;
    }
    if (header !== undefined || path !== undefined) options[fact] = spec;
  }
  const {
    responseStatus: status,
    responseBody: body,
    responseContentType: contentType,
    responseHeaders: headers,
    responseDelayMs: delayMs,
  } = config;
  if ([status, body, contentType, headers, delayMs].some((v) => v !== undefined)) {
    // A bin may answer anything (to see how a sender handles a 500); a source acknowledges.
    const [low, high] = bin ? [200, 599] : [200, 299];
    if (
      status !== undefined &&
      (typeof status !== "number" || !Number.isInteger(status) || status < low || status > high)
    ) {
      throw ValidationError.field(
        field("responseStatus"),
        `must be a status from ${low} to ${high}`,
      );
    }
    if (body !== undefined && typeof body !== "string") {
      throw ValidationError.field(field("responseBody"), "must be a string");
    }
    if (contentType !== undefined && (typeof contentType !== "string" || contentType === "")) {
      throw ValidationError.field(field("responseContentType"), "must be a non-empty string");
    }
    if (headers !== undefined) checkResponseHeaders(headers, field("responseHeaders"));
    if (
      delayMs !== undefined &&
      (typeof delayMs !== "number" ||
        !Number.isInteger(delayMs) ||
        delayMs < 0 ||
        delayMs > MAX_RESPONSE_DELAY_MS)
    ) {
      throw ValidationError.field(
        field("responseDelayMs"),
        `must be an integer from 0 to ${MAX_RESPONSE_DELAY_MS}`,
      );
    }
    options.response = {
      status: status ?? 200,
      headers: (headers as Record<string, string> | undefined) ?? {},
      body: body ?? "",
      contentType: contentType ?? "text/plain; charset=utf-8",
      delayMs: delayMs ?? 0,
    };
  }
  return options;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node (and HTTP) allow in a field value: no CR, LF, NUL or other controls but tab. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const MAX_RESPONSE_HEADERS = 50;
const MAX_RESPONSE_HEADER_BYTES = 8_192;

/**
 * Headers a source may not set on its answer, with why. The framing and hop-by-hop ones belong
 * to the connection (a wrong `content-length` or `transfer-encoding` desynchronises proxies in
 * front of Hookyard); `host` is a request header; `set-cookie` would plant cookies on the
 * server's own origin, where the API and dashboard live; `x-content-type-options` would undo
 * the `nosniff` every ingest answer carries.
 */
const REFUSED_RESPONSE_HEADERS: ReadonlyMap<string, string> = new Map([
  ["content-length", "Hookyard frames the answer itself"],
  ["transfer-encoding", "Hookyard frames the answer itself"],
  ["content-encoding", "the body is sent as given, never encoded"],
  ["connection", "a hop-by-hop header belongs to the connection"],
  ["keep-alive", "a hop-by-hop header belongs to the connection"],
  ["proxy-connection", "a hop-by-hop header belongs to the connection"],
  ["upgrade", "a hop-by-hop header belongs to the connection"],
  ["te", "a hop-by-hop header belongs to the connection"],
  ["trailer", "a hop-by-hop header belongs to the connection"],
  ["host", "it is a request header"],
  ["set-cookie", "it would set cookies on the Hookyard server's own origin"],
  ["x-content-type-options", "every ingest answer carries nosniff"],
]);

/** `responseHeaders`: names to values that Node can send and that leave the framing alone. */
function checkResponseHeaders(headers: unknown, loc: string[]): void {
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw ValidationError.field(loc, "must map header names to strings");
  }
  const entries = Object.entries(headers);
  if (entries.length > MAX_RESPONSE_HEADERS) {
    throw ValidationError.field(loc, `must have at most ${MAX_RESPONSE_HEADERS} headers`);
  }
  for (const [name, value] of entries) {
    const at = [...loc, name];
    if (!HEADER_NAME.test(name)) {
      throw ValidationError.field(
        at,
        `"${JSON.stringify(name).slice(1, -1)}" is not a header name`,
      );
    }
    const refused = REFUSED_RESPONSE_HEADERS.get(name.toLowerCase());
    if (refused !== undefined) {
      throw ValidationError.field(at, `${name} cannot be set: ${refused}`);
    }
    if (typeof value !== "string") throw ValidationError.field(at, "must be a string");
    if (!HEADER_VALUE.test(value)) {
      throw ValidationError.field(
        at,
        "must not contain CR, LF or other control characters (nor characters above U+00FF)",
      );
    }
    if (value.length > MAX_RESPONSE_HEADER_BYTES) {
      throw ValidationError.field(at, `must be at most ${MAX_RESPONSE_HEADER_BYTES} characters`);
    }
  }
}

/** 24 random bytes, URL-safe: the unguessable part of an ingest URL. */
function newToken(): string {
  return randomBytes(24).toString("base64url");
}

async function uidConflict(write: Promise<void>, uid: string | null | undefined): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (err instanceof ConflictError) {
      throw new ConflictError(`A source with uid "${uid}" already exists`, { cause: err });
    }
    throw err;
  }
}
