import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { describe, expect, it, onTestFinished } from "vitest";
import { VERIFIED_CREDENTIAL } from "../../src/delivery/forward.js";
import type { InboundRequestId, SourceId } from "../../src/model.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// What an ingest URL keeps of what anyone sends it (issue 18): never the credential a source
// checks, one forward per signed request however often it is replayed, and a bounded record of
// the requests it refuses.

const GITHUB_SECRET = "It's a Secret to Everybody";
const BEARER_TOKEN = "tok_4f9c2d8e1b7a6053";

interface ListedRequest {
  id: string;
  status: string;
  reason: string | null;
  headers: Record<string, string>;
  body: string;
  deliveryId: string | null;
  duplicateOf: string | null;
}

/** A source through the raw API (the svix SDK's typed configs drop Hookyard's own keys). */
async function createSource(server: TestServer, type: string, config: Record<string, unknown>) {
  const res = await fetch(`${server.url}/ingest/api/v1/source`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ name: type, type, config }),
  });
  expect(res.status, `creating a ${type} source`).toBe(201);
  return (await res.json()) as { id: string; ingestUrl: string };
}

/** A destination of the source: a real receiver on 127.0.0.1. */
async function destination(server: TestServer, sourceId: string) {
  const receiver = await startReceiver();
  onTestFinished(() => receiver.close());
  await server.svix.ingest.endpoint.create(sourceId, { url: receiver.url });
  return receiver;
}

/** Every request the source recorded (with `status`, only those), newest first, all pages. */
async function listRequests(
  server: TestServer,
  sourceId: string,
  status?: string,
): Promise<ListedRequest[]> {
  const all: ListedRequest[] = [];
  let iterator: string | null = null;
  do {
    const query = new URLSearchParams({ limit: "250" });
    if (status !== undefined) query.set("status", status);
    if (iterator !== null) query.set("iterator", iterator);
    const res = await fetch(
      `${server.url}/ingest/api/v1/source/${sourceId}/request?${query.toString()}`,
      {
        headers: { authorization: `Bearer ${TEST_API_KEY}` },
      },
    );
    expect(res.status, `listing the requests of ${sourceId}`).toBe(200);
    const page = (await res.json()) as {
      data: ListedRequest[];
      iterator: string | null;
      done: boolean;
    };
    all.push(...page.data);
    iterator = page.done ? null : page.iterator;
  } while (iterator !== null);
  return all;
}

async function forwardsOf(server: TestServer, sourceId: string, requestId: string) {
  const res = await fetch(
    `${server.url}/ingest/api/v1/source/${sourceId}/request/${requestId}/forward`,
    { headers: { authorization: `Bearer ${TEST_API_KEY}` } },
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Array<{ messageId: string }> }).data;
}

