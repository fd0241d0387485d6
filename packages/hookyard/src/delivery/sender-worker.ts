import { parentPort, workerData } from "node:worker_threads";
import { HttpSender } from "./http-sender.js";
import { parseCidrList } from "./ssrf-guard.js";
import type { SenderWorkerData, ToMain, ToWorker } from "./sender-thread.js";

/**
 * The entry of the sending thread (see sender-thread.ts): an `HttpSender` that takes batches of
 * requests from the main thread and answers with batches of outcomes, one message per event-loop
 * turn in each direction.
 */
if (parentPort === null) throw new Error("sender-worker.js runs only as a worker thread");
const port = parentPort;

const data = workerData as SenderWorkerData;
const sender = new HttpSender({
  allow: parseCidrList(data.egressAllow),
  timeoutMs: data.timeoutMs,
  connectionsPerOrigin: data.connectionsPerOrigin,
  maxResponseBodyBytes: data.maxResponseBodyBytes,
});

let outbox: ToMain = { ids: [], outcomes: [] };
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  const batch = outbox;
  outbox = { ids: [], outcomes: [] };
  port.postMessage(batch);
}

/** Sends in flight, so close can hand back their outcomes before the port closes. */
const inFlight = new Set<Promise<void>>();

port.on("message", (message: ToWorker) => {
  if (message.type === "close") {
    // Closing the pools fails the sends in flight; their outcomes still go back.
    void sender
      .close()
      .then(() => Promise.allSettled(inFlight))
      .then(() => {
        if (outbox.ids.length > 0) flush();
        port.close();
      });
    return;
  }
  for (const req of message.requests) {
    const sending = sender.send(req).then((outcome) => {
      outbox.ids.push(req.id);
      outbox.outcomes.push(outcome);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
  }
});
