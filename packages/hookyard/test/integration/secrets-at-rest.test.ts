import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it, onTestFinished } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { generateSecretKeyText } from "../../src/secrets/secret-box.js";
import { api } from "../helpers/api.js";
import { createTestCa } from "../helpers/certificates.js";
import { startReceiver } from "../helpers/receiver.js";
import { TEST_SECRETS_KEY, testSecretBox } from "../helpers/secrets.js";
import { startTestServer, type TestServer, type TestServerOptions } from "../helpers/server.js";
import { openStoreAt } from "../helpers/test-store.js";

/**
 * Secrets at rest (issue 16) through the real server, on the store under test: a copy of the
 * SQLite file (with its WAL) or a pg_dump of the schema, without the key, shows no secret.
 */

const client = createTestCa("Secrets CA").client("tenant");
/** A line from the middle of the PEM private key: base64 nobody else would write. */
const TLS_KEY_LINE = client.key.split("\n")[2]!;
const ENDPOINT_SECRET = "whsec_c2VjcmV0cy1hdC1yZXN0LWVuZHBvaW50LTE=";
const OPS_SECRET = "whsec_b3BlcmF0aW9uYWwtc2VjcmV0LWF0LXJlc3Q=";

/** Everything the database holds, as text: the SQLite file with its WAL, or a pg_dump. */
function databaseText(server: TestServer): string {
  const url = server.config.database.url;
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length);
    return [path, `${path}-wal`]
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file).toString("latin1"))
      .join("\n");
  }
  const schema = /search_path=(\w+)/.exec(decodeURIComponent(url))?.[1];
  expect(schema, `a schema in ${url}`).toBeDefined();
  const dump = readdirSync("/usr/lib/postgresql")
    .map((v) => `/usr/lib/postgresql/${v}/bin/pg_dump`)
    .find((file) => existsSync(file));
  expect(dump, "pg_dump under /usr/lib/postgresql").toBeDefined();
  return execFileSync(dump!, ["-h", "127.0.0.1", "-U", "postgres", "-n", schema!, "test"], {
    encoding: "utf8",
  });
}

function expectNoneIn(text: string, secrets: Record<string, string>): void {
  const found = Object.entries(secrets).filter(([, secret]) => text.includes(secret));
  expect(
    found.map(([name]) => name),
    "secrets found in plaintext in the database",
  ).toEqual([]);
}

/** The base64 part of a whsec_ secret (what a grep for the key would find). */
const keyPart = (secret: string) => secret.slice("whsec_".length);

async function endpointWithSecrets(server: TestServer, url: string) {
  const app = await server.svix.application.create({ name: "A" });
  const ep = await server.svix.endpoint.create(app.id, { url, secret: ENDPOINT_SECRET });
  await server.svix.endpoint.setHeaders(app.id, ep.id, {
    headers: { Authorization: "Bearer header-token-4711", "X-Tenant": "acme" },
  });
  return { app, ep };
}

async function restart(server: TestServer, opts: TestServerOptions = {}): Promise<TestServer> {
  await server.stop();
  return startTestServer({ dir: server.dir, databaseUrl: server.config.database.url, ...opts });
}

