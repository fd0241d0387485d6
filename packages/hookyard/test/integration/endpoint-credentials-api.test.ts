import { describe, expect, it, onTestFinished } from "vitest";
import { api } from "../helpers/api.js";
import { createTestCa } from "../helpers/certificates.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

/**
 * The API of endpoint `auth` and `tls` (Hookyard extensions): secrets go in and never come out,
 * changes to other fields keep them, and bad input is a 422 naming the field.
 */

const ca = createTestCa("API CA");
const client = ca.client("tenant");
const otherClient = ca.client("other");

const SECRETS = ["pässword-1", "cs-secret-1", "tok-secret-1", client.key.split("\n")[1]!];

interface EndpointJson {
  id: string;
  description: string;
  auth: Record<string, unknown> | null;
  tls: Record<string, unknown> | null;
}

interface Problem {
  loc: string[];
  msg: string;
}

async function setup() {
  const server = await startTestServer();
  const app = await server.svix.application.create({ name: "A" });
  const base = `/api/v1/app/${app.id}/endpoint`;
  const call = <T = EndpointJson>(method: string, path: string, body?: unknown) =>
    api<T>(server, method, `${base}${path}`, body);
  return { server, app, base, call };
}

/** Every text the server answers about the endpoint, for looking for secrets in all of it. */
async function everyView(server: TestServer, appId: string, endpointId: string): Promise<string> {
  const base = `/api/v1/app/${appId}/endpoint`;
  const views = await Promise.all([
    api(server, "GET", `${base}/${endpointId}`),
    api(server, "GET", base),
    api(server, "GET", `${base}/${endpointId}/headers`),
  ]);
  return JSON.stringify(views.map((v) => v.json));
}

