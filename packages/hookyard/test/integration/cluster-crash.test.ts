import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Svix } from "svix";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { startReceiver } from "../helpers/receiver.js";
import { expectAllDelivered } from "../helpers/delivered.js";
import { freePort, spawnServer } from "../helpers/spawn-server.js";
import { TEST_STORE, testDatabaseUrl } from "../helpers/test-store.js";

const KEY = "cluster_crash_key_0123456789abcdefghij";

describe.skipIf(TEST_STORE !== "postgres")("two processes on one PostgreSQL database", () => {
  it("delivers every acknowledged message when one of them is killed with SIGKILL mid-stream", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hookyard-cluster-crash-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const receiver = await startReceiver({ defaultReply: { status: 200, delayMs: 40 } });
    const env = {
      HOOKYARD_DATABASE_URL: await testDatabaseUrl(dir),
      HOOKYARD_API_KEY: KEY,
      HOOKYARD_EGRESS_ALLOW: "127.0.0.1/32",
      HOOKYARD_RETRY_SCHEDULE: "1,1,1",
      HOOKYARD_DELIVERY_CONCURRENCY: "4",
      // The survivor takes the dead process's deliveries once their leases expire.
      HOOKYARD_LEASE_MS: "3000",
    };
    const [a, b] = [
      await spawnServer(env, { port: await freePort() }),
      await spawnServer(env, { port: await freePort() }),
    ];
    const clients = [a, b].map((s) => new Svix(KEY, { serverUrl: s.url, retryScheduleInMs: [] }));
    const app = await clients[0]!.application.create({ name: "cluster" });
    await clients[0]!.endpoint.create(app.id, { url: receiver.url });

    const acked = new Set<string>();
    const ackedBy = [0, 0];
    let killed = false;
    const publisher = async (lane: number) => {
      const node = lane % 2; // half the publishers on each process
      for (let i = 0; i < 150; i++) {
        if (killed && node === 0) return;
        try {
          const msg = await clients[node]!.message.create(app.id, {
            eventType: "cluster.test",
            payload: { lane, i },
          });
          acked.add(msg.id);
          ackedBy[node]!++;
        } catch {
          if (node === 0) return; // a is gone: this message was never acknowledged
          throw new Error("the surviving process refused a publish");
        }
      }
    };
    const lanes = Array.from({ length: 8 }, (_, lane) => publisher(lane));
    await vi.waitFor(() => expect(acked.size).toBeGreaterThanOrEqual(300), {
      timeout: 20_000,
      interval: 5,
    });
    a.child.kill("SIGKILL");
    killed = true;
    expect(await a.exited).toBe("SIGKILL");
    await Promise.all(lanes);

    const { duplicates } = await expectAllDelivered(receiver, acked);
    // At-least-once: only attempts sent and not yet committed at the kill may arrive twice: the
    // 4 in flight plus those whose record waited for the group commit.
    expect(duplicates, "duplicates are bounded by what was in flight").toBeLessThanOrEqual(64);
    console.info(
      `cluster crash test: ${acked.size} acknowledged (${ackedBy[0]} by the killed process, ${ackedBy[1]} by the survivor), all delivered, ${duplicates} duplicates`,
    );
  });
});
