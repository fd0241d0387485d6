import { DEFAULT_SERVER_URL } from "./api-client.js";
import { CONFIG_KEYS, describeExpected, placeholderOf } from "../config/keys.js";
import type { ConfigKey } from "../config/keys.js";
import { CONFIG_FILE_SETTING } from "../config/schema.js";

/**
 * Help texts. The option list of `serve --help` is generated from the config schema's metadata,
 * so it can never drift from what `loadConfig` accepts.
 */

export const COMMANDS = [
  { name: "serve", summary: "Start the server: Svix-compatible Send API and delivery engine." },
  {
    name: "dev",
    summary: "Start a local development server (fixed key, loopback allowed, example receiver).",
  },
  {
    name: "migrate",
    summary: "Bring the database's schema up to date (serve does it at start) and exit.",
  },
  { name: "stats", summary: "Show the rows and size of each table of the database." },
  {
    name: "secrets",
    summary: "Rotate the key sealing secrets in the database, or show which keys seal them.",
  },
  {
    name: "tail",
    summary: "Print the requests a source or request bin receives, live: hookyard tail <source>.",
  },
  {
    name: "bin",
    summary: "Create or list request bins: hookyard bin create [<uid>] prints the bin's URL.",
  },
  {
    name: "listen",
    summary: "Forward what a source, bin or endpoint receives to a local URL: --forward-to <url>.",
  },
  {
    name: "trigger",
    summary: "Send a provider's signed test event (github.push, stripe.invoice.paid, …).",
  },
  {
    name: "verify",
    summary: "Check a request's signature against a secret and say why it does not match.",
  },
  {
    name: "rules",
    summary: "Check a rulebook (rules check <path>) or dry-run it on an event (rules test).",
  },
  {
    name: "apply",
    summary: "Make the server match YAML declarations (config as code): apply -f <dir>.",
  },
  { name: "version", summary: "Print the version." },
  { name: "help", summary: 'Show this help; "hookyard help serve" lists every server option.' },
] as const;

export type CommandName = (typeof COMMANDS)[number]["name"];

const PRECEDENCE =
  "Precedence: defaults < hookyard.yaml < HOOKYARD_* environment variables < flags.";

export function renderMainHelp(version: string): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 3;
  return [
    `Hookyard ${version}: a self-hosted webhook platform.`,
    "",
    "Usage: hookyard <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Global options:",
    `  ${CONFIG_FILE_SETTING.flag} <path>   ${CONFIG_FILE_SETTING.description} [${CONFIG_FILE_SETTING.env}]`,
    "  -h, --help        Show help (for a command: hookyard <command> --help).",
    "  -v, --version     Print the version.",
    "",
    PRECEDENCE,
    'Run "hookyard serve --help" for every configuration option.',
    "",
  ].join("\n");
}

export function renderMigrateHelp(): string {
  return [
    "Usage: hookyard migrate [options]",
    "",
    "Applies the schema steps the configured database lacks, then exits: what `hookyard serve`",
    "does at start. On PostgreSQL it is safe while servers run (all serialise on an advisory",
    "lock); a SQLite file belongs to one process, so stop its server first. It reads the same",
    "configuration as serve; only the database settings matter:",
    "",
    `  ${CONFIG_FILE_SETTING.flag} <path>  ·  ${CONFIG_FILE_SETTING.env}`,
    ...CONFIG_KEYS.filter((key) => key.path === "database.url").flatMap(renderKey),
    "",
    'Every other option of "hookyard serve --help" is accepted too.',
    "",
  ].join("\n");
}

export function renderTailHelp(): string {
  return [
    "Usage: hookyard tail <source id or uid> [--server <url>] [--api-key <key>]",
    "",
    "Prints every request the source (or request bin) receives from now on, as it arrives:",
    "time, method, path and query, size, sender's address, its id and, unless accepted, why",
    "not; then the body (text, shortened). Stop with Ctrl-C.",
    "",
    "Options:",
    ...API_OPTIONS,
    "",
  ].join("\n");
}

