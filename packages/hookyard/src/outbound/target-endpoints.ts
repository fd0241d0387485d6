import { createHash } from "node:crypto";
import { ConflictError, NotFoundError } from "../errors.js";
import type { AppId, Endpoint } from "../model.js";
import type { EndpointService } from "./services.js";

/**
 * Endpoints Hookyard makes for itself to send to a URL: a rule's forward or notify target, a
 * replay to a URL no destination has. Each is found by a uid derived from what it sends to (the
 * URL and headers), so the first use makes it and later ones reuse it, with its attempts and
 * retries, instead of piling up endpoints. Two callers racing to make it get the same one.
 */
export async function targetEndpoint(
  endpoints: Pick<EndpointService, "get" | "create">,
  appId: AppId,
  target: {
    /** The uid's prefix, e.g. `target`, `replay`. */
    kind: string;
    url: string;
    headers?: Record<string, string>;
    /** The channels it takes, given its uid (a channel of its own keeps others' messages off). */
    channels: (uid: string) => string[];
    description: string;
  },
  known?: ReadonlyMap<string, Endpoint>,
): Promise<Endpoint> {
  const headers = target.headers ?? {};
  const key = createHash("sha256")
    .update(JSON.stringify([target.url, Object.entries(headers).sort()]))
    .digest("hex")
    .slice(0, 32);
  const uid = `${target.kind}-${key}`;
  const cached = known === undefined ? undefined : [...known.values()].find((e) => e.uid === uid);
  if (cached !== undefined) return cached;
  try {
    return await endpoints.get(appId, uid);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  try {
    return await endpoints.create(appId, {
      uid,
      url: target.url,
      headers,
      channels: target.channels(uid),
      description: target.description,
    });
  } catch (err) {
    if (err instanceof ConflictError) return endpoints.get(appId, uid);
    throw err;
  }
}
