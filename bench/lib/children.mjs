import { fork, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import net from "node:net";

/**
 * Every child process the benchmark starts, so that all of them are ended at the end of the run,
 * on error and on Ctrl-C. Children are ended by their own handle (never by name).
 */
export class ChildRegistry {
  #children = new Set();
  #dirs = new Set();

  /** A temp dir removed by `cleanupNow()` unless untracked first (e.g. --keep-temp). */
  trackDir(dir) {
    this.#dirs.add(dir);
  }

  untrackDir(dir) {
    this.#dirs.delete(dir);
  }

  fork(modulePath, args, options = {}) {
    const child = fork(modulePath, args, {
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      ...options,
    });
    return this.#track(child);
  }

  spawn(command, args, options = {}) {
    return this.#track(spawn(command, args, options));
  }

  #track(child) {
    this.#children.add(child);
    // e.g. a send on a closed IPC channel: the caller sees the failure, the run must not crash.
    child.on("error", (err) => process.stderr.write(`child ${child.pid}: ${err.message}\n`));
    child.once("exit", () => this.#children.delete(child));
    return child;
  }

  /** SIGTERM, then SIGKILL after `graceMs` if the child has not exited. */
  async stop(child, graceMs = 5000) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const result = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (result === "timeout") {
      child.kill("SIGKILL");
      await exited;
    }
  }

  async stopAll() {
    await Promise.all([...this.#children].map((child) => this.stop(child)));
  }

  /** Synchronous last resort for process 'exit': SIGKILL whatever still runs, remove temp dirs. */
  cleanupNow() {
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    for (const dir of this.#dirs) rmSync(dir, { recursive: true, force: true });
    this.#dirs.clear();
  }
}

/** A port that was free a moment ago on 127.0.0.1 (listen on 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether Redis answers PING on host:port within `timeoutMs`; resolves to a reason when not. */
export function probeRedis(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = "";
    const finish = (reason) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(
      () => finish(`no answer from ${host}:${port} within ${timeoutMs} ms`),
      timeoutMs,
    );
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) {
        finish(reply.startsWith("+PONG") ? null : `unexpected reply to PING: ${reply.trim()}`);
      }
    });
    socket.once("error", (err) =>
      finish(`cannot connect to ${host}:${port} (${err.code ?? err.message})`),
    );
  });
}

/** Resolves with the first message of `type` from `child`, or rejects on exit or timeout. */
export function nextMessage(child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const onMessage = (msg) => {
      if (msg && msg.type === type) {
        cleanup();
        resolve(msg);
      }
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`child exited (${signal ?? code}) before sending '${type}'`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no '${type}' message from child within ${timeoutMs} ms`));
    }, timeoutMs);
    function cleanup() {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    }
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/**
 * Polls `GET path` through `pool` every 100 ms until an answer's status passes `accept`, ≤
 * `timeoutMs`; fails at once if `child` (named `name` in errors) exits first.
 */
export async function waitForAnswer({ pool, child, name, path, accept = () => true, timeoutMs }) {
  const deadline = performance.now() + timeoutMs;
  let lastProblem = "no answer yet";
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${name} exited (${child.signalCode ?? child.exitCode}) before it answered`);
    try {
      const res = await pool.request({
        method: "GET",
        path,
        headersTimeout: 2_000,
        bodyTimeout: 2_000,
      });
      await res.body.dump();
      if (accept(res.statusCode)) return;
      lastProblem = `GET ${path} answered ${res.statusCode}`;
    } catch (err) {
      lastProblem = err instanceof Error ? err.message : String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not answer within ${timeoutMs} ms (${lastProblem})`);
}
