import type { Clock } from "../clock.js";
import type { SendOutcome, SendRequest } from "./http-sender.js";

/**
 * OAuth 2.0 access tokens for endpoints (issue 16): the client credentials grant (RFC 6749
 * §4.4), fetched through the one sender like any other request (DESIGN principle 1: the egress
 * guard and the timeout apply to the token URL too). The client authenticates with HTTP Basic,
 * the method every server must support (§2.3.1), its id and secret form-encoded first as that
 * section says. A token is cached until it expires, less a margin, and shared by every endpoint
 * with the same client (token URL, id, secret, scope, audience); concurrent attempts wait for
 * one fetch. A failed fetch is not cached: the next attempt tries again.
 */

export interface OAuthClient {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string | null;
  audience: string | null;
}

export type TokenResult =
  | { ok: true; accessToken: string }
  /** What the token endpoint did, for the attempt's errorMessage (never a secret). */
  | { ok: false; reason: string; durationMs: number };

/** The lifetime of a token whose reply has no `expires_in` (the RFC leaves it to the server). */
export const DEFAULT_TOKEN_LIFETIME_MS = 5 * 60_000;
/** A token is taken as expired this long before it does (a tenth of its lifetime at most). */
const MAX_EXPIRY_MARGIN_MS = 60_000;
const MAX_CACHED_TOKENS = 10_000;
const MAX_REASON_CHARS = 300;

interface CachedToken {
  accessToken: string;
  usableUntil: number;
}

export class OAuthTokens {
  readonly #send: (req: SendRequest) => Promise<SendOutcome>;
  readonly #clock: Clock;
  readonly #userAgent: string;
  readonly #cache = new Map<string, CachedToken>();
  readonly #fetching = new Map<string, Promise<TokenResult>>();

  constructor(deps: {
    send: (req: SendRequest) => Promise<SendOutcome>;
    clock: Clock;
    userAgent: string;
  }) {
    this.#send = deps.send;
    this.#clock = deps.clock;
    this.#userAgent = deps.userAgent;
  }

  /** A token for the client: the cached one while it lasts, else one fetch shared by all. */
  token(client: OAuthClient): Promise<TokenResult> {
    const key = keyOf(client);
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      if (cached.usableUntil > this.#clock.now()) {
        return Promise.resolve({ ok: true, accessToken: cached.accessToken });
      }
      this.#cache.delete(key);
    }
    let fetching = this.#fetching.get(key);
    if (fetching === undefined) {
      fetching = this.#fetch(key, client).finally(() => this.#fetching.delete(key));
      this.#fetching.set(key, fetching);
    }
    return fetching;
  }

  /**
   * The receiver answered 401 to `accessToken`: the next attempt fetches a new one. A token
   * fetched meanwhile by another attempt is kept.
   */
  reject(client: OAuthClient, accessToken: string): void {
    const key = keyOf(client);
    if (this.#cache.get(key)?.accessToken === accessToken) this.#cache.delete(key);
  }

  async #fetch(key: string, client: OAuthClient): Promise<TokenResult> {
    const startedAt = this.#clock.now();
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (client.scope !== null) form.set("scope", client.scope);
    if (client.audience !== null) form.set("audience", client.audience);
    const credentials = `${formEncode(client.clientId)}:${formEncode(client.clientSecret)}`;
    const outcome = await this.#send({
      url: client.tokenUrl,
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        "user-agent": this.#userAgent,
      },
      body: form.toString(),
    });
    const reply = parseTokenReply(outcome);
    if (!reply.ok) {
      const where = `token endpoint ${displayUrl(client.tokenUrl)}`;
      return {
        ok: false,
        reason: clip(`${where} ${reply.reason}`),
        durationMs: outcome.durationMs,
      };
    }
    if (reply.lifetimeMs > 0) {
      const margin = Math.min(MAX_EXPIRY_MARGIN_MS, reply.lifetimeMs / 10);
      if (this.#cache.size >= MAX_CACHED_TOKENS) {
        this.#cache.delete(this.#cache.keys().next().value!);
      }
      this.#cache.set(key, {
        accessToken: reply.accessToken,
        usableUntil: startedAt + reply.lifetimeMs - margin,
      });
    }
    return { ok: true, accessToken: reply.accessToken };
  }
}

type TokenReply =
  { ok: true; accessToken: string; lifetimeMs: number } | { ok: false; reason: string };

/** RFC 6749 §5.1 (success) and §5.2 (error) replies; anything else is said as it is. */
export function parseTokenReply(outcome: SendOutcome): TokenReply {
  if (outcome.errorClass !== null) {
    return { ok: false, reason: `failed (${outcome.errorClass}): ${outcome.errorMessage ?? ""}` };
  }
  const status = outcome.statusCode;
  let body: unknown = null;
  try {
    body = JSON.parse(outcome.body);
  } catch {
    // Not JSON: said below, with the first characters of what came.
  }
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  if (status < 200 || status > 299) {
    const error = typeof fields["error"] === "string" ? fields["error"] : null;
    const description =
      typeof fields["error_description"] === "string" ? ` (${fields["error_description"]})` : "";
    const detail = error !== null ? `${error}${description}` : excerpt(outcome.body);
    return { ok: false, reason: `answered ${status}${detail === "" ? "" : `: ${detail}`}` };
  }
  if (body === null) return { ok: false, reason: `answered ${status} without a JSON body` };
  const accessToken = fields["access_token"];
  if (typeof accessToken !== "string" || accessToken === "") {
    return { ok: false, reason: `answered ${status} without an access_token` };
  }
  if (!/^[\x21-\x7e]+$/.test(accessToken)) {
    return { ok: false, reason: `answered an access_token that cannot be sent in a header` };
  }
  const tokenType = fields["token_type"];
  if (typeof tokenType === "string" && tokenType.toLowerCase() !== "bearer") {
    return { ok: false, reason: `answered token_type "${tokenType}"; only Bearer is supported` };
  }
  return { ok: true, accessToken, lifetimeMs: lifetimeMsOf(fields["expires_in"]) };
}

/** `expires_in` in seconds; some servers send it as a string. 0 = use once, never cache. */
function lifetimeMsOf(expiresIn: unknown): number {
  const seconds = typeof expiresIn === "string" ? Number(expiresIn) : expiresIn;
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    return DEFAULT_TOKEN_LIFETIME_MS;
  }
  return seconds * 1000;
}

/** The secret is part of the key, so a changed secret never gets the old secret's token. */
function keyOf(c: OAuthClient): string {
  return JSON.stringify([c.tokenUrl, c.clientId, c.clientSecret, c.scope, c.audience]);
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for the Basic credentials. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** Without its query, which may hold parameters not meant for attempt logs. */
function displayUrl(url: string): string {
  const cut = url.search(/[?#]/);
  return cut < 0 ? url : url.slice(0, cut);
}

function excerpt(body: string): string {
  return clip(body.replace(/\s+/g, " ").trim());
}

function clip(text: string): string {
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 1)}…` : text;
}
