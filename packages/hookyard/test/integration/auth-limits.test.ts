import { request as httpRequest } from "node:http";
import { describe, expect, it } from "vitest";
import { FailedAuthLimiter } from "../../src/http/auth.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

// Guessing the admin key through the API: a client that sent too many wrong keys is refused
// for a while, whatever key it sends next; other clients are not.

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

/** One GET from the client address `from` (any 127.x.y.z reaches a server on 127.0.0.1). */
function get(url: string, key: string, from = "127.0.0.1"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { localAddress: from, headers: { authorization: `Bearer ${key}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers["retry-after"],
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("failed API authentication", () => {
  it("refuses a client after 20 wrong keys, even with the right key, but not another client", async () => {
    const server = await startTestServer();
    const url = `${server.url}/api/v1/app`;
    const wrong = "wrong_key_0123456789abcdefghijklmnop";
    for (let i = 1; i <= 20; i++) {
      const answer = await get(url, wrong);
      expect(answer.status, `wrong key #${i} is refused as a wrong key`).toBe(401);
    }
    const right = await get(url, TEST_API_KEY);
    expect(right, "the 21st request, with the right key").toMatchObject({
      status: 429,
      retryAfter: expect.stringMatching(/^(60|59)$/),
    });
    expect(JSON.parse(right.body)).toMatchObject({
      code: "too_many_requests",
      detail: expect.stringContaining("wrong API key"),
    });
    expect((await get(url, wrong)).status, "still refused, without checking the key").toBe(429);

    const other = await get(url, TEST_API_KEY, "127.0.0.2");
    expect(other.status, "another client address is not affected").toBe(200);
  });

  it("does not count a missing key or a right key as a failure", async () => {
    const server = await startTestServer();
    const url = `${server.url}/api/v1/app`;
    for (let i = 0; i < 25; i++) {
      const res = await fetch(url);
      expect(res.status).toBe(401);
      await res.body?.cancel();
      expect((await get(url, TEST_API_KEY)).status).toBe(200);
    }
  });
});

describe("FailedAuthLimiter", () => {
  it("lets a refused client try again once the minute has passed", async () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ clock });
    for (let i = 0; i < 19; i++) expect(limiter.recordFailure("10.0.0.1")).toBe(false);
    expect(limiter.retryAfterMs("10.0.0.1"), "19 failures: not refused").toBe(0);
    expect(limiter.recordFailure("10.0.0.1"), "the 20th blocks").toBe(true);
    expect(limiter.retryAfterMs("10.0.0.1")).toBe(60_000);
    await clock.advance(59_999);
    expect(limiter.retryAfterMs("10.0.0.1")).toBe(1);
    await clock.advance(1);
    expect(limiter.retryAfterMs("10.0.0.1"), "after a minute").toBe(0);
    expect(limiter.recordFailure("10.0.0.1"), "a new window starts").toBe(false);
  });

  it("forgets failures older than the window", async () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ clock });
    for (let i = 0; i < 19; i++) limiter.recordFailure("10.0.0.1");
    await clock.advance(60_000);
    for (let i = 0; i < 19; i++) expect(limiter.recordFailure("10.0.0.1")).toBe(false);
    expect(limiter.retryAfterMs("10.0.0.1")).toBe(0);
  });

  it("counts an IPv6 /64 as one client, and an IPv4-mapped address as its IPv4", () => {
    const limiter = new FailedAuthLimiter({ clock: new FakeClock(), maxFailures: 2 });
    limiter.recordFailure("2001:db8:0:1::1");
    expect(limiter.recordFailure("2001:db8:0:1:ffff::2"), "same /64").toBe(true);
    expect(limiter.retryAfterMs("2001:db8:0:2::1"), "another /64").toBe(0);
    limiter.recordFailure("::ffff:192.0.2.1");
    expect(limiter.recordFailure("192.0.2.1")).toBe(true);
  });

  it("tracks a bounded number of clients", () => {
    const limiter = new FailedAuthLimiter({ clock: new FakeClock(), maxClients: 100 });
    for (let i = 0; i < 1_000; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.trackedClients).toBe(100);
  });
});