describe("credentials a source checks", () => {
  it("forwards a bearer source's request without its token, cookies or proxy headers, and lists the token masked", async () => {
    const server = await startTestServer();
    const bearer = await createSource(server, "bearer", { token: BEARER_TOKEN });
    const receiver = await destination(server, bearer.id);

    const body = '{"type":"order.paid","id":"ord_1"}';
    const sent = await fetch(bearer.ingestUrl, {
      method: "POST",
      headers: {
        authorization: `Bearer ${BEARER_TOKEN}`,
        cookie: "session=s3cr3t",
        "x-forwarded-for": "203.0.113.7",
        forwarded: "for=203.0.113.7",
        "x-shop": "shop-1",
        "content-type": "application/json",
      },
      body,
    });
    expect(sent.status).toBe(200);
    const forwarded = await receiver.nextRequest();
    expect(forwarded.body, "byte-exact").toBe(body);
    expect(forwarded.headers, "the sender's own headers go on").toMatchObject({
      "x-shop": "shop-1",
      "content-type": "application/json",
    });
    for (const name of ["authorization", "cookie", "x-forwarded-for", "forwarded"]) {
      expect(forwarded.headers[name], `forwarded ${name}`).toBeUndefined();
    }

    const wrong = await fetch(bearer.ingestUrl, {
      method: "POST",
      headers: { authorization: "Bearer someone-elses-token", "content-type": "application/json" },
      body,
    });
    expect(wrong.status).toBe(401);

    const listed = await listRequests(server, bearer.id);
    expect(listed.map((r) => r.status)).toEqual(["rejected", "accepted"]);
    for (const r of listed) {
      expect(r.headers.authorization, `${r.status} request's authorization`).toBe(
        VERIFIED_CREDENTIAL,
      );
    }
    const text = JSON.stringify(listed);
    expect(text, "the token appears nowhere in the listing").not.toContain(BEARER_TOKEN);
    expect(text, "nor a refused one").not.toContain("someone-elses-token");
  });

  it("masks a basic source's password and GitLab's token, and does not forward GitLab's", async () => {
    const server = await startTestServer();
    const basic = await createSource(server, "basic", { username: "hooks", password: "pa55word" });
    const refused = await fetch(basic.ingestUrl, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("hooks:guess").toString("base64")}` },
      body: "{}",
    });
    expect(refused.status).toBe(401);
    const [listedBasic] = await listRequests(server, basic.id);
    expect(listedBasic).toMatchObject({
      status: "rejected",
      reason: "credentials do not match",
      headers: { authorization: VERIFIED_CREDENTIAL },
    });

    const gitlab = await createSource(server, "gitlab", { secret: "gl-token-77" });
    const receiver = await destination(server, gitlab.id);
    const sent = await fetch(gitlab.ingestUrl, {
      method: "POST",
      headers: {
        "x-gitlab-token": "gl-token-77",
        "x-gitlab-event": "Push Hook",
        "content-type": "application/json",
      },
      body: '{"object_kind":"push"}',
    });
    expect(sent.status).toBe(200);
    const forwarded = await receiver.nextRequest();
    expect(forwarded.headers["x-gitlab-event"]).toBe("Push Hook");
    expect(forwarded.headers["x-gitlab-token"], "the forwarded token").toBeUndefined();
    const [listedGitlab] = await listRequests(server, gitlab.id);
    expect(listedGitlab?.headers["x-gitlab-token"]).toBe(VERIFIED_CREDENTIAL);
  });
  it("shows a rule the masked token, and a rule's forward of the request carries none", async () => {
    const relay = await startReceiver();
    onTestFinished(() => relay.close());
    const dir = await mkdtemp(join(tmpdir(), "hookyard-abuse-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const rulesPath = join(dir, "rules.yaml");
    await writeFile(
      rulesPath,
      `
rules:
  - name: relay
    sources: [orders]
    actions:
      - forward:
          url: "${relay.url}"
          headers: { x-seen-authorization: "{{ event.headers.authorization }}" }
`,
    );
    const server = await startTestServer({ rulesPath });
    const res = await fetch(`${server.url}/ingest/api/v1/source`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "orders",
        uid: "orders",
        type: "bearer",
        config: { token: BEARER_TOKEN },
      }),
    });
    expect(res.status).toBe(201);
    const { ingestUrl } = (await res.json()) as { ingestUrl: string };
    const sent = await fetch(ingestUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${BEARER_TOKEN}`, "content-type": "application/json" },
      body: '{"type":"order.paid"}',
    });
    expect(sent.status).toBe(200);
    const relayed = await relay.nextRequest({ timeoutMs: 15_000 });
    expect(relayed.body).toBe('{"type":"order.paid"}');
    expect(relayed.headers["x-seen-authorization"], "what the rule saw").toBe(VERIFIED_CREDENTIAL);
    expect(relayed.headers.authorization, "the rule's forward").toBeUndefined();
  });
});

