import { describe, expect, it } from "vitest";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

// Svix Ingest's source API through the official svix SDK (`ingest.source`).
describe("ingest sources through the svix SDK", () => {
  it("creates, reads, lists, updates and deletes a source, never showing its secret", async () => {
    const { svix, url } = await startTestServer();
    const created = await svix.ingest.source.create({
      name: "GitHub main repo",
      uid: "gh-main",
      type: "github",
      config: { secret: "It's a Secret to Everybody" },
      metadata: { team: "ops" },
    });
    expect(created).toMatchObject({
      name: "GitHub main repo",
      uid: "gh-main",
      type: "github",
      metadata: { team: "ops" },
    });
    expect(created.id).toMatch(/^src_/);
    expect(created.ingestUrl).toMatch(new RegExp(`^${url}/in/[A-Za-z0-9_-]{32}$`));
    expect(JSON.stringify(created)).not.toContain("Secret to Everybody");

    expect(await svix.ingest.source.get("gh-main")).toEqual(created);
    const other = await svix.ingest.source.create({
      name: "Stripe",
      type: "stripe",
      config: { secret: "whsec_x" },
    });
    const listed = await svix.ingest.source.list({ limit: 1 });
    expect(listed.data.map((s) => s.id)).toEqual([created.id]);
    const rest = await svix.ingest.source.list({ limit: 1, iterator: listed.iterator });
    expect(rest.data.map((s) => s.id)).toEqual([other.id]);

    const updated = await svix.ingest.source.upsert(created.id, {
      name: "GitHub (renamed)",
      uid: "gh-main",
      type: "github",
      config: { secret: "new secret" },
    });
    expect(updated).toMatchObject({ name: "GitHub (renamed)", ingestUrl: created.ingestUrl });
    expect(updated.metadata, "PUT replaces: metadata not given is cleared").toEqual({});

    await svix.ingest.source.delete(created.id);
    await expect(svix.ingest.source.get(created.id)).rejects.toMatchObject({ code: 404 });
  });

  it("rotates the ingest token: a new URL each time", async () => {
    const { svix } = await startTestServer();
    const source = await svix.ingest.source.create({
      name: "Slack",
      type: "slack",
      config: { secret: "8f742231b10e8888abcd99yyyzzz85a5" },
    });
    const { ingestUrl } = await svix.ingest.source.rotateToken(source.id);
    expect(ingestUrl).not.toBe(source.ingestUrl);
    expect((await svix.ingest.source.get(source.id)).ingestUrl).toBe(ingestUrl);
  });

  it("answers 422 naming the field for an unknown type or a missing secret, and 409 for a taken uid", async () => {
    const { svix, url } = await startTestServer();
    const post = async (body: unknown) => {
      const res = await fetch(`${url}/ingest/api/v1/source`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    const unknownType = await post({ name: "x", type: "carrier-pigeon", config: {} });
    expect(unknownType.status).toBe(422);
    expect(unknownType.body).toMatchObject({
      detail: [{ loc: ["body", "type"], msg: expect.stringContaining("github") }],
    });
    const noSecret = await post({ name: "x", type: "stripe", config: {} });
    expect(noSecret).toMatchObject({
      status: 422,
      body: { detail: [{ loc: ["body", "config", "secret"], msg: "is required" }] },
    });
    const badUid = await post({ name: "x", uid: "src_taken", type: "generic-webhook" });
    expect(badUid.status).toBe(422);
    await svix.ingest.source.create({ name: "a", uid: "dup", type: "generic-webhook" });
    expect((await post({ name: "b", uid: "dup", type: "generic-webhook" })).status).toBe(409);
    const unauthenticated = await fetch(`${url}/ingest/api/v1/source`);
    expect(unauthenticated.status).toBe(401);
  });
});
