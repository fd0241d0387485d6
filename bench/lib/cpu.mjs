import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux builds in practice). */
const USER_HZ = 100;

/**
 * User + system CPU seconds used so far by process `pid` (Linux /proc; includes reaped children),
 * or NaN where /proc is not available. Resolution 10 ms: meant for phases of seconds.
 */
export function processCpuSeconds(pid) {
  const { self, children } = processCpuSplit(pid);
  return self + children;
}

/**
 * `processCpuSeconds(pid)` in its two parts: `self` = the process's own threads (utime + stime),
 * `children` = its children that it has waited for (cutime + cstime), e.g. the commands that
 * adnanh/webhook runs per request. Both NaN where /proc is not available.
 */
export function processCpuSplit(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which is parenthesised and may contain spaces).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime, stime, cutime, cstime are fields 14–17 of stat(5), i.e. 11–14 after the name.
    const ticks = (i) => Number(fields[i]);
    return {
      self: (ticks(11) + ticks(12)) / USER_HZ,
      children: (ticks(13) + ticks(14)) / USER_HZ,
    };
  } catch {
    return { self: Number.NaN, children: Number.NaN };
  }
}

/**
 * User + system CPU seconds used so far by every live process named `postgres` on this machine
 * (the postmaster, its background workers and the connection backends; a local server only).
 * Children's reaped time is left out so that backends are not counted twice. NaN without /proc.
 */
export function postgresCpuSeconds() {
  let ticks = 0;
  let entries;
  try {
    entries = readdirSync("/proc");
  } catch {
    return Number.NaN;
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "postgres") continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks / USER_HZ;
}

/** User + system CPU seconds of a Redis server from `INFO cpu`, via an ioredis client. */
export async function redisCpuSeconds(client) {
  try {
    const info = await client.info("cpu");
    const value = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1]);
    return value("used_cpu_user") + value("used_cpu_sys");
  } catch {
    return Number.NaN;
  }
}
