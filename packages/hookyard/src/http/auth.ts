import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { SystemClock, type Clock } from "../clock.js";
import { clientNetwork } from "../delivery/ssrf-guard.js";
import { AuthenticationError, ForbiddenError, TooManyRequestsError } from "../errors.js";
import { ADMIN, type Principal } from "../outbound/api-keys.js";
import { PortalAccess, type PortalGrant } from "../outbound/portal-access.js";
import type { AuthService } from "../outbound/services.js";
import type { ApiKey } from "../model.js";
import { apiKeyRefusal } from "./api-key-scope.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set when the request came with an app portal token: what it grants. */
    portal?: PortalGrant;
    /** Set when the request came with the admin key or an API key. */
    principal?: Principal;
  }
}

/** What the hook needs to judge an API key beside the admin key. */
export interface ApiKeyChecks {
  authenticate(token: string): ApiKey | "revoked" | null;
  /** The id of the application `idOrUid` names now, or null when there is none. */
  applicationId(idOrUid: string): Promise<string | null>;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Wrong keys a client may send within FAILURE_WINDOW_MS before it is refused for that long. */
const MAX_FAILURES = 20;
const FAILURE_WINDOW_MS = 60_000;
/** Clients tracked at once; past this the oldest is forgotten (memory stays bounded). */
const MAX_TRACKED_CLIENTS = 10_000;

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerTokenOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = BEARER.exec(header);
  return match?.[1] ?? null;
}

interface Failures {
  /** When the first failure of the current window happened (epoch ms). */
  since: number;
  count: number;
  /** Refused until then (epoch ms), once `count` reached the limit; 0 while not blocked. */
  blockedUntil: number;
}

/**
 * Failed API key checks per client: after MAX_FAILURES wrong keys within a minute, the client is
 * refused (429) for a minute whatever key it sends, the right one included, so that guessing
 * gains nothing. Clients are IPv4 addresses and IPv6 /64 networks (one host holds a whole /64).
 */
export class FailedAuthLimiter {
  readonly #clock: Clock;
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxClients: number;
  /** In order of each client's current window start, so the first entries expire first. */
  readonly #clients = new Map<string, Failures>();

  constructor(
    deps: { clock: Clock; maxFailures?: number; windowMs?: number; maxClients?: number } = {
      clock: new SystemClock(),
    },
  ) {
    this.#clock = deps.clock;
    this.#maxFailures = deps.maxFailures ?? MAX_FAILURES;
    this.#windowMs = deps.windowMs ?? FAILURE_WINDOW_MS;
    this.#maxClients = deps.maxClients ?? MAX_TRACKED_CLIENTS;
  }

