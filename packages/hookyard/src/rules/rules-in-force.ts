import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import { ValidationError } from "../errors.js";
import type { Automation } from "./automation.js";
import { readRulebook, watchRulebook } from "./rulebook-files.js";
import { formatProblem, parseRulebookFiles, RulebookError, type Rulebook } from "./rulebook.js";

export interface RulesInForce {
  /**
   * Replaces the rules with a rulebook given as YAML text (the API's upload). An invalid one is
   * a ValidationError listing every problem; the rules in force stay.
   */
  reload(text: string): Rulebook;
  close(): Promise<void>;
}

/**
 * Loads the configured rulebook into `automation` (an invalid one stops the start, with every
 * problem) and reloads it when its files change: a change that does not check is refused and
 * logged, and the last good rules stay in force (adnanh/webhook#499: a reload must never leave
 * a server with no rules).
 */
export async function startRules(
  path: string | null,
  automation: Automation,
  deps: {
    clock: Clock;
    logger: Logger;
    cwd: string;
    env?: Readonly<Record<string, string | undefined>>;
  },
): Promise<RulesInForce> {
  // eslint-disable-next-line no-restricted-properties -- rulebooks fill ${env:NAME} from the environment by design: secrets stay out of the files
  const env = deps.env ?? process.env;
  let watcher: { close(): void } | null = null;
  if (path !== null) {
    const full = resolve(deps.cwd, path);
    const book = await readRulebook(full, env);
    automation.load(book);
    deps.logger.info({ rules: book.rules.length, files: book.files.length }, "rules loaded");
    const isDirectory = (await stat(full)).isDirectory();
    watcher = watchRulebook(
      full,
      isDirectory,
      () => {
        readRulebook(full, env).then(
          (next) => {
            automation.load(next);
            deps.logger.info({ rules: next.rules.length }, "rules reloaded");
          },
          (err: unknown) => {
            const problems =
              err instanceof RulebookError ? err.problems.map(formatProblem) : [String(err)];
            deps.logger.error(
              { problems },
              "rules not reloaded: the changed rulebook has problems; the last good rules stay in force",
            );
          },
        );
      },
      (ms, fn) => deps.clock.setTimer(ms, fn),
    );
  }
  return {
    reload(text) {
      let book: Rulebook;
      try {
        book = parseRulebookFiles([{ name: "(api)", text }], env);
      } catch (err) {
        if (!(err instanceof RulebookError)) throw err;
        throw new ValidationError(
          err.problems.map((p) => ({
            loc: ["body", ...(p.field === "" ? [] : [p.field])],
            msg: `line ${p.line}: ${p.message}`,
            type: "value_error.rulebook",
          })),
        );
      }
      automation.load(book);
      deps.logger.info({ rules: book.rules.length }, "rules replaced through the API");
      return book;
    },
    async close() {
      watcher?.close();
      await automation.close();
    },
  };
}
