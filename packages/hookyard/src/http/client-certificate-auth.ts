import type { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import { TLSSocket, type DetailedPeerCertificate } from "node:tls";
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import type { Clock } from "../clock.js";
import { AuthenticationError } from "../errors.js";
import { verifyClientCertificate } from "../inbound/client-certificates.js";

/** Leaf certificates whose intermediates are remembered for resumed sessions, at most. */
const MAX_REMEMBERED_CHAINS = 1_000;

/**
 * The client certificate chains of the server's connections, leaf first, as DER. A resumed TLS
 * session (no full handshake) hands the server the leaf only: OpenSSL does not keep the
 * intermediates the client sent in the session. They are remembered per leaf from the full
 * handshake, which this process made (its session tickets are its own), so a sender whose
 * certificate chains through an intermediate is not refused on its second connection. Bounded:
 * past MAX_REMEMBERED_CHAINS the least recently seen leaf is forgotten (its next resumption is
 * refused until it makes a full handshake).
 */
export class PeerCertificates {
  readonly #bySocket = new WeakMap<TLSSocket, Buffer[]>();
  /** Intermediates by the leaf's SHA-256 fingerprint, least recently seen first. */
  readonly #intermediates = new Map<string, Buffer[]>();

  /** Empty when the client presented none; null when the connection is not TLS. */
  of(socket: Socket): Buffer[] | null {
    if (!(socket instanceof TLSSocket)) return null;
    let chain = this.#bySocket.get(socket);
    if (chain === undefined) {
      chain = this.#completed(socket);
      this.#bySocket.set(socket, chain);
    }
    return chain;
  }

  #completed(socket: TLSSocket): Buffer[] {
    const { chain, fingerprint } = presentedChain(socket);
    if (fingerprint === null) return chain;
    const known = this.#intermediates.get(fingerprint);
    if (chain.length > 1) {
      this.#remember(fingerprint, chain.slice(1));
      return chain;
    }
    if (known === undefined || !socket.isSessionReused()) return chain;
    this.#remember(fingerprint, known);
    return [...chain, ...known];
  }

  #remember(fingerprint: string, intermediates: Buffer[]): void {
    this.#intermediates.delete(fingerprint);
    this.#intermediates.set(fingerprint, intermediates);
    if (this.#intermediates.size <= MAX_REMEMBERED_CHAINS) return;
    const oldest = this.#intermediates.keys().next();
    if (oldest.done !== true) this.#intermediates.delete(oldest.value);
  }
}

/** What the handshake gave: Node links each certificate to its issuer, a root to itself. */
function presentedChain(socket: TLSSocket): { chain: Buffer[]; fingerprint: string | null } {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  const leaf: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  let current = leaf;
  while (current?.raw !== undefined && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(current.raw);
    current = current.issuerCertificate;
  }
  return { chain, fingerprint: chain.length === 0 ? null : (leaf?.fingerprint256 ?? null) };
}

/**
 * An `onRequest` hook for the API when `server.tls.clientCa` is set: a request whose connection
 * did not present a certificate that leads to `trusted` is refused (401), before its API key is
 * looked at. It comes on top of the key, never instead of it.
 */
export function clientCertificateHook(
  trusted: readonly X509Certificate[],
  deps: { clock: Pick<Clock, "now">; peers: Pick<PeerCertificates, "of"> },
): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  return (request, _reply, done) => {
    const presented = deps.peers.of(request.raw.socket);
    const verdict = verifyClientCertificate(presented, trusted, deps.clock.now());
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
