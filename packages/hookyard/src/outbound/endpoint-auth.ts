import { checkUrl } from "../delivery/ssrf-guard.js";
import { ValidationError } from "../errors.js";
import type { Endpoint, EndpointAuth } from "../model.js";
import type { EndpointAuthInput } from "./services.js";

/**
 * An endpoint's `auth` as the API gives it (issue 16) → what is stored: the parts that are not
 * secret, and the one secret each type has (bearer token, basic password, OAuth 2.0 client
 * secret) apart. The API never shows a secret back, so an `auth` given without its secret keeps
 * the stored one — as long as the type is the same, and for oauth2 the token URL too: a kept
 * client secret is only ever sent where it was first given for.
 */

export type AuthSettings = Pick<Endpoint, "auth" | "authSecret">;

export const NO_AUTH: AuthSettings = { auth: null, authSecret: null };

const MAX_TOKEN_CHARS = 4096;
const MAX_FIELD_CHARS = 1024;
const MAX_TOKEN_URL_CHARS = 4096;
/** RFC 6750 §2.1 allows less; any visible ASCII is what a header value can carry unquoted. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/;
/** RFC 6749 §3.3: space-delimited scope tokens. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

/** The fields each type takes; the secret is the last. */
const FIELDS = {
  bearer: ["token"],
  basic: ["username", "password"],
  oauth2: ["tokenUrl", "clientId", "scope", "audience", "clientSecret"],
} as const satisfies Record<EndpointAuth["type"], readonly (keyof EndpointAuthInput)[]>;

/**
 * The auth after `input`: absent keeps `existing`, null clears it.
 * @throws ValidationError naming the field (`body.auth.password`, …).
 */
export function resolveAuth(
  input: EndpointAuthInput | null | undefined,
  existing: AuthSettings,
  loc: readonly string[],
): AuthSettings {
  if (input === undefined) return { auth: existing.auth, authSecret: existing.authSecret };
  if (input === null) return NO_AUTH;
  const at = (field: string): string[] => [...loc, field];
  const allowed: readonly string[] = FIELDS[input.type];
  for (const [field, value] of Object.entries(input)) {
    if (field !== "type" && value !== undefined && !allowed.includes(field)) {
      throw ValidationError.field(at(field), `is not a field of auth type "${input.type}"`);
    }
  }
  const kept = (secretField: string, sameTarget = true): string => {
    if (existing.auth?.type === input.type && existing.authSecret !== null && sameTarget) {
      return existing.authSecret;
    }
    throw ValidationError.field(at(secretField), "field required", "value_error.missing");
  };
  switch (input.type) {
    case "bearer": {
      const token = input.token ?? kept("token");
      if (token.length > MAX_TOKEN_CHARS || !VISIBLE_ASCII.test(token)) {
        throw ValidationError.field(
          at("token"),
          `must be 1 to ${MAX_TOKEN_CHARS} visible ASCII characters (no spaces)`,
        );
      }
      return { auth: { type: "bearer" }, authSecret: token };
    }
    case "basic": {
      const username = required(input.username, at("username"));
      // RFC 7617 §2: the user-id cannot hold a colon, the first one ends it.
      if (username.includes(":")) throw ValidationError.field(at("username"), "must not hold ':'");
      const password = input.password ?? kept("password");
      checkText(password, at("password"), 0);
      return { auth: { type: "basic", username }, authSecret: password };
    }
    case "oauth2": {
      const tokenUrl = required(input.tokenUrl, at("tokenUrl"), MAX_TOKEN_URL_CHARS);
      const checked = checkUrl(tokenUrl);
      if (!checked.ok) throw ValidationError.field(at("tokenUrl"), checked.reason);
      const clientId = required(input.clientId, at("clientId"));
      const sameTokenUrl = existing.auth?.type === "oauth2" && existing.auth.tokenUrl === tokenUrl;
      const clientSecret = input.clientSecret ?? kept("clientSecret", sameTokenUrl);
      checkText(clientSecret, at("clientSecret"));
      const scope = optional(input.scope, at("scope"));
      if (scope !== null && !SCOPE.test(scope)) {
        throw ValidationError.field(
          at("scope"),
          "must be scope tokens separated by single spaces (RFC 6749 §3.3)",
        );
      }
      const audience = optional(input.audience, at("audience"));
      return {
        auth: { type: "oauth2", tokenUrl, clientId, scope, audience },
        authSecret: clientSecret,
      };
    }
    default: {
      const unhandled: never = input.type;
      throw ValidationError.field(at("type"), `unknown auth type ${String(unhandled)}`);
    }
  }
}

/**
 * Hookyard's Authorization header would silently replace a custom one, so an endpoint has one or
 * the other. `changed` names what the request set, and so what the 422 points at.
 * @throws ValidationError when the endpoint has both.
 */
export function checkOneAuthorization(
  endpoint: Pick<Endpoint, "auth" | "headers">,
  changed: "auth" | "headers",
): void {
  if (endpoint.auth === null || endpoint.headers["authorization"] === undefined) return;
  if (changed === "auth") {
    throw ValidationError.field(
      ["body", "auth"],
      "the endpoint has a custom Authorization header: remove it from its headers first",
    );
  }
  throw ValidationError.field(
    ["body", "headers", "authorization"],
    `the endpoint authenticates with auth type "${endpoint.auth.type}", which sets Authorization: set auth to null first`,
  );
}

function required(value: string | undefined, at: string[], max = MAX_FIELD_CHARS): string {
  if (value === undefined) throw ValidationError.field(at, "field required", "value_error.missing");
  checkText(value, at, 1, max);
  return value;
}

function optional(value: string | null | undefined, at: string[]): string | null {
  if (value == null || value === "") return null;
  checkText(value, at);
  return value;
}

function checkText(value: string, at: string[], min = 1, max = MAX_FIELD_CHARS): void {
  if (value.length < min || value.length > max || CONTROL.test(value)) {
    throw ValidationError.field(
      at,
      `must be ${min} to ${max} characters without control characters`,
    );
  }
}
