import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { api } from "../helpers/api.js";
import { scrape } from "../helpers/prometheus.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer } from "../helpers/server.js";

// GET /metrics through the real server on both stores, parsed by a real Prometheus text parser.

describe("metrics", () => {
  it("counts requests, attempts by outcome, the backlog, received requests, rule runs and commits", async () => {
    const ok = await startReceiver();
    onTestFinished(() => ok.close());
    const down = await startReceiver({ defaultReply: 503 });
    onTestFinished(() => down.close());
    const probe = await startTestServer();
    const rulesPath = join(probe.dir, "rules.yaml");
    await probe.stop();
    await writeFile(
      rulesPath,
      `
rules:
  - name: note-push
    sources: [hooks]
    actions:
      - log: "push {{ event.payload.n }}"
`,
    );
    const server = await startTestServer({ rulesPath });
    await server.svix.application.create({ name: "A", uid: "a" });
    await server.svix.endpoint.create("a", { url: ok.url });
    await server.svix.endpoint.create("a", { url: `${down.url}down` });
    for (let n = 0; n < 3; n++) {
      await server.svix.message.create("a", { eventType: "x.y", payload: { n } });
    }
    await ok.waitForCount(3);
    await down.waitForCount(3);
    const hooks = await api<{ id: string; ingestUrl: string }>(
      server,
      "POST",
      "/ingest/api/v1/source",
      { name: "hooks", uid: "hooks", type: "generic-webhook" },
    );
    const gh = await api<{ id: string; ingestUrl: string }>(
      server,
      "POST",
      "/ingest/api/v1/source",
      { name: "gh", type: "github", config: { secret: "s3cret" } },
    );
    for (const n of [1, 2]) {
      const res = await fetch(hooks.json.ingestUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"n":${n}}`,
      });
      expect(res.status).toBe(200);
    }
    expect((await fetch(gh.json.ingestUrl, { method: "POST", body: "{}" })).status).toBe(401);

    // Waited for through the API, not by scraping: a scrape's backlog read is reused for 5 s.
    const downEp = (await server.svix.endpoint.list("a")).data.find((e) => e.url.endsWith("down"))!;
    await vi.waitFor(
      async () => {
        const failed = await server.svix.messageAttempt.listByEndpoint("a", downEp.id);
        expect(failed.data).toHaveLength(3);
        const runs = await api<{ data: unknown[] }>(server, "GET", "/api/v1/rule-run");
        expect(runs.json.data).toHaveLength(2);
      },
      { timeout: 10_000 },
    );
    await server.hookyard.store.whenIdle();
    const m = await scrape(server.url);
    const attempts = { name: "hookyard_delivery_attempts_total" } as const;
    expect(m.value(attempts.name, { outcome: "succeeded", error_class: "none" })).toBe(3);
    expect(m.value(attempts.name, { outcome: "retrying", error_class: "http_status" })).toBe(3);
    expect(m.labels(attempts.name).every((l) => !("endpoint_id" in l))).toBe(true);
    expect(m.count("hookyard_delivery_attempt_duration_seconds")).toBe(6);
    // The failing endpoint's three deliveries wait for their retry (5 s away), held in this
    // process's timers under its lease.
    expect(m.value("hookyard_deliveries_open", { state: "held" })).toBe(3);
    expect(m.value("hookyard_deliveries_open", { state: "due" })).toBe(0);
    expect(m.value("hookyard_deliveries_open", { state: "scheduled" })).toBe(0);
    const apps = m.labels("hookyard_delivery_oldest_open_age_seconds");
    expect(apps).toHaveLength(1);
    expect(apps[0]!["app_id"]).toMatch(/^app_/);
    expect(m.value("hookyard_delivery_oldest_open_age_seconds")).toBeGreaterThanOrEqual(0);

    const publish = { method: "POST", route: "/api/v1/app/:app_id/msg", status: "202" };
    expect(m.value("hookyard_http_requests_total", publish)).toBe(3);
    expect(m.count("hookyard_publish_duration_seconds")).toBe(3);
    expect(m.count("hookyard_ingest_duration_seconds")).toBe(3);
    expect(m.value("hookyard_http_requests_total", { route: "/in/:token", status: "401" })).toBe(1);
    expect(
      m.value("hookyard_inbound_requests_total", { source_id: hooks.json.id, verdict: "accepted" }),
    ).toBe(2);
    expect(
      m.value("hookyard_inbound_requests_total", { source_id: gh.json.id, verdict: "rejected" }),
    ).toBe(1);
    expect(m.value("hookyard_rule_runs_total", { rule: "note-push", outcome: "succeeded" })).toBe(
      2,
    );
    // Messages, deliveries and attempts were written in group commits of at least one write.
    expect(m.count("hookyard_store_commit_writes")).toBeGreaterThan(0);
    expect(m.count("hookyard_store_commit_duration_seconds")).toBeGreaterThan(0);
    // Node's own, event-loop lag among them, and which version runs.
    expect(m.value("nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
    expect(m.value("hookyard_info")).toBe(1);
    // No path or id of a message ever becomes a label.
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).not.toMatch(/msg_[0-9A-Za-z]/);
    expect(text).not.toContain(hooks.json.ingestUrl.split("/in/")[1]);
  });

  it("labels attempts with the endpoint id only when asked", async () => {
    const ok = await startReceiver();
    onTestFinished(() => ok.close());
    const server = await startTestServer({ metrics: { endpointLabels: true } });
    await server.svix.application.create({ name: "A", uid: "a" });
    const endpoint = await server.svix.endpoint.create("a", { url: ok.url });
    await server.svix.message.create("a", { eventType: "x.y", payload: {} });
    await ok.waitForCount(1);
    await vi.waitFor(async () => {
      const m = await scrape(server.url);
      expect(
        m.value("hookyard_delivery_attempts_total", {
          outcome: "succeeded",
          endpoint_id: endpoint.id,
        }),
      ).toBe(1);
    });
  });

  it("keeps /metrics behind its token when one is set, and away when disabled", async () => {
    const server = await startTestServer({ metrics: { token: "scrape-me" } });
    const bare = await fetch(`${server.url}/metrics`);
    expect(bare.status).toBe(401);
    expect(await bare.json()).toEqual({
      code: "authentication_failed",
      detail: expect.stringContaining("Bearer"),
    });
    const wrong = await fetch(`${server.url}/metrics`, {
      headers: { authorization: "Bearer nope" },
    });
    expect(wrong.status).toBe(401);
    // The admin key is not the scraper's token.
    const admin = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${server.config.auth.apiKey}` },
    });
    expect(admin.status).toBe(401);
    expect((await scrape(server.url, "scrape-me")).value("hookyard_info")).toBe(1);

    // Without a token only this host is answered: here a client behind a trusted proxy.
    const local = await startTestServer({ inbound: { trustProxy: ["127.0.0.1"] } });
    const remote = await fetch(`${local.url}/metrics`, {
      headers: { "x-forwarded-for": "203.0.113.9" },
    });
    expect(remote.status).toBe(403);
    expect(((await remote.json()) as { detail: string }).detail).toContain("metrics.token");
    expect((await scrape(local.url)).value("hookyard_info")).toBe(1);
    // A proxy on this host (not named in trustProxy) must not make everyone local.
    const proxied = await fetch(`${server.url}/metrics`.replace(server.url, local.url), {
      headers: { forwarded: "for=203.0.113.9" },
    });
    expect(proxied.status).toBe(403);

    const off = await startTestServer({ metrics: { enabled: false } });
    expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
  });
});
