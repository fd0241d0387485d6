import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { ValidationError } from "../errors.js";
import type { Endpoint } from "../model.js";
import type { EndpointTlsInput } from "./services.js";

/**
 * An endpoint's `tls` as the API gives it (issue 16) → what is stored: the client certificate
 * and CA bundle (public, shown by the API) and the client key apart (a secret, never shown).
 * Everything is parsed here, so a bad PEM is a 422 when it is set, not a failed attempt later;
 * what is stored is the canonical PEM of what parsed. A `tls` whose `clientCert` comes without a
 * `clientKey` keeps the stored key, which must then belong to the certificate.
 */

export type TlsSettings = Pick<Endpoint, "tls" | "tlsClientKey">;

export const NO_TLS: TlsSettings = { tls: null, tlsClientKey: null };

/** Per PEM field: a chain or a bundle of a few dozen certificates fits. */
export const MAX_PEM_CHARS = 64 * 1024;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/**
 * The TLS options after `input`: absent keeps `existing`, null clears them.
 * @throws ValidationError naming the field (`body.tls.clientKey`, …).
 */
export function resolveTls(
  input: EndpointTlsInput | null | undefined,
  existing: TlsSettings,
  loc: readonly string[],
): TlsSettings {
  if (input === undefined) return { tls: existing.tls, tlsClientKey: existing.tlsClientKey };
  if (input === null) return NO_TLS;
  const at = (field: string): string[] => [...loc, field];
  const ca = input.ca == null ? null : canonicalCertificates(input.ca, at("ca")).pem;
  if (input.clientCert == null) {
    if (input.clientKey != null) {
      throw ValidationError.field(at("clientCert"), "field required (clientKey is its key)");
    }
    if (ca === null) {
      throw ValidationError.field(
        [...loc],
        "give clientCert and clientKey, or ca, or all three; null removes the TLS options",
      );
    }
    return { tls: { clientCert: null, ca }, tlsClientKey: null };
  }
  const chain = canonicalCertificates(input.clientCert, at("clientCert"));
  let keyText = input.clientKey;
  if (keyText == null) {
    if (keyText === null || existing.tlsClientKey === null) {
      throw ValidationError.field(at("clientKey"), "field required", "value_error.missing");
    }
    keyText = existing.tlsClientKey;
  }
  const key = parsePrivateKey(keyText, at("clientKey"));
  if (!chain.leaf.checkPrivateKey(key)) {
    throw ValidationError.field(
      at("clientKey"),
      `is not the private key of clientCert (${chain.leaf.subject.replace(/\n/g, ", ")})`,
    );
  }
  return {
    tls: { clientCert: chain.pem, ca },
    tlsClientKey: key.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** The certificates of a PEM text, re-encoded; any other block (a key) is refused. */
function canonicalCertificates(text: string, at: string[]): { pem: string; leaf: X509Certificate } {
  const certificates = pemBlocks(text, at).map((block, i) => {
    if (block.label !== "CERTIFICATE") {
      throw ValidationError.field(
        at,
        `PEM block ${i + 1} is "${block.label}", not a CERTIFICATE` +
          (block.label.includes("PRIVATE KEY") ? ": give the key as clientKey, never here" : ""),
      );
    }
    try {
      return new X509Certificate(block.text);
    } catch (err) {
      throw new ValidationError(
        [
          {
            loc: at,
            msg: `PEM block ${i + 1} is not a valid X.509 certificate`,
            type: "value_error",
          },
        ],
        { cause: err },
      );
    }
  });
  const leaf = certificates[0];
  if (leaf === undefined) {
    throw ValidationError.field(at, "holds no -----BEGIN CERTIFICATE----- block");
  }
  return { pem: certificates.map((c) => c.toString()).join(""), leaf };
}

function parsePrivateKey(text: string, at: string[]): KeyObject {
  const blocks = pemBlocks(text, at);
  const block = blocks[0];
  if (blocks.length !== 1 || block === undefined || !block.label.endsWith("PRIVATE KEY")) {
    throw ValidationError.field(at, "must be one PEM private key (-----BEGIN PRIVATE KEY-----)");
  }
  if (block.label === "ENCRYPTED PRIVATE KEY" || /Proc-Type: 4,ENCRYPTED/.test(block.text)) {
    throw ValidationError.field(at, "must not be encrypted: Hookyard has no passphrase for it");
  }
  try {
    return createPrivateKey({ key: block.text, format: "pem" });
  } catch (err) {
    throw new ValidationError(
      [{ loc: at, msg: "is not a valid PEM private key", type: "value_error" }],
      { cause: err },
    );
  }
}

function pemBlocks(text: string, at: string[]): { label: string; text: string }[] {
  if (text.length > MAX_PEM_CHARS) {
    throw ValidationError.field(at, `must be at most ${MAX_PEM_CHARS} characters`);
  }
  const blocks: { label: string; text: string }[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    blocks.push({ label: match[1] ?? "", text: match[0] });
  }
  // Text between blocks (openssl's "Bag Attributes", comments) is fine; a cut-off block is not.
  const rest = text.replace(PEM_BLOCK, "");
  if (/-----(BEGIN|END) /.test(rest)) {
    throw ValidationError.field(at, "holds a PEM block without its matching END line");
  }
  return blocks;
}

/**
 * TLS options only mean something on an https URL; an http one would silently drop them.
 * `changed` names what the request set, and so what the 422 points at.
 * @throws ValidationError when the endpoint has TLS options and an http URL.
 */
export function checkTlsNeedsHttps(
  endpoint: Pick<Endpoint, "tls" | "url">,
  changed: "tls" | "url",
): void {
  if (endpoint.tls === null || endpoint.url.toLowerCase().startsWith("https:")) return;
  throw ValidationError.field(
    ["body", changed],
    changed === "tls"
      ? "TLS options need an https URL"
      : "must be https: the endpoint has TLS options (set tls to null first)",
  );
}
