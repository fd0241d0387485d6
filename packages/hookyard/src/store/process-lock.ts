import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";

/**
 * The SQLite store is single-process by design (DESIGN "Scale-out"): on start it takes over the
 * delivery leases of a previous run at once, which is only safe if no other process uses the file.
 * A pid lock file beside the database enforces that; a lock left by a dead process is taken over.
 */
export class ProcessLockError extends Error {}

export function acquireProcessLock(path: string, pid: number): { release(): void } {
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(pid));
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
      if (Number.isInteger(holder) && holder !== pid && isAlive(holder)) {
        throw new ProcessLockError(
          `the database is in use by another Hookyard process (pid ${holder}, lock file ${path}); SQLite mode runs one process per database file`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new ProcessLockError(`could not take the lock file ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
