import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { ParseArgsConfig } from "node:util";
import { CONFIG_KEYS } from "../config/keys.js";
import { CONFIG_FILE_SETTING } from "../config/schema.js";
import { processIo } from "./cli-io.js";
import type { CliIo } from "./cli-io.js";
import {
  COMMANDS,
  renderMainHelp,
  renderMigrateHelp,
  renderServeHelp,
  renderStatsHelp,
  renderBinHelp,
  renderRulesHelp,
  renderApplyHelp,
  renderTailHelp,
} from "./help.js";
import { runMigrate } from "./migrate.js";
import { runServe } from "./serve.js";
import { runStats } from "./stats.js";
import { DEFAULT_SERVER_URL } from "./api-client.js";
import { runBin } from "./bin.js";
import { runRules } from "./rules.js";
import { runApply } from "./apply.js";
import { runTail } from "./tail.js";
import { editDistance } from "../edit-distance.js";

/** Exit codes: 0 ok, 1 the command failed (bad config, startup error), 2 wrong usage. */
const USAGE_ERROR = 2;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
  server: { type: "string" },
  // hookyard bin create: the bin's answer
  status: { type: "string" },
  body: { type: "string" },
  "content-type": { type: "string" },
  delay: { type: "string" },
  // hookyard rules test
  event: { type: "string" },
  request: { type: "string" },
  // hookyard apply
  file: { type: "string", short: "f" },
  "dry-run": { type: "boolean" },
  prune: { type: "boolean" },
  "allow-env": { type: "string", multiple: true },
  // hookyard listen / trigger / verify
  "forward-to": { type: "string" },
  source: { type: "string" },
  app: { type: "string" },
  endpoint: { type: "string" },
  name: { type: "string" },
  json: { type: "boolean" },
  list: { type: "boolean" },
  override: { type: "string", multiple: true },
  secret: { type: "string" },
  to: { type: "string" },
  "event-type": { type: "string" },
  headers: { type: "string" },
  scheme: { type: "string" },
  tolerance: { type: "string" },
  at: { type: "string" },
  [CONFIG_FILE_SETTING.flag.slice(2)]: { type: "string" },
  ...Object.fromEntries(CONFIG_KEYS.map((key) => [key.flag.slice(2), { type: "string" }])),
} satisfies ParseArgsConfig["options"];

/** Entry point of `bin/hookyard.js`. */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = await runCli(argv, processIo());
}

