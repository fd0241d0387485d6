import { describe, expect, it } from "vitest";
import type { LookupFn } from "../../src/delivery/http-sender.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { api } from "../helpers/api.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

// Issue 18: what rules and replays send goes through the same egress guard as endpoints. A
// rulebook (or a replay) must not turn the server into a proxy to its own loopback, the cloud's
// metadata service or the private network, unless the operator allow-lists the address.

interface Attempt {
  responseStatusCode: number;
  errorClass: string | null;
  errorMessage: string | null;
}
interface Run {
  status: string;
  actions: Array<{ type: string; status: string; output: { messageId?: string } | null }>;
}

/** `loopback.test` resolves to 127.0.0.1, as a DNS name an attacker controls could. */
const lookup: LookupFn = (hostname) =>
  Promise.resolve(
    hostname === "loopback.test"
      ? [{ address: "127.0.0.1", family: 4 }]
      : [{ address: "93.184.216.34", family: 4 }],
  );

function targets(receiver: Receiver): string[] {
  return [
    `http://127.0.0.1:${receiver.port}/direct`,
    "http://169.254.169.254/latest/meta-data/",
    `http://[::ffff:127.0.0.1]:${receiver.port}/mapped`,
    `http://loopback.test:${receiver.port}/named`,
  ];
}

/** A rule that forwards each request to every target and notifies a "Slack" at the first. */
function rulebook(urls: string[]): string {
  return [
    "notifiers:",
    "  chat: { type: slack, url: " + JSON.stringify(urls[0]) + " }",
    "rules:",
    "  - name: fan-out",
    "    sources: [hooks]",
    "    actions:",
    ...urls.map((url) => `      - forward: { url: ${JSON.stringify(url)} }`),
    "      - notify: { to: chat, text: hello }",
    "",
  ].join("\n");
}

async function fire(server: TestServer, urls: string[]): Promise<Attempt[][]> {
  const src = await api<{ ingestUrl: string }>(server, "POST", "/ingest/api/v1/source", {
    name: "hooks",
    uid: "hooks",
    type: "generic-webhook",
  });
  expect((await api(server, "PUT", "/api/v1/rules", { rulebook: rulebook(urls) })).status).toBe(
    200,
  );
  expect((await fetch(src.json.ingestUrl, { method: "POST", body: "{}" })).status).toBe(200);
  let run: Run | undefined;
  await expect
    .poll(async () => {
      [run] = (
        await api<{ data: Run[] }>(server, "GET", "/api/v1/rule-run?rule=fan-out")
      ).json.data;
      return run?.status;
    })
    .toBe("succeeded");
  const messageIds = run!.actions.map((a) => a.output!.messageId!);
  expect(messageIds).toHaveLength(urls.length + 1);
  const attemptsOf = async (msg: string) =>
    (await api<{ data: Attempt[] }>(server, "GET", `/api/v1/app/hookyard-rules/attempt/msg/${msg}`))
      .json.data;
  const all: Attempt[][] = [];
  for (const msg of messageIds) {
    await expect.poll(async () => (await attemptsOf(msg)).length).toBeGreaterThan(0);
    all.push(await attemptsOf(msg));
  }
  return all;
}

describe("the egress guard on what rules and replays send", () => {
  it("refuses a rule's forward and notify to loopback, metadata, IPv4-mapped and a name resolving to loopback", async () => {
    const receiver = await startReceiver();
    const server = await startTestServer({ delivery: { egressAllow: [] }, lookup });
    const urls = targets(receiver);
    const attempts = await fire(server, urls);
    for (const [i, list] of attempts.entries()) {
      expect(list[0], urls[i] ?? "notify").toMatchObject({ errorClass: "egress_blocked" });
    }
    expect(attempts[0]![0]!.errorMessage).toMatch(/loopback address 127\.0\.0\.1 is not allowed/);
    expect(attempts[1]![0]!.errorMessage).toMatch(/cloud metadata address 169\.254\.169\.254/);
    expect(attempts[2]![0]!.errorMessage).toMatch(
      /loopback address 127\.0\.0\.1 is not allowed \(embedded in/,
    );
    expect(receiver.requests, "nothing reached the loopback receiver").toEqual([]);
  });

  it("lets the same rules through to an address the operator allow-lists", async () => {
    const receiver = await startReceiver();
    const server = await startTestServer({ delivery: { egressAllow: ["127.0.0.1/32"] }, lookup });
    const [direct, , mapped, named] = targets(receiver);
    const attempts = await fire(server, [direct!, mapped!, named!]);
    for (const list of attempts)
      expect(list[0]).toMatchObject({ responseStatusCode: 200, errorClass: null });
    expect(receiver.requests.map((r) => r.url).sort()).toEqual([
      "/direct",
      "/direct",
      "/mapped",
      "/named",
    ]);
  });

  it("refuses a replay of a received request to a loopback URL", async () => {
    const receiver = await startReceiver();
    const server = await startTestServer({ delivery: { egressAllow: [] }, lookup });
    const src = await api<{ id: string; ingestUrl: string }>(
      server,
      "POST",
      "/ingest/api/v1/source",
      {
        name: "hooks",
        type: "generic-webhook",
      },
    );
    const received = (await (
      await fetch(src.json.ingestUrl, { method: "POST", body: "{}" })
    ).json()) as {
      id: string;
    };
    for (const url of [receiver.url, `http://loopback.test:${receiver.port}/`]) {
      const replay = await api<{ messageId: string }>(
        server,
        "POST",
        `/ingest/api/v1/source/${src.json.id}/request/${received.id}/replay`,
        { url },
      );
      expect(replay.status).toBe(202);
      await expect
        .poll(async () => {
          const shown = await api<{ data: Array<{ messageId: string; attempts: Attempt[] }> }>(
            server,
            "GET",
            `/ingest/api/v1/source/${src.json.id}/request/${received.id}/forward`,
          );
          const forward = shown.json.data.find((f) => f.messageId === replay.json.messageId);
          return forward?.attempts[0]?.errorClass;
        })
        .toBe("egress_blocked");
    }
    expect(receiver.requests).toEqual([]);
  });
});
