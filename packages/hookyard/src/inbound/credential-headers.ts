import { VERIFIED_CREDENTIAL } from "../delivery/forward.js";

/**
 * The headers that carry a source type's secret itself (a token or password it compares, not a
 * signature made with it). Masked whatever the verdict: a wrong password is someone's password.
 */
const CREDENTIAL_HEADERS: Readonly<Record<string, readonly string[]>> = {
  bearer: ["authorization"],
  basic: ["authorization"],
  gitlab: ["x-gitlab-token"],
};

/**
 * `headers` with the source type's credential replaced by `VERIFIED_CREDENTIAL`, which the
 * forward drops (delivery/forward.ts): a destination that needs credentials has its own, in its
 * endpoint headers.
 */
export function withoutCredentials(
  type: string,
  headers: Record<string, string>,
): Record<string, string> {
  const names = CREDENTIAL_HEADERS[type]?.filter((name) => headers[name] !== undefined) ?? [];
  if (names.length === 0) return headers;
  const masked = { ...headers };
  for (const name of names) masked[name] = VERIFIED_CREDENTIAL;
  return masked;
}
