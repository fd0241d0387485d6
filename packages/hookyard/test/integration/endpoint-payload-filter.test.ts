import type { Svix } from "svix";
import { describe, expect, it, onTestFinished } from "vitest";
import { startReceiver } from "../helpers/receiver.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

/**
 * An endpoint's `payloadFilter` (a Hookyard extension, so not in the svix SDK's typed inputs:
 * endpoints are written with raw requests here, messages go through the SDK).
 */

interface EndpointJson {
  id: string;
  eventTypes: string[] | null;
  payloadFilter: string | null;
}

interface Problem {
  loc: string[];
  msg: string;
  type: string;
}

/** Raw JSON calls to the management API with the admin key. */
function api(url: string) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const json: unknown = await res.json();
    return { status: res.status, json };
  };
}

/** Publishes one message and says whether the endpoint was given a delivery for it. */
async function routed(
  svix: Svix,
  appId: string,
  endpointId: string,
  message: { eventType: string; payload: Record<string, unknown>; tags?: string[] },
): Promise<boolean> {
  const msg = await svix.message.create(appId, message);
  // Deliveries are committed with the message: none listed = the endpoint was not a target.
  const destinations = await svix.messageAttempt.listAttemptedDestinations(appId, msg.id);
  return destinations.data.some((d) => d.id === endpointId);
}

