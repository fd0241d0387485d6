import { X509Certificate } from "node:crypto";

/**
 * Client certificates judged per request (issue 16): the TLS handshake asks every client for one
 * but leaves the verdict here, since which CA applies (the API's, a source's) is known only once
 * the request's path is. A chain is good when each certificate is signed by the next, ends at a
 * trusted certificate, and every link is valid at the injected clock's time.
 *
 * Checked: signatures, issuer names, CA flags of issuers, validity dates, the leaf's extended key
 * usage (clientAuth when it has one). Not checked: revocation (CRL, OCSP), path length and name
 * constraints; a private CA that relies on them needs a proxy that checks them.
 */

/** Most certificates a trusted bundle may hold. */
export const MAX_TRUSTED_CERTIFICATES = 100;
/** Most issuers between a leaf and a trusted certificate. */
const MAX_CHAIN_DEPTH = 8;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

/**
 * The certificates of a PEM bundle (a CA's, or several), or why it is not one. A certificate in
 * the bundle that is not a CA is trusted as itself only (a pinned client certificate).
 */
export function parseCertificateBundle(
  pem: string,
): { certificates: X509Certificate[] } | { problem: string } {
  if (/PRIVATE KEY-----/.test(pem)) {
    return { problem: "holds a private key; give the CA's certificates only" };
  }
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    return { problem: "holds no PEM certificate (-----BEGIN CERTIFICATE-----)" };
  }
  if (blocks.length > MAX_TRUSTED_CERTIFICATES) {
    return { problem: `holds more than ${MAX_TRUSTED_CERTIFICATES} certificates` };
  }
  const certificates: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      return { problem: `certificate ${index + 1} of the bundle is not a valid X.509 certificate` };
    }
  }
  return { certificates };
}

export type CertificateVerdict = { ok: true; subject: string } | { ok: false; reason: string };

/**
 * Whether `presented` (the client's chain as the connection got it, leaf first; null: not a TLS
 * connection) leads to one of `trusted` at time `now`. The reason of a refusal names the
 * certificate and what is wrong with it, never anything of the trusted bundle but subjects.
 */
export function verifyClientCertificate(
  presented: readonly Buffer[] | null,
  trusted: readonly X509Certificate[],
  now: number,
): CertificateVerdict {
  if (presented === null) {
    return refused("no client certificate: the request did not come over HTTPS");
  }
  if (presented.length === 0) return refused("no client certificate was presented");
  let chain: X509Certificate[];
  try {
    chain = presented.map((der) => new X509Certificate(der));
  } catch {
    return refused("the client certificate cannot be read");
  }
  const leaf = chain[0]!;
  const name = `the client certificate "${subjectOf(leaf)}"`;
  const dates = validityProblem(leaf, now, name);
  if (dates !== null) return refused(dates);
  const usage = leaf.keyUsage;
  if (
    usage !== undefined &&
    !usage.includes(CLIENT_AUTH) &&
    !usage.includes(ANY_EXTENDED_KEY_USAGE)
  ) {
    return refused(
      `${name} is not for client authentication (its extended key usage lacks clientAuth)`,
    );
  }
  if (trusted.some((cert) => cert.raw.equals(leaf.raw)))
    return { ok: true, subject: subjectOf(leaf) };

  const intermediates = chain.slice(1);
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    const anchor = trusted.find((ca) => ca.ca && issued(current, ca));
    if (anchor !== undefined) {
      const problem = validityProblem(anchor, now, `the CA certificate "${subjectOf(anchor)}"`);
      return problem === null ? { ok: true, subject: subjectOf(leaf) } : refused(problem);
    }
    const next = intermediates.find((cert) => cert.ca && cert !== current && issued(current, cert));
    if (next === undefined) break;
    const problem = validityProblem(next, now, `the intermediate certificate "${subjectOf(next)}"`);
    if (problem !== null) return refused(problem);
    current = next;
  }
  return refused(`${name} (issued by "${issuerOf(leaf)}") is not issued by a trusted CA`);
}

/** Whether `issuer` signed `cert`: its name matches, and the signature checks with its key. */
function issued(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function validityProblem(cert: X509Certificate, now: number, name: string): string | null {
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (!(now >= notBefore))
    return `${name} is not valid before ${new Date(notBefore).toISOString()}`;
  if (!(now <= notAfter)) return `${name} expired at ${new Date(notAfter).toISOString()}`;
  return null;
}

/** `CN=alice, O=Acme`: the subject on one line (X509Certificate gives one part per line). */
function subjectOf(cert: X509Certificate): string {
  return cert.subject.split("\n").join(", ");
}

function issuerOf(cert: X509Certificate): string {
  return cert.issuer.split("\n").join(", ");
}

function refused(reason: string): CertificateVerdict {
  return { ok: false, reason };
}
