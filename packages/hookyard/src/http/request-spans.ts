import type { FastifyInstance } from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    /** The span of a traced request (tracing on, a route in TRACED_ROUTES); absent otherwise. */
    traceSpan?: RequestSpan | null;
  }
}

/**
 * The HTTP layer's view of tracing (issue 16; observability/tracing.ts implements it). Absent
 * while tracing is off: then no hook is registered and requests pay nothing for it.
 */
export interface RequestTracer {
  /** Starts the server span of a request, continuing the client's `traceparent` when valid. */
  startRequest(req: {
    method: string;
    /** The matched route template, e.g. `/api/v1/app/:app_id/msg`: never the raw path. */
    route: string;
    headers: Readonly<Record<string, string | string[] | undefined>>;
  }): RequestSpan;
}

export interface RequestSpan {
  /** W3C `traceparent` naming this span: stored with the message it publishes or forwards. */
  readonly traceparent: string;
  setAttributes(attributes: Readonly<Record<string, string | number>>): void;
  end(statusCode: number, durationMs: number): void;
}

/**
 * The requests that start the work whose attempts are traced: publishing a message, and a
 * request received at an ingest URL (any method, any path below the token). Others are not
 * traced: a span per list or health check would only be noise.
 */
const TRACED_ROUTES: ReadonlyMap<string, string | null> = new Map([
  ["/api/v1/app/:app_id/msg", "POST"],
  ["/in/:token", null],
  ["/in/:token/*", null],
]);

/** Gives each request to a traced route its span (`request.traceSpan`), ended with the answer. */
export function traceRequests(app: FastifyInstance, tracer: RequestTracer): void {
  app.decorateRequest("traceSpan", null);
  app.addHook("onRequest", (request, _reply, done) => {
    const route = request.routeOptions.url;
    const method = route === undefined ? undefined : TRACED_ROUTES.get(route);
    if (route !== undefined && (method === null || method === request.method)) {
      request.traceSpan = tracer.startRequest({
        method: request.method,
        route,
        headers: request.headers,
      });
    }
    done();
  });
  app.addHook("onResponse", (request, reply, done) => {
    request.traceSpan?.end(reply.statusCode, reply.elapsedTime);
    done();
  });
}