describe("endpoint payload filter", () => {
  it("delivers invoice.paid of 5000 and not of 10 to an endpoint filtering amount > 1000", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const { svix, url } = await startTestServer();
    const call = api(url);
    const app = await svix.application.create({ name: "A" });
    const created = await call("POST", `/app/${app.id}/endpoint`, {
      url: receiver.url,
      eventTypes: ["invoice.paid"],
      payloadFilter: "payload.amount > 1000",
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const ep = created.json as EndpointJson;
    expect(ep).toMatchObject({
      eventTypes: ["invoice.paid"],
      payloadFilter: "payload.amount > 1000",
    });

    const small = { eventType: "invoice.paid", payload: { amount: 10 } };
    expect(await routed(svix, app.id, ep.id, small), "amount 10 is filtered out").toBe(false);
    const otherType = { eventType: "invoice.voided", payload: { amount: 5000 } };
    expect(
      await routed(svix, app.id, ep.id, otherType),
      "the event-type filter still applies",
    ).toBe(false);
    const lacking = { eventType: "invoice.paid", payload: { total: 5000 } };
    expect(await routed(svix, app.id, ep.id, lacking), "a missing field is no match").toBe(false);
    const big = { eventType: "invoice.paid", payload: { amount: 5000 } };
    expect(await routed(svix, app.id, ep.id, big), "amount 5000 passes").toBe(true);

    const delivered = await receiver.nextRequest({ timeoutMs: 5_000 });
    expect(JSON.parse(delivered.body)).toEqual({ amount: 5000 });
    expect(receiver.requests, "only the 5000 one reached the receiver").toHaveLength(1);

    const fetched = await call("GET", `/app/${app.id}/endpoint/${ep.id}`);
    expect(fetched.json).toMatchObject({ id: ep.id, payloadFilter: "payload.amount > 1000" });
    const listed = await call("GET", `/app/${app.id}/endpoint`);
    expect((listed.json as { data: EndpointJson[] }).data).toMatchObject([
      { id: ep.id, payloadFilter: "payload.amount > 1000" },
    ]);
  });

  it("sees tags and channels, as [] when the message has none", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const { svix, url } = await startTestServer();
    const app = await svix.application.create({ name: "A" });
    const created = await api(url)("POST", `/app/${app.id}/endpoint`, {
      url: receiver.url,
      payloadFilter: '"vip" in tags && size(channels) == 0',
    });
    const ep = created.json as EndpointJson;
    const payload = { amount: 1 };
    expect(await routed(svix, app.id, ep.id, { eventType: "a", payload, tags: ["vip"] })).toBe(
      true,
    );
    expect(await routed(svix, app.id, ep.id, { eventType: "a", payload })).toBe(false);
  });

  it("changes the filter by patch, keeps it when patch leaves it out, clears it with null", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const { svix, url } = await startTestServer();
    const call = api(url);
    const app = await svix.application.create({ name: "A" });
    const ep = (
      await call("POST", `/app/${app.id}/endpoint`, {
        url: receiver.url,
        payloadFilter: "payload.amount > 1000",
      })
    ).json as EndpointJson;
    const small = { eventType: "invoice.paid", payload: { amount: 10 } };
    expect(await routed(svix, app.id, ep.id, small)).toBe(false);

    const patched = await call("PATCH", `/app/${app.id}/endpoint/${ep.id}`, {
      payloadFilter: "payload.amount < 100",
    });
    expect(patched.json).toMatchObject({ payloadFilter: "payload.amount < 100" });
    expect(await routed(svix, app.id, ep.id, small), "the new filter takes 10").toBe(true);

    const otherField = await svix.endpoint.patch(app.id, ep.id, { description: "small ones" });
    expect(otherField.description).toBe("small ones");
    expect(
      (await call("GET", `/app/${app.id}/endpoint/${ep.id}`)).json,
      "left as it was",
    ).toMatchObject({ payloadFilter: "payload.amount < 100" });

    const cleared = await call("PATCH", `/app/${app.id}/endpoint/${ep.id}`, {
      payloadFilter: null,
    });
    expect(cleared.json).toMatchObject({ payloadFilter: null });
    const big = { eventType: "invoice.paid", payload: { amount: 5000 } };
    expect(await routed(svix, app.id, ep.id, big), "no filter: everything").toBe(true);

    const emptied = await call("PATCH", `/app/${app.id}/endpoint/${ep.id}`, {
      payloadFilter: "",
    });
    expect(emptied.json, "an empty filter is no filter").toMatchObject({ payloadFilter: null });
  });

  it("replaces the filter on upsert, and keeps it when the body does not name it", async () => {
    const { svix, url } = await startTestServer();
    const call = api(url);
    const app = await svix.application.create({ name: "A" });
    const put = (body: unknown) => call("PUT", `/app/${app.id}/endpoint/by-uid`, body);

    const created = await put({ url: "http://127.0.0.1:9/h", payloadFilter: "payload.a == 1" });
    expect(created.status, "an upsert of a missing endpoint creates it").toBe(201);
    expect(created.json).toMatchObject({ payloadFilter: "payload.a == 1" });
    const replaced = await put({ url: "http://127.0.0.1:9/h", payloadFilter: "payload.b == 1" });
    expect(replaced.json).toMatchObject({ payloadFilter: "payload.b == 1" });
    // The svix SDK's upsert cannot send payloadFilter: it must not wipe it.
    const viaSdk = await svix.endpoint.upsert(app.id, "by-uid", { url: "http://127.0.0.1:9/v2" });
    expect((await call("GET", `/app/${app.id}/endpoint/${viaSdk.id}`)).json).toMatchObject({
      url: "http://127.0.0.1:9/v2",
      payloadFilter: "payload.b == 1",
    });
    const cleared = await put({ url: "http://127.0.0.1:9/h", payloadFilter: null });
    expect(cleared.json, "null clears it").toMatchObject({ payloadFilter: null });
  });

  it("refuses a filter that does not compile with a 422 naming payloadFilter, writing nothing", async () => {
    const { svix, url } = await startTestServer();
    const call = api(url);
    const app = await svix.application.create({ name: "A" });
    const problemsOf = (json: unknown) => (json as { detail: Problem[] }).detail;

    const syntax = await call("POST", `/app/${app.id}/endpoint`, {
      url: "http://127.0.0.1:9/h",
      payloadFilter: "payload.amount >",
    });
    expect(syntax.status).toBe(422);
    expect(problemsOf(syntax.json)).toMatchObject([
      { loc: ["body", "payloadFilter"], msg: expect.stringContaining("Unexpected token: EOF") },
    ]);
    const unknown = await call("POST", `/app/${app.id}/endpoint`, {
      url: "http://127.0.0.1:9/h",
      payloadFilter: "amount > 1000",
    });
    expect(unknown.status).toBe(422);
    expect(problemsOf(unknown.json)).toMatchObject([
      { loc: ["body", "payloadFilter"], msg: expect.stringContaining("Unknown variable: amount") },
    ]);
    const tooLong = await call("POST", `/app/${app.id}/endpoint`, {
      url: "http://127.0.0.1:9/h",
      payloadFilter: `eventType == "${"x".repeat(5000)}"`,
    });
    expect(tooLong.status).toBe(422);
    expect(problemsOf(tooLong.json)[0]?.loc).toEqual(["body", "payloadFilter"]);
    expect((await svix.endpoint.list(app.id)).data, "no endpoint was created").toEqual([]);

    const ep = await svix.endpoint.create(app.id, { url: "http://127.0.0.1:9/h" });
    const badPatch = await call("PATCH", `/app/${app.id}/endpoint/${ep.id}`, {
      payloadFilter: "eventType",
      description: "changed",
    });
    expect(badPatch.status).toBe(422);
    expect(problemsOf(badPatch.json)).toMatchObject([
      { loc: ["body", "payloadFilter"], msg: expect.stringContaining("true or false") },
    ]);
    expect((await call("GET", `/app/${app.id}/endpoint/${ep.id}`)).json, "unchanged").toMatchObject(
      { payloadFilter: null, description: "" },
    );
    const badPut = await call("PUT", `/app/${app.id}/endpoint/${ep.id}`, {
      url: "http://127.0.0.1:9/h",
      payloadFilter: "payload.(",
    });
    expect(badPut.status).toBe(422);
    expect(problemsOf(badPut.json)[0]?.loc).toEqual(["body", "payloadFilter"]);
  });

  it("forwards to an ingest destination only the requests its filter takes", async () => {
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const { svix, url } = await startTestServer();
    const auth = { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" };
    const source = await svix.ingest.source.create({ name: "hooks", type: "generic-webhook" });
    const res = await fetch(`${url}/ingest/api/v1/source/${source.id}/endpoint`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ url: receiver.url, payloadFilter: 'payload.action == "opened"' }),
    });
    expect(res.status).toBe(201);
    const destination = (await res.json()) as EndpointJson;
    expect(destination.payloadFilter).toBe('payload.action == "opened"');

    const forwardsOf = async (body: unknown) => {
      const sent = await fetch(source.ingestUrl!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const { id } = (await sent.json()) as { id: string };
      const forwards = await fetch(
        `${url}/ingest/api/v1/source/${source.id}/request/${id}/forward`,
        { headers: auth },
      );
      return ((await forwards.json()) as { data: unknown[] }).data;
    };
    expect(await forwardsOf({ action: "closed" }), "closed is not for this destination").toEqual(
      [],
    );
    expect(await forwardsOf({ action: "opened" })).toMatchObject([
      { destinations: [{ endpointId: destination.id }] },
    ]);
    const delivered = await receiver.nextRequest({ timeoutMs: 5_000 });
    expect(JSON.parse(delivered.body)).toEqual({ action: "opened" });
  });
});
