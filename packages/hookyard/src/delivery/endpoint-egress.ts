import type { Clock } from "../clock.js";
import type { Endpoint, EndpointTls } from "../model.js";
import type { Sender } from "./engine.js";
import { explainTlsFailure, tlsOptionsOf } from "./endpoint-tls.js";
import type { SendOutcome, TlsOptions } from "./http-sender.js";
import { OAuthTokens, type OAuthClient } from "./oauth-tokens.js";
import type { OutgoingRequest } from "./outgoing-request.js";

/**
 * Sends an attempt's request with the endpoint's credentials (issue 16): its `auth` becomes the
 * Authorization header (replacing one the request carried, e.g. a forwarded request's), its
 * `tls` the sender's TLS options. An OAuth 2.0 token that cannot be fetched fails the attempt
 * with errorClass `auth` before anything is sent to the endpoint; a 401 from the endpoint drops
 * the token it was sent, so the next attempt (the retry on the normal schedule, not an
 * immediate second request) fetches a new one.
 */
export class EndpointEgress {
  readonly #sender: Sender;
  readonly #tokens: OAuthTokens;
  /** Endpoint objects are replaced on every change, their `tls` with them: one digest each. */
  readonly #tlsOptions = new WeakMap<EndpointTls, { key: string | null; options: TlsOptions }>();

  constructor(deps: { sender: Sender; clock: Clock; userAgent: string }) {
    this.#sender = deps.sender;
    this.#tokens = new OAuthTokens({
      send: (req) => deps.sender.send(req),
      clock: deps.clock,
      userAgent: deps.userAgent,
    });
  }

  async send(endpoint: Endpoint, request: OutgoingRequest): Promise<SendOutcome> {
    const tls = this.#tlsOf(endpoint);
    const { auth, authSecret } = endpoint;
    let authorization: string | null = null;
    let oauth: { client: OAuthClient; accessToken: string } | null = null;
    if (auth !== null && authSecret !== null) {
      switch (auth.type) {
        case "bearer":
          authorization = `Bearer ${authSecret}`;
          break;
        case "basic":
          authorization = `Basic ${Buffer.from(`${auth.username}:${authSecret}`).toString("base64")}`;
          break;
        case "oauth2": {
          const client: OAuthClient = { ...auth, clientSecret: authSecret };
          const token = await this.#tokens.token(client);
          if (!token.ok) return authFailure(token.reason, token.durationMs);
          oauth = { client, accessToken: token.accessToken };
          authorization = `Bearer ${token.accessToken}`;
          break;
        }
        default: {
          const unhandled: never = auth;
          throw new Error(`unhandled auth type ${JSON.stringify(unhandled)}`);
        }
      }
    }
    const outcome = await this.#sender.send({
      ...request,
      headers: authorization === null ? request.headers : withAuthorization(request, authorization),
      ...(tls !== null && { tls }),
    });
    if (oauth !== null && outcome.statusCode === 401) {
      this.#tokens.reject(oauth.client, oauth.accessToken);
    }
    if (outcome.errorClass === "tls" && outcome.errorMessage !== null) {
      return { ...outcome, errorMessage: explainTlsFailure(outcome.errorMessage, tls) };
    }
    return outcome;
  }

  #tlsOf(endpoint: Endpoint): TlsOptions | null {
    if (endpoint.tls === null) return null;
    const memo = this.#tlsOptions.get(endpoint.tls);
    if (memo !== undefined && memo.key === endpoint.tlsClientKey) return memo.options;
    const options = tlsOptionsOf(endpoint);
    if (options === null) return null;
    this.#tlsOptions.set(endpoint.tls, { key: endpoint.tlsClientKey, options });
    return options;
  }
}

/** Ours, whatever the request carried: names are matched without regard to case. */
function withAuthorization(request: OutgoingRequest, value: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name in request.headers) {
    if (name.toLowerCase() !== "authorization") headers[name] = request.headers[name]!;
  }
  headers["authorization"] = value;
  return headers;
}

function authFailure(reason: string, durationMs: number): SendOutcome {
  return {
    statusCode: 0,
    headers: null,
    body: "",
    durationMs,
    errorClass: "auth",
    errorMessage: reason,
  };
}
