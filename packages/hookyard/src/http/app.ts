import { randomBytes, timingSafeEqual } from "node:crypto";
import Fastify from "fastify";
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import { BadRequestError, NotFoundError, ValidationError } from "../errors.js";
import { jsonHazard, MAX_JSON_DEPTH, type JsonHazard } from "../inbound/provider-facts.js";
import type { Receiver } from "../inbound/receiver.js";
import type { Sources } from "../inbound/sources.js";
import type { OutboundServices } from "../outbound/services.js";
import { type ApiKeyChecks, type PortalChecks, bearerAuthHook, FailedAuthLimiter } from "./auth.js";
import { toHttpFailure } from "./error-mapping.js";
import { registerIdempotency } from "./idempotency.js";
import { traceRequests, type RequestTracer } from "./request-spans.js";
import { RequestLog } from "./request-log.js";
import { isPinoLogger, LazyRequestLogger } from "./request-logger.js";
import { registerApplicationRoutes } from "./routes/applications.js";
import { registerAttemptRoutes } from "./routes/attempts.js";
import { registerDashboardRoutes } from "./routes/dashboard.js";
import { registerAuthRoutes } from "./routes/auth.js";
import { registerOverviewRoutes } from "./routes/overview.js";
import type { ActivitySeries, ActivityWindow } from "../outbound/activity.js";
import type { PortalAccess } from "../outbound/portal-access.js";
import { registerDocsRoutes } from "./routes/docs.js";
import { registerEndpointActionRoutes } from "./routes/endpoint-actions.js";
import { registerEndpointRoutes } from "./routes/endpoints.js";
import { registerEventTypeRoutes } from "./routes/event-types.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerBackgroundTaskRoutes } from "./routes/background-tasks.js";
import type { BackgroundTasks } from "../outbound/background-tasks.js";
import type { Statistics } from "../outbound/statistics.js";
import { registerMessageRoutes } from "./routes/messages.js";
import { registerMetricsRoutes } from "./routes/metrics.js";
import { registerOperationalWebhookRoutes } from "./routes/operational-webhooks.js";
import { registerAccessRoutes } from "./routes/access.js";
import { registerAuditTrail } from "./audit-trail.js";
import type { ApiKeys } from "../outbound/api-keys.js";
import type { AuditLog } from "../outbound/audit-log.js";
import type { OperationalWebhooks } from "../outbound/operational-webhooks.js";
import type { Metrics } from "../observability/metrics.js";
import { requestIds } from "./request-ids.js";
import { registerSourceRoutes } from "./routes/sources.js";
import { registerEndpointListenerRoutes, registerListenerRoutes } from "./routes/listeners.js";
import { StreamSlots } from "./event-stream.js";
import type { Listeners } from "../debug/listeners.js";
import type { ListenerFeeds } from "../debug/listener-feeds.js";
import { registerRuleRoutes } from "./routes/rules.js";
import type { Automation } from "../rules/automation.js";
import type { RulesInForce } from "../rules/rules-in-force.js";
import { registerIngestRoutes } from "./routes/ingest.js";
import { registerIngestEndpointRoutes } from "./routes/ingest-endpoints.js";
import { createValidatorCompiler } from "./schema-validation.js";
import { httpsServerOptions, type TlsListener } from "./tls-options.js";
import { clientCertificateHook, PeerCertificates } from "./client-certificate-auth.js";
import { SystemClock, type Clock } from "../clock.js";
import { inCidrList, parseCidrList } from "../delivery/ssrf-guard.js";

