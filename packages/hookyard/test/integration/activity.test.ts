import { describe, expect, it, onTestFinished, vi } from "vitest";
import { api } from "../helpers/api.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer } from "../helpers/server.js";

// The dashboard overview's numbers (GET /api/v1/stats/activity), on both stores.

interface Activity {
  window: string;
  bucketSeconds: number;
  buckets: {
    start: string;
    messages: number;
    attemptsSucceeded: number;
    attemptsFailed: number;
    received: number;
    rejected: number;
  }[];
  bySource: { name: string; accepted: number; rejected: number }[];
  backlog: number;
  failingEndpoints: { url: string }[];
}

describe("activity", () => {
  it("counts messages, attempts, received requests by source, the backlog and failing endpoints", async () => {
    const server = await startTestServer();
    const ok = await startReceiver();
    onTestFinished(() => ok.close());
    const down = await startReceiver({ defaultReply: 500 });
    onTestFinished(() => down.close());
    await server.svix.application.create({ name: "A", uid: "a" });
    await server.svix.endpoint.create("a", { url: ok.url });
    await server.svix.endpoint.create("a", { url: `${down.url}failing` });
    for (let n = 0; n < 3; n++) {
      await server.svix.message.create("a", { eventType: "x.y", payload: { n } });
    }
    await ok.waitForCount(3);
    await down.waitForCount(3);
    const github = await api<{ ingestUrl: string }>(server, "POST", "/ingest/api/v1/source", {
      name: "github",
      type: "github",
      config: { secret: "s3cret" },
    });
    await fetch(github.json.ingestUrl, { method: "POST", body: "{}" }); // unsigned: rejected

    // Attempts and the endpoint's health are recorded once the answers are in.
    let activity: Activity | null = null;
    await vi.waitFor(
      async () => {
        activity = (await api<Activity>(server, "GET", "/api/v1/stats/activity?window=1h")).json;
        expect(activity.buckets.reduce((sum, b) => sum + b.attemptsFailed, 0)).toBe(3);
        expect(activity.failingEndpoints).toHaveLength(1);
      },
      { timeout: 10_000 },
    );
    const sum = (key: keyof Activity["buckets"][number]) =>
      activity!.buckets.reduce((total, b) => total + Number(b[key]), 0);
    expect(activity!.window).toBe("1h");
    expect(activity!.buckets).toHaveLength(60);
    expect(activity!.bucketSeconds).toBe(60);
    expect(sum("messages")).toBe(3);
    expect(sum("attemptsSucceeded")).toBe(3);
    expect(sum("attemptsFailed")).toBe(3);
    expect(sum("received")).toBe(1);
    expect(sum("rejected")).toBe(1);
    expect(activity!.bySource).toEqual([
      { sourceId: expect.any(String), name: "github", accepted: 0, rejected: 1, duplicate: 0 },
    ]);
    expect(activity!.backlog).toBe(3); // the failing endpoint's retries wait
    expect(activity!.failingEndpoints.map((e) => e.url)).toEqual([`${down.url}failing`]);

    const day = (await api<Activity>(server, "GET", "/api/v1/stats/activity?window=24h")).json;
    expect(day.buckets).toHaveLength(96);
    expect(day.buckets.reduce((total, b) => total + b.messages, 0)).toBe(3);
    expect((await api(server, "GET", "/api/v1/stats/activity?window=7d")).status).toBe(422);
  });

  it("puts each message in the bucket of its minute, not only the current one", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 10, 0, 20));
    const server = await startTestServer({ clock });
    await server.svix.application.create({ name: "A", uid: "a" });
    await server.svix.message.create("a", { eventType: "x.y", payload: {} }); // 10:00:20
    await clock.advance(150_000);
    await server.svix.message.create("a", { eventType: "x.y", payload: {} }); // 10:02:50
    await server.svix.message.create("a", { eventType: "x.y", payload: {} });
    const activity = (await api<Activity>(server, "GET", "/api/v1/stats/activity")).json;
    const counts = activity.buckets.map((b) => [b.start, b.messages]).filter(([, n]) => n !== 0);
    expect(counts).toEqual([
      ["2026-01-01T10:00:00.000Z", 1],
      ["2026-01-01T10:02:00.000Z", 2],
    ]);
    expect(activity.buckets.at(-1)!.start).toBe("2026-01-01T10:02:00.000Z");
  });
});
