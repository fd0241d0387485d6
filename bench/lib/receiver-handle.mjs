import { fileURLToPath } from "node:url";
import { nextMessage } from "./children.mjs";
import { wallNow } from "./clock.mjs";

const RECEIVER = fileURLToPath(new URL("./receiver.mjs", import.meta.url));

/**
 * Parent side of a receiver child (receiver.mjs). `mode` is "plain" or "record".
 * Returns { url, port, expect, reset, report, clockOffset, stop }.
 */
export async function startReceiver(registry, mode) {
  const child = registry.fork(RECEIVER, [mode]);
  const { port } = await nextMessage(child, "listening", 10_000);
  let nextReqId = 1;

  function ask(message, replyType, timeoutMs) {
    const reqId = nextReqId++;
    return new Promise((resolve, reject) => {
      const onMessage = (msg) => {
        if (msg?.type === replyType && msg.reqId === reqId) {
          cleanup();
          resolve(msg);
        }
      };
      const onExit = (code, signal) => {
        cleanup();
        reject(new Error(`receiver exited (${signal ?? code})`));
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(null);
      }, timeoutMs);
      function cleanup() {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
      }
      child.on("message", onMessage);
      child.once("exit", onExit);
      child.send({ ...message, reqId }, (err) => {
        if (err) {
          cleanup();
          reject(new Error(`cannot reach the receiver: ${err.message}`));
        }
      });
    });
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    /** Resolves { count, at } once `n` distinct messages arrived, or null after `timeoutMs`. */
    expect: (n, timeoutMs) => ask({ type: "expect", n }, "reached", timeoutMs),
    reset: async () => {
      const reply = await ask({ type: "reset" }, "reset", 10_000);
      if (reply === null) throw new Error("receiver did not confirm reset");
    },
    report: async (withIds = false) => {
      const reply = await ask({ type: "report", withIds }, "report", 30_000);
      if (reply === null) throw new Error("receiver did not send its report");
      return reply;
    },
    /**
     * Receiver clock minus this process's clock (ms), from the IPC ping with the smallest round
     * trip out of `samples`; `uncertaintyMs` is half that round trip.
     */
    clockOffset: async (samples = 30) => {
      let best = null;
      for (let i = 0; i < samples; i++) {
        const t0 = wallNow();
        const reply = await ask({ type: "clock" }, "clock", 5_000);
        const t1 = wallNow();
        if (reply === null) continue;
        const rtt = t1 - t0;
        if (best === null || rtt < best.rtt) best = { rtt, offset: reply.now - (t0 + t1) / 2 };
      }
      return best === null ? null : { offsetMs: best.offset, uncertaintyMs: best.rtt / 2 };
    },
    stop: () => registry.stop(child),
  };
}
