import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, parseDocument, type Document } from "yaml";

/** A path into a YAML document: map keys and list indexes. */
export type YamlPath = Array<string | number>;

/**
 * One YAML text parsed for checking, as rulebooks and `hookyard apply` files are: its value, its
 * first syntax error (the ones after it are mostly its echoes), and the line each path starts on,
 * so that a problem names where it is.
 */
export class YamlText {
  readonly value: unknown;
  readonly syntaxError: { line: number; message: string } | null;
  readonly #doc: Document | null;
  readonly #lines = new LineCounter();

  constructor(text: string) {
    const doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false });
    const [first] = doc.errors;
    if (first !== undefined) {
      this.syntaxError = {
        line: this.#lines.linePos(first.pos[0]).line,
        message: first.message.split("\n")[0]!,
      };
      this.#doc = null;
      this.value = undefined;
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    } catch (err) {
      // Too many aliases (a "billion laughs" document) and the like: a problem, not a crash.
      this.syntaxError = { line: 1, message: (err as Error).message.split("\n")[0]! };
      this.#doc = null;
      this.value = undefined;
      return;
    }
    this.syntaxError = null;
    this.#doc = doc;
    this.value = value;
  }

  /** The line `path`'s value starts on (or its nearest ancestor's); 1 when nothing is known. */
  lineOf(path: YamlPath): number {
    if (this.#doc === null) return 1;
    for (let n = path.length; n >= 0; n--) {
      const node = this.#doc.getIn(path.slice(0, n), true) as { range?: [number, number] } | null;
      if (node?.range !== undefined) return this.#lines.linePos(node.range[0]).line;
    }
    return 1;
  }

  /** The line of the key `path` ends with (a block value starts on the line after it). */
  keyLineOf(path: YamlPath): number {
    const parent = this.#doc?.getIn(path.slice(0, -1), true) as
      { items?: Array<{ key?: { value?: unknown; range?: [number, number] } }> } | undefined;
    const key = parent?.items?.find((pair) => pair.key?.value === path.at(-1))?.key;
    return key?.range === undefined ? this.lineOf(path) : this.#lines.linePos(key.range[0]).line;
  }
}

/** `rules[2].actions[0].run`: a path as problems name it. */
export function fieldName(path: YamlPath): string {
  return path
    .map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`))
    .join("")
    .replace(/^\./, "");
}

/**
 * The texts of a YAML file, or of every *.yaml / *.yml of a directory (sorted by name, dot files
 * left out). A path that cannot be read throws a YamlReadError naming it and why.
 */
export async function readYamlFiles(path: string): Promise<Array<{ name: string; text: string }>> {
  let names: string[];
  try {
    const info = await stat(path);
    names = info.isDirectory()
      ? (await readdir(path))
          .filter((name) => /\.ya?ml$/.test(name) && !name.startsWith("."))
          .sort()
          .map((name) => join(path, name))
      : [path];
  } catch (err) {
    throw new YamlReadError(path, (err as NodeJS.ErrnoException).code ?? String(err));
  }
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(name, "utf8") })));
}

export class YamlReadError extends Error {
  readonly path: string;

  constructor(path: string, why: string) {
    super(`cannot read: ${why}`);
    this.path = path;
  }
}
