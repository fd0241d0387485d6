import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  senderWorkerEntry,
  ThreadedSender,
  type SenderWorkerData,
} from "../../src/delivery/sender-thread.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { tempSqlitePath } from "../helpers/temp-sqlite.js";

// The worker runs the compiled dist/ (global setup builds it), the same HttpSender as in-process.
const SETTINGS: SenderWorkerData = {
  egressAllow: ["127.0.0.1/32"],
  timeoutMs: 5_000,
  connectionsPerOrigin: 4,
  maxResponseBodyBytes: 64 * 1024,
};

function newSender(
  overrides: Partial<SenderWorkerData> = {},
  entry?: string,
): { sender: ThreadedSender; failures: unknown[] } {
  const failures: unknown[] = [];
  const sender = new ThreadedSender(
    { ...SETTINGS, ...overrides },
    { onFailure: (err) => failures.push(err), ...(entry !== undefined && { entry }) },
  );
  onTestFinished(() => sender.close());
  return { sender, failures };
}

async function receiver(opts: Parameters<typeof startReceiver>[0] = {}): Promise<Receiver> {
  const r = await startReceiver(opts);
  onTestFinished(() => r.close());
  return r;
}

const HEADERS = { "content-type": "application/json", "webhook-id": "msg_1" };

describe("threaded sender", () => {
  it("starts its thread with the first send, not before", async () => {
    const r = await receiver();
    const { sender } = newSender();
    expect(sender.running).toBe(false);
    const outcome = await sender.send({ url: `${r.url}in`, headers: HEADERS, body: "{}" });
    expect(outcome).toMatchObject({ statusCode: 200, errorClass: null });
    expect(sender.running).toBe(true);
  });

  it("starts no thread for a send that a close in the same turn failed", async () => {
    const r = await receiver();
    const { sender } = newSender();
    const sending = sender.send({ url: `${r.url}in`, headers: HEADERS, body: "{}" });
    await sender.close();
    expect(await sending).toMatchObject({ statusCode: 0, errorMessage: "the sender is closed" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(sender.running).toBe(false);
    expect(r.requests).toHaveLength(0);
  });

  it("sends from the worker thread and hands back the whole outcome", async () => {
    const r = await receiver({
      replies: [{ status: 201, headers: { "X-Seen": "1" }, body: "ok" }],
    });
    const { sender } = newSender();
    const outcome = await sender.send({ url: `${r.url}in?a=1`, headers: HEADERS, body: '{"a":1}' });
    expect(outcome).toMatchObject({
      statusCode: 201,
      body: "ok",
      errorClass: null,
      headers: expect.objectContaining({ "x-seen": "1" }),
    });
    expect(await r.nextRequest()).toMatchObject({
      url: "/in?a=1",
      body: '{"a":1}',
      headers: expect.objectContaining(HEADERS),
    });
  });

  it("keeps every concurrent send apart (ids match outcomes across batches)", async () => {
    const r = await receiver();
    r.setReplies(Array.from({ length: 200 }, (_, i) => ({ status: 200 + (i % 3) })));
    const { sender } = newSender({ connectionsPerOrigin: 16 });
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        sender.send({ url: `${r.url}n/${i}`, headers: HEADERS, body: String(i) }),
      ),
    );
    expect(outcomes.every((o) => [200, 201, 202].includes(o.statusCode))).toBe(true);
    const bodies = r.requests.map((q) => q.body).sort((a, b) => Number(a) - Number(b));
    expect(bodies).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
  });

  it("applies the egress guard inside the thread", async () => {
    const r = await receiver();
    const { sender } = newSender({ egressAllow: [] });
    const outcome = await sender.send({ url: r.url, headers: HEADERS, body: "{}" });
    expect(outcome).toMatchObject({ statusCode: 0, errorClass: "egress_blocked" });
    expect(r.requests).toHaveLength(0);
  });

  it("fails a send in flight when it closes, and every send after", async () => {
    const r = await receiver({ replies: [{ status: 200, hang: true }] });
    const { sender } = newSender();
    const hanging = sender.send({ url: r.url, headers: HEADERS, body: "{}" });
    await r.nextRequest();
    await sender.close();
    expect(await hanging).toMatchObject({ statusCode: 0, errorClass: "network" });
    expect(await sender.send({ url: r.url, headers: HEADERS, body: "{}" })).toMatchObject({
      errorClass: "network",
      errorMessage: "the sender is closed",
    });
  });

  it("fails the sends a dying thread held and starts a new thread for the next", async () => {
    // The real worker, plus a listener that ends the thread when it sees the body "crash".
    const wrapper = `${await tempSqlitePath()}.crashing-worker.mjs`;
    writeFileSync(
      wrapper,
      // Static imports: the real worker's listener is attached before any message is handled.
      `import ${JSON.stringify(pathToFileURL(senderWorkerEntry()).href)};
import { parentPort } from "node:worker_threads";
parentPort.on("message", (m) => { if (m.type === "send" && m.requests.some((r) => r.body === "crash")) process.exit(3); });
`,
    );
    const r = await receiver();
    const { sender, failures } = newSender({}, wrapper);
    const crashed = await sender.send({ url: r.url, headers: HEADERS, body: "crash" });
    expect(crashed).toMatchObject({ statusCode: 0, errorClass: "network" });
    expect(crashed.errorMessage).toMatch(/the sending thread failed: exited with code 3/);
    expect(failures).toHaveLength(1);
    const next = await sender.send({ url: r.url, headers: HEADERS, body: "{}" });
    expect(next).toMatchObject({ statusCode: 200, errorClass: null });
  });
});
