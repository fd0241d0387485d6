import type { FastifyInstance, FastifyRequest } from "fastify";
import type { IdempotencyService } from "../outbound/services.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The scoped idempotency key of a POST whose response must be recorded; null otherwise. */
    idempotencyKey: string | null;
    /** True when the answer is a recorded one replayed for a repeated Idempotency-Key. */
    idempotentReplay: boolean;
  }
}

const HEADER = "idempotency-key";
/**
 * Answers that hold a credential shown once (a new API key, an app portal token) are not
 * recorded: the record would keep it in the database in the clear. A repeat makes another one.
 */
const NOT_RECORDED: ReadonlySet<string> = new Set([
  "/api/v1/api-key",
  "/api/v1/auth/app-portal-access/:app_id",
]);
const MAX_KEY_LENGTH = 256;

/**
 * The stored key: method, path (no query, no trailing slash) and the client's key, so the same
 * key sent to another route does not replay that route's answer.
 */
export function scopedIdempotencyKey(method: string, url: string, key: string): string {
  const query = url.indexOf("?");
  let path = query === -1 ? url : url.slice(0, query);
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return `${method} ${path} ${key}`;
}

function clientKeyOf(request: FastifyRequest): string | null {
  const value = request.headers[HEADER];
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_KEY_LENGTH) return null;
  return value;
}

/**
 * Svix idempotency for POSTs: a POST carrying `Idempotency-Key` whose key has a recorded answer
 * gets that answer (same status, same bytes) without running the handler; otherwise the handler
 * runs and a 2xx answer is recorded before it is sent, so a retry after a lost response cannot
 * repeat the operation. Register inside the authenticated scope: replays are not public.
 *
 * Every SDK POST carries a key (`auto_<uuid>`), so the lookup is one indexed read and the record
 * one group-committed write. Two concurrent requests with one key may both run (no lock).
 */
export function registerIdempotency(app: FastifyInstance, idempotency: IdempotencyService): void {
  app.decorateRequest("idempotencyKey", null);
  app.decorateRequest("idempotentReplay", false);

  // Callback-style hooks: no promise per request on the publish hot path.
  app.addHook("preValidation", (request, reply, done) => {
    if (request.method !== "POST" || NOT_RECORDED.has(request.routeOptions.url ?? "")) {
      return done();
    }
    const clientKey = clientKeyOf(request);
    if (clientKey === null) return done();
    // A portal session's keys are its own, and so are an API key's: neither is answered what
    // the admin key (or another key) recorded.
    const principal = request.principal;
    const scope =
      request.portal !== undefined
        ? `${request.portal.sessionId}:${clientKey}`
        : principal?.kind === "api-key"
          ? `${principal.key.id}:${clientKey}`
          : clientKey;
    const key = scopedIdempotencyKey(request.method, request.url, scope);
    idempotency.get(key).then((record) => {
      if (record === null) {
        request.idempotencyKey = key;
        done();
        return;
      }
      request.idempotentReplay = true;
      reply.code(record.statusCode);
      if (record.body.length === 0) {
        reply.send();
        return;
      }
      reply.type("application/json; charset=utf-8").send(record.body);
    }, done);
  });

  app.addHook("onSend", (request, reply, payload, done) => {
    const key = request.idempotencyKey;
    if (key === null || reply.statusCode < 200 || reply.statusCode > 299)
      return done(null, payload);
    request.idempotencyKey = null;
    // Every route answers with a string or nothing; anything else is never recorded.
    const body = typeof payload === "string" ? payload : payload == null ? "" : null;
    if (body === null) return done(null, payload);
    idempotency.put(key, reply.statusCode, body).then(
      () => done(null, payload),
      (err: unknown) => {
        // The operation itself is committed: answering 500 would make the client retry and
        // repeat it, so the success is sent and only the replay protection of this key is lost.
        request.log.error({ err }, "idempotency record not stored");
        done(null, payload);
      },
    );
  });
}
