import type { CliIo } from "../../src/cli/cli-io.js";

/** An in-process CLI whose output is recorded and which stops when `stop()` is called. */
export function recordingIo() {
  const out: string[] = [];
  const err: string[] = [];
  let stop: (signal: string) => void = () => undefined;
  const signalled = new Promise<string>((resolve) => (stop = resolve));
  const io: CliIo = {
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    env: {},
    cwd: process.cwd(),
    waitForShutdownSignal: () => signalled,
    exit: (code) => {
      throw new Error(`unexpected exit(${code})`);
    },
  };
  return { io, stop: () => stop("SIGINT"), stdout: () => out.join(""), stderr: () => err.join("") };
}
