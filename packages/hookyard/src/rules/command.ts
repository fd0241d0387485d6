import { spawn } from "node:child_process";
import type { Clock } from "../clock.js";

export interface CommandSpec {
  argv: string[];
  cwd: string | null;
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
}

export interface CommandResult {
  exitCode: number | null;
  /** The signal that ended it (ours after the timeout: SIGTERM, then SIGKILL). */
  signal: string | null;
  timedOut: boolean;
  /** stdout and stderr, each cut at `maxOutputBytes` (then `truncated`). */
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs: number;
}

/** After the timeout's SIGTERM, this long before SIGKILL. */
const KILL_GRACE_MS = 2_000;

/**
 * Runs a program with an argument list, never through a shell: a value from an event (a branch
 * name, a commit message) is one argument, whatever characters it holds. The environment is the
 * server's PATH plus the variables the rule names, never the server's own (its secrets). A program that
 * cannot start is a failed result (exit code null, the reason in stderr), not an exception.
 */
export function runCommand(spec: CommandSpec, clock: Clock): Promise<CommandResult> {
  const started = clock.now();
  return new Promise((resolve) => {
    const [program, ...args] = spec.argv;
    const out = new Capture(spec.maxOutputBytes);
    const err = new Capture(spec.maxOutputBytes);
    let timedOut = false;
    let settled = false;
    const child = spawn(program!, args, {
      cwd: spec.cwd ?? undefined,
      env: {
        ...spec.env,
        // Last, so no rule changes where programs are found. Nothing else of the server's
        // environment (its API key, database URL, secrets) is passed on.
        // eslint-disable-next-line no-restricted-properties -- a command finds programs on the server's PATH
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      },
      stdio: ["ignore", "pipe", "pipe"],
      shell: false,
      detached: true, // its own process group: the timeout ends its children too
    });
    const kill = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    let killTimer: { cancel(): void } | null = null;
    const timer = clock.setTimer(spec.timeoutMs, () => {
      timedOut = true;
      kill("SIGTERM");
      killTimer = clock.setTimer(KILL_GRACE_MS, () => kill("SIGKILL"));
    });
    child.stdout.on("data", (chunk: Buffer) => out.add(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.add(chunk));
    const finish = (exitCode: number | null, signal: string | null, failure?: string) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      killTimer?.cancel();
      resolve({
        exitCode,
        signal,
        timedOut,
        stdout: out.text(),
        stderr: failure ?? err.text(),
        truncated: out.truncated || err.truncated,
        durationMs: clock.now() - started,
      });
    };
    child.on("error", (error: NodeJS.ErrnoException) =>
      finish(null, null, `cannot run ${program}: ${error.code ?? error.message}`),
    );
    child.on("close", (code, signal) => finish(code, signal));
  });
}

class Capture {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  truncated = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(chunk: Buffer): void {
    const room = this.#limit - this.#size;
    if (room <= 0) {
      this.truncated ||= chunk.length > 0;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.#chunks.push(kept);
    this.#size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString("utf8");
  }
}