export interface HttpAppDeps {
  services: OutboundServices;
  /** Background tasks and statistics (absent: no such routes). */
  tasks?: {
    tasks: BackgroundTasks;
    statistics: Statistics;
    activity: (window: ActivityWindow) => Promise<ActivitySeries>;
  };
  /** Automate: the rules in force and their runs (absent: no rules routes). */
  rules?: { automation: Automation; rules: Pick<RulesInForce, "replace" | "origin"> };
  /** Inbound: the Svix Ingest source API under `/ingest/api/v1`. */
  inbound: {
    sources: Sources;
    receiver: Receiver;
    listeners: Listeners;
    feeds: ListenerFeeds;
    publicUrl: string | null;
    /** Largest body an ingest URL accepts (a source may set less). */
    maxBodyBytes: number;
    /** Body bytes all ingest requests may hold at once (absent: no cap). */
    maxBytesInFlight?: number;
  };
  logger: Logger;
  /** Largest accepted request body; larger ones get 413. */
  bodyLimitBytes: number;
  /** Longest a client may take to send a whole request, headers and body (absent: no limit). */
  requestTimeoutMs?: number;
  /**
   * Host names (without port) the server answers; others get 400. `hookyard dev` passes
   * loopback's, so a web page that rebinds its own name to 127.0.0.1 cannot use the dev key.
   * Absent: any host.
   */
  allowedHostnames?: readonly string[];
  /** App portal tokens (absent: only the admin key, and no /auth routes). */
  portal?: PortalAccess;
  /** Who may frame the customer app portal (CSP frame-ancestors sources); none by default. */
  portalFrameAncestors?: readonly string[];
  /** Hookyard's version, shown in the OpenAPI document. */
  version: string;
  /** API keys beside the admin key and the audit log (absent: the admin key only, no audit). */
  access?: { keys: ApiKeys; audit: AuditLog };
  /** Operational webhooks (absent: no `/operational-webhook` routes). */
  operational?: OperationalWebhooks;
  /** Prometheus metrics at `GET /metrics`, open or behind `token` (absent: no metrics). */
  metrics?: { metrics: Metrics; token: string | null };
  /** Tracing on: publishing and ingest requests are spans (request-spans.ts). */
  tracer?: RequestTracer;
  /** HTTPS (`server.tls`); absent: plain HTTP. */
  tls?: TlsListener;
  /** The time client certificates are judged at (default: the system's). */
  clock?: Clock;
  /**
   * Addresses or CIDRs of trusted proxies (`inbound.trustProxy`): only a request from one has its
   * X-Forwarded-For (client address), -Proto and -Host believed. Absent or empty: none.
   */
  trustProxy?: readonly string[];
}

const API_PREFIX = "/api/v1";
/** The header that marks the audit trail's internal reads (see `internalMarker`). */
const INTERNAL_HEADER = "x-hookyard-internal";
/** The route pattern an internal read must reach (the change's). */
const INTERNAL_ROUTE_HEADER = "x-hookyard-internal-route";
const INGEST_API_PREFIX = "/ingest/api/v1";

/** Longest path segment (uids and event type names are up to 256 characters, percent-encoded). */
const MAX_PARAM_LENGTH = 1024;

/**
 * A socket on which nothing moves either way for this long is closed: longer than any answer
 * takes to start (a bin delays at most 30 s) and than the SSE keep-alive interval (15 s).
 */
const IDLE_SOCKET_TIMEOUT_MS = 120_000;

/** Longest a client may take to send its request headers (at most the request timeout). */
const HEADERS_TIMEOUT_MS = 30_000;

/**
 * Fastify's server timeouts (issue 18): without them a client sending a body one byte a minute
 * holds its socket and buffered bytes for ever. Node checks the request and headers timeouts
 * every `connectionsCheckingInterval` (30 s by default): a tenth of the timeout keeps it close.
 */
function serverTimeouts(requestTimeoutMs: number | undefined) {
  if (requestTimeoutMs === undefined) return { connectionTimeout: IDLE_SOCKET_TIMEOUT_MS };
  return {
    requestTimeout: requestTimeoutMs,
    connectionTimeout: IDLE_SOCKET_TIMEOUT_MS,
    http: {
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeoutMs),
      connectionsCheckingInterval: Math.min(5_000, Math.max(100, Math.ceil(requestTimeoutMs / 10))),
    },
  };
}

/**
 * The 422 for a JSON body that is nested too deeply or holds U+0000 (PostgreSQL cannot store it
 * in text). Too deep names the top-level field it is in, a NUL the exact field.
 */
function unsafeJsonError(hazard: JsonHazard): ValidationError {
  if (hazard.kind === "too_deep") {
    return ValidationError.field(
      ["body", ...hazard.path.slice(0, 1)],
      `is nested deeper than ${MAX_JSON_DEPTH} levels`,
      "value_error.too_deep",
    );
  }
  return ValidationError.field(
    ["body", ...hazard.path],
    "contains a NUL character (\\u0000), which Hookyard does not store",
    "value_error.nul",
  );
}

/**
 * Fastify's `trustProxy` as a test of each hop's address with the CIDR matcher the sources'
 * allowedIps use (IPv4-mapped IPv6 included), so both read addresses the same way.
 */
function trustedProxies(entries: readonly string[]) {
  if (entries.length === 0) return {};
  const proxies = parseCidrList(entries);
  return { trustProxy: (address: string) => inCidrList(address, proxies) };
}

/** Logs and answers every error; `request.log` carries `reqId`. 4xx at info, 5xx at error. */
function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const failure = toHttpFailure(error);
  if (failure.unexpected) {
    request.log.error({ err: error }, "request failed with an unexpected error");
  } else if (failure.status >= 500) {
    request.log.error({ err: error, status: failure.status }, "request refused");
  } else {
    request.log.info({ status: failure.status, detail: error.message }, "request refused");
  }
  if (failure.headers !== undefined) void reply.headers(failure.headers);
  void reply.code(failure.status).send(failure.body);
}