describe("endpoint auth and TLS options in the API", () => {
  it("never shows a secret, and keeps the secrets when other fields change", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const { server, app, call } = await setup();
    const created = await call("POST", "", {
      url: "https://receiver.example/hooks",
      auth: { type: "basic", username: "ops", password: "pässword-1" },
      tls: { clientCert: client.cert, clientKey: client.key },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      auth: { type: "basic", username: "ops", passwordSet: true },
      tls: { clientCert: client.cert, clientKeySet: true, ca: null },
    });
    const id = created.json.id;

    expect((await call("PATCH", `/${id}`, { description: "renamed" })).status).toBe(200);
    // A GET's auth sent back (its passwordSet dropped as unknown) keeps the password.
    const shown = (await call("GET", `/${id}`)).json;
    const put = await call("PUT", `/${id}`, {
      url: receiver.url,
      auth: { ...shown.auth, username: "ops2" },
      tls: null,
    });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    expect(put.json).toMatchObject({ description: "", auth: { username: "ops2" }, tls: null });
    expect(await everyView(server, app.id, id)).not.toMatch(/pässword|PRIVATE KEY/);
    // The svix SDK's upsert cannot send auth: it stays.
    await server.svix.endpoint.upsert(app.id, id, { url: receiver.url, description: "sdk" });
    expect((await call("GET", `/${id}`)).json.auth).toMatchObject({ username: "ops2" });

    await server.svix.message.create(app.id, { eventType: "a.b", payload: {} });
    const delivered = await receiver.nextRequest({ timeoutMs: 10_000 });
    expect(delivered.headers["authorization"], "the kept password, the new username").toBe(
      `Basic ${Buffer.from("ops2:pässword-1", "utf8").toString("base64")}`,
    );

    const oauth = await call("PATCH", `/${id}`, {
      auth: {
        type: "oauth2",
        tokenUrl: "https://auth.example/t",
        clientId: "c",
        clientSecret: "cs-secret-1",
      },
    });
    expect(oauth.json.auth).toEqual({
      type: "oauth2",
      tokenUrl: "https://auth.example/t",
      clientId: "c",
      scope: null,
      audience: null,
      clientSecretSet: true,
    });
    const bearer = await call("PATCH", `/${id}`, {
      auth: { type: "bearer", token: "tok-secret-1" },
    });
    expect(bearer.json.auth).toEqual({ type: "bearer", tokenSet: true });
    const views = await everyView(server, app.id, id);
    for (const secret of SECRETS) expect(views, "no secret in any answer").not.toContain(secret);
    expect((await call("PATCH", `/${id}`, { auth: null })).json.auth).toBeNull();
  });

  it("refuses bad auth and TLS options with a 422 naming the field, changing nothing", async () => {
    const { call } = await setup();
    const https = "https://receiver.example/";
    const oauth = { type: "oauth2", tokenUrl: "https://auth.example/t", clientId: "c" };
    const existing = await call("POST", "", {
      url: https,
      auth: { ...oauth, clientSecret: "kept" },
      tls: { clientCert: client.cert, clientKey: client.key },
    });
    const id = existing.json.id;
    const combined = `${client.cert}${client.key}`;
    const cases: [name: string, method: string, path: string, body: unknown, loc: string][] = [
      [
        "bearer without a token",
        "POST",
        "",
        { url: https, auth: { type: "bearer" } },
        "body.auth.token",
      ],
      [
        "an unknown auth type",
        "POST",
        "",
        { url: https, auth: { type: "digest" } },
        "body.auth.type",
      ],
      [
        "a username with a colon",
        "POST",
        "",
        { url: https, auth: { type: "basic", username: "a:b", password: "p" } },
        "body.auth.username",
      ],
      [
        "a field of another type",
        "POST",
        "",
        { url: https, auth: { type: "bearer", token: "t", username: "u" } },
        "body.auth.username",
      ],
      [
        "a token with a space",
        "POST",
        "",
        { url: https, auth: { type: "bearer", token: "a b" } },
        "body.auth.token",
      ],
      [
        "an ftp token URL",
        "POST",
        "",
        { url: https, auth: { ...oauth, tokenUrl: "ftp://x/t", clientSecret: "s" } },
        "body.auth.tokenUrl",
      ],
      [
        "a bad scope",
        "POST",
        "",
        { url: https, auth: { ...oauth, clientSecret: "s", scope: "a  b" } },
        "body.auth.scope",
      ],
      [
        "a new token URL without its secret",
        "PATCH",
        `/${id}`,
        { auth: { ...oauth, tokenUrl: "https://evil.example/t" } },
        "body.auth.clientSecret",
      ],
      [
        "basic without a password (stored auth is oauth2)",
        "PATCH",
        `/${id}`,
        { auth: { type: "basic", username: "u" } },
        "body.auth.password",
      ],
      [
        "a certificate that is not PEM",
        "POST",
        "",
        { url: https, tls: { clientCert: "garbage", clientKey: client.key } },
        "body.tls.clientCert",
      ],
      [
        "a corrupt certificate",
        "POST",
        "",
        {
          url: https,
          tls: { ca: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" },
        },
        "body.tls.ca",
      ],
      [
        "a key inside the certificate",
        "POST",
        "",
        { url: https, tls: { clientCert: combined, clientKey: client.key } },
        "body.tls.clientCert",
      ],
      [
        "another certificate's key",
        "POST",
        "",
        { url: https, tls: { clientCert: client.cert, clientKey: otherClient.key } },
        "body.tls.clientKey",
      ],
      [
        "a key that is not PEM",
        "POST",
        "",
        { url: https, tls: { clientCert: client.cert, clientKey: "nope" } },
        "body.tls.clientKey",
      ],
      [
        "a certificate without a key",
        "POST",
        "",
        { url: https, tls: { clientCert: client.cert } },
        "body.tls.clientKey",
      ],
      [
        "a new certificate the stored key does not match",
        "PATCH",
        `/${id}`,
        { tls: { clientCert: otherClient.cert } },
        "body.tls.clientKey",
      ],
      [
        "a key without a certificate",
        "POST",
        "",
        { url: https, tls: { clientKey: client.key, ca: ca.cert } },
        "body.tls.clientCert",
      ],
      ["empty TLS options", "POST", "", { url: https, tls: {} }, "body.tls"],
      [
        "a CA bundle over 64 KiB",
        "POST",
        "",
        { url: https, tls: { ca: ca.cert.repeat(200) } },
        "body.tls.ca",
      ],
      [
        "TLS options on an http URL",
        "POST",
        "",
        { url: "http://receiver.example/", tls: { ca: ca.cert } },
        "body.tls",
      ],
      [
        "an http URL for an endpoint with TLS options",
        "PATCH",
        `/${id}`,
        { url: "http://receiver.example/" },
        "body.url",
      ],
      [
        "auth beside a custom Authorization header",
        "POST",
        "",
        { url: https, headers: { Authorization: "x" }, auth: { type: "bearer", token: "t" } },
        "body.auth",
      ],
      [
        "a custom Authorization header beside auth",
        "PUT",
        `/${id}/headers`,
        { headers: { Authorization: "x" } },
        "body.headers.authorization",
      ],
    ];
    for (const [name, method, path, body, loc] of cases) {
      const res = await call<{ detail: Problem[] }>(method, path, body);
      expect(res.status, `${name}: ${JSON.stringify(res.json)}`).toBe(422);
      expect(
        res.json.detail.map((p) => p.loc.join(".")),
        name,
      ).toContain(loc);
    }
    const after = await call("GET", `/${id}`);
    expect(after.json).toMatchObject({
      url: https,
      auth: { ...oauth, clientSecretSet: true },
      tls: { clientCert: client.cert, clientKeySet: true },
    });
    const withCa = await call("PATCH", `/${id}`, { tls: { clientCert: client.cert, ca: ca.cert } });
    expect(withCa.json.tls, "the stored key kept for the same certificate").toEqual({
      clientCert: client.cert,
      clientKeySet: true,
      ca: ca.cert,
    });
  });
});
