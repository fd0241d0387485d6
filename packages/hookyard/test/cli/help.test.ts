import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import type { CliIo } from "../../src/cli/cli-io.js";
import { renderDefault, renderServeHelp } from "../../src/cli/help.js";
import { runCli } from "../../src/cli/main.js";
import { CONFIG_KEYS } from "../../src/config/keys.js";

interface Recorded {
  io: CliIo;
  stdout: () => string;
  stderr: () => string;
}

/** An in-process CLI whose output is recorded; it runs in an empty temp dir with no HOOKYARD_* env. */
function recordedIo(env: Record<string, string> = {}): Recorded {
  const cwd = mkdtempSync(join(tmpdir(), "hookyard-cli-"));
  onTestFinished(() => rmSync(cwd, { recursive: true, force: true }));
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    env,
    cwd,
    waitForShutdownSignal: () => Promise.reject(new Error("these tests never start a server")),
    exit: (code) => {
      throw new Error(`unexpected exit(${code})`);
    },
  };
  return { io, stdout: () => out.join(""), stderr: () => err.join("") };
}

async function run(argv: string[], env: Record<string, string> = {}) {
  const recorded = recordedIo(env);
  const code = await runCli(argv, recorded.io);
  return { code, stdout: recorded.stdout(), stderr: recorded.stderr() };
}

describe("hookyard serve --help", () => {
  it("lists every config option with its flag, env var, key path and default", async () => {
    const { code, stdout } = await run(["serve", "--help"]);
    expect(code).toBe(0);
    for (const key of CONFIG_KEYS) {
      const line = `${key.flag} `;
      expect(stdout, `flag of ${key.path}`).toContain(line);
      expect(stdout, `env var of ${key.path}`).toContain(key.env);
      expect(stdout, `key path of ${key.path}`).toContain(key.path);
      expect(stdout, `description of ${key.path}`).toContain(key.description);
      expect(stdout, `default of ${key.path}`).toContain(`Default: ${renderDefault(key.default)}.`);
    }
    expect(stdout).toContain("--config <path>");
    expect(stdout).toContain("HOOKYARD_CONFIG");
  });

  it("shows defaults in the form a flag takes", () => {
    const help = renderServeHelp();
    expect(help).toContain("Default: 5,300,1800,7200,18000,36000,36000.");
    expect(help).toContain('Default: "0.0.0.0".');
    expect(help).toContain("Accepts an integer 0–65535. Default: 8080.");
  });

  it("is also what `hookyard help serve` prints", async () => {
    const { code, stdout } = await run(["help", "serve"]);
    expect(code).toBe(0);
    expect(stdout).toBe(renderServeHelp());
  });
});

describe("hookyard --help", () => {
  it("lists the commands and the global options", async () => {
    for (const argv of [["--help"], ["help"], ["-h"]]) {
      const { code, stdout } = await run(argv);
      expect(code, argv.join(" ")).toBe(0);
      for (const text of ["serve", "version", "help", "--config <path>", "--help", "--version"]) {
        expect(stdout, `${argv.join(" ")} mentions ${text}`).toContain(text);
      }
    }
  });

  it("prints the usage to stderr and exits 2 when no command is given", async () => {
    const { code, stdout, stderr } = await run([]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("Usage: hookyard <command>");
  });
});

describe("hookyard version", () => {
  it("prints the package version", async () => {
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    for (const argv of [["version"], ["--version"], ["-v"]]) {
      const { code, stdout } = await run(argv);
      expect({ code, stdout }, argv.join(" ")).toEqual({ code: 0, stdout: `${pkg.version}\n` });
    }
  });
});

describe("wrong usage", () => {
  it("refuses an unknown flag with one line, a suggestion and a hint, exit code 2", async () => {
    const { code, stdout, stderr } = await run(["serve", "--prot", "80"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      'hookyard: unknown option --prot (did you mean --port?)\nRun "hookyard serve --help" for usage.\n',
    );
  });

  it("refuses an unknown command with exit code 2", async () => {
    const { code, stderr } = await run(["sevre"]);
    expect(code).toBe(2);
    expect(stderr).toBe('hookyard: unknown command "sevre"\nRun "hookyard help" for usage.\n');
  });

  it("refuses a flag without its value with exit code 2", async () => {
    const { code, stderr } = await run(["serve", "--port"]);
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toMatch(/^hookyard: option '--port <value>' argument missing/);
  });

  it("refuses a stray argument after serve with exit code 2", async () => {
    const { code, stderr } = await run(["serve", "now"]);
    expect(code).toBe(2);
    expect(stderr).toContain('unexpected argument "now"');
  });
});

describe("invalid configuration", () => {
  it("prints the config error on one line without a stack and exits 1", async () => {
    const { code, stdout, stderr } = await run(["serve", "--port", "abc"]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      'hookyard: invalid --port (flag): expected an integer 0–65535, got "abc"\n',
    );
  });

  it("names the env var when the environment is wrong", async () => {
    const { code, stderr } = await run(["serve"], { HOOKYARD_LOG_LEVEL: "loud" });
    expect(code).toBe(1);
    expect(stderr).toBe(
      'hookyard: invalid HOOKYARD_LOG_LEVEL (env): expected one of fatal, error, warn, info, debug, trace, silent, got "loud"\n',
    );
  });

  it("refuses a --config file that does not exist", async () => {
    const { code, stderr } = await run(["serve", "--config", "nope.yaml"]);
    expect(code).toBe(1);
    expect(stderr).toBe("hookyard: config file not found: nope.yaml (named by --config)\n");
  });
});

describe("hookyard help rules", () => {
  it("says where command rules may come from, how a host opts in, and the risk", async () => {
    const { code, stdout } = await run(["help", "rules"]);
    expect(code).toBe(0);
    expect(stdout).toContain(
      "accepts it only\nfrom rulebook files on its own disk (--rules / HOOKYARD_RULES)",
    );
    expect(stdout).toContain(
      "rules.allowRunFromApi: true and the program's absolute path\nin rules.allowedCommands",
    );
    expect(stdout).toMatch(/Risk: anyone with an API key can then start those programs/);
  });
});