/**
 * Builds the Fastify app of the Svix-compatible API (`/api/v1`), its OpenAPI document and docs
 * page. The app is ready (`ready()` awaited); the caller listens and closes it.
 */
export async function buildHttpApp(deps: HttpAppDeps): Promise<FastifyInstance> {
  // Widened to Fastify's logger type so route modules take a plain FastifyInstance.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const timeouts = serverTimeouts(deps.requestTimeoutMs);
  const app = Fastify({
    loggerInstance,
    // Request loggers are built on first use (see LazyRequestLogger). The parent is Fastify's own
    // child of `loggerInstance` (made once at start), not `loggerInstance` itself. Route-level log
    // options (none today) get pino's own child, as Fastify would build it.
    childLoggerFactory: (logger, bindings, opts) =>
      Object.keys(opts).length === 0 && isPinoLogger(logger)
        ? new LazyRequestLogger(logger, bindings)
        : logger.child(bindings, opts),
    logController: new RequestLog(deps.logger),
    bodyLimit: deps.bodyLimitBytes,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // A client's well-formed `X-Request-Id` is kept; see request-ids.ts.
    requestIdHeader: false,
    genReqId: requestIds(),
    return503OnClosing: true,
    ...timeouts,
    // Typed as the plain HTTP server the routes take: an HTTPS one serves them the same way.
    ...(deps.tls !== undefined && { https: httpsServerOptions(deps.tls, timeouts.http) }),
    ...trustedProxies(deps.trustProxy ?? []),
  });

  // First, so that a traced request's span covers every other hook (auth, idempotency).
  if (deps.tracer !== undefined) traceRequests(app, deps.tracer);

  // Every answer names its request, so a client can quote it and an operator find its log lines.
  app.addHook("onRequest", (request, reply, done) => {
    void reply.header("x-request-id", request.id);
    done();
  });
  // The audit trail's own reads (a GET before a change, app.inject) carry this process's secret
  // marker: no client can send it, and they are neither counted nor asked for a certificate.
  const internalMarker = randomBytes(16).toString("hex");
  const markerBytes = Buffer.from(internalMarker);
  const isInternal = (request: FastifyRequest) => {
    const sent = request.headers[INTERNAL_HEADER];
    if (typeof sent !== "string" || sent.length !== internalMarker.length) return false;
    return timingSafeEqual(Buffer.from(sent), markerBytes);
  };
  // An internal read must reach the route of the change it precedes: the same URL may be
  // another route for GET (`…/request/stream` is a stream, not the request named "stream").
  app.addHook("onRequest", (request, _reply, done) => {
    if (
      !isInternal(request) ||
      request.headers[INTERNAL_ROUTE_HEADER] === request.routeOptions.url
    ) {
      done();
      return;
    }
    done(new NotFoundError("The audit trail's read reached another route"));
  });
  const metrics = deps.metrics?.metrics;
  if (metrics !== undefined) {
    app.addHook("onResponse", (request, reply, done) => {
      if (isInternal(request)) return done();
      const route = request.routeOptions.url ?? "unmatched";
      metrics.httpResponse(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  const allowedHostnames = deps.allowedHostnames;
  if (allowedHostnames !== undefined) {
    app.addHook("onRequest", (request, _reply, done) => {
      const host = (request.headers.host ?? "").toLowerCase().replace(/:\d+$/, "");
      if (allowedHostnames.includes(host)) done();
      else
        done(
          new BadRequestError(
            `Host "${host.slice(0, 100)}" is not served here (only ${allowedHostnames.join(", ")})`,
          ),
        );
    });
  }

  // Request streams and listeners stay open until their client leaves; a server that stops ends
  // them first (a listener reconnects to the next server), or close would wait for every client.
  const streams = new StreamSlots();
  app.addHook("preClose", (done) => {
    streams.endAll();
    done();
  });

  app.setValidatorCompiler(createValidatorCompiler());
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? request.url;
    const failure = toHttpFailure(new NotFoundError(`No route for ${request.method} ${path}`));
    request.log.info({ status: failure.status }, "route not found");
    void reply.code(failure.status).send(failure.body);
  });
  // A NUL can come in through a percent-escape in a path or query value; PostgreSQL cannot
  // compare or store it in text, so it is refused here, the same on both stores.
  app.addHook("onRequest", (request, _reply, done) => {
    if (!request.url.includes("%00")) done();
    else done(new BadRequestError("The URL contains %00: ids, tokens and values cannot hold NUL"));
  });
  // Only JSON bodies: anything else (text/plain included) is a 415. An empty JSON body counts as
  // no body, so bodiless POSTs (resend) accept it and body routes answer 422 naming `body`.
  // A message payload may hold U+0000: it is kept as JSON text, where it stays escaped.
  app.removeContentTypeParser(["text/plain", "application/json"]);
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.length === 0) done(null, undefined);
    // The default parser reports through `done`; its return value carries nothing.
    else
      void parseJson(request, text, (err, value: unknown) => {
        const hazard = err === null ? jsonHazard(value, text, "payload") : null;
        if (hazard === null) done(err, value);
        else done(unsafeJsonError(hazard));
      });
  });

  await registerDocsRoutes(app, { version: deps.version, apiPrefix: API_PREFIX });
  registerHealthRoutes(app, API_PREFIX);
  if (deps.metrics !== undefined) registerMetricsRoutes(app, deps.metrics);
  registerDashboardRoutes(app, { portalFrameAncestors: deps.portalFrameAncestors ?? [] });

  // One count of failed keys per server, whichever part of the API they were tried on.
  const failedAuth = new FailedAuthLimiter();
  const applicationId = (idOrUid: string) =>
    deps.services.applications.get(idOrUid).then(
      (found): string | null => found.id,
      () => null,
    );
  const keys = deps.access?.keys;
  const keyChecks: ApiKeyChecks | undefined =
    keys === undefined
      ? undefined
      : { authenticate: (token) => keys.authenticate(token), applicationId };
  const audit = deps.access === undefined ? undefined : { audit: deps.access.audit, applicationId };
  const peers = new PeerCertificates();
  // server.tls.clientCa: the API needs a client certificate too, checked before the key.
  const clientCa = deps.tls?.clientCa ?? null;
  const checkCertificate =
    clientCa === null
      ? null
      : clientCertificateHook(clientCa, { clock: deps.clock ?? new SystemClock(), peers });
  const certificateCheck: typeof checkCertificate =
    checkCertificate === null
      ? null
      : (request, reply, done) => {
          // The audit trail's read runs as the request it precedes, which was checked.
          if (isInternal(request)) done();
          else checkCertificate(request, reply, done);
        };
  await app.register(
    (api, _opts, done) => {
      const portalChecks: PortalChecks | undefined =
        deps.portal === undefined
          ? undefined
          : { verify: (token) => deps.portal!.verify(token), applicationId };
      if (certificateCheck !== null) api.addHook("onRequest", certificateCheck);
      api.addHook(
        "onRequest",
        bearerAuthHook(deps.services.auth, failedAuth, portalChecks, keyChecks),
      );
      if (audit !== undefined) {
        registerAuditTrail(api, {
          ...audit,
          root: () => app,
          internalHeader: [INTERNAL_HEADER, internalMarker],
        });
      }
      registerIdempotency(api, deps.services.idempotency);
      if (deps.portal !== undefined) {
        registerAuthRoutes(api, {
          applications: deps.services.applications,
          portal: deps.portal,
          publicUrl: deps.inbound.publicUrl,
        });
      }
      registerApplicationRoutes(api, deps.services);
      registerEventTypeRoutes(api, deps.services);
      registerEndpointRoutes(api, deps.services);
      registerEndpointActionRoutes(api, deps.services);
      registerEndpointListenerRoutes(api, {
        endpoints: deps.services.endpoints,
        listeners: deps.inbound.listeners,
        feeds: deps.inbound.feeds,
        streams,
      });
      registerMessageRoutes(api, deps.services);
      registerAttemptRoutes(api, deps.services);
      if (deps.operational !== undefined) {
        registerOperationalWebhookRoutes(api, {
          endpoints: deps.services.endpoints,
          operational: deps.operational,
        });
      }
      if (deps.tasks !== undefined) {
        registerBackgroundTaskRoutes(api, deps.tasks);
        registerOverviewRoutes(api, deps.tasks.activity);
      }
      if (deps.rules !== undefined) registerRuleRoutes(api, deps.rules);
      if (deps.access !== undefined) registerAccessRoutes(api, deps.access);
      done();
    },
    { prefix: API_PREFIX },
  );
  await app.register(
    (api, _opts, done) => {
      if (certificateCheck !== null) api.addHook("onRequest", certificateCheck);
      api.addHook(
        "onRequest",
        bearerAuthHook(deps.services.auth, failedAuth, undefined, keyChecks),
      );
      if (audit !== undefined) {
        registerAuditTrail(api, {
          ...audit,
          root: () => app,
          internalHeader: [INTERNAL_HEADER, internalMarker],
        });
      }
      registerIdempotency(api, deps.services.idempotency);
      registerSourceRoutes(api, { ...deps.inbound, endpoints: deps.services.endpoints, streams });
      registerListenerRoutes(api, { ...deps.inbound, streams });
      registerIngestEndpointRoutes(api, { sources: deps.inbound.sources, services: deps.services });
      done();
    },
    { prefix: INGEST_API_PREFIX },
  );
  await app.register((ingest, _opts, done) => {
    registerIngestRoutes(ingest, { ...deps.inbound, peers });
    done();
  });

  await app.ready();
  return app;
}