  /** Milliseconds until `ip` may try again; 0 when it is not refused. */
  retryAfterMs(ip: string): number {
    // Asked on every request: no address to parse while no client has failed.
    if (this.#clients.size === 0) return 0;
    const entry = this.#clients.get(clientNetwork(ip));
    if (entry === undefined) return 0;
    return Math.max(0, entry.blockedUntil - this.#clock.now());
  }

  /** Counts a wrong key from `ip`; true when this one made it refused. */
  recordFailure(ip: string): boolean {
    const key = clientNetwork(ip);
    const now = this.#clock.now();
    let entry = this.#clients.get(key);
    if (entry === undefined || (entry.blockedUntil <= now && now - entry.since >= this.#windowMs)) {
      // A fresh window goes to the end, keeping the map in window order.
      this.#clients.delete(key);
      this.#makeRoom(now);
      entry = { since: now, count: 0, blockedUntil: 0 };
      this.#clients.set(key, entry);
    }
    entry.count++;
    if (entry.count < this.#maxFailures || entry.blockedUntil > now) return false;
    entry.blockedUntil = now + this.#windowMs;
    return true;
  }

  /** How many clients are tracked: at most `maxClients`. */
  get trackedClients(): number {
    return this.#clients.size;
  }

  #makeRoom(now: number): void {
    for (const [key, entry] of this.#clients) {
      const expired = entry.blockedUntil <= now && now - entry.since >= this.#windowMs;
      if (!expired && this.#clients.size < this.#maxClients) return;
      // Expired, or the oldest while full: an attacker with more addresses than the bound
      // gets a few more guesses, but never unbounded memory.
      this.#clients.delete(key);
    }
  }
}

/**
 * An `onRequest` hook that refuses requests without a valid admin API key (401). It runs before
 * the body is read, so unauthenticated clients cannot make the server parse anything. A client
 * that sent too many wrong keys is answered 429 with `Retry-After` before its key is looked at.
 * Pass the same `limiter` to every hook of one server, so a client's failures add up across them.
 */
export function bearerAuthHook(
  auth: AuthService,
  limiter: FailedAuthLimiter = new FailedAuthLimiter(),
  /** Accepts app portal tokens too, for their application's routes only. */
  portal?: PortalChecks,
  /** Accepts API keys too, within their scope. */
  keys?: ApiKeyChecks,
): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  return (request, _reply, done) => {
    const waitMs = limiter.retryAfterMs(request.ip);
    if (waitMs > 0) {
      done(
        new TooManyRequestsError(
          `Too many requests with a wrong API key from this address; try again in ${Math.ceil(waitMs / 1000)} s`,
          waitMs / 1000,
        ),
      );
      return;
    }
    const token = bearerTokenOf(request.headers.authorization);
    if (token === null) {
      done(new AuthenticationError("Missing Authorization header: send `Bearer <api key>`"));
      return;
    }
    if (portal !== undefined && PortalAccess.isPortalToken(token)) {
      checkPortal(request, token, portal, limiter).then(
        (refusal) => done(refusal ?? undefined),
        (err: unknown) => done(err as Error),
      );
      return;
    }
    if (auth.verify(token)) {
      request.principal = ADMIN;
      done();
      return;
    }
    const key = keys?.authenticate(token) ?? null;
    if (key === "revoked") {
      done(new AuthenticationError("This API key has been revoked"));
      return;
    }
    if (key !== null) {
      request.principal = { kind: "api-key", key };
      checkApiKey(request, key, keys!).then(
        (refusal) => done(refusal ?? undefined),
        (err: unknown) => done(err as Error),
      );
      return;
    }
    if (limiter.recordFailure(request.ip)) {
      request.log.warn(
        { ip: request.ip },
        "client refused for a while: too many requests with a wrong API key",
      );
    }
    done(new AuthenticationError("Invalid API key"));
  };
}

async function checkApiKey(
  request: FastifyRequest,
  key: ApiKey,
  keys: ApiKeyChecks,
): Promise<Error | null> {
  const refusal = apiKeyRefusal(request.routeOptions.url ?? "", request.method, key);
  if (refusal !== null || key.appId === null) return refusal;
  const app = (request.params as { app_id?: string }).app_id;
  // A route without an application (reading event types) passed the refusal above. By id, as
  // for portal tokens: a uid may since name another application.
  if (app !== undefined && (await keys.applicationId(app)) !== key.appId) {
    return new ForbiddenError("This API key is for another application");
  }
  return null;
}

/** What the hook needs to judge an app portal token. */
export interface PortalChecks {
  verify: PortalAccess["verify"];
  /** The id of the application `idOrUid` names now, or null when there is none. */
  applicationId(idOrUid: string): Promise<string | null>;
}

/** What an app portal token may reach beside `/api/v1/app/{its app}/…`: reading event types. */
const PORTAL_EXTRA_ROUTES: readonly string[] = [
  "GET /api/v1/event-type",
  "GET /api/v1/event-type/:event_type_name",
  "POST /api/v1/auth/logout",
];

async function checkPortal(
  request: FastifyRequest,
  token: string,
  portal: PortalChecks,
  limiter: FailedAuthLimiter,
): Promise<Error | null> {
  const grant = await portal.verify(token);
  if (grant === "forged") {
    // Only a token this server did not sign is a guess; an expired one is a customer's old link.
    limiter.recordFailure(request.ip);
    return new AuthenticationError("Invalid app portal token");
  }
  if (grant === "ended") return new AuthenticationError("This app portal token has expired");
  request.portal = grant;
  const refusal = portalRefusal(request, grant);
  if (refusal !== null) return refusal;
  const app = (request.params as { app_id?: string }).app_id;
  // The application the path names now, by id: a uid may since name another application, and
  // a deleted application's tokens reach nothing.
  if (app !== undefined && (await portal.applicationId(app)) !== grant.appId) {
    return new ForbiddenError("This app portal token is for another application");
  }
  return null;
}

/**
 * Why a request with a portal token is refused (403), or null: a portal token reaches its own
 * application's endpoints, messages and attempts (not publishing, not changing or deleting the
 * application itself, not Hookyard's debug listeners), and the event types to read; a read-only
 * one reads, and not the endpoints' secrets.
 */
function portalRefusal(request: FastifyRequest, grant: PortalGrant): ForbiddenError | null {
  const route = request.routeOptions.url ?? "";
  const method = request.method === "HEAD" ? "GET" : request.method;
  if (PORTAL_EXTRA_ROUTES.includes(`${method} ${route}`)) {
    return grant.readOnly && method !== "GET" && route !== "/api/v1/auth/logout"
      ? new ForbiddenError("This app portal token is read-only")
      : null;
  }
  if (!route.startsWith("/api/v1/app/:app_id")) {
    return new ForbiddenError("An app portal token reaches its application's routes only");
  }
  if (route === "/api/v1/app/:app_id" && method !== "GET") {
    return new ForbiddenError("An app portal token cannot change or delete its application");
  }
  if (route === "/api/v1/app/:app_id/msg" && method === "POST") {
    // A message names (and may make) its application in its body: publishing is the SaaS's.
    return new ForbiddenError("An app portal token cannot publish messages");
  }
  if (route.includes("/listener/")) {
    return new ForbiddenError("An app portal token cannot use Hookyard's listeners");
  }
  if (grant.readOnly) {
    if (method !== "GET") return new ForbiddenError("This app portal token is read-only");
    if (route.endsWith("/secret")) {
      return new ForbiddenError("A read-only app portal token cannot see endpoint secrets");
    }
  }
  return null;
}
