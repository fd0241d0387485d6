import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  MAX_TRUSTED_CERTIFICATES,
  parseCertificateBundle,
  verifyClientCertificate,
} from "../../src/inbound/client-certificates.js";
import { createTestCa, type KeyPair } from "../helpers/certificates.js";

// The chain check behind server.tls.clientCa and a source's clientCa, over real certificates.

const ca = createTestCa("Bank CA");
const intermediate = ca.intermediate("Bank Issuing CA");
const alice = ca.client("alice");
const bob = intermediate.client("bob");
// Another CA under the same name: its certificates name "Bank CA" as issuer, signed by another key.
const impostor = createTestCa("Bank CA");

/** The DER chain a TLS connection hands over, leaf first. */
function chainOf(...pairs: KeyPair[]): Buffer[] {
  return pairs.map((pair) => new X509Certificate(pair.cert).raw);
}

function trustedOf(pem: string): X509Certificate[] {
  const bundle = parseCertificateBundle(pem);
  if ("problem" in bundle) throw new Error(`bundle refused: ${bundle.problem}`);
  return bundle.certificates;
}

const validFrom = (pair: KeyPair) => Date.parse(new X509Certificate(pair.cert).validFrom);
const validTo = (pair: KeyPair) => Date.parse(new X509Certificate(pair.cert).validTo);
const now = validFrom(alice) + 60_000;

describe("verifying a client certificate against a CA bundle", () => {
  const trusted = trustedOf(ca.cert);

  it("accepts a certificate the CA issued, and one through an intermediate the client sends", () => {
    expect(verifyClientCertificate(chainOf(alice), trusted, now)).toEqual({
      ok: true,
      subject: "CN=alice",
    });
    expect(verifyClientCertificate(chainOf(bob, intermediate), trusted, now)).toEqual({
      ok: true,
      subject: "CN=bob",
    });
  });

  it("refuses a chain whose intermediate the client left out", () => {
    expect(verifyClientCertificate(chainOf(bob), trusted, now)).toEqual({
      ok: false,
      reason:
        'the client certificate "CN=bob" (issued by "CN=Bank Issuing CA") is not issued by a trusted CA',
    });
  });

  it("refuses a certificate of another CA, even one under the trusted CA's name", () => {
    const other = createTestCa("Other CA").client("mallory");
    expect(verifyClientCertificate(chainOf(other), trusted, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/"CN=mallory" \(issued by "CN=Other CA"\) is not issued by/),
    });
    const forged = impostor.client("alice");
    expect(
      verifyClientCertificate(chainOf(forged), trusted, now),
      "same names, wrong key",
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/is not issued by a trusted CA$/),
    });
    expect(
      verifyClientCertificate(chainOf(forged, impostor), trusted, now),
      "the impostor CA sent along as an intermediate",
    ).toMatchObject({ ok: false });
  });

  it("judges validity at the time it is given: expired, and not yet valid", () => {
    const after = validTo(alice) + 1_000;
    expect(verifyClientCertificate(chainOf(alice), trusted, after)).toEqual({
      ok: false,
      reason: `the client certificate "CN=alice" expired at ${new Date(validTo(alice)).toISOString()}`,
    });
    expect(verifyClientCertificate(chainOf(alice), trusted, validFrom(alice) - 1_000)).toEqual({
      ok: false,
      reason: `the client certificate "CN=alice" is not valid before ${new Date(validFrom(alice)).toISOString()}`,
    });
  });

  it("refuses a certificate whose extended key usage is not client authentication", () => {
    const serverOnly = ca.server(["hooks.example.com"]);
    expect(verifyClientCertificate(chainOf(serverOnly), trusted, now)).toEqual({
      ok: false,
      reason:
        'the client certificate "CN=hooks.example.com" is not for client authentication (its extended key usage lacks clientAuth)',
    });
  });

  it("says when no certificate came, or the connection was not TLS", () => {
    expect(verifyClientCertificate([], trusted, now)).toEqual({
      ok: false,
      reason: "no client certificate was presented",
    });
    expect(verifyClientCertificate(null, trusted, now)).toEqual({
      ok: false,
      reason: "no client certificate: the request did not come over HTTPS",
    });
    expect(verifyClientCertificate([Buffer.from("not DER")], trusted, now)).toEqual({
      ok: false,
      reason: "the client certificate cannot be read",
    });
  });

  it("trusts any CA of a bundle, and a bundle's non-CA certificate as itself only", () => {
    const both = trustedOf(`${createTestCa("First").cert}\n${intermediate.cert}`);
    expect(
      verifyClientCertificate(chainOf(bob), both, now),
      "the intermediate as anchor",
    ).toMatchObject({
      ok: true,
    });
    const pinned = trustedOf(alice.cert);
    expect(verifyClientCertificate(chainOf(alice), pinned, now)).toMatchObject({ ok: true });
    expect(
      verifyClientCertificate(chainOf(ca.client("carol")), trustedOf(`${alice.cert}`), now),
      "a pinned client certificate issues nothing",
    ).toMatchObject({ ok: false });
  });
});

describe("reading a CA bundle", () => {
  it("reads every certificate of a bundle, text between them ignored", () => {
    const bundle = parseCertificateBundle(
      `subject=CN=Bank CA\n${ca.cert}\n# next\n${intermediate.cert}`,
    );
    expect("certificates" in bundle && bundle.certificates.map((c) => c.subject)).toEqual([
      "CN=Bank CA",
      "CN=Bank Issuing CA",
    ]);
  });

  it("refuses text without a certificate, a private key, a broken block and too many", () => {
    expect(parseCertificateBundle("hello")).toEqual({
      problem: "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
    });
    expect(parseCertificateBundle(`${ca.cert}${ca.key}`)).toEqual({
      problem: "holds a private key; give the CA's certificates only",
    });
    expect(
      parseCertificateBundle(
        `${ca.cert}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`,
      ),
    ).toEqual({ problem: "certificate 2 of the bundle is not a valid X.509 certificate" });
    expect(parseCertificateBundle(ca.cert.repeat(MAX_TRUSTED_CERTIFICATES + 1))).toEqual({
      problem: `holds more than ${MAX_TRUSTED_CERTIFICATES} certificates`,
    });
  });
});