/** Runs one CLI invocation against `io` and returns its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    return usageError(io, parseErrorText(err), argv.includes("serve") ? "serve" : null);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const misplaced = command === undefined ? undefined : misplacedOption(command, values);
  if (misplaced !== undefined) {
    return usageError(io, `option --${misplaced} does not apply to "hookyard ${command}"`, null);
  }

  if (values["version"] === true || command === "version") {
    io.stdout.write(`${readVersion()}\n`);
    return 0;
  }
  if (command === undefined) {
    if (values["help"] === true) {
      io.stdout.write(renderMainHelp(readVersion()));
      return 0;
    }
    io.stderr.write(renderMainHelp(readVersion()));
    return USAGE_ERROR;
  }
  if (command === "help") {
    const topic = rest[0];
    if (topic === undefined) io.stdout.write(renderMainHelp(readVersion()));
    else if (topic === "serve") io.stdout.write(renderServeHelp());
    else if (topic === "migrate") io.stdout.write(renderMigrateHelp());
    else if (topic === "stats") io.stdout.write(renderStatsHelp());
    else if (topic === "tail") io.stdout.write(renderTailHelp());
    else if (topic === "bin") io.stdout.write(renderBinHelp());
    else if (topic === "rules") io.stdout.write(renderRulesHelp());
    else if (topic === "apply") io.stdout.write(renderApplyHelp());
    else if (topic === "secrets") {
      io.stdout.write((await import("./secrets.js")).renderSecretsHelp());
    } else if (topic === "dev") io.stdout.write((await import("./dev.js")).renderDevHelp());
    else if (topic === "listen") io.stdout.write((await import("./listen.js")).renderListenHelp());
    else if (topic === "trigger") {
      io.stdout.write((await import("./trigger.js")).renderTriggerHelp());
    } else if (topic === "verify") {
      io.stdout.write((await import("./verify.js")).renderVerifyHelp());
    } else if (isCommand(topic)) io.stdout.write(renderMainHelp(readVersion()));
    else return usageError(io, `unknown command "${topic}"`, null);
    return 0;
  }
  if (command === "rules") {
    if (values["help"] === true) {
      io.stdout.write(renderRulesHelp());
      return 0;
    }
    const [action, path, extra] = rest;
    if ((action !== "check" && action !== "test") || path === undefined) {
      return usageError(
        io,
        'rules needs "check <path>" or "test <path> --event <file> | --request <id>"',
        null,
      );
    }
    if (extra !== undefined) return usageError(io, `unexpected argument "${extra}"`, null);
    return runRules({
      action,
      path,
      eventFile: values["event"],
      requestId: values["request"],
      ...apiTarget(values, io),
      io,
    });
  }
  if (command === "apply") {
    if (values["help"] === true) {
      io.stdout.write(renderApplyHelp());
      return 0;
    }
    const path = values["file"] ?? rest[0];
    const unexpected = values["file"] === undefined ? rest[1] : rest[0];
    if (path === undefined) return usageError(io, "apply needs -f <file or directory>", null);
    if (unexpected !== undefined)
      return usageError(io, `unexpected argument "${unexpected}"`, null);
    return runApply({
      path,
      dryRun: values["dry-run"] === true,
      prune: values["prune"] === true,
      allowEnv: values["allow-env"] ?? [],
      ...apiTarget(values, io),
      io,
    });
  }
  if (command === "bin") {
    if (values["help"] === true) {
      io.stdout.write(renderBinHelp());
      return 0;
    }
    const [action, uid, extra] = rest;
    if (action !== "create" && action !== "list") {
      return usageError(io, 'bin needs "create [<uid>]" or "list"', null);
    }
    const unexpected = action === "list" ? uid : extra;
    if (unexpected !== undefined)
      return usageError(io, `unexpected argument "${unexpected}"`, null);
    return runBin({
      action,
      uid,
      answer: {
        status: values["status"],
        body: values["body"],
        contentType: values["content-type"],
        delay: values["delay"],
      },
      ...apiTarget(values, io),
      io,
    });
  }
  if (command === "tail") {
    if (values["help"] === true) {
      io.stdout.write(renderTailHelp());
      return 0;
    }
    const [source, extra] = rest;
    if (source === undefined) return usageError(io, "tail needs a source id or uid", null);
    if (extra !== undefined) return usageError(io, `unexpected argument "${extra}"`, null);
    return runTail({ source, ...apiTarget(values, io), io });
  }
  if (command === "listen") {
    // The Debug commands are loaded when used: serve does not carry their code.
    const { renderListenHelp, runListen } = await import("./listen.js");
    if (values["help"] === true) {
      io.stdout.write(renderListenHelp());
      return 0;
    }
    if (rest[0] !== undefined) return usageError(io, `unexpected argument "${rest[0]}"`, null);
    return runListen({
      forwardTo: values["forward-to"],
      source: values["source"],
      app: values["app"],
      endpoint: values["endpoint"],
      name: values["name"],
      json: values["json"] === true,
      ...apiTarget(values, io),
      io,
    });
  }
  if (command === "trigger") {
    const { renderTriggerHelp, runTrigger } = await import("./trigger.js");
    if (values["help"] === true) {
      io.stdout.write(renderTriggerHelp());
      return 0;
    }
    const [fixture, extra] = rest;
    if (extra !== undefined) return usageError(io, `unexpected argument "${extra}"`, null);
    return runTrigger({
      fixture,
      list: values["list"] === true,
      overrides: values["override"] ?? [],
      secret: values["secret"],
      to: values["to"],
      source: values["source"],
      app: values["app"],
      eventType: values["event-type"],
      json: values["json"] === true,
      ...apiTarget(values, io),
      io,
    });
  }
  if (command === "verify") {
    const { renderVerifyHelp, runVerify } = await import("./verify.js");
    if (values["help"] === true) {
      io.stdout.write(renderVerifyHelp());
      return 0;
    }
    const [requestId, extra] = rest;
    if (extra !== undefined) return usageError(io, `unexpected argument "${extra}"`, null);
    return runVerify({
      request: values["request"] ?? requestId,
      source: values["source"],
      headersFile: values["headers"],
      bodyFile: values["body"],
      secret: values["secret"],
      scheme: values["scheme"],
      tolerance: values["tolerance"],
      at: values["at"],
      json: values["json"] === true,
      ...apiTarget(values, io),
      io,
    });
  }
  if (command === "secrets") {
    const { renderSecretsHelp, runSecrets } = await import("./secrets.js");
    if (values["help"] === true) {
      io.stdout.write(renderSecretsHelp());
      return 0;
    }
    const [action, extra] = rest;
    if (action !== "rotate-key" && action !== "status" && action !== "drop-previous") {
      return usageError(io, 'secrets needs "rotate-key", "status" or "drop-previous"', null);
    }
    if (extra !== undefined) return usageError(io, `unexpected argument "${extra}"`, null);
    const {
      [CONFIG_FILE_SETTING.flag.slice(2)]: configFile,
      help: _h,
      version: _v,
      ...flags
    } = values;
    return runSecrets({
      action,
      flags: onlyStrings(flags),
      configFile: typeof configFile === "string" ? configFile : undefined,
      io,
    });
  }
  if (command === "serve" || command === "migrate" || command === "stats" || command === "dev") {
    if (values["help"] === true) {
      io.stdout.write(
        command === "dev"
          ? (await import("./dev.js")).renderDevHelp()
          : command === "serve"
            ? renderServeHelp()
            : command === "migrate"
              ? renderMigrateHelp()
              : renderStatsHelp(),
      );
      return 0;
    }
    if (rest.length > 0) return usageError(io, `unexpected argument "${rest[0]}"`, "serve");
    const {
      [CONFIG_FILE_SETTING.flag.slice(2)]: configFile,
      help: _help,
      version: _version,
      ...flags
    } = values;
    const request = {
      flags: onlyStrings(flags),
      configFile: typeof configFile === "string" ? configFile : undefined,
      io,
    };
    if (command === "serve") return runServe(request);
    if (command === "dev") {
      const { "forward-to": forwardTo, ...serverFlags } = request.flags;
      const { runDev } = await import("./dev.js");
      return runDev({ ...request, flags: serverFlags, forwardTo });
    }
    return command === "migrate" ? runMigrate(request) : runStats(request);
  }
  return usageError(io, `unknown command "${command}"`, null);
}

const CONFIG_FLAGS = [
  CONFIG_FILE_SETTING.flag.slice(2),
  ...CONFIG_KEYS.map((key) => key.flag.slice(2)),
];
const API_FLAGS = ["server", "api-key"];
/** The options each command takes (beside --help and --version); a command not listed: none. */
const COMMAND_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  serve: CONFIG_FLAGS,
  migrate: CONFIG_FLAGS,
  stats: CONFIG_FLAGS,
  secrets: CONFIG_FLAGS,
  dev: [...CONFIG_FLAGS, "forward-to"],
  tail: API_FLAGS,
  bin: [...API_FLAGS, "status", "body", "content-type", "delay"],
  rules: [...API_FLAGS, "event", "request"],
  apply: [...API_FLAGS, "file", "dry-run", "prune", "allow-env"],
  listen: [...API_FLAGS, "forward-to", "source", "app", "endpoint", "name", "json"],
  trigger: [
    ...API_FLAGS,
    ...["list", "override", "secret", "to", "source", "app", "event-type", "json"],
  ],
  verify: [
    ...API_FLAGS,
    ...["request", "source", "headers", "body", "secret", "scheme", "tolerance", "at", "json"],
  ],
};

