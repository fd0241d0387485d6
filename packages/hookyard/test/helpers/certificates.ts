import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A certificate and its private key, PEM-encoded. */
export interface KeyPair {
  cert: string;
  key: string;
}

/** A test certificate authority that issues server and client certificates (real X.509, openssl). */
export interface TestCa extends KeyPair {
  /** A server certificate for `localhost`, 127.0.0.1 and ::1 (or the names given). */
  server(names?: readonly string[]): KeyPair;
  /** A client certificate with this common name. */
  client(commonName: string): KeyPair;
  /** An intermediate CA that this CA issued; its certificates chain through it to this one. */
  intermediate(commonName: string): TestCa;
}

/**
 * Makes a CA with openssl (the test machine's, as an operator would): tests of TLS and mTLS use
 * real certificates, not fixtures that expire. Each CA lives in its own temporary directory,
 * removed once its files are read; keys are EC P-256 so generating them is quick. Certificates
 * are valid from now for two days (a test of expiry moves Hookyard's clock instead).
 */
export function createTestCa(commonName = "Hookyard Test CA"): TestCa {
  return issuing(issue({ subject: `/CN=${commonName}`, ca: true }));
}

function issuing(ca: KeyPair): TestCa {
  return {
    ...ca,
    server: (names = ["localhost", "127.0.0.1", "::1"]) =>
      issue({
        subject: `/CN=${names[0] ?? "localhost"}`,
        issuer: ca,
        extensions: [
          `subjectAltName=${names.map((n) => (/^[\d.:]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",")}`,
          "extendedKeyUsage=serverAuth",
        ],
      }),
    client: (name) =>
      issue({
        subject: `/CN=${name}`,
        issuer: ca,
        extensions: ["extendedKeyUsage=clientAuth"],
      }),
    intermediate: (name) => issuing(issue({ subject: `/CN=${name}`, issuer: ca, ca: true })),
  };
}

function issue(opts: {
  subject: string;
  issuer?: KeyPair;
  ca?: boolean;
  extensions?: readonly string[];
}): KeyPair {
  const dir = mkdtempSync(join(tmpdir(), "hookyard-cert-"));
  try {
    const file = (name: string) => join(dir, name);
    const run = (args: readonly string[]) => execFileSync("openssl", args, { stdio: "pipe" });
    run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file("key.pem")]);
    // PKCS#8, the form Node and most servers read without a hint about the curve.
    run(["pkcs8", "-topk8", "-nocrypt", "-in", file("key.pem"), "-out", file("key8.pem")]);
    const extensions = opts.ca
      ? ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]
      : ["basicConstraints=CA:FALSE", ...(opts.extensions ?? [])];
    writeFileSync(file("ext.cnf"), `${extensions.join("\n")}\n`);
    if (opts.issuer === undefined) {
      run([
        "req",
        "-x509",
        "-new",
        "-key",
        file("key8.pem"),
        "-subj",
        opts.subject,
        "-days",
        "2",
        "-extensions",
        "v3",
        "-config",
        writeConfig(dir, extensions),
        "-out",
        file("cert.pem"),
      ]);
    } else {
      writeFileSync(file("issuer-cert.pem"), opts.issuer.cert);
      writeFileSync(file("issuer-key.pem"), opts.issuer.key);
      run([
        "req",
        "-new",
        "-key",
        file("key8.pem"),
        "-subj",
        opts.subject,
        "-out",
        file("csr.pem"),
      ]);
      run([
        "x509",
        "-req",
        "-in",
        file("csr.pem"),
        "-CA",
        file("issuer-cert.pem"),
        "-CAkey",
        file("issuer-key.pem"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        file("ext.cnf"),
        "-out",
        file("cert.pem"),
      ]);
    }
    return {
      cert: readFileSync(file("cert.pem"), "utf8"),
      key: readFileSync(file("key8.pem"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A minimal openssl config whose `v3` section holds the extensions of a self-signed CA. */
function writeConfig(dir: string, extensions: readonly string[]): string {
  const path = join(dir, "openssl.cnf");
  writeFileSync(
    path,
    ["[req]", "distinguished_name=dn", "[dn]", "[v3]", ...extensions, ""].join("\n"),
  );
  return path;
}
