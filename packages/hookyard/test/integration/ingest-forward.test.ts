import { once } from "node:events";
import { createRequire } from "node:module";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

// Fan-out: a verified request goes to each destination through the delivery engine, byte-exact,
// with the sender's headers and a Standard Webhooks signature made with the destination's secret.

const SECRET = "It's a Secret to Everybody";
const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as Array<{
  name: string;
  examples: unknown[];
}>;

function example(name: string): string {
  const found = examples.find((e) => e.name === name);
  if (found === undefined) throw new Error(`no ${name} example`);
  return JSON.stringify(found.examples[0], null, 2);
}

describe("forwarding received requests to a source's destinations", () => {
  it("delivers to two destinations, one failing: the other gets it at once, the failing one on retry", async () => {
    // Now, so that the standardwebhooks verifier (real time) accepts the signature's timestamp.
    const clock = new FakeClock(Date.now());
    const { svix, url, hookyard } = await startTestServer({ clock, random: () => 0.5 });
    const ok = await startReceiver();
    const flaky = await startReceiver({ replies: [503, 200] });
    const source = await svix.ingest.source.create({
      name: "GitHub",
      type: "github",
      config: { secret: SECRET },
    });
    const good = await svix.ingest.endpoint.create(source.id, { url: ok.url });
    await svix.ingest.endpoint.create(source.id, { url: flaky.url });

    const body = example("push");
    let seen = 0;
    const firstTwo = new Promise<void>((resolve) => {
      const onAttempt = () => {
        if (++seen === 2) {
          hookyard.engine.off("attempt", onAttempt);
          resolve();
        }
      };
      hookyard.engine.on("attempt", onAttempt);
    });
    const sent = await fetch(source.ingestUrl!, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": "d-1",
        "x-hub-signature-256": await githubSign(SECRET, body),
      },
      body,
    });
    expect(sent.status).toBe(200);

    const [forwarded] = await ok.waitForCount(1);
    expect(forwarded!.body, "byte-exact").toBe(body);
    expect(forwarded!.headers).toMatchObject({
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": "d-1",
      "x-hub-signature-256": await githubSign(SECRET, body),
    });
    const { key } = await svix.ingest.endpoint.getSecret(source.id, good.id);
    expect(() =>
      new StandardWebhook(key).verify(forwarded!.body, forwarded!.headers),
    ).not.toThrow();

    const [refused] = await flaky.waitForCount(1);
    expect(refused!.body).toBe(body);
    await firstTwo; // both attempts recorded: the flaky one's retry is scheduled from here
    await clock.advance(6_000); // the first retry, 5 s ±20 % later
    const [, retried] = await flaky.waitForCount(2);
    expect(retried!.body).toBe(body);
    expect(retried!.headers["webhook-id"]).toBe(refused!.headers["webhook-id"]);
    expect(ok.requests, "the healthy destination got it once").toHaveLength(1);

    // The forward is a message of the source's application: listed, and resent on demand.
    // appId is a Hookyard extension, which the svix SDK's IngestSourceOut drops: read it raw.
    const raw = await fetch(`${url}/ingest/api/v1/source/${source.id}`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    const { appId } = (await raw.json()) as { appId: string };
    const [forward] = (await svix.message.list(appId, { withContent: true })).data;
    expect(JSON.parse(JSON.stringify(forward!.payload))).toEqual(JSON.parse(body));
    await svix.messageAttempt.resend(appId, forward!.id, good.id);
    const [, resent] = await ok.waitForCount(2);
    expect(resent!.body).toBe(body);

    // What became of the request: its forward, each destination's state and the attempts.
    const [received] = (
      (await (
        await fetch(`${url}/ingest/api/v1/source/${source.id}/request`, {
          headers: { authorization: `Bearer ${TEST_API_KEY}` },
        })
      ).json()) as { data: Array<{ id: string }> }
    ).data;
    type Forwards = {
      data: Array<{
        messageId: string;
        trigger: string;
        destinations: Array<{ endpointId: string; statusText: string; attempts: number }>;
        attempts: Array<{ endpointId: string; responseStatusCode: number; triggerType: number }>;
      }>;
    };
    const readForwards = async () =>
      (await (
        await fetch(`${url}/ingest/api/v1/source/${source.id}/request/${received!.id}/forward`, {
          headers: { authorization: `Bearer ${TEST_API_KEY}` },
        })
      ).json()) as Forwards;
    // The resend's attempt is recorded once its answer is in: the receiver may see it first.
    let forwards = await readForwards();
    await vi.waitFor(async () => {
      forwards = await readForwards();
      expect(forwards.data[0]?.attempts).toHaveLength(4);
    });
    expect(forwards.data).toHaveLength(1);
    expect(forwards.data[0]).toMatchObject({ messageId: forward!.id, trigger: "received" });
    expect(forwards.data[0]!.destinations).toHaveLength(2);
    for (const destination of forwards.data[0]!.destinations) {
      expect(destination).toMatchObject({ statusText: "success" });
    }
    expect(
      forwards.data[0]!.attempts.map((a) => `${a.responseStatusCode}/${a.triggerType}`).sort(),
      "the healthy one's, the flaky one's two, and the manual resend",
    ).toEqual(["200/0", "200/0", "200/1", "503/0"]);
  });

  it("sends a destination only the event types its filter takes, and nothing for a rejected or repeated request", async () => {
    const { svix, url } = await startTestServer();
    const pushes = await startReceiver();
    const everything = await startReceiver();
    const source = await svix.ingest.source.create({
      name: "GitHub",
      type: "github",
      config: { secret: SECRET },
    });
    // Through the raw API: the svix SDK's IngestEndpointIn has no filterTypes (Hookyard's extension).
    const filtered = await fetch(`${url}/ingest/api/v1/source/${source.id}/endpoint`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ url: pushes.url, filterTypes: ["push"] }),
    });
    expect(filtered.status).toBe(201);
    await svix.ingest.endpoint.create(source.id, { url: everything.url });
    const send = async (event: string, delivery: string, signature?: string) => {
      const body = example(event);
      return fetch(source.ingestUrl!, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": event,
          "x-github-delivery": delivery,
          "x-hub-signature-256": signature ?? (await githubSign(SECRET, body)),
        },
        body,
      });
    };
    expect((await send("issues", "d-1")).status).toBe(200);
    expect((await send("push", "d-2")).status).toBe(200);
    expect((await send("push", "d-2")).status, "GitHub's redelivery").toBe(200);
    expect((await send("push", "d-3", `sha256=${"0".repeat(64)}`)).status).toBe(401);

    const all = await everything.waitForCount(2);
    expect(all.map((r) => r.headers["x-github-event"])).toEqual(["issues", "push"]);
    const [push] = await pushes.waitForCount(1);
    expect(push!.headers["x-github-delivery"]).toBe("d-2");
    // Nothing more arrives: the duplicate and the forged request were never forwarded.
    const marker = await send("create", "d-4");
    expect(marker.status).toBe(200);
    await everything.waitForCount(3);
    expect(everything.requests.map((r) => r.headers["x-github-delivery"])).toEqual([
      "d-1",
      "d-2",
      "d-4",
    ]);
  });

  it("forwards a GET's query and the path after the token to the destination's URL", async () => {
    const { svix } = await startTestServer();
    const target = await startReceiver();
    const source = await svix.ingest.source.create({ name: "pinger", type: "generic-webhook" });
    await svix.ingest.endpoint.create(source.id, { url: `${target.url}hooks?team=ops` });
    const sent = await fetch(`${source.ingestUrl!}/deploy/prod?event=deploy&sha=abc%20def`);
    expect(sent.status).toBe(200);
    const [got] = await target.waitForCount(1);
    expect(got).toMatchObject({
      method: "GET",
      url: "/hooks/deploy/prod?team=ops&event=deploy&sha=abc%20def",
      body: "",
    });
  });

  it("forwards the stored request byte-exact when a retry comes back from the store", async () => {
    const clock = new FakeClock(Date.now());
    const { svix, hookyard } = await startTestServer({ clock, random: () => 0.5 });
    const attempted = () => once(hookyard.engine, "attempt");
    // 503 twice: the second retry (5 min later) waits in the store, not in memory.
    const flaky = await startReceiver({ replies: [503, 503, 200] });
    const source = await svix.ingest.source.create({ name: "any", type: "generic-webhook" });
    await svix.ingest.endpoint.create(source.id, { url: flaky.url });
    const body = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7b]); // not UTF-8
    let attempt = attempted();
    const sent = await fetch(source.ingestUrl!, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "x-custom": "kept" },
      body,
    });
    expect(sent.status).toBe(200);
    await attempt; // recorded: the retry is scheduled from here
    attempt = attempted();
    await clock.advance(6_000);
    await attempt;
    await flaky.waitForCount(2);
    await clock.advance(400_000);
    // The hand-back to the store may still be committing when the clock jumped (a loaded
    // machine): the sweep it arms is then due at once, on the clock's next move.
    await expect
      .poll(
        async () => {
          await clock.advance(1_000);
          return flaky.requests.length;
        },
        { timeout: 5_000 },
      )
      .toBe(3);
    const [, , third] = await flaky.waitForCount(3);
    expect(third).toMatchObject({ method: "PUT" });
    expect(third!.headers).toMatchObject({
      "content-type": "application/octet-stream",
      "x-custom": "kept",
    });
    expect(third!.raw.equals(body), "the stored bytes, exactly").toBe(true);
  });
});
