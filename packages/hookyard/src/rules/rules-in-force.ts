import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { SystemClock, type Clock, type Timer } from "../clock.js";
import { ConflictError, ValidationError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { Automation } from "./automation.js";
import { readRulebook, watchRulebook } from "./rulebook-files.js";
import { formatProblem, parseRulebookFiles, RulebookError, type Rulebook } from "./rulebook.js";
import {
  disableRefusedRules,
  escapingPath,
  NO_RUN_FROM_UPLOADS,
  runPolicyProblems,
  type RunPolicy,
} from "./run-policy.js";

/** A rulebook file as uploaded: its name (for messages) and its YAML text. */
export interface RulebookFile {
  name: string;
  text: string;
}

/** Where the rules in force come from. */
export interface RulesOrigin {
  /** files: the configured rules path; api: uploaded (stored in the database); none: neither. */
  origin: "files" | "api" | "none";
  path: string | null;
  /** The uploaded files (api only). */
  files: RulebookFile[];
  /** The uploader's fingerprint of the upload (api only): lets `hookyard apply` see a change. */
  fingerprint: string | null;
}

export interface RulesInForce {
  /**
   * Replaces the rules with uploaded files (the API's PUT). `env` fills their `${env:NAME}`
   * (the server's own environment does not). An invalid rulebook is a ValidationError listing
   * every problem; the rules in force stay. The upload is stored, so it outlives a restart and
   * reaches every process on the database. Refused (409) when the rules come from files.
   */
  replace(
    files: RulebookFile[],
    env: Record<string, string>,
    fingerprint?: string | null,
  ): Promise<Rulebook>;
  origin(): RulesOrigin;
  close(): Promise<void>;
}

/**
 * The settings key of the uploaded rulebook (JSON of StoredRulebook): one write, so a reader
 * never sees files of one upload with the digest of another.
 */
const STORED_KEY = "rules.uploaded";
/** How often a process on a shared database looks for another process's upload. */
const POLL_MS = 2_000;

interface StoredRulebook {
  files: RulebookFile[];
  env: Record<string, string>;
  /** rulebookDigest of files and env: internal, never shown (it covers the env's values). */
  digest: string;
  /** What the uploader said identifies this upload (`hookyard apply`'s keyed fingerprint). */
  fingerprint: string | null;
}

/** The digest of an upload (files and variables): how processes see a new one. Never shown. */
export function rulebookDigest(
  files: readonly RulebookFile[],
  env: Record<string, string>,
): string {
  const sortedEnv = Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash("sha256")
    .update(JSON.stringify({ files: files.map((f) => [f.name, f.text]), env: sortedEnv }))
    .digest("hex");
}

/**
 * Loads the rules into `automation`. With a rules path, its files are the rules (an invalid one
 * stops the start, with every problem) and are reloaded when they change: a change that does not
 * check is refused and logged, and the last good rules stay in force (adnanh/webhook#499: a
 * reload must never leave a server with no rules). Without one, the rules are the last upload
 * stored in the database; on a shared (PostgreSQL) database each process polls for a newer one.
 */
export async function startRules(
  path: string | null,
  automation: Automation,
  deps: {
    store: Pick<Store, "getSetting" | "setSetting" | "kind">;
    clock: Clock;
    logger: Logger;
    cwd: string;
    env?: Readonly<Record<string, string | undefined>>;
    /** Which programs an uploaded rulebook may start (default: none). */
    runPolicy?: RunPolicy;
  },
): Promise<RulesInForce> {
  const { store, clock, logger } = deps;
  // eslint-disable-next-line no-restricted-properties -- rulebooks fill ${env:NAME} from the environment by design: secrets stay out of the files
  const serverEnv = deps.env ?? process.env;
  const full = path === null ? null : resolve(deps.cwd, path);
  let watcher: { close(): void } | null = null;
  let uploaded: StoredRulebook | null = null;
  let poll: Timer | null = null;
  let closed = false;

  // An upload fills ${env:NAME} from the env it came with, never from the server's own
  // environment: the API must not be a way to read the server's variables.
  const parse = (stored: StoredRulebook): Rulebook => parseRulebookFiles(stored.files, stored.env);
  const runPolicy = deps.runPolicy ?? NO_RUN_FROM_UPLOADS;

  if (full !== null) {
    const book = await readRulebook(full, serverEnv);
    automation.load(book);
    logger.info({ rules: book.rules.length, files: book.files.length }, "rules loaded");
    const isDirectory = (await stat(full)).isDirectory();
    watcher = watchRulebook(
      full,
      isDirectory,
      () => {
        readRulebook(full, serverEnv).then(
          (next) => {
            automation.load(next);
            logger.info({ rules: next.rules.length }, "rules reloaded");
          },
          (err: unknown) => {
            const problems =
              err instanceof RulebookError ? err.problems.map(formatProblem) : [String(err)];
            logger.error(
              { problems },
              "rules not reloaded: the changed rulebook has problems; the last good rules stay in force",
            );
          },
        );
      },
      (ms, fn) => clock.setTimer(ms, fn),
    );
  } else {
    const adopt = async (): Promise<void> => {
      const text = await store.getSetting(STORED_KEY);
      if (text === null) return;
      const stored = JSON.parse(text) as StoredRulebook;
      if (stored.digest === uploaded?.digest) return;
      try {
        const book = parse(stored);
        // An upload stored before the run policy (or under a wider one) may hold run actions
        // the host no longer allows: those rules stay listed, disabled, and never run.
        const disabled = disableRefusedRules(book.rules, runPolicy);
        if (disabled.length > 0) {
          logger.warn(
            { rules: disabled },
            `uploaded rules not run: ${disabled.join(", ")} start programs the host's run policy does not allow (rules.allowRunFromApi, rules.allowedCommands); GET /api/v1/rules says why`,
          );
        }
        automation.load(book);
        logger.info({ rules: automation.rulebook.rules.length }, "uploaded rules loaded");
      } catch (err) {
        // Checked when uploaded; what fails now is the environment (a variable gone).
        const problems =
          err instanceof RulebookError ? err.problems.map(formatProblem) : [String(err)];
        logger.error({ problems }, "the uploaded rules cannot be loaded; no rules are in force");
      }
      uploaded = stored;
    };
    await adopt();
    if (store.kind === "postgres") {
      // Wall-clock housekeeping, not domain time: under a test's fake clock that skips days, a
      // poll on the injected clock would run once per 2 s skipped.
      const wall = new SystemClock();
      const tick = (): void => {
        adopt()
          .catch((err: unknown) => logger.warn({ err }, "rules: looking for an upload failed"))
          .finally(() => {
            if (!closed) poll = wall.setTimer(POLL_MS, tick);
          });
      };
      poll = wall.setTimer(POLL_MS, tick);
    }
  }

  return {
    async replace(files, env, fingerprint = null) {
      if (full !== null) {
        throw new ConflictError(
          `the rules come from files (${full}); change those files, or start the server without a rules path to manage rules through the API`,
        );
      }
      const stored: StoredRulebook = {
        files,
        env,
        digest: rulebookDigest(files, env),
        fingerprint,
      };
      let book: Rulebook;
      try {
        const names = files.flatMap((file, i) => {
          const why = escapingPath(file.name);
          return why === null
            ? []
            : [{ file: `files[${i}]`, line: 1, field: "name", message: `"${file.name}" ${why}` }];
        });
        if (names.length > 0) throw new RulebookError(names);
        book = parse(stored);
        const refused = runPolicyProblems(book.rules, runPolicy);
        if (refused.length > 0) throw new RulebookError(refused);
      } catch (err) {
        if (!(err instanceof RulebookError)) throw err;
        const many = files.length > 1;
        throw new ValidationError(
          err.problems.map((p) => ({
            loc: ["body", ...(many ? [p.file] : []), ...(p.field === "" ? [] : [p.field])],
            msg: `line ${p.line}: ${p.message}`,
            type: "value_error.rulebook",
          })),
        );
      }
      // Stored before it is in force: a rulebook in force is one a restart brings back.
      await store.setSetting(STORED_KEY, JSON.stringify(stored));
      uploaded = stored;
      automation.load(book);
      logger.info({ rules: book.rules.length }, "rules replaced through the API");
      return book;
    },
    origin() {
      if (full !== null) return { origin: "files", path: full, files: [], fingerprint: null };
      if (uploaded === null) return { origin: "none", path: null, files: [], fingerprint: null };
      return {
        origin: "api",
        path: null,
        files: uploaded.files,
        fingerprint: uploaded.fingerprint ?? null,
      };
    },
    async close() {
      closed = true;
      poll?.cancel();
      watcher?.close();
      await automation.close();
    },
  };
}
