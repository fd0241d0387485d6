import type { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import { TLSSocket, type DetailedPeerCertificate } from "node:tls";
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import type { Clock } from "../clock.js";
import { AuthenticationError } from "../errors.js";
import { verifyClientCertificate } from "../inbound/client-certificates.js";

/**
 * The certificates the client of `socket` presented at the handshake, leaf first, as DER; an
 * empty list when it presented none, null when the connection is not TLS.
 */
export function peerCertificatesOf(socket: Socket): Buffer[] | null {
  if (!(socket instanceof TLSSocket)) return null;
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  // Node links each certificate to its issuer; a self-signed one links to itself.
  let current: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (current?.raw !== undefined && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(current.raw);
    current = current.issuerCertificate;
  }
  return chain;
}

/**
 * An `onRequest` hook for the API when `server.tls.clientCa` is set: a request whose connection
 * did not present a certificate that leads to `trusted` is refused (401), before its API key is
 * looked at. It comes on top of the key, never instead of it.
 */
export function clientCertificateHook(
  trusted: readonly X509Certificate[],
  clock: Pick<Clock, "now">,
): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  return (request, _reply, done) => {
    const presented = peerCertificatesOf(request.raw.socket);
    const verdict = verifyClientCertificate(presented, trusted, clock.now());
    if (verdict.ok) {
      done();
      return;
    }
    done(
      new AuthenticationError(
        `A client certificate issued by the API's CA (server.tls.clientCa) is required: ${verdict.reason}`,
      ),
    );
  };
}
