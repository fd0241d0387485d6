import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { CONFIG_KEYS } from "../config/keys.js";
import { CONFIG_FILE_SETTING, type Config } from "../config/schema.js";
import { createLogger } from "../observability/logger.js";
import { generateSecretKeyText, parseSecretKey, secretKey } from "../secrets/secret-box.js";
import { keyFileLines, keyFilePath, writeKeyFile } from "../secrets/secrets-keys.js";
import { loadConfigOrReport, oneLine, type ServeRequest } from "./serve.js";

/**
 * `hookyard secrets rotate-key | status | drop-previous` (issue 16). Rotation is three steps:
 * `rotate-key` makes a new key (written first into the key file, the old one kept after it; or,
 * for a key from the configuration, printed with what to set), a restart makes every server seal
 * with it and re-seal the rest in the background, and once `status` shows no value left under a
 * previous key, `drop-previous` (or removing HOOKYARD_SECRETS_PREVIOUS_KEYS) retires the old one.
 */
export async function runSecrets(
  req: ServeRequest & { action: "rotate-key" | "status" | "drop-previous" },
): Promise<number> {
  const { io, action } = req;
  const config = loadConfigOrReport(req);
  if (config === null) return 1;
  try {
    if (action === "rotate-key") return rotateKey(config, req);
    return await keysInUse(config, { ...req, action });
  } catch (err) {
    io.stderr.write(`hookyard: secrets ${req.action}: ${oneLine(err)}\n`);
    return 1;
  }
}

function sqlitePathOf(config: Config, cwd: string): string | null {
  const url = config.database.url;
  return /^postgres(ql)?:/i.test(url) ? null : resolve(cwd, url.replace(/^sqlite:(\/\/)?/, ""));
}

function idOf(text: string): string {
  return secretKey(parseSecretKey(text)!).id;
}

function rotateKey(config: Config, { io }: ServeRequest): number {
  const next = generateSecretKeyText();
  const where = { sqlitePath: sqlitePathOf(config, io.cwd), cwd: io.cwd, create: false };
  const path = config.secrets.key === null ? keyFilePath(config.secrets, where) : null;
  if (path === null) {
    const current = config.secrets.key;
    const previous = [...(current === null ? [] : [current]), ...config.secrets.previousKeys];
    io.stdout.write(
      [
        `New secrets key (id ${idOf(next)}); it is shown only here:`,
        "",
        `  HOOKYARD_SECRETS_KEY=${next}`,
        ...(previous.length > 0 ? [`  HOOKYARD_SECRETS_PREVIOUS_KEYS=${previous.join(",")}`] : []),
        "",
        "Set these on every server and restart them: each seals with the new key and re-seals",
        'the rest in the background. When "hookyard secrets status" shows no value under a',
        "previous key, remove HOOKYARD_SECRETS_PREVIOUS_KEYS.",
        "",
      ].join("\n"),
    );
    return 0;
  }
  if (!existsSync(path)) {
    throw new Error(`there is no key file at ${path} (the server makes it on its first start)`);
  }
  const keys = keyFileLines(path);
  writeKeyFile(path, [next, ...keys], "replace");
  io.stdout.write(
    [
      `${path}: new key ${idOf(next)} seals from the next start; ${keys.map(idOf).join(", ")} kept to open older values.`,
      'Restart the server: it re-seals in the background. When "hookyard secrets status" shows',
      'no value under a previous key, run "hookyard secrets drop-previous".',
      "",
    ].join("\n"),
  );
  return 0;
}

/** `status` prints the values per key; `drop-previous` also retires unused previous keys. */
async function keysInUse(
  config: Config,
  req: ServeRequest & { action: "status" | "drop-previous" },
): Promise<number> {
  const { io } = req;
  const logger = createLogger({ level: config.log.level === "info" ? "warn" : config.log.level });
  const { databaseSecrets } = await import("../main.js");
  const { database, status, keys } = await databaseSecrets(config, { logger, cwd: io.cwd });
  const current = keys?.box.current.id ?? null;
  const rows = Object.entries(status.byKeyId).map(([id, n]) => {
    const role = id === current ? "current" : keys?.box.knows(id) === true ? "previous" : "unknown";
    return `  ${id}  ${role.padEnd(8)}  ${n}`;
  });
  if (status.plaintext > 0)
    rows.push(`  ${"plaintext".padEnd(12)}  ${"".padEnd(8)}  ${status.plaintext}`);
  const stale = Object.keys(status.byKeyId).filter((id) => id !== current).length;
  if (req.action === "status") {
    io.stdout.write(
      [
        database,
        `key in use: ${current ?? "none configured"}${keys?.keyFile != null ? ` (${keys.keyFile})` : ""}`,
        "",
        "  key id        role      values",
        ...rows,
        "",
        stale === 0 && status.plaintext === 0
          ? "Every secret is sealed with the current key: previous keys can be removed."
          : "Values are left under another key or in plaintext: a running server re-seals them.",
        "",
      ].join("\n"),
    );
    return 0;
  }
  const path = keys?.keyFile ?? null;
  if (path === null || current === null) {
    throw new Error(
      "the keys come from secrets.key and secrets.previousKeys: remove HOOKYARD_SECRETS_PREVIOUS_KEYS instead",
    );
  }
  if (stale > 0 || status.plaintext > 0) {
    throw new Error(
      `${stale + (status.plaintext > 0 ? 1 : 0)} kinds of value are not sealed with key ${current} yet; start the server and wait for it to re-seal them`,
    );
  }
  const [first] = keyFileLines(path);
  writeKeyFile(path, [first!], "replace");
  io.stdout.write(`${path}: only key ${current} is left.\n`);
  return 0;
}

export function renderSecretsHelp(): string {
  const keys = ["database.url", "secrets.key", "secrets.keyFile", "secrets.previousKeys"];
  return [
    "Usage: hookyard secrets rotate-key | status | drop-previous [options]",
    "",
    "Endpoint and source secrets are sealed in the database with the secrets key (see README",
    '"Secrets at rest").',
    "",
    "  rotate-key     Make a new key: written first into the key file (the old key kept after",
    "                 it), or printed with what to set when the key comes from secrets.key. The",
    "                 next start seals with it and re-seals every value in the background.",
    "  status         How many values are sealed with which key, and how many are plaintext.",
    "  drop-previous  Remove the previous keys from the key file, once no value needs them.",
    "",
    `  ${CONFIG_FILE_SETTING.flag} <path>  ·  ${CONFIG_FILE_SETTING.env}`,
    ...CONFIG_KEYS.filter((key) => keys.includes(key.path)).map(
      (key) => `  ${key.flag} <value>  ·  ${key.env}`,
    ),
    "",
  ].join("\n");
}
