import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Svix } from "svix";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { startReceiver } from "../helpers/receiver.js";
import { expectAllDelivered } from "../helpers/delivered.js";
import { freePort, spawnServer } from "../helpers/spawn-server.js";
import { TEST_STORE, testDatabaseUrl } from "../helpers/test-store.js";

const KEY = "crash_test_key_0123456789abcdefghij";

describe("crash safety", () => {
  it("delivers every acknowledged message after the server is killed with SIGKILL mid-flight", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hookyard-crash-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    // A slow receiver and few delivery lanes build a backlog, so the kill lands with attempts in
    // flight and acknowledged messages not yet delivered.
    const receiver = await startReceiver({ defaultReply: { status: 200, delayMs: 40 } });
    const port = await freePort();
    const env = {
      HOOKYARD_DATABASE_URL: await testDatabaseUrl(dir),
      HOOKYARD_API_KEY: KEY,
      HOOKYARD_EGRESS_ALLOW: "127.0.0.1/32",
      HOOKYARD_RETRY_SCHEDULE: "1,1,1",
      HOOKYARD_DELIVERY_CONCURRENCY: "4",
      // On PostgreSQL a restarted process waits for the dead one's leases to expire (another
      // process could still hold them); a short lease keeps the test short.
      ...(TEST_STORE === "postgres" && { HOOKYARD_LEASE_MS: "3000" }),
    };
    const first = await spawnServer(env, { port });
    const svix = new Svix(KEY, { serverUrl: first.url, retryScheduleInMs: [] });
    const app = await svix.application.create({ name: "crash" });
    await svix.endpoint.create(app.id, { url: receiver.url });

    const acked = new Set<string>();
    let killed = false;
    const publisher = async (lane: number) => {
      for (let i = 0; i < 200 && !killed; i++) {
        try {
          const msg = await svix.message.create(app.id, {
            eventType: "crash.test",
            payload: { lane, i },
          });
          acked.add(msg.id);
        } catch {
          return; // the server is gone: this message was never acknowledged
        }
      }
    };
    const lanes = Array.from({ length: 8 }, (_, lane) => publisher(lane));
    await vi.waitFor(() => expect(acked.size).toBeGreaterThanOrEqual(300), {
      timeout: 20_000,
      interval: 5,
    });
    first.child.kill("SIGKILL");
    killed = true;
    expect(await first.exited).toBe("SIGKILL");
    await Promise.all(lanes);
    const deliveredBeforeRestart = new Set(receiver.requests.map((r) => r.headers["webhook-id"]))
      .size;

    const second = await spawnServer(env, { port });
    onTestFinished(() => void second.child.kill("SIGKILL"));
    const { duplicates } = await expectAllDelivered(receiver, acked);
    // At-least-once: only attempts in flight at the kill may arrive twice.
    expect(duplicates, "duplicates are bounded by the delivery concurrency").toBeLessThanOrEqual(
      256,
    );
    console.info(
      `crash test: ${acked.size} acknowledged, ${deliveredBeforeRestart} delivered before the kill, ${duplicates} duplicates after restart`,
    );
  });
});
