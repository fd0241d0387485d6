import Fastify from "fastify";
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import { NotFoundError } from "../errors.js";
import type { Receiver } from "../inbound/receiver.js";
import type { Sources } from "../inbound/sources.js";
import type { OutboundServices } from "../outbound/services.js";
import { bearerAuthHook } from "./auth.js";
import { toHttpFailure } from "./error-mapping.js";
import { registerIdempotency } from "./idempotency.js";
import { RequestLog } from "./request-log.js";
import { LazyRequestLogger } from "./request-logger.js";
import { registerApplicationRoutes } from "./routes/applications.js";
import { registerAttemptRoutes } from "./routes/attempts.js";
import { registerDocsRoutes } from "./routes/docs.js";
import { registerEndpointActionRoutes } from "./routes/endpoint-actions.js";
import { registerEndpointRoutes } from "./routes/endpoints.js";
import { registerEventTypeRoutes } from "./routes/event-types.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerBackgroundTaskRoutes } from "./routes/background-tasks.js";
import type { BackgroundTasks } from "../outbound/background-tasks.js";
import type { Statistics } from "../outbound/statistics.js";
import { registerMessageRoutes } from "./routes/messages.js";
import { registerSourceRoutes } from "./routes/sources.js";
import { registerRuleRoutes } from "./routes/rules.js";
import type { Automation } from "../rules/automation.js";
import type { RulesInForce } from "../rules/rules-in-force.js";
import { registerIngestRoutes } from "./routes/ingest.js";
import { registerIngestEndpointRoutes } from "./routes/ingest-endpoints.js";
import { createValidatorCompiler } from "./schema-validation.js";

export interface HttpAppDeps {
  services: OutboundServices;
  /** Background tasks and statistics (absent: no such routes). */
  tasks?: { tasks: BackgroundTasks; statistics: Statistics };
  /** Automate: the rules in force and their runs (absent: no rules routes). */
  rules?: { automation: Automation; rules: Pick<RulesInForce, "replace" | "origin"> };
  /** Inbound: the Svix Ingest source API under `/ingest/api/v1`. */
  inbound: {
    sources: Sources;
    receiver: Receiver;
    publicUrl: string | null;
    /** Largest body an ingest URL accepts (a source may set less). */
    maxBodyBytes: number;
  };
  logger: Logger;
  /** Largest accepted request body; larger ones get 413. */
  bodyLimitBytes: number;
  /** Hookyard's version, shown in the OpenAPI document. */
  version: string;
}

const API_PREFIX = "/api/v1";
const INGEST_API_PREFIX = "/ingest/api/v1";

/** Longest path segment (uids and event type names are up to 256 characters, percent-encoded). */
const MAX_PARAM_LENGTH = 1024;

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
  void reply.code(failure.status).send(failure.body);
}

/**
 * Builds the Fastify app of the Svix-compatible API (`/api/v1`), its OpenAPI document and docs
 * page. The app is ready (`ready()` awaited); the caller listens and closes it.
 */
export async function buildHttpApp(deps: HttpAppDeps): Promise<FastifyInstance> {
  // Widened to Fastify's logger type so route modules take a plain FastifyInstance.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    // Request loggers are built on first use (see LazyRequestLogger). Route-level log options
    // (none today) or another parent logger get pino's own child, as Fastify would build it.
    childLoggerFactory: (logger, bindings, opts) =>
      logger === loggerInstance && Object.keys(opts).length === 0
        ? new LazyRequestLogger(deps.logger, bindings)
        : logger.child(bindings, opts),
    logController: new RequestLog(deps.logger),
    bodyLimit: deps.bodyLimitBytes,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // Clients may send `X-Request-Id`; otherwise Fastify numbers requests.
    requestIdHeader: "x-request-id",
    return503OnClosing: true,
  });

  app.setValidatorCompiler(createValidatorCompiler());
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? request.url;
    const failure = toHttpFailure(new NotFoundError(`No route for ${request.method} ${path}`));
    request.log.info({ status: failure.status }, "route not found");
    void reply.code(failure.status).send(failure.body);
  });
  // Only JSON bodies: anything else (text/plain included) is a 415. An empty JSON body counts as
  // no body, so bodiless POSTs (resend) accept it and body routes answer 422 naming `body`.
  app.removeContentTypeParser(["text/plain", "application/json"]);
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.length === 0) done(null, undefined);
    // The default parser reports through `done`; its return value carries nothing.
    else void parseJson(request, text, done);
  });

  await registerDocsRoutes(app, { version: deps.version, apiPrefix: API_PREFIX });
  registerHealthRoutes(app, API_PREFIX);

  await app.register(
    (api, _opts, done) => {
      api.addHook("onRequest", bearerAuthHook(deps.services.auth));
      registerIdempotency(api, deps.services.idempotency);
      registerApplicationRoutes(api, deps.services);
      registerEventTypeRoutes(api, deps.services);
      registerEndpointRoutes(api, deps.services);
      registerEndpointActionRoutes(api, deps.services);
      registerMessageRoutes(api, deps.services);
      registerAttemptRoutes(api, deps.services);
      if (deps.tasks !== undefined) registerBackgroundTaskRoutes(api, deps.tasks);
      if (deps.rules !== undefined) registerRuleRoutes(api, deps.rules);
      done();
    },
    { prefix: API_PREFIX },
  );
  await app.register(
    (api, _opts, done) => {
      api.addHook("onRequest", bearerAuthHook(deps.services.auth));
      registerIdempotency(api, deps.services.idempotency);
      registerSourceRoutes(api, { ...deps.inbound, endpoints: deps.services.endpoints });
      registerIngestEndpointRoutes(api, { sources: deps.inbound.sources, services: deps.services });
      done();
    },
    { prefix: INGEST_API_PREFIX },
  );
  await app.register((ingest, _opts, done) => {
    registerIngestRoutes(ingest, deps.inbound);
    done();
  });

  await app.ready();
  return app;
}
