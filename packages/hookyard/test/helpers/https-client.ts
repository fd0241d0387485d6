import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request, type Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { Svix } from "svix";
import { Agent as UndiciAgent, fetch as undiciFetch } from "undici";
import { onTestFinished } from "vitest";
import type { Config } from "../../src/config/schema.js";
import type { KeyPair } from "./certificates.js";

/** What a client of an HTTPS test server brings: the CA it trusts, and its own certificate. */
export interface TlsClient {
  /** The CA the server's certificate is checked against (the test CA, not the system's). */
  ca: string;
  /** A client certificate and key to present; absent: none. */
  identity?: KeyPair;
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Whether the connection resumed an earlier TLS session (no full handshake). */
  resumed: boolean;
}

/**
 * One request with node:https. A fresh connection each time unless `agent` is given (an agent
 * keeps the TLS session, so a second connection resumes it).
 */
export function httpsRequest(
  url: string,
  client: TlsClient,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: Agent;
    /** The local address to connect from, e.g. 127.0.0.2 (another peer on loopback). */
    localAddress?: string;
  } = {},
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? "GET",
        headers: opts.headers ?? {},
        ca: client.ca,
        ...(client.identity !== undefined && {
          cert: client.identity.cert,
          key: client.identity.key,
        }),
        ...(opts.agent !== undefined ? { agent: opts.agent } : { agent: false }),
        ...(opts.localAddress !== undefined && { localAddress: opts.localAddress }),
      },
      (res) => {
        const resumed = (res.socket as TLSSocket).isSessionReused();
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            resumed,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/**
 * The official svix SDK against an HTTPS server. The SDK takes a `fetch`; this one is undici's
 * with an Agent that trusts the test CA and presents `identity`: the process's trust store (and
 * NODE_EXTRA_CA_CERTS, read only at process start) stays as it is.
 */
export function svixOverTls(serverUrl: string, apiKey: string, client: TlsClient): Svix {
  const dispatcher = new UndiciAgent({
    connect: {
      ca: client.ca,
      ...(client.identity !== undefined && {
        cert: client.identity.cert,
        key: client.identity.key,
      }),
    },
  });
  onTestFinished(() => dispatcher.close());
  const tlsFetch = ((input: string | URL, init?: RequestInit) =>
    undiciFetch(input, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
    })) as unknown as typeof fetch;
  return new Svix(apiKey, { serverUrl, retryScheduleInMs: [], fetch: tlsFetch });
}

/**
 * Writes `pair` as `cert.pem` and `key.pem` in a directory of their own (removed when the test
 * ends), for `server.tls`; returns their paths.
 */
export function keyPairFiles(pair: KeyPair): KeyPair {
  const dir = mkdtempSync(join(tmpdir(), "hookyard-tls-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  writeFileSync(cert, pair.cert);
  writeFileSync(key, pair.key);
  return { cert, key };
}

/**
 * `server.tls` for a test server: the pair's files, and `clientCa` (a PEM bundle, written to a
 * file too) when the API should want client certificates.
 */
export function serverTls(pair: KeyPair, clientCa?: string): Config["server"]["tls"] {
  return { ...keyPairFiles(pair), clientCa: clientCa === undefined ? null : pemFile(clientCa) };
}

/** Writes `pem` to a file of its own (removed when the test ends); returns its path. */
export function pemFile(pem: string): string {
  const dir = mkdtempSync(join(tmpdir(), "hookyard-tls-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "bundle.pem");
  writeFileSync(path, pem);
  return path;
}