const API_OPTIONS = [
  `  --server <url>    The Hookyard server (default ${DEFAULT_SERVER_URL}) [HOOKYARD_SERVER_URL]`,
  "  --api-key <key>   The admin API key [HOOKYARD_API_KEY]",
];

export function renderRulesHelp(): string {
  return [
    "Usage: hookyard rules check <file or directory>",
    "       hookyard rules test <file or directory> --event <event.json>",
    "       hookyard rules test <file or directory> --request <req_…> [--server <url>] [--api-key <key>]",
    "",
    "check reads a rulebook (a YAML file, or every *.yaml / *.yml of a directory) and reports",
    "every problem as file:line: field: why, exiting 1 if there is any; the server refuses the",
    "same rulebook at start. ${env:NAME} is filled from the environment, as the server does.",
    "",
    "test prints, as JSON, which rules listen to the event, whether each condition holds, and",
    "what each action would do with its fields filled in, without doing any of it. The event file",
    'is JSON: {"kind": "inbound", "source": "<source uid>", "type": "push", "payload": {…},',
    '"headers": {…}}; missing fields get defaults. Exit 1 if a condition or an action failed.',
    "With --request, the event is that of a request a source received, fetched from the server",
    "(default $HOOKYARD_SERVER_URL or http://127.0.0.1:8080, key $HOOKYARD_API_KEY): try a change",
    "to the rules on real traffic before it is loaded. Values filled from ${env:NAME} are shown",
    "as ${env:NAME}.",
    "",
    "Commands: a run action starts a program on the server's host, so the server accepts it only",
    "from rulebook files on its own disk (--rules / HOOKYARD_RULES). A rulebook uploaded through",
    "the API or `hookyard apply` with a run action is refused (422, naming the rule and line),",
    "unless the host opts in twice: rules.allowRunFromApi: true and the program's absolute path",
    "in rules.allowedCommands. Risk: anyone with an API key can then start those programs, with",
    "any arguments, as the server's user. A program gets PATH and its rule's env only.",
    "",
  ].join("\n");
}

export function renderApplyHelp(): string {
  return [
    "Usage: hookyard apply -f <file or directory> [--dry-run] [--prune] [--allow-env <names>]",
    "                      [--server <url>] [--api-key <key>]",
    "",
    "Makes the server match YAML declarations (config as code, kept in git): event types with",
    "their schemas, applications with their endpoints, inbound sources with their destinations,",
    "and a rulebook (notifiers, rules), from one file or every *.yaml / *.yml of a directory.",
    "Objects are found by uid (an endpoint without uid by its URL). It prints a line per object:",
    "  + created   ~ changed (which fields)   - deleted (--prune)   = unchanged",
    "Applying the same files twice changes nothing the second time. The files are checked first",
    "(every problem as file:line: field: why, exit 1); a step the server refuses stops the run",
    "with its reason, and applying again continues from there.",
    "",
    "${env:NAME} in the files is filled from this command's environment (keep secrets there,",
    "not in git), but only for the names you allow: --allow-env, HOOKYARD_APPLY_ALLOW_ENV, and",
    "every name starting with HOOKYARD_APPLY_. Files may come from a pull request; were any name",
    "filled, one could send ${env:AWS_SECRET_ACCESS_KEY} to its own URL. A name not allowed is",
    "a problem (also with a :-default) and nothing is applied. A value filled that way is never",
    "printed: output shows ${env:NAME} instead.",
    "Changes to URLs and secrets are named, their values not shown. What the server does not show",
    "back (endpoint secrets and headers, a source's config) is compared by a fingerprint (HMAC",
    "keyed with the API key) kept in the object's metadata under hookyard.apply.",
    "",
    "Options:",
    "  -f, --file <path>   The declarations: a YAML file or a directory of them",
    "  --dry-run           Print what would change; change nothing",
    "  --prune             Also delete what an earlier apply made (not what it adopted: objects",
    "                      made by other hands are never deleted) and the files no longer",
    "                      declare: sources, applications, endpoints, destinations; and empty",
    "                      rules apply uploaded if no file has any. Event types are never",
    "                      deleted (declare archived: true).",
    "  --allow-env <names> The variables ${env:…} may read: NAME or PREFIX*, comma-separated;",
    "                      repeatable [HOOKYARD_APPLY_ALLOW_ENV]. HOOKYARD_APPLY_* is allowed",
    "                      without it.",
    "  --server <url>      The server (default $HOOKYARD_SERVER_URL or http://127.0.0.1:8080)",
    "  --api-key <key>     API key (default $HOOKYARD_API_KEY)",
    "",
    "Rules are uploaded to the server and stored in its database (GET /api/v1/rules/source",
    "shows them); a server started with --rules reads its rules from files instead, and apply",
    "refuses to replace them.",
    "",
  ].join("\n");
}

