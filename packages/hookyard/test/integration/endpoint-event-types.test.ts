import type { Svix } from "svix";
import { Svix as Svix1 } from "svix1";
import { describe, expect, it } from "vitest";
import { apiError } from "../helpers/api-error.js";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

/**
 * svix SDK 2.x renamed the endpoint's event-type filter `filterTypes` → `eventTypes` and its rate
 * limit `rateLimit` → `throttleRate`. Before Hookyard knew the new names, an SDK 2 endpoint made
 * for one event type received every event type (the field was dropped as unknown): these pin
 * that it never does again, and that SDK 1 callers keep working.
 */

/** Publishes `a` and `b`, and says which of them were given a delivery to the endpoint. */
async function routedTypes(svix: Svix, appId: string, endpointId: string): Promise<string[]> {
  const routed: string[] = [];
  for (const eventType of ["a", "b"]) {
    const msg = await svix.message.create(appId, { eventType, payload: { eventType } });
    // Deliveries are committed with the message: none listed = the endpoint was not a target.
    const destinations = await svix.messageAttempt.listAttemptedDestinations(appId, msg.id);
    if (destinations.data.some((d) => d.id === endpointId)) routed.push(eventType);
  }
  return routed;
}

describe("endpoint event-type filter under both SDK names", () => {
  it("delivers a, and not b, to an endpoint created with eventTypes: [a] (svix 2.x)", async () => {
    const receiver = await startReceiver();
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: receiver.url, eventTypes: ["a"] });
    expect(ep.eventTypes).toEqual(["a"]);
    expect(await routedTypes(svix, app.id, ep.id)).toEqual(["a"]);
    const delivered = await receiver.nextRequest({ timeoutMs: 5_000 });
    expect(JSON.parse(delivered.body)).toEqual({ eventType: "a" });
    expect((await svix.endpoint.get(app.id, ep.id)).eventTypes).toEqual(["a"]);
  });

  it("changes the filter by patch and by upsert, and clears it with null", async () => {
    const { svix } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const ep = await svix.endpoint.create(app.id, { url: "https://example.com/h" });
    expect(await routedTypes(svix, app.id, ep.id), "no filter: every type").toEqual(["a", "b"]);

    const patched = await svix.endpoint.patch(app.id, ep.id, { eventTypes: ["b"] });
    expect(patched.eventTypes).toEqual(["b"]);
    expect(await routedTypes(svix, app.id, ep.id)).toEqual(["b"]);

    const upserted = await svix.endpoint.upsert(app.id, ep.id, {
      url: "https://example.com/h",
      eventTypes: ["a"],
      throttleRate: 7,
    });
    expect(upserted).toMatchObject({ eventTypes: ["a"], throttleRate: 7 });
    expect(await routedTypes(svix, app.id, ep.id)).toEqual(["a"]);

    const cleared = await svix.endpoint.patch(app.id, ep.id, { eventTypes: null });
    expect(cleared.eventTypes ?? null).toBeNull();
    expect(await routedTypes(svix, app.id, ep.id)).toEqual(["a", "b"]);

    const upsertCreated = await svix.endpoint.upsert(app.id, "by-uid", {
      url: "https://example.com/u",
      eventTypes: ["b"],
    });
    expect(upsertCreated, "an upsert of a missing endpoint creates it").toMatchObject({
      uid: "by-uid",
      eventTypes: ["b"],
    });
    expect(await routedTypes(svix, app.id, upsertCreated.id)).toEqual(["b"]);
  });

  it("answers both names and names the field the caller used in a 422", async () => {
    const { svix, url } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const bad = await apiError(
      svix.endpoint.create(app.id, { url: "https://example.com/h", eventTypes: ["not ok"] }),
    );
    expect(bad.code).toBe(422);
    expect((bad.body as { detail: { loc: unknown[] }[] }).detail[0]?.loc).toEqual([
      "body",
      "eventTypes",
      "0",
    ]);

    const post = (body: unknown) =>
      fetch(`${url}/api/v1/app/${app.id}/endpoint`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const old = await post({ url: "https://example.com/o", filterTypes: ["x y"] });
    expect(old.status).toBe(422);
    expect(((await old.json()) as { detail: { loc: unknown[] }[] }).detail[0]?.loc).toEqual([
      "body",
      "filterTypes",
      "0",
    ]);
    const both = await post({ url: "https://e.com/o", eventTypes: ["a"], filterTypes: ["b"] });
    expect(both.status, "two names with two values is refused, not guessed").toBe(422);

    const ok = await post({ url: "https://example.com/o", filterTypes: ["a"], rateLimit: 3 });
    expect(ok.status).toBe(201);
    expect(await ok.json(), "both names come back").toMatchObject({
      eventTypes: ["a"],
      filterTypes: ["a"],
      throttleRate: 3,
      rateLimit: 3,
    });
  });

  it("forwards to an ingest destination created with eventTypes only the types it names", async () => {
    const receiver = await startReceiver();
    const { svix, url } = await startTestServer();
    const auth = { authorization: `Bearer ${TEST_API_KEY}` };
    const source = await svix.ingest.source.create({ name: "hooks", type: "generic-webhook" });
    const res = await fetch(`${url}/ingest/api/v1/source/${source.id}/endpoint`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ url: receiver.url, eventTypes: ["push"] }),
    });
    expect(res.status).toBe(201);
    const destination = (await res.json()) as { id: string; eventTypes: string[] };
    expect(destination.eventTypes).toEqual(["push"]);
    expect((await svix.ingest.endpoint.get(source.id, destination.id)).id).toBe(destination.id);

    const forwardsOf = async (type: string) => {
      const sent = await fetch(source.ingestUrl!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type }),
      });
      const { id } = (await sent.json()) as { id: string };
      const forwards = await fetch(
        `${url}/ingest/api/v1/source/${source.id}/request/${id}/forward`,
        { headers: auth },
      );
      return ((await forwards.json()) as { data: { destinations: { endpointId: string }[] }[] })
        .data;
    };
    expect(await forwardsOf("issue"), "an issue event is not for this destination").toEqual([]);
    expect(await forwardsOf("push")).toMatchObject([
      { destinations: [{ endpointId: destination.id }] },
    ]);
    expect(JSON.parse((await receiver.nextRequest({ timeoutMs: 5_000 })).body)).toEqual({
      type: "push",
    });
  });

  it("keeps svix 1.x working: filterTypes and rateLimit", async () => {
    const receiver = await startReceiver();
    const { svix, url } = await startTestServer();
    const svix1 = new Svix1(TEST_API_KEY, { serverUrl: url, retryScheduleInMs: [] });
    const app = await svix1.application.create({ name: "A" });
    const ep = await svix1.endpoint.create(app.id, {
      url: receiver.url,
      filterTypes: ["a"],
      rateLimit: 4,
    });
    expect(ep).toMatchObject({ filterTypes: ["a"], rateLimit: 4 });
    expect(await routedTypes(svix, app.id, ep.id)).toEqual(["a"]);
    const updated = await svix1.endpoint.update(app.id, ep.id, {
      url: receiver.url,
      filterTypes: ["b"],
    });
    expect(updated.filterTypes).toEqual(["b"]);
    expect(await routedTypes(svix, app.id, ep.id)).toEqual(["b"]);
  });
});