/** An option given that `command` does not take (all options are parsed together). */
function misplacedOption(command: string, values: Record<string, unknown>): string | undefined {
  const allowed = COMMAND_OPTIONS[command];
  if (allowed === undefined) return undefined; // help, version, unknown: reported on their own
  return Object.keys(values).find(
    (name) => name !== "help" && name !== "version" && !allowed.includes(name),
  );
}

/** The server and key of an API command: flags, else HOOKYARD_SERVER_URL / HOOKYARD_API_KEY. */
function apiTarget(
  values: ReturnType<typeof parseOptions>["values"],
  io: CliIo,
): { server: string; apiKey: string | undefined } {
  const apiKey = values["api-key"];
  const server = values["server"];
  return {
    server:
      typeof server === "string" ? server : (io.env["HOOKYARD_SERVER_URL"] ?? DEFAULT_SERVER_URL),
    apiKey: typeof apiKey === "string" ? apiKey : io.env["HOOKYARD_API_KEY"],
  };
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
}

function isCommand(name: string): boolean {
  return COMMANDS.some((c) => c.name === name);
}

function usageError(io: CliIo, message: string, command: "serve" | null): number {
  const hint = command === null ? "hookyard help" : `hookyard ${command} --help`;
  io.stderr.write(`hookyard: ${message}\nRun "${hint}" for usage.\n`);
  return USAGE_ERROR;
}

/** parseArgs messages are long and mention its own syntax; keep the first sentence, add a hint. */
function parseErrorText(err: unknown): string {
  const code = typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const option = /'([^']+)'/.exec(message)?.[1] ?? message;
    const suggestion = closestOption(option);
    return `unknown option ${option}${suggestion === null ? "" : ` (did you mean ${suggestion}?)`}`;
  }
  const firstSentence = message.split(/\.\s/)[0] ?? message;
  return firstSentence.charAt(0).toLowerCase() + firstSentence.slice(1);
}

function closestOption(option: string): string | null {
  const name = option.replace(/^-+/, "").split("=")[0] ?? "";
  let best: { flag: string; distance: number } | null = null;
  for (const flag of Object.keys(OPTIONS)) {
    const distance = editDistance(name, flag);
    if (distance <= 2 && (best === null || distance < best.distance)) best = { flag, distance };
  }
  return best === null ? null : `--${best.flag}`;
}

function onlyStrings(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === "string") out[name] = value;
  }
  return out;
}

/** The package version, read from package.json (two levels up from src/cli and dist/cli). */
export function readVersion(): string {
  const pkg: unknown = JSON.parse(
    readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
  );
  const version =
    typeof pkg === "object" && pkg !== null && "version" in pkg ? pkg.version : undefined;
  return typeof version === "string" ? version : "unknown";
}