export function renderBinHelp(): string {
  return [
    "Usage: hookyard bin create [<uid>] [--status <code>] [--body <text>] [--content-type <type>]",
    "                           [--delay <ms>] [--server <url>] [--api-key <key>]",
    "       hookyard bin list [--server <url>] [--api-key <key>]",
    "",
    "create makes a request bin: a URL that takes any method, path, query and body, records",
    "each request (newest 500 kept) and answers as told. It prints the URL alone on stdout, so",
    "URL=$(hookyard bin create) works; watch what arrives with hookyard tail <uid or id>.",
    "list prints each bin's uid (or id), URL and creation time, tab-separated.",
    "",
    "Options of create (the bin's answer; default 200 with the request's id):",
    "  --status <code>        Status to answer, 200-599",
    "  --body <text>          Body to answer",
    "  --content-type <type>  Content type of that body (default text/plain; charset=utf-8)",
    "  --delay <ms>           Wait before answering, up to 30000 (a slow receiver)",
    ...API_OPTIONS,
    "",
  ].join("\n");
}

export function renderStatsHelp(): string {
  return [
    "Usage: hookyard stats [options]",
    "",
    "Prints the rows and the size on disk (with indexes) of each table of the configured",
    "database: messages, deliveries, attempts, … Safe while servers run. On PostgreSQL the row",
    "counts are the planner's estimates once a table has been analysed.",
    "",
    `  ${CONFIG_FILE_SETTING.flag} <path>  ·  ${CONFIG_FILE_SETTING.env}`,
    ...CONFIG_KEYS.filter((key) => key.path === "database.url").flatMap(renderKey),
    "",
  ].join("\n");
}

export function renderServeHelp(): string {
  const lines = [
    "Usage: hookyard serve [options]",
    "",
    "Starts the Hookyard server. Every option below can also be set in hookyard.yaml (under its",
    "key) or in the environment (HOOKYARD_*; tracing: the standard OTEL_* names).",
    PRECEDENCE,
    "",
    `  ${CONFIG_FILE_SETTING.flag} <path>  ·  ${CONFIG_FILE_SETTING.env}`,
    `      ${CONFIG_FILE_SETTING.description}`,
  ];
  let section = "";
  for (const key of CONFIG_KEYS) {
    if (key.section !== section) {
      section = key.section;
      lines.push("", `${section}:`);
    }
    lines.push(...renderKey(key));
  }
  lines.push("", "  -h, --help  ·  Show this help.", "");
  return lines.join("\n");
}

function renderKey(key: ConfigKey): string[] {
  return [
    `  ${key.flag} ${placeholderOf(key)}  ·  ${key.env}  ·  ${key.path}`,
    `      ${key.description}`,
    `      Accepts ${describeExpected(key, "text")}. Default: ${renderDefault(key.default)}.`,
  ];
}

/** Defaults in the text form a flag or env var would take. */
export function renderDefault(value: unknown): string {
  if (value === null) return "none";
  if (Array.isArray(value)) return value.length === 0 ? "empty" : value.map(String).join(",");
  return JSON.stringify(value) ?? "none";
}
