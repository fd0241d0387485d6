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

port.on("message", (message: ToWorker) => {
  if (message.type === "close") {
    void sender.close().then(() => {
      if (outbox.ids.length > 0) flush();
      port.close();
    });
    return;
  }
  for (const req of message.requests) {
    void sender.send(req).then((outcome) => {
      outbox.ids.push(req.id);
      outbox.outcomes.push(outcome);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  }
});
