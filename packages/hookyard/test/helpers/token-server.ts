import { onTestFinished } from "vitest";
import { startReceiver, type Receiver, type RecordedRequest, type Reply } from "./receiver.js";

/**
 * An OAuth 2.0 authorization server's token endpoint for tests (RFC 6749 §4.4, client
 * credentials), a real HTTP server on loopback. The issuer (what tokens exist, which are
 * revoked) outlives a server, so a test can take the endpoint down and bring it back on the
 * same port with the same tokens.
 */
export class TokenIssuer {
  readonly clientId: string;
  readonly clientSecret: string;
  /** `expires_in` of the replies; null leaves it out. */
  expiresIn: number | null;
  readonly issued: string[] = [];
  readonly #revoked = new Set<string>();

  constructor(opts: { clientId: string; clientSecret: string; expiresIn?: number | null }) {
    this.clientId = opts.clientId;
    this.clientSecret = opts.clientSecret;
    this.expiresIn = opts.expiresIn === undefined ? 3600 : opts.expiresIn;
  }

  /** Whether a resource server should take this bearer token. */
  accepts(token: string | null): boolean {
    return token !== null && this.issued.includes(token) && !this.#revoked.has(token);
  }

  revoke(token: string): void {
    this.#revoked.add(token);
  }

  /** The token endpoint's answer to one request. */
  answer(req: RecordedRequest): Reply {
    const form = new URLSearchParams(req.body);
    if (
      req.method !== "POST" ||
      !/^application\/x-www-form-urlencoded/.test(req.headers["content-type"] ?? "")
    ) {
      return json(400, { error: "invalid_request", error_description: "POST a form" });
    }
    if (!this.#clientAuthenticated(req.headers["authorization"])) {
      return json(401, { error: "invalid_client", error_description: "bad client credentials" });
    }
    if (form.get("grant_type") !== "client_credentials") {
      return json(400, { error: "unsupported_grant_type" });
    }
    const token = `tok-${this.issued.length + 1}`;
    this.issued.push(token);
    return json(200, {
      access_token: token,
      token_type: "Bearer",
      ...(this.expiresIn !== null && { expires_in: this.expiresIn }),
    });
  }

  /** RFC 6749 §2.3.1: Basic, with id and secret form-urlencoded. */
  #clientAuthenticated(header: string | undefined): boolean {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? "");
    if (match === null) return false;
    const [id, secret] = Buffer.from(match[1]!, "base64").toString("utf8").split(":");
    const decode = (s: string | undefined) => decodeURIComponent((s ?? "").replace(/\+/g, " "));
    return decode(id) === this.clientId && decode(secret) === this.clientSecret;
  }
}

/** A token endpoint at `<url>token` answering for `issuer`; closed when the test finishes. */
export async function startTokenServer(
  issuer: TokenIssuer,
  opts: { port?: number } = {},
): Promise<Receiver & { tokenUrl: string }> {
  const server = await startReceiver({
    ...(opts.port !== undefined && { port: opts.port }),
    respond: (req) => issuer.answer(req),
  });
  onTestFinished(() => server.close());
  return Object.assign(server, { tokenUrl: `${server.url}token` });
}

/** The bearer token of a request, or null. */
export function bearerOf(req: RecordedRequest): string | null {
  return /^Bearer (\S+)$/.exec(req.headers["authorization"] ?? "")?.[1] ?? null;
}

function json(status: number, body: unknown): Reply {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}
