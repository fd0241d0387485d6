/**
 * Everything a CLI command touches outside itself. `main()` passes the real process; tests pass
 * recorders, so commands run in-process without spawning.
 */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Resolves with the signal name (SIGINT, SIGTERM) that asks a running server to stop. */
  waitForShutdownSignal(): Promise<string>;
  /** Ends the process after a server stopped, even if a stray handle would keep it alive. */
  exit(code: number): void;
}

/** The real process. A second shutdown signal while closing ends the process at once. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    waitForShutdownSignal: () =>
      new Promise((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          const force = (again: NodeJS.Signals) => {
            process.stderr.write(
              `hookyard: ${again} received again, exiting without a clean close\n`,
            );
            process.exit(1);
          };
          process.once("SIGINT", force);
          process.once("SIGTERM", force);
          resolve(signal);
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
      }),
    exit: (code) => process.exit(code),
  };
}
