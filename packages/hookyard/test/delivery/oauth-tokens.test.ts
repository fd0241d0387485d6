import { describe, expect, it, onTestFinished } from "vitest";
import { HttpSender } from "../../src/delivery/http-sender.js";
import { OAuthTokens, type OAuthClient } from "../../src/delivery/oauth-tokens.js";
import { parseCidrList } from "../../src/delivery/ssrf-guard.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTokenServer, TokenIssuer } from "../helpers/token-server.js";

/** OAuthTokens over the real HttpSender against a real token endpoint on loopback. */
function tokens(opts: { allowLoopback?: boolean } = {}) {
  const sender = new HttpSender({
    allow: opts.allowLoopback === false ? [] : parseCidrList("127.0.0.1/32"),
    timeoutMs: 2_000,
    connectionsPerOrigin: 2,
    maxResponseBodyBytes: 16 * 1024,
  });
  onTestFinished(() => sender.close());
  const clock = new FakeClock(Date.UTC(2025, 0, 1));
  const oauth = new OAuthTokens({ send: (r) => sender.send(r), clock, userAgent: "Hookyard/test" });
  return { oauth, clock };
}

function clientOf(tokenUrl: string, overrides: Partial<OAuthClient> = {}): OAuthClient {
  return {
    tokenUrl,
    clientId: "hookyard client",
    clientSecret: "s3cret:&=",
    scope: null,
    audience: null,
    ...overrides,
  };
}

describe("OAuth 2.0 client credentials tokens", () => {
  it("asks with a form POST, Basic client auth (form-encoded), scope and audience", async () => {
    const issuer = new TokenIssuer({ clientId: "hookyard client", clientSecret: "s3cret:&=" });
    const server = await startTokenServer(issuer);
    const { oauth } = tokens();
    const client = clientOf(server.tokenUrl, {
      scope: "hooks:write read",
      audience: "https://api",
    });
    expect(await oauth.token(client)).toEqual({ ok: true, accessToken: "tok-1" });
    const [req] = server.requests;
    expect(req).toMatchObject({ method: "POST", url: "/token" });
    expect(req?.headers["authorization"]).toBe(
      `Basic ${Buffer.from("hookyard+client:s3cret%3A%26%3D").toString("base64")}`,
    );
    expect(Object.fromEntries(new URLSearchParams(req?.body))).toEqual({
      grant_type: "client_credentials",
      scope: "hooks:write read",
      audience: "https://api",
    });
  });

  it("reuses a token until expires_in less a tenth, then fetches a new one", async () => {
    const issuer = new TokenIssuer({
      clientId: "hookyard client",
      clientSecret: "s3cret:&=",
      expiresIn: 100,
    });
    const server = await startTokenServer(issuer);
    const { oauth, clock } = tokens();
    const client = clientOf(server.tokenUrl);
    expect(await oauth.token(client)).toMatchObject({ accessToken: "tok-1" });
    await clock.advance(89_999);
    expect(await oauth.token(client), "still within 100 s − 10 s").toMatchObject({
      accessToken: "tok-1",
    });
    await clock.advance(1);
    expect(await oauth.token(client)).toMatchObject({ accessToken: "tok-2" });
    expect(server.requests).toHaveLength(2);
  });

  it("keeps a token without expires_in for five minutes", async () => {
    const issuer = new TokenIssuer({
      clientId: "hookyard client",
      clientSecret: "s3cret:&=",
      expiresIn: null,
    });
    const server = await startTokenServer(issuer);
    const { oauth, clock } = tokens();
    const client = clientOf(server.tokenUrl);
    await oauth.token(client);
    // 300 s less the 30 s margin (a tenth)
    await clock.advance(269_999);
    expect(await oauth.token(client)).toMatchObject({ accessToken: "tok-1" });
    await clock.advance(1);
    expect(await oauth.token(client)).toMatchObject({ accessToken: "tok-2" });
  });

  it("shares one fetch between concurrent attempts and keys tokens by client", async () => {
    const issuer = new TokenIssuer({ clientId: "hookyard client", clientSecret: "s3cret:&=" });
    const server = await startTokenServer(issuer);
    const { oauth } = tokens();
    const client = clientOf(server.tokenUrl);
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => oauth.token({ ...client })));
    expect(new Set(results.map((r) => (r.ok ? r.accessToken : r.reason)))).toEqual(
      new Set(["tok-1"]),
    );
    expect(server.requests, "one token request for five attempts").toHaveLength(1);
    expect(await oauth.token({ ...client, scope: "other" })).toMatchObject({
      accessToken: "tok-2",
    });
  });

  it("drops a token the endpoint refused, but not one fetched after it", async () => {
    const issuer = new TokenIssuer({ clientId: "hookyard client", clientSecret: "s3cret:&=" });
    const server = await startTokenServer(issuer);
    const { oauth } = tokens();
    const client = clientOf(server.tokenUrl);
    await oauth.token(client);
    oauth.reject(client, "tok-1");
    expect(await oauth.token(client)).toMatchObject({ accessToken: "tok-2" });
    oauth.reject(client, "tok-1"); // a late 401 to the old token
    expect(await oauth.token(client)).toMatchObject({ accessToken: "tok-2" });
    expect(server.requests).toHaveLength(2);
  });

  it("says what the token endpoint did when it gives no token", async () => {
    const issuer = new TokenIssuer({ clientId: "someone else", clientSecret: "x" });
    const server = await startTokenServer(issuer);
    const { oauth } = tokens();
    expect(await oauth.token(clientOf(server.tokenUrl))).toMatchObject({
      ok: false,
      reason: `token endpoint ${server.tokenUrl} answered 401: invalid_client (bad client credentials)`,
    });

    const odd = await startReceiver({
      replies: [
        { status: 502, body: "<html>Bad   gateway</html>" },
        { status: 200, body: "not json" },
        { status: 200, body: '{"token_type":"Bearer"}' },
        { status: 200, body: '{"access_token":"t","token_type":"mac"}' },
      ],
    });
    onTestFinished(() => odd.close());
    const tokenUrl = `${odd.url}oauth/token?tenant=x`;
    const reasons = [];
    for (let i = 0; i < 4; i++) {
      const result = await oauth.token(clientOf(tokenUrl));
      reasons.push(result.ok ? result.accessToken : result.reason);
    }
    const where = `token endpoint ${odd.url}oauth/token`;
    expect(reasons).toEqual([
      `${where} answered 502: <html>Bad gateway</html>`,
      `${where} answered 200 without a JSON body`,
      `${where} answered 200 without an access_token`,
      `${where} answered token_type "mac"; only Bearer is supported`,
    ]);
    expect(odd.requests, "a failed fetch is not cached: each call asked again").toHaveLength(4);
  });

  it("fails when the token endpoint is unreachable or refused by the egress guard", async () => {
    const gone = await startReceiver();
    await gone.close();
    const { oauth } = tokens();
    expect(await oauth.token(clientOf(`${gone.url}token`))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^token endpoint .* failed \(connect\): .*ECONNREFUSED/),
    });
    const guarded = tokens({ allowLoopback: false });
    expect(await guarded.oauth.token(clientOf("http://127.0.0.1:9/token"))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/failed \(egress_blocked\)/),
    });
  });
});
