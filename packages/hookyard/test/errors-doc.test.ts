import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The members of the `ErrorCode` union, read from the source: the type is erased at runtime. */
function errorCodesInSource(): string[] {
  const source = readFileSync(`${REPO_ROOT}packages/hookyard/src/errors.ts`, "utf8");
  const union = /export type ErrorCode =([^;]+);/.exec(source)?.[1];
  if (union === undefined) throw new Error("src/errors.ts: no `export type ErrorCode = ...;`");
  return [...union.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]!).sort();
}

/** Rows of the docs table: `` | `code` | status | when | ``. */
function documentedCodes(): Map<string, number> {
  const doc = readFileSync(`${REPO_ROOT}docs/errors.md`, "utf8");
  const rows = new Map<string, number>();
  for (const match of doc.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|\s*\S.*\|\s*$/gm)) {
    rows.set(match[1]!, Number(match[2]));
  }
  return rows;
}

describe("docs/errors.md", () => {
  it("documents every ErrorCode of src/errors.ts", () => {
    const documented = documentedCodes();
    const undocumented = errorCodesInSource().filter((code) => !documented.has(code));
    expect(undocumented, "codes missing from docs/errors.md").toEqual([]);
  });

  it("documents no code that src/errors.ts does not declare", () => {
    const declared = new Set(errorCodesInSource());
    const stale = [...documentedCodes().keys()].filter((code) => !declared.has(code));
    expect(stale, "codes in docs/errors.md but not in ErrorCode").toEqual([]);
  });

  it("gives each code a 4xx or 5xx status, with Svix's statuses for the shared codes", () => {
    const documented = documentedCodes();
    for (const [code, status] of documented) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
    }
    expect(Object.fromEntries(documented)).toMatchObject({
      not_found: 404,
      conflict: 409,
      validation: 422,
      authentication_failed: 401,
      payload_too_large: 413,
    });
  });
});