describe("replays with a fresh delivery id", () => {
  it("drops a GitHub request replayed with a new X-GitHub-Delivery as a duplicate and does not forward it", async () => {
    const server = await startTestServer();
    const gh = await createSource(server, "github", { secret: GITHUB_SECRET });
    const receiver = await destination(server, gh.id);
    const push = async (delivery: string, body: string) =>
      fetch(gh.ingestUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "push",
          "x-github-delivery": delivery,
          "x-hub-signature-256": await githubSign(GITHUB_SECRET, body),
        },
        body,
      });

    const body = '{"ref":"refs/heads/main","after":"6113728f"}';
    expect(await (await push("d-1", body)).json()).toMatchObject({ status: "accepted" });
    const replayed = await push("d-2", body);
    expect(replayed.status, "answered like a redelivery").toBe(200);
    expect(await replayed.json()).toMatchObject({ status: "duplicate" });
    // The next push is forwarded; the replay never was (it has no forward to send).
    const next = '{"ref":"refs/heads/main","after":"9d2fa4c1"}';
    expect(await (await push("d-3", next)).json()).toMatchObject({ status: "accepted" });
    const [first, second] = await receiver.waitForCount(2);
    expect([first!.headers["x-github-delivery"], second!.headers["x-github-delivery"]]).toEqual([
      "d-1",
      "d-3",
    ]);

    const [latest, duplicate, original] = await listRequests(server, gh.id);
    expect(duplicate, "the replay").toMatchObject({
      status: "duplicate",
      deliveryId: "d-2",
      duplicateOf: original!.id,
    });
    expect(latest?.status).toBe("accepted");
    expect(await forwardsOf(server, gh.id, duplicate!.id), "forwards of the replay").toEqual([]);
    expect(await forwardsOf(server, gh.id, original!.id)).toHaveLength(1);
  });

  it("drops a bearer request repeated with a new idempotency key, but a bin and a generic webhook keep every copy", async () => {
    const server = await startTestServer();
    const send = (url: string, key: string, extra: Record<string, string> = {}) =>
      fetch(url, {
        method: "POST",
        headers: { "idempotency-key": key, "content-type": "application/json", ...extra },
        body: '{"type":"ping"}',
      });

    const bearer = await createSource(server, "bearer", { token: BEARER_TOKEN });
    const auth = { authorization: `Bearer ${BEARER_TOKEN}` };
    expect(await (await send(bearer.ingestUrl, "k-1", auth)).json()).toMatchObject({
      status: "accepted",
    });
    expect(await (await send(bearer.ingestUrl, "k-2", auth)).json()).toMatchObject({
      status: "duplicate",
    });
    const other = await fetch(`${bearer.ingestUrl}/orders?shop=2`, {
      method: "POST",
      headers: { ...auth, "idempotency-key": "k-3" },
      body: '{"type":"ping"}',
    });
    expect(await other.json(), "another path and query is another request").toMatchObject({
      status: "accepted",
    });

    // Both verify nothing: a digest would stop no one and drop a sender's repeated heartbeat.
    for (const type of ["generic-webhook", "request-bin"]) {
      const open = await createSource(server, type, {});
      await send(open.ingestUrl, "k-1");
      await send(open.ingestUrl, "k-2");
      const listed = await listRequests(server, open.id);
      expect(
        listed.map((r) => r.status),
        type,
      ).toEqual(["accepted", "accepted"]);
    }
  });
});

