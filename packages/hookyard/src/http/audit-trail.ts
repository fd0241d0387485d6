import type {
  FastifyInstance,
  FastifyRequest,
  onSendAsyncHookHandler,
  preHandlerAsyncHookHandler,
} from "fastify";
import type { AppId, AuditEntry } from "../model.js";
import { changedFields, createdFields, deletedFields } from "../outbound/audit-diff.js";
import type { AuditLog } from "../outbound/audit-log.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The object as it was before this change (read by the audit trail), when it had a GET. */
    auditBefore?: Record<string, unknown> | null;
  }
}

/**
 * Requests that change nothing an operator configured, though they are not GETs: publishing (the
 * data plane, recorded as messages), checks and reports, and debug listeners' cursors.
 */
const NOT_CHANGES: readonly RegExp[] = [
  /^POST \/api\/v1\/app\/:app_id\/msg$/,
  /\/precheck\//,
  /^(POST|PUT) \/api\/v1\/stats\//,
  /\/listener\//,
  /^POST \/api\/v1\/auth\/logout$/,
  /^POST \/api\/v1\/rule(book)?s?\/(test|check|dry-run)/,
];

/**
 * The audit trail (issue 16): every change that succeeded through the management API becomes an
 * audit entry — who made it (the key), the route and the object, and the fields it changed with
 * secrets masked. Before a PUT, PATCH or DELETE, the object is read with a GET of the same URL
 * (as the same caller), so the entry holds the fields' old values; the reply is held until the
 * entry is stored, so a client that saw a 2xx knows it is on record. (The entry is written after
 * the change, not in its transaction: a crash between the two leaves a change without an entry.)
 */
export function registerAuditTrail(
  api: FastifyInstance,
  deps: {
    audit: AuditLog;
    root: () => FastifyInstance;
    /** The id of the application a path's `:app_id` (an id or a uid) names, or null. */
    applicationId(idOrUid: string): Promise<string | null>;
    /** Name and value of the header that marks the trail's own reads as internal. */
    internalHeader: readonly [string, string];
  },
): void {
  const before: preHandlerAsyncHookHandler = async (request) => {
    if (!isChange(request)) return;
    if (request.method !== "PUT" && request.method !== "PATCH" && request.method !== "DELETE") {
      return;
    }
    request.auditBefore = await readBefore(deps.root(), request, deps.internalHeader);
  };
  const after: onSendAsyncHookHandler = async (request, reply, payload) => {
    if (!isChange(request) || reply.statusCode < 200 || reply.statusCode >= 300) return payload;
    // A replayed answer changed nothing: the first request is on record.
    if (request.idempotentReplay) return payload;
    const after = jsonObject(payload);
    const before = request.auditBefore ?? null;
    const input = jsonObject(request.body);
    let changes: AuditEntry["changes"];
    if (request.method === "DELETE") changes = before === null ? {} : deletedFields(before);
    else if (before !== null && after !== null) changes = changedFields(before, after, input);
    else changes = createdFields(after ?? input ?? {});
    const params = request.params as Record<string, string | undefined>;
    // The change is committed: a failed entry is logged, never turned into an error the client
    // would retry (and so repeat the change).
    await deps.audit
      .record({
        actor: actorOf(request),
        actorName: request.principal?.kind === "api-key" ? request.principal.key.name : null,
        method: request.method,
        route: request.routeOptions.url ?? "",
        path: request.url.split("?")[0] ?? request.url,
        status: reply.statusCode,
        appId: await appIdOf(params, after, before, (idOrUid) => deps.applicationId(idOrUid)),
        objectId: objectIdOf(params, after, before),
        changes,
        requestId: request.id,
        ip: request.ip,
      })
      .catch((err: unknown) =>
        request.log.error({ err }, "an audit log entry could not be stored"),
      );
    return payload;
  };
  // On the routes that can change something only: reads and publishes (most requests) run no
  // audit hook at all.
  api.addHook("onRoute", (route) => {
    if (![route.method].flat().some((method) => isChangeRoute(method, route.url))) return;
    route.preHandler = [...hooksOf(route.preHandler), before];
    route.onSend = [...hooksOf(route.onSend), after];
  });
}

function isChange(request: FastifyRequest): boolean {
  return isChangeRoute(request.method, request.routeOptions.url ?? "");
}

function isChangeRoute(method: string, url: string): boolean {
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return false;
  const key = `${method} ${url}`;
  return !NOT_CHANGES.some((pattern) => pattern.test(key));
}

function hooksOf<T>(hooks: T | T[] | undefined): T[] {
  return hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
}

async function readBefore(
  root: FastifyInstance,
  request: FastifyRequest,
  [markerName, marker]: readonly [string, string],
): Promise<Record<string, unknown> | null> {
  // As the request itself: its key, and the host and scheme its URLs are built from.
  const forwarded: Record<string, string> = {};
  for (const name of ["authorization", "host", "x-forwarded-proto", "x-forwarded-host"]) {
    const value = request.headers[name];
    if (typeof value === "string") forwarded[name] = value;
  }
  const res = await root.inject({
    method: "GET",
    url: request.url,
    headers: {
      ...forwarded,
      "x-request-id": request.id,
      [markerName]: marker,
      [`${markerName}-route`]: request.routeOptions.url ?? "",
    },
    remoteAddress: request.ip,
  });
  if (res.statusCode !== 200) return null;
  return jsonObject(res.body);
}

function actorOf(request: FastifyRequest): string {
  if (request.portal !== undefined) return `portal:${request.portal.appId}`;
  const principal = request.principal;
  return principal?.kind === "api-key" ? principal.key.id : "admin";
}

/** An object from a JSON text or value, or null (an empty reply, an array, not JSON). */
function jsonObject(payload: unknown): Record<string, unknown> | null {
  let value = payload;
  if (typeof payload === "string" || Buffer.isBuffer(payload)) {
    try {
      value = JSON.parse(payload.toString());
    } catch {
      return null;
    }
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

async function appIdOf(
  params: Record<string, string | undefined>,
  after: Record<string, unknown> | null,
  before: Record<string, unknown> | null,
  applicationId: (idOrUid: string) => Promise<string | null>,
): Promise<AppId | null> {
  for (const candidate of [after?.["appId"], before?.["appId"], after?.["id"], before?.["id"]]) {
    if (typeof candidate === "string" && candidate.startsWith("app_")) return candidate as AppId;
  }
  const named = params["app_id"];
  if (named === undefined) return null;
  // A deleted application is found no more: its path's id is what is left.
  return ((await applicationId(named)) ??
    (named.startsWith("app_") ? named : null)) as AppId | null;
}

/** The innermost object the route names (its last `:…_id` parameter), by id when known. */
function objectIdOf(
  params: Record<string, string | undefined>,
  after: Record<string, unknown> | null,
  before: Record<string, unknown> | null,
): string | null {
  const id = after?.["id"] ?? before?.["id"];
  if (typeof id === "string") return id;
  const named = Object.entries(params).filter(([name]) => name.endsWith("_id") || name === "name");
  return named.at(-1)?.[1] ?? null;
}
