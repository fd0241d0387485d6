import { ForbiddenError } from "../errors.js";
import type { ApiKey } from "../model.js";

/** Routes only the admin key reaches: managing keys and reading the audit log. */
const ADMIN_ONLY_PREFIXES = ["/api/v1/api-key", "/api/v1/audit-log"];
/** Routes only the admin key changes: the rules (their commands run on the host). */
const ADMIN_ONLY_WRITES = ["/api/v1/rules"];

/** What an application's key may reach beside `/api/v1/app/{its app}/…`. */
const APP_KEY_EXTRA_ROUTES: readonly string[] = [
  "GET /api/v1/event-type",
  "GET /api/v1/event-type/:event_type_name",
  "POST /api/v1/auth/app-portal-access/:app_id",
  "POST /api/v1/auth/app/:app_id/expire-all",
];

/**
 * Why a request with an API key is refused (403), or null, judged on the route's pattern and
 * method alone; whether an app-scoped key's `:app_id` names its application is checked after
 * (it needs a lookup). An application's key reaches that application's routes (endpoints,
 * messages, attempts, listeners, portal links) and reads event types; a key for every
 * application reaches everything but key management and the audit log (the admin key's).
 * A read-only key only reads, and not secrets.
 */
export function apiKeyRefusal(route: string, method: string, key: ApiKey): ForbiddenError | null {
  const verb = method === "HEAD" ? "GET" : method;
  if (ADMIN_ONLY_PREFIXES.some((prefix) => route.startsWith(prefix))) {
    return new ForbiddenError("Only the admin API key manages API keys and reads the audit log");
  }
  if (verb !== "GET" && ADMIN_ONLY_WRITES.some((prefix) => route.startsWith(prefix))) {
    return new ForbiddenError("Only the admin API key changes the rules");
  }
  if (key.appId !== null) {
    const extra = APP_KEY_EXTRA_ROUTES.includes(`${verb} ${route}`);
    if (!extra && !route.startsWith("/api/v1/app/:app_id")) {
      return new ForbiddenError(
        "This API key is for one application: it reaches that application's routes only",
      );
    }
  }
  if (key.readOnly) {
    if (verb !== "GET") return new ForbiddenError("This API key is read-only");
    if (route.endsWith("/secret")) {
      return new ForbiddenError("A read-only API key cannot see signing secrets");
    }
    // A listener's stream is a GET, but it makes or takes over the listener's cursor.
    if (route.includes("/listener/")) {
      return new ForbiddenError("A read-only API key cannot use Hookyard's listeners");
    }
  }
  return null;
}
