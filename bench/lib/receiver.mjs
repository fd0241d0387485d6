// The webhook receiver, run as a CHILD process so it does not share an event loop with the load
// generator. Answers every request 200 with an empty body after reading the request body.
//
//   node receiver.mjs plain    just answer (the ceiling phases)
//   node receiver.mjs record   also record each delivery by its `x-bench-id` (inbound phase) or
//                              `webhook-id` header: first
//                              arrival time, duplicates, and latency = arrival − payload.sentAt
//
// Talks to the parent over IPC (see receiver-handle.mjs): 'listening' once bound; answers
// 'expect' (reply when this many distinct messages have arrived), 'reset', 'report', 'clock'.
import http from "node:http";
import { wallNow } from "./clock.mjs";

const mode = process.argv[2] === "record" ? "record" : "plain";

let seen = new Set();
let ids = [];
let latencies = [];
let duplicates = 0;
let withoutId = 0;
let withoutSentAt = 0;
let firstAt = Number.NaN;
let lastAt = Number.NaN;
let waiting = null; // { reqId, n }

function reset() {
  seen = new Set();
  ids = [];
  latencies = [];
  duplicates = 0;
  withoutId = 0;
  withoutSentAt = 0;
  firstAt = Number.NaN;
  lastAt = Number.NaN;
  waiting = null;
}

/** `sentAt` from the JSON body without parsing all of it (it is the payload's first field). */
function sentAtOf(body) {
  const at = body.indexOf('"sentAt":');
  if (at >= 0) {
    const value = Number.parseFloat(body.slice(at + 9, at + 40));
    if (Number.isFinite(value)) return value;
  }
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed.sentAt === "number") return parsed.sentAt;
  } catch {
    // Not JSON: counted below as a delivery without sentAt.
  }
  return Number.NaN;
}

function record(id, body, arrivedAt) {
  if (typeof id !== "string" || id === "") {
    withoutId++;
    return;
  }
  if (seen.has(id)) {
    duplicates++;
    return;
  }
  seen.add(id);
  ids.push(id);
  const sentAt = sentAtOf(body);
  if (Number.isFinite(sentAt)) latencies.push(arrivedAt - sentAt);
  else withoutSentAt++;
  if (Number.isNaN(firstAt)) firstAt = arrivedAt;
  lastAt = arrivedAt;
  if (waiting !== null && seen.size >= waiting.n) {
    process.send({ type: "reached", reqId: waiting.reqId, count: seen.size, at: lastAt });
    waiting = null;
  }
}

const server = http.createServer((req, res) => {
  if (mode === "plain") {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-length": "0" });
      res.end();
    });
    return;
  }
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => {
    body += chunk;
  });
  req.on("end", () => {
    const arrivedAt = wallNow();
    res.writeHead(200, { "content-length": "0" });
    res.end();
    // The inbound phase tags each request it sends: the forward keeps the sender's headers.
    record(req.headers["x-bench-id"] ?? req.headers["webhook-id"], body, arrivedAt);
  });
});
server.keepAliveTimeout = 60_000;

process.on("message", (msg) => {
  switch (msg?.type) {
    case "expect":
      if (seen.size >= msg.n)
        process.send({ type: "reached", reqId: msg.reqId, count: seen.size, at: lastAt });
      else waiting = { reqId: msg.reqId, n: msg.n };
      break;
    case "reset":
      reset();
      process.send({ type: "reset", reqId: msg.reqId });
      break;
    case "report":
      process.send({
        type: "report",
        reqId: msg.reqId,
        distinct: seen.size,
        duplicates,
        withoutId,
        withoutSentAt,
        firstAt,
        lastAt,
        latencies: Float64Array.from(latencies),
        ids: msg.withIds ? ids : [],
      });
      break;
    case "clock":
      process.send({ type: "clock", reqId: msg.reqId, now: wallNow() });
      break;
    default:
      break;
  }
});
// The parent went away (crash, kill): do not outlive it.
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));

server.listen(0, "127.0.0.1", () => {
  process.send({ type: "listening", port: server.address().port, mode });
});
