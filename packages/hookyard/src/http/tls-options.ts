import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ServerOptions as HttpServerOptions } from "node:http";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import { resolve } from "node:path";
import { createSecureContext } from "node:tls";
import { ConfigError } from "../config/config-error.js";
import type { Config } from "../config/schema.js";
import { parseCertificateBundle } from "../inbound/client-certificates.js";

/** The HTTPS listener's certificate and key (`server.tls`), read and checked at start. */
export interface TlsListener {
  /** PEM: the server's certificate, then any intermediates. */
  cert: string;
  key: string;
  /** When the server's certificate stops being valid (epoch ms). */
  notAfter: number;
  /** `server.tls.clientCa`: what API clients' certificates must lead to; null: none needed. */
  clientCa: X509Certificate[] | null;
}

type TlsKey = "cert" | "key" | "clientCa";

/**
 * Reads the files `server.tls` names (relative to `cwd`), or null when it names none. A wrong
 * setting stops the start with a `ConfigError` whose one-line message starts with the key,
 * e.g. `server.tls.key: key.pem is not the private key of the certificate in server.tls.cert`.
 */
export function readTlsListener(tls: Config["server"]["tls"], cwd: string): TlsListener | null {
  if (tls.cert === null && tls.key === null) {
    if (tls.clientCa === null) return null;
    throw problem(
      "clientCa",
      "needs server.tls.cert and server.tls.key: client certificates come over HTTPS only",
    );
  }
  if (tls.cert === null || tls.key === null) {
    const missing: TlsKey = tls.cert === null ? "cert" : "key";
    throw problem(missing, "is not set; server.tls.cert and server.tls.key are set together");
  }
  const cert = readPem("cert", tls.cert, cwd);
  if (!cert.includes("-----BEGIN CERTIFICATE-----")) {
    throw problem("cert", `${tls.cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw problem("cert", `${tls.cert} holds a certificate that cannot be read (${text(err)})`);
  }
  const keyText = readPem("key", tls.key, cwd);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (err) {
    const why = /ENCRYPTED/.test(keyText)
      ? "is encrypted; give the key without a passphrase"
      : `holds no PEM private key (${text(err)})`;
    throw problem("key", `${tls.key} ${why}`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw problem(
      "key",
      `${tls.key} is not the private key of the certificate in server.tls.cert (${tls.cert})`,
    );
  }
  try {
    // Whatever else OpenSSL refuses (a chain it cannot use) fails here, not at the first client.
    createSecureContext({ cert, key: keyText });
  } catch (err) {
    throw problem("cert", `${tls.cert} cannot be used with its key (${text(err)})`);
  }
  return {
    cert,
    key: keyText,
    notAfter: Date.parse(leaf.validTo),
    clientCa: tls.clientCa === null ? null : readCertificates("clientCa", tls.clientCa, cwd),
  };
}

function readCertificates(key: TlsKey, path: string, cwd: string): X509Certificate[] {
  const bundle = parseCertificateBundle(readPem(key, path, cwd));
  if ("problem" in bundle) throw problem(key, `${path} ${bundle.problem}`);
  return bundle.certificates;
}

/**
 * Node's HTTPS server options: the HTTP ones (timeouts; Fastify reads them only for plain HTTP)
 * and the certificate. A client certificate is asked for on every connection, since the route a
 * request is for is known only after the handshake; it is neither required nor verified there:
 * the routes that need one judge the chain per request.
 */
export function httpsServerOptions(
  tls: TlsListener,
  http: HttpServerOptions | undefined,
): HttpsServerOptions {
  return { ...http, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: false };
}

function readPem(key: TlsKey, path: string, cwd: string): string {
  try {
    return readFileSync(resolve(cwd, path), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : text(err);
    throw problem(key, `cannot read ${path} (${why})`);
  }
}

function problem(key: TlsKey, message: string): ConfigError {
  return new ConfigError(`server.tls.${key}: ${message}`, { key: `server.tls.${key}` });
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
