import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * Tests that start `hookyard` as a real child process (crash test, CLI) run the compiled
 * dist/, so build it once before any test file runs. `tsc -b` is incremental: a no-op when
 * current. A failed build does not stop the run: the type errors are printed, and only the tests
 * that spawn the CLI fail (`npm run check` type-checks before it tests, so CI stops earlier).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL("../../../../", import.meta.url));
  const build = spawnSync("npx", ["tsc", "-b", "packages/hookyard"], {
    cwd: root,
    encoding: "utf8",
  });
  if (build.status !== 0) {
    process.stderr.write(
      `global setup: building packages/hookyard failed; CLI tests will fail\n${build.stdout}\n`,
    );
  }
}
