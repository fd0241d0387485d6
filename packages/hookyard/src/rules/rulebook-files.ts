import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { parseRulebookFiles, RulebookError, type Rulebook } from "./rulebook.js";
import { readYamlFiles, YamlReadError } from "./yaml-files.js";

/**
 * Reads a rulebook from a file or from every *.yaml / *.yml file of a directory (sorted by
 * name), checked as one: rule names are unique across the files, and a rule may use a notifier
 * another file declares. A file that cannot be read is a problem of the rulebook.
 */
export async function readRulebook(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Rulebook> {
  let files: Array<{ name: string; text: string }>;
  try {
    files = await readYamlFiles(path);
  } catch (err) {
    if (!(err instanceof YamlReadError)) throw err;
    throw new RulebookError([{ file: err.path, line: 1, field: "", message: err.message }]);
  }
  const book = parseRulebookFiles(files, env);
  for (const rule of book.rules) {
    rule.dir = dirname(rule.file);
    rule.origin = "file";
  }
  return book;
}

/**
 * Calls `onChange` (debounced) when the rulebook's files change. It watches the directory, not
 * the files: an editor or `git pull` replaces a file (unlink, then create), which a watch on the
 * file itself would lose for good.
 */
export function watchRulebook(
  path: string,
  isDirectory: boolean,
  onChange: () => void,
  setTimer: (ms: number, fn: () => void) => { cancel(): void },
): { close(): void } {
  const dir = isDirectory ? path : dirname(path);
  const only = isDirectory ? null : basename(path);
  let pending: { cancel(): void } | null = null;
  let watcher: FSWatcher | null = watch(dir, (_event, file) => {
    if (only !== null && file !== null && file !== only) return;
    if (isDirectory && file !== null && !/\.ya?ml$/.test(file)) return;
    pending?.cancel();
    pending = setTimer(200, () => {
      pending = null;
      onChange();
    });
  });
  watcher.unref();
  return {
    close() {
      pending?.cancel();
      watcher?.close();
      watcher = null;
    },
  };
}
