import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { readTlsListener } from "../../src/http/tls-options.js";
import { createTestCa } from "../helpers/certificates.js";
import { keyPairFiles, pemFile } from "../helpers/https-client.js";

// server.tls is read at start: every wrong file is one line that starts with the key.

const ca = createTestCa();
const server = ca.server();

function problemOf(
  tls: { cert: string | null; key: string | null; clientCa?: string | null },
  cwd = "/",
): ConfigError {
  try {
    readTlsListener({ clientCa: null, ...tls }, cwd);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(tls)}, but it was accepted`);
}

describe("reading server.tls", () => {
  it("reads a certificate and its key, relative paths from the working directory", () => {
    const files = keyPairFiles(server);
    const listener = readTlsListener(
      { cert: "cert.pem", key: "key.pem", clientCa: null },
      dirname(files.cert),
    );
    expect(listener).toMatchObject({ cert: server.cert, key: server.key });
    expect(listener!.notAfter).toBeGreaterThan(Date.now());
    expect(
      readTlsListener({ cert: null, key: null, clientCa: null }, "/"),
      "neither: plain HTTP",
    ).toBeNull();
  });

  it("names the key that is missing when only one of the pair is set", () => {
    const files = keyPairFiles(server);
    expect(problemOf({ cert: files.cert, key: null })).toMatchObject({
      message: "server.tls.key: is not set; server.tls.cert and server.tls.key are set together",
      key: "server.tls.key",
    });
    expect(problemOf({ cert: null, key: files.key }).message).toMatch(/^server\.tls\.cert: /);
  });

  it("names a file that does not exist or is a directory", () => {
    const dir = mkdtempSync(`${tmpdir()}/hookyard-tls-none-`);
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const files = keyPairFiles(server);
    expect(problemOf({ cert: files.cert, key: "missing.pem" }, dir).message).toBe(
      "server.tls.key: cannot read missing.pem (no such file)",
    );
    expect(problemOf({ cert: dir, key: files.key }).message).toBe(
      `server.tls.cert: cannot read ${dir} (it is a directory)`,
    );
  });

  it("refuses a file that holds no certificate, or a broken one", () => {
    const files = keyPairFiles(server);
    expect(problemOf({ cert: files.key, key: files.key }).message).toBe(
      `server.tls.cert: ${files.key} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
    const broken = pemFile(
      "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    );
    expect(problemOf({ cert: broken, key: files.key }).message).toMatch(
      new RegExp(`^server\\.tls\\.cert: ${broken} holds a certificate that cannot be read \\(`),
    );
  });

  it("refuses a key file that holds no key, or an encrypted one", () => {
    const files = keyPairFiles(server);
    expect(problemOf({ cert: files.cert, key: files.cert }).message).toMatch(
      new RegExp(`^server\\.tls\\.key: ${files.cert} holds no PEM private key \\(`),
    );
    const { privateKey } = generateKeyPairSync("ec", {
      namedCurve: "P-256",
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" },
    });
    const encrypted = pemFile(privateKey);
    expect(problemOf({ cert: files.cert, key: encrypted }).message).toBe(
      `server.tls.key: ${encrypted} is encrypted; give the key without a passphrase`,
    );
  });

  it("refuses a key that is not the certificate's, naming both files", () => {
    const files = keyPairFiles(server);
    const other = keyPairFiles(ca.server());
    const err = problemOf({ cert: files.cert, key: other.key });
    expect(err.message).toBe(
      `server.tls.key: ${other.key} is not the private key of the certificate in server.tls.cert (${files.cert})`,
    );
    expect(err.message, "one line").not.toContain("\n");
  });

  it("reads server.tls.clientCa as a bundle of certificates, and names it when it is wrong", () => {
    const files = keyPairFiles(server);
    const other = createTestCa("Other CA");
    const bundle = pemFile(`${ca.cert}${other.cert}`);
    const listener = readTlsListener({ ...files, clientCa: bundle }, "/");
    expect(listener?.clientCa?.map((cert) => cert.subject)).toEqual([
      "CN=Hookyard Test CA",
      "CN=Other CA",
    ]);
    expect(problemOf({ ...files, clientCa: files.key }).message).toBe(
      `server.tls.clientCa: ${files.key} holds a private key; give the CA's certificates only`,
    );
    expect(problemOf({ ...files, clientCa: "none.pem" }, "/").message).toBe(
      "server.tls.clientCa: cannot read none.pem (no such file)",
    );
    expect(problemOf({ cert: null, key: null, clientCa: bundle })).toMatchObject({
      message:
        "server.tls.clientCa: needs server.tls.cert and server.tls.key: client certificates come over HTTPS only",
      key: "server.tls.clientCa",
    });
  });
});
