import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "../config/config-error.js";
import type { Config } from "../config/schema.js";
import {
  generateSecretKeyText,
  parseSecretKey,
  SecretBox,
  secretKey,
  type SecretKey,
} from "./secret-box.js";
import type { SecretsStatus } from "../store/store.js";

/**
 * Where the secrets key comes from (issue 16), first found wins: `secrets.key`
 * (HOOKYARD_SECRETS_KEY) with `secrets.previousKeys`; else the key file `secrets.keyFile`; else,
 * on SQLite, `<database>.key` beside the database file, made (mode 0600) on the first start. On
 * PostgreSQL several processes share the database, so a key one of them made up would not be the
 * others': there the start refuses until a key is configured.
 */
export interface SecretKeys {
  box: SecretBox;
  /** The key file the keys came from, or null when they came from the configuration. */
  keyFile: string | null;
  /** True when this start made the key file. */
  created: boolean;
}

export interface KeyLocation {
  /** The SQLite database file, or null on PostgreSQL. */
  sqlitePath: string | null;
  cwd: string;
  /** false: never make a key file (readers beside a server, `secrets status`). */
  create: boolean;
}

const FILE_HEADER =
  "# Hookyard secrets key: the first key line seals, later ones only open values sealed before a\n" +
  "# rotation. Keep this file secret, and back it up apart from the database: without it the\n" +
  "# database's endpoint and source secrets cannot be read.\n";

/** The keys `secrets` names for the database at `where`; null when there are none and none made. */
export function loadSecretKeys(secrets: Config["secrets"], where: KeyLocation): SecretKeys | null {
  const previous = secrets.previousKeys.map((text, i) =>
    configuredKey(text, `secrets.previousKeys[${i}]`),
  );
  if (secrets.key !== null) {
    return {
      box: new SecretBox(configuredKey(secrets.key, "secrets.key"), previous),
      keyFile: null,
      created: false,
    };
  }
  const path = keyFilePath(secrets, where);
  if (path === null) {
    if (!where.create) return null;
    throw new ConfigError(
      "set HOOKYARD_SECRETS_KEY (secrets.key) to seal secrets in the PostgreSQL database: every server on it needs the same key (make one with `openssl rand -base64 32`)",
      { key: "secrets.key" },
    );
  }
  let created = false;
  if (!existsSync(path)) {
    if (!where.create) return null;
    if (where.sqlitePath === null) {
      throw new ConfigError(
        `secrets.keyFile ${path} does not exist: on PostgreSQL every server needs the same key, so none is made; write one (\`openssl rand -base64 32\`) or set HOOKYARD_SECRETS_KEY`,
        { key: "secrets.keyFile" },
      );
    }
    writeKeyFile(path, [generateSecretKeyText()], "wx");
    created = true;
  }
  const [current, ...older] = readKeyFile(path);
  return { box: new SecretBox(current, [...older, ...previous]), keyFile: path, created };
}

/** The key file `secrets` names, or `<database>.key` on SQLite, or null. */
export function keyFilePath(secrets: Config["secrets"], where: KeyLocation): string | null {
  if (secrets.keyFile !== null) return resolve(where.cwd, secrets.keyFile);
  return where.sqlitePath === null ? null : `${where.sqlitePath}.key`;
}

/** The keys of a key file, current first; refuses a file others may read, or one with no key. */
export function readKeyFile(path: string): [SecretKey, ...SecretKey[]] {
  if (process.platform !== "win32") {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new ConfigError(
        `the secrets key file ${path} may be read by others (mode ${mode.toString(8).padStart(3, "0")}): run \`chmod 600 ${path}\``,
        { key: "secrets.keyFile" },
      );
    }
  }
  const lines = readFileSync(path, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const keys = lines.map((line, i) => {
    const bytes = parseSecretKey(line);
    if (bytes === null) {
      throw new ConfigError(
        `the secrets key file ${path} has a line that is not a 32-byte key in base64 or hex (key line ${i + 1})`,
        { key: "secrets.keyFile" },
      );
    }
    return secretKey(bytes);
  });
  const [current, ...older] = keys;
  if (current === undefined) {
    throw new ConfigError(`the secrets key file ${path} holds no key`, { key: "secrets.keyFile" });
  }
  return [current, ...older];
}

/**
 * Writes `keys` (base64, current first) to the key file with mode 0600: a new file with "wx",
 * or a replacement written beside it and renamed over it, so a crash leaves the old or the new.
 */
export function writeKeyFile(path: string, keys: readonly string[], flag: "wx" | "replace"): void {
  const text = `${FILE_HEADER}${keys.join("\n")}\n`;
  if (flag === "wx") {
    writeFileSync(path, text, { mode: 0o600, flag: "wx" });
    return;
  }
  const next = join(dirname(path), `.hookyard-key-${randomBytes(6).toString("hex")}.tmp`);
  writeFileSync(next, text, { mode: 0o600, flag: "wx" });
  chmodSync(next, 0o600);
  renameSync(next, path);
}

/** The base64 text of every key line of a key file, current first. */
export function keyFileLines(path: string): string[] {
  return readKeyFile(path).map((k) => k.key.toString("base64"));
}

function configuredKey(text: string, setting: string): SecretKey {
  const bytes = parseSecretKey(text);
  // The schema's pattern already refused other text; this keeps a decoded length honest.
  if (bytes === null) {
    throw new ConfigError(`invalid ${setting}: expected 32 bytes as base64 or hex`, {
      key: setting,
    });
  }
  return secretKey(bytes);
}

/**
 * Refuses a database holding values sealed with a key `box` does not have: serving would mean
 * endpoints without their secrets, and writing would mix keys nobody holds all of.
 */
export function checkSecretsKey(status: SecretsStatus, keys: SecretKeys): void {
  const unknown = Object.keys(status.byKeyId).filter((id) => !keys.box.knows(id));
  if (unknown.length === 0) return;
  const where =
    keys.keyFile === null
      ? "secrets.key (HOOKYARD_SECRETS_KEY) and secrets.previousKeys"
      : `the key file ${keys.keyFile} (secrets.keyFile)`;
  const count = unknown.reduce((sum, id) => sum + (status.byKeyId[id] ?? 0), 0);
  throw new ConfigError(
    `wrong secrets key: ${count} secrets in the database are sealed with key ${unknown.join(", ")}, which ${where} do not hold (it has ${keys.box.keyIds.join(", ")}); set secrets.key to the key they were sealed with`,
    { key: "secrets.key" },
  );
}
