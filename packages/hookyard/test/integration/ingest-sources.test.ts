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

  it("refuses a Standard Webhooks secret that decodes to fewer than 24 bytes, for every Svix-type source", async () => {
    const { svix, url } = await startTestServer();
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text === "" ? null : (JSON.parse(text) as unknown) };
    };
    const key = (bytes: number) => Buffer.alloc(bytes, 7).toString("base64");
    for (const type of ["standard-webhooks", "svix", "clerk", "resend"]) {
      for (const [secret, why] of [
        ["whsec_", /decodes to 0 byte/],
        [`whsec_${key(23)}`, /decodes to 23 byte/],
        [`whsec_${key(76)}`, /decodes to 76 byte/],
        ["whsec_not base64!", /must be base64/],
      ] as const) {
        const refused = await post("/ingest/api/v1/source", {
          name: "x",
          type,
          config: { secret },
        });
        expect(refused, `${type} with secret ${JSON.stringify(secret)}`).toMatchObject({
          status: 422,
          body: {
            detail: [{ loc: ["body", "config", "secret"], msg: expect.stringMatching(why) }],
          },
        });
      }
      // A secret as Svix shows it, and the same without its prefix (Svix's verifiers take both).
      for (const secret of [`whsec_${key(24)}`, key(32), `whsec_${key(75)}`]) {
        const made = await post("/ingest/api/v1/source", { name: "x", type, config: { secret } });
        expect(made.status, `${type} with a ${secret.length}-character secret`).toBe(201);
      }
    }
    // GitLab verifies a `whsec_` signing token as Standard Webhooks: the same bounds apply.
    for (const secret of ["whsec_", "whsec_AAAA"]) {
      const gitlab = await post("/ingest/api/v1/source", {
        name: "x",
        type: "gitlab",
        config: { secret },
      });
      expect(gitlab, `gitlab with ${secret}`).toMatchObject({
        status: 422,
        body: {
          detail: [
            {
              loc: ["body", "config", "secret"],
              msg: expect.stringMatching(/decodes to [03] byte/),
            },
          ],
        },
      });
    }
    const gitlabToken = await post("/ingest/api/v1/source", {
      name: "x",
      type: "gitlab",
      config: { secret: "a plain token" },
    });
    expect(gitlabToken.status).toBe(201);
    for (const [type, config] of [
      ["github", { secret: "   " }],
      ["generic-hmac", { secret: "", header: "x-sig" }],
      ["bearer", { token: " " }],
    ] as const) {
      const blank = await post("/ingest/api/v1/source", { name: "x", type, config });
      expect(blank.status, `${type} with a blank secret`).toBe(422);
    }

    // The same rule for endpoint secrets: on create, on update and on rotation.
    const app = await svix.application.create({ name: "a" });
    const endpoints = `/api/v1/app/${app.id}/endpoint`;
    const noKey = await post(endpoints, { url: "http://127.0.0.1:9/x", secret: "whsec_" });
    expect(noKey).toMatchObject({ status: 422, body: { detail: [{ loc: ["body", "secret"] }] } });
    const ep = await svix.endpoint.create(app.id, { url: "http://127.0.0.1:9/x" });
    const rotate = await post(`${endpoints}/${ep.id}/secret/rotate`, { key: "whsec_" });
    expect(rotate).toMatchObject({ status: 422, body: { detail: [{ loc: ["body", "key"] }] } });
    expect((await post(`${endpoints}/${ep.id}/secret/rotate`, {})).status).toBe(204);
  });
});