describe("requests a source refuses", () => {
  it("keeps only the first 4 KiB of a rejected request's body and says how long it was", async () => {
    const server = await startTestServer();
    const gh = await createSource(server, "github", { secret: GITHUB_SECRET });
    const big = JSON.stringify({ filler: "x".repeat(100_000) });
    const forged = await fetch(gh.ingestUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-hub-signature-256": `sha256=${"0".repeat(64)}`,
      },
      body: big,
    });
    expect(forged.status).toBe(401);
    expect(await forged.json(), "the sender is told only what failed").toEqual({
      code: "verification_failed",
      detail: "signature does not match",
    });
    const signed = await fetch(gh.ingestUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-hub-signature-256": await githubSign(GITHUB_SECRET, big),
      },
      body: big,
    });
    expect(signed.status).toBe(200);

    const [accepted, rejected] = await listRequests(server, gh.id);
    expect(rejected?.body).toBe(big.slice(0, 4096));
    expect(rejected?.reason, "the reason is the check that failed").toBe(
      "signature does not match",
    );
    const stored = await server.hookyard.store.getInboundRequest(
      gh.id as SourceId,
      rejected!.id as InboundRequestId,
    );
    expect(stored, "the record says how long the body was").toMatchObject({
      bodyBytesReceived: big.length,
    });
    expect(accepted?.body.length, "an accepted request is kept whole").toBe(big.length);
  });

  it("answers the 61st rejected request of a minute 429 with Retry-After and stores nothing, while a signed one still passes", async () => {
    const clock = new FakeClock(Date.now());
    const server = await startTestServer({ clock });
    const gh = await createSource(server, "github", { secret: GITHUB_SECRET });
    const forge = (i: number) =>
      fetch(gh.ingestUrl, {
        method: "POST",
        headers: { "x-hub-signature-256": `sha256=${"0".repeat(64)}` },
        body: `{"n":${i}}`,
      });

    for (let i = 1; i <= 60; i++) expect((await forge(i)).status, `forgery ${i}`).toBe(401);
    const limited = await forge(61);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(await limited.json()).toMatchObject({ code: "too_many_requests" });
    expect(await listRequests(server, gh.id, "rejected"), "the 61st is not stored").toHaveLength(
      60,
    );

    const body = '{"ref":"refs/heads/main"}';
    const signed = await fetch(gh.ingestUrl, {
      method: "POST",
      headers: {
        "x-github-delivery": "d-1",
        "x-hub-signature-256": await githubSign(GITHUB_SECRET, body),
      },
      body,
    });
    expect(signed.status, "the provider's own request is never limited").toBe(200);

    await clock.advance(1_000);
    expect((await forge(62)).status, "a second later, one more is recorded").toBe(401);
    expect((await forge(63)).status).toBe(429);
    expect(await listRequests(server, gh.id, "rejected")).toHaveLength(61);
  });

  it("keeps a source's newest 1000 rejected requests and every accepted one", async () => {
    const clock = new FakeClock(Date.now());
    const server = await startTestServer({ clock });
    const gh = await createSource(server, "github", { secret: GITHUB_SECRET });
    const body = '{"ref":"refs/heads/main"}';
    const signed = await fetch(gh.ingestUrl, {
      method: "POST",
      headers: { "x-hub-signature-256": await githubSign(GITHUB_SECRET, body) },
      body,
    });
    expect(signed.status).toBe(200);

    const total = 1_020;
    for (let start = 0; start < total; start += 60) {
      const batch = Array.from({ length: Math.min(60, total - start) }, (_, k) =>
        fetch(gh.ingestUrl, {
          method: "POST",
          headers: { "x-hub-signature-256": `sha256=${"0".repeat(64)}` },
          body: `{"n":${start + k}}`,
        }),
      );
      const statuses = (await Promise.all(batch)).map((r) => r.status);
      expect(new Set(statuses), `batch from ${start}`).toEqual(new Set([401]));
      await clock.advance(60_000); // a full minute's allowance again
    }

    const rejected = await listRequests(server, gh.id, "rejected");
    expect(rejected).toHaveLength(1000);
    // The 20 that went are of the first batch (sent at once, so in no particular order).
    const kept = rejected.map((r) => (JSON.parse(r.body) as { n: number }).n);
    expect(
      kept.filter((n) => n >= 60),
      "every later batch is kept",
    ).toHaveLength(total - 60);
    expect(
      kept.filter((n) => n < 60),
      "of the first batch",
    ).toHaveLength(40);
    expect(await listRequests(server, gh.id, "accepted")).toHaveLength(1);
  });
});
