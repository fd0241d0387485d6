import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import type { Endpoint } from "../model.js";
import type { TlsOptions } from "./http-sender.js";

/**
 * An endpoint's TLS options as the sender takes them (issue 16), how the sender's connections
 * use them, and what a failed handshake tells the endpoint's owner. The id is a digest of the PEMs: the sender keeps one connection
 * pool per (origin, id), so endpoints on one origin share connections only when they present
 * the same certificate and trust the same CAs.
 */
export function tlsOptionsOf(endpoint: Pick<Endpoint, "tls" | "tlsClientKey">): TlsOptions | null {
  const { tls } = endpoint;
  if (tls === null) return null;
  const id = createHash("sha256")
    .update(`${tls.clientCert ?? ""}\0${endpoint.tlsClientKey ?? ""}\0${tls.ca ?? ""}`)
    .digest("base64url");
  return { id, cert: tls.clientCert, key: endpoint.tlsClientKey, ca: tls.ca };
}

/** The receiver refused the handshake for want of (a good) client certificate. */
const REFUSED_CLIENT_CERT =
  /ALERT_(CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED|UNSUPPORTED_CERTIFICATE)/;
/** Hookyard could not chain the receiver's certificate to a CA it trusts. */
const UNTRUSTED_SERVER_CERT =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_UNTRUSTED)\b/;

/** A tls attempt's errorMessage with what to change, when the error code says it. */
export function explainTlsFailure(message: string, tls: TlsOptions | null): string {
  if (REFUSED_CLIENT_CERT.test(message)) {
    return tls?.cert == null
      ? `${message}; the receiver asks for a client certificate: set tls.clientCert and tls.clientKey`
      : `${message}; the receiver refused the endpoint's client certificate (tls.clientCert)`;
  }
  if (UNTRUSTED_SERVER_CERT.test(message)) {
    return tls?.ca == null
      ? `${message}; the receiver's certificate does not chain to a system root: give its CA as tls.ca`
      : `${message}; the receiver's certificate does not chain to the endpoint's tls.ca`;
  }
  return message;
}

/** Made once per pool: parsing PEMs for every connection would cost a handshake's worth of CPU. */
export function endpointSecureContext(tls: TlsOptions): SecureContext {
  return createSecureContext({
    ...(tls.cert !== null && { cert: tls.cert }),
    ...(tls.key !== null && { key: tls.key }),
    // Replaces the system roots, which is the point: the receiver's private CA, and only it.
    ...(tls.ca !== null && { ca: tls.ca }),
  });
}

/** The slice of undici's connector the sender wraps (the consumer owns the seam). */
type Connector<O> = (
  options: O,
  callback: (...args: [null, Socket] | [Error, null]) => void,
) => void;

/**
 * A receiver that refuses the client certificate (or its absence) says so with a TLS alert, in
 * TLS 1.3 only after the handshake; undici then reports the connection's end ("other side
 * closed") instead of the alert. A socket that fails with a TLS error is therefore closed at
 * once, so the request fails with the alert (errorClass tls) and not as a dropped connection.
 */
export function keepTlsAlerts<O>(connect: Connector<O>): Connector<O> {
  return (options, callback) =>
    connect(options, (...args) => {
      const socket = args[1];
      socket?.once("error", (err: Error & { code?: unknown }) => {
        const code = typeof err.code === "string" ? err.code : "";
        if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) socket.destroy();
      });
      callback(...args);
    });
}
