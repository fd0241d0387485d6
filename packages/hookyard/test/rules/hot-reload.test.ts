import { mkdtemp, rename, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { SystemClock } from "../../src/clock.js";
import { TimeSortableIds } from "../../src/ids.js";
import { createLogger } from "../../src/observability/logger.js";
import { Automation } from "../../src/rules/automation.js";
import { startRules } from "../../src/rules/rules-in-force.js";
import { RecordingEgress } from "../helpers/automation-harness.js";
import { openTempSqliteStore } from "../helpers/temp-sqlite.js";

// The files of a rules path are watched on the real file system: edits, a file replaced the way
// editors and `git pull` do it (unlink, then create; or rename over), a new file, a broken one.

const rule = (name: string) =>
  `rules:\n  - name: ${name}\n    sources: [hooks]\n    actions:\n      - log: hi\n`;

async function rulesAt(path: string) {
  const clock = new SystemClock();
  const store = await openTempSqliteStore();
  const logged: string[] = [];
  const logger = createLogger({
    level: "info",
    destination: { write: (line: string) => logged.push(line) },
  });
  const automation = new Automation({
    store,
    clock,
    ids: new TimeSortableIds({ now: () => clock.now() }),
    logger,
    owner: "test",
    egress: new RecordingEgress(),
  });
  const rules = await startRules(path, automation, { store, clock, logger, cwd: "/", env: {} });
  onTestFinished(() => rules.close());
  const names = () => automation.rulebook.rules.map((r) => r.name).sort();
  const settlesTo = (expected: string[]) =>
    vi.waitFor(() => expect(names()).toEqual(expected), { timeout: 5_000, interval: 25 });
  return { names, settlesTo, logged };
}

describe("rules from files, reloaded as they change", () => {
  it("follows edits, replaced files, new files, and keeps the last good rules", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hookyard-reload-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, "a.yaml"), rule("one"));
    const r = await rulesAt(dir);
    expect(r.names()).toEqual(["one"]);

    await writeFile(join(dir, "a.yaml"), rule("two"));
    await r.settlesTo(["two"]);

    // An editor's save: the file is removed, then written anew.
    await unlink(join(dir, "a.yaml"));
    await writeFile(join(dir, "a.yaml"), rule("three"));
    await r.settlesTo(["three"]);

    // git checkout: a new file renamed over the old one.
    await writeFile(join(dir, ".a.yaml.tmp"), rule("four"));
    await rename(join(dir, ".a.yaml.tmp"), join(dir, "a.yaml"));
    await r.settlesTo(["four"]);

    await writeFile(join(dir, "b.yml"), rule("five"));
    await r.settlesTo(["five", "four"]);

    // A broken change is refused with its line; the rules in force stay.
    await writeFile(join(dir, "b.yml"), "rules:\n  - name: five\n    sorces: [hooks]\n");
    await vi.waitFor(() => expect(r.logged.join("")).toContain("rules not reloaded"), {
      timeout: 5_000,
    });
    expect(r.logged.join("")).toContain("b.yml:3: rules[0].sorces: unknown key");
    expect(r.names()).toEqual(["five", "four"]);

    await unlink(join(dir, "b.yml"));
    await r.settlesTo(["four"]);
  });

  it("follows a single file replaced in its directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hookyard-reload-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "rules.yaml");
    await writeFile(file, rule("one"));
    const r = await rulesAt(file);
    await writeFile(join(dir, "other.yaml"), rule("ignored"));
    await unlink(file);
    await writeFile(file, rule("two"));
    await r.settlesTo(["two"]);
  });
});