/** Runs `sql` on the database directly, as an older Hookyard's writes would have left it. */
async function rawSql(server: TestServer, sql: string, params: unknown[]): Promise<void> {
  const url = server.config.database.url;
  if (url.startsWith("sqlite:")) {
    const db = new Database(url.slice("sqlite:".length));
    try {
      db.prepare(sql.replace(/\$\d+/g, "?")).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  try {
    await raw.query(sql, params);
  } finally {
    await raw.end();
  }
}

describe("secrets at rest", () => {
  it("keeps no secret in plaintext in the database, and signs with the right one", async () => {
    const receiver = await startReceiver();
    const ops = await startReceiver();
    onTestFinished(() => ops.close());
    const server = await startTestServer();
    const { app, ep } = await endpointWithSecrets(server, receiver.url);
    const credentialed = await api<{ id: string }>(
      server,
      "POST",
      `/api/v1/app/${app.id}/endpoint`,
      {
        url: "https://receiver.example/hooks",
        auth: { type: "bearer", token: "auth-bearer-token-0815" },
        tls: { clientCert: client.cert, clientKey: client.key },
      },
    );
    expect(credentialed.status, JSON.stringify(credentialed.json)).toBe(201);
    await server.svix.operationalWebhook.endpoint.create({ url: ops.url, secret: OPS_SECRET });
    const source = await api(server, "POST", "/ingest/api/v1/source", {
      name: "gh",
      uid: "gh",
      type: "github",
      config: { secret: "source-hmac-secret-1234" },
    });
    expect(source.status).toBe(201);
    const rules = await api(server, "PUT", "/api/v1/rules", {
      rulebook:
        "rules:\n  - name: r\n    sources: [gh]\n    actions:\n      - log: ${env:RULE_TOKEN}\n",
      env: { RULE_TOKEN: "rule-env-value-9876" },
    });
    expect(rules.status, JSON.stringify(rules.json)).toBe(200);

    await server.svix.message.create(app.id, { eventType: "a.b", payload: { n: 1 } });
    const req = await receiver.nextRequest({ timeoutMs: 5_000 });
    expect(new StandardWebhook(ENDPOINT_SECRET).verify(req.body, req.headers)).toEqual({ n: 1 });
    expect(req.headers["authorization"]).toBe("Bearer header-token-4711");
    const portalKey = await server.hookyard.store.getSetting("portal_token_key");
    expect(portalKey).toMatch(/^[0-9a-f]{64}$/);
    const status = await server.hookyard.store.secretsStatus();
    expect(status.plaintext, JSON.stringify(status)).toBe(0);
    await server.hookyard.store.whenIdle();

    const text = databaseText(server);
    expect(text, "the copy holds the endpoint's row").toContain(ep.id);
    expectNoneIn(text, {
      endpointSecret: keyPart(ENDPOINT_SECRET),
      operationalSecret: keyPart(OPS_SECRET),
      authorizationHeader: "header-token-4711",
      bearerToken: "auth-bearer-token-0815",
      tlsClientKey: TLS_KEY_LINE,
      sourceSecret: "source-hmac-secret-1234",
      ruleEnv: "rule-env-value-9876",
      portalKey: portalKey!,
    });
  });

  it("restarts on the same key (on SQLite, a key file of mode 0600 made beside the database)", async () => {
    const receiver = await startReceiver();
    const server = await startTestServer();
    const { app, ep } = await endpointWithSecrets(server, receiver.url);
    const again = await restart(server);
    expect((await again.svix.endpoint.getSecret(app.id, ep.id)).key).toBe(ENDPOINT_SECRET);
    await again.svix.message.create(app.id, { eventType: "a.b", payload: { n: 2 } });
    const req = await receiver.nextRequest({ timeoutMs: 5_000 });
    expect(new StandardWebhook(ENDPOINT_SECRET).verify(req.body, req.headers)).toEqual({ n: 2 });
    const url = server.config.database.url;
    if (url.startsWith("sqlite:")) {
      const keyFile = `${url.slice("sqlite:".length)}.key`;
      expect(statSync(keyFile).mode & 0o777, keyFile).toBe(0o600);
    }
  });

  it("refuses to start with another key, in one line naming secrets.key", async () => {
    const server = await startTestServer();
    await endpointWithSecrets(server, "http://127.0.0.1:9/");
    const wrong = await restart(server, { secrets: { key: generateSecretKeyText() } }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(wrong).toBeInstanceOf(ConfigError);
    const message = (wrong as ConfigError).message;
    expect(message.split("\n"), message).toHaveLength(1);
    expect(message).toMatch(/^wrong secrets key: \d+ secrets in the database are sealed with key/);
    expect(message).toContain("set secrets.key");
    expect((wrong as ConfigError).key).toBe("secrets.key");
  });

  it("refuses a database copied without its key file, and leaves no new key file behind", async () => {
    const server = await startTestServer();
    const url = server.config.database.url;
    if (!url.startsWith("sqlite:")) return; // a key file is SQLite's alone
    await endpointWithSecrets(server, "http://127.0.0.1:9/");
    await server.stop();
    const keyFile = `${url.slice("sqlite:".length)}.key`;
    rmSync(keyFile);
    const refused = await restart(server).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect(existsSync(keyFile), "no key file made for a database it cannot open").toBe(false);
  });

  it("seals the plaintext secrets an older version left, in the background", async () => {
    const receiver = await startReceiver();
    const server = await startTestServer();
    const { app, ep } = await endpointWithSecrets(server, receiver.url);
    await server.stop();
    const plainSecret = "whsec_cGxhaW50ZXh0LWZyb20tYmVmb3JlLXNlYWxpbmc=";
    await rawSql(server, "UPDATE endpoint SET secret = $1, headers = $2 WHERE id = $3", [
      plainSecret,
      JSON.stringify({ Authorization: "Bearer plain-header-1122" }),
      ep.id,
    ]);
    await rawSql(server, "INSERT INTO settings (key, value) VALUES ($1, $2)", [
      "rules.uploaded",
      JSON.stringify({
        files: [],
        env: { T: "plain-rule-env-3344" },
        digest: "d",
        fingerprint: null,
      }),
    ]).catch(() => undefined);
    const again = await restart(server);
    await expect
      .poll(async () => (await again.hookyard.store.secretsStatus()).plaintext, {
        timeout: 5_000,
        message: "plaintext secrets left after the background pass",
      })
      .toBe(0);
    await again.svix.message.create(app.id, { eventType: "a.b", payload: { n: 3 } });
    const req = await receiver.nextRequest({ timeoutMs: 5_000 });
    expect(new StandardWebhook(plainSecret).verify(req.body, req.headers)).toEqual({ n: 3 });
    expect(req.headers["authorization"]).toBe("Bearer plain-header-1122");
    await again.stop(); // SQLite: the last connection checkpoints the WAL into the file
    expectNoneIn(databaseText(again), {
      endpointSecret: keyPart(plainSecret),
      authorizationHeader: "plain-header-1122",
    });
  });

  it("re-seals with a rotated key while delivering, after which the old key can go", async () => {
    const receiver = await startReceiver();
    const oldKey = TEST_SECRETS_KEY;
    const newKey = generateSecretKeyText();
    const server = await startTestServer({ secrets: { key: oldKey } });
    const { app } = await endpointWithSecrets(server, receiver.url);
    for (let i = 0; i < 5; i++) {
      await server.svix.endpoint.create(app.id, { url: receiver.url, secret: ENDPOINT_SECRET });
    }
    const rotated = await restart(server, { secrets: { key: newKey, previousKeys: [oldKey] } });
    const sent = Array.from({ length: 5 }, (_, n) =>
      rotated.svix.message.create(app.id, { eventType: "a.b", payload: { n } }),
    );
    await Promise.all(sent);
    const newId = testSecretBox(newKey).current.id;
    await expect
      .poll(async () => Object.keys((await rotated.hookyard.store.secretsStatus()).byKeyId), {
        timeout: 5_000,
        message: "key ids still sealing values",
      })
      .toEqual([newId]);
    await receiver.waitForCount(30, { timeoutMs: 10_000 });
    for (const req of receiver.requests) {
      expect(() =>
        new StandardWebhook(ENDPOINT_SECRET).verify(req.body, req.headers),
      ).not.toThrow();
    }
    const dropped = await restart(rotated, { secrets: { key: newKey } });
    await dropped.svix.message.create(app.id, { eventType: "a.b", payload: { n: 9 } });
    await receiver.waitForCount(36, { timeoutMs: 10_000 });
    await openStoreAt(dropped.config.database.url, testSecretBox(newKey)).then(async (store) =>
      expect((await store.secretsStatus()).plaintext).toBe(0),
    );
  });
});