describe("svix 2.x calls the README lists, not covered elsewhere", () => {
  it("lists applications without endpoints or with disabled ones left out", async () => {
    const { svix } = await startTestServer();
    const withEndpoint = await svix.application.create({ name: "with" });
    await svix.application.create({ name: "bare" });
    const disabled = await svix.application.create({ name: "disabled" });
    await svix.endpoint.create(withEndpoint.id, { url: "https://example.com/a" });
    await svix.endpoint.create(disabled.id, { url: "https://example.com/b", disabled: true });
    const names = async (opts: Parameters<Svix["application"]["list"]>[0]) =>
      (await svix.application.list(opts)).data.map((a) => a.name);
    expect(await names({ excludeAppsWithNoEndpoints: true })).toEqual(["with", "disabled"]);
    expect(await names({ excludeAppsWithDisabledEndpoints: true })).toEqual(["with", "bare"]);
    expect(await names({ excludeAppsWithSvixPlayEndpoints: true })).toHaveLength(3);
    const again = await svix.application.getOrCreate({ name: "x", uid: "u1" });
    expect((await svix.application.getOrCreate({ name: "y", uid: "u1" })).id).toBe(again.id);
  });

  it("manages ingest destinations: upsert, secret rotation, headers, delete", async () => {
    const { svix } = await startTestServer();
    const source = await svix.ingest.source.create({ name: "gh", type: "generic-webhook" });
    const created = await svix.ingest.endpoint.upsert(source.id, "deploy", {
      url: "https://example.com/deploy",
      throttleRate: 3,
    });
    expect(created).toMatchObject({ uid: "deploy", throttleRate: 3 });
    const updated = await svix.ingest.endpoint.upsert(source.id, "deploy", {
      url: "https://example.com/v2",
    });
    expect(updated).toMatchObject({ id: created.id, url: "https://example.com/v2" });
    const { key } = await svix.ingest.endpoint.getSecret(source.id, created.id);
    await svix.ingest.endpoint.rotateSecret(source.id, created.id, {});
    expect((await svix.ingest.endpoint.getSecret(source.id, created.id)).key).not.toBe(key);
    await svix.ingest.endpoint.setHeaders(source.id, created.id, { headers: { "X-Team": "ops" } });
    expect((await svix.ingest.endpoint.getHeaders(source.id, created.id)).headers).toEqual({
      "x-team": "ops",
    });
    expect((await svix.ingest.endpoint.list(source.id)).data.map((e) => e.id)).toEqual([
      created.id,
    ]);
    await svix.ingest.endpoint.delete(source.id, created.id);
    expect((await apiError(svix.ingest.endpoint.get(source.id, created.id))).code).toBe(404);
  });
});
