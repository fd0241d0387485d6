import { sign as githubSign } from "@octokit/webhooks-methods";
import { describe, expect, it } from "vitest";
import { api } from "../helpers/api.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/server.js";

// GET /ingest/api/v1/request/{request_id}: a request any source received, by its id alone.

const GITHUB_SECRET = "It's a Secret to Everybody";
const BODY = '{"action":"opened","number":7}';

interface RequestOut {
  id: string;
  sourceId: string;
  status: string;
  reason: string | null;
  body: string;
}

async function createSource(server: TestServer, type: string, config: Record<string, unknown>) {
  const created = await api<{ id: string; ingestUrl: string }>(
    server,
    "POST",
    "/ingest/api/v1/source",
    { name: type, type, config },
  );
  expect(created.status, `create a ${type} source`).toBe(201);
  return created.json;
}

/** The newest request `sourceId` received, as its own source's route answers it. */
async function newestRequest(server: TestServer, sourceId: string): Promise<RequestOut> {
  const listed = await api<{ data: RequestOut[] }>(
    server,
    "GET",
    `/ingest/api/v1/source/${sourceId}/request?limit=1`,
  );
  expect(listed.status).toBe(200);
  const [newest] = listed.json.data;
  expect(newest, `a request received by ${sourceId}`).toBeDefined();
  return newest!;
}

describe("a received request by its id alone", () => {
  it("answers the request of whichever source received it, accepted or rejected", async () => {
    const server = await startTestServer();
    const github = await createSource(server, "github", { secret: GITHUB_SECRET });
    const generic = await createSource(server, "generic-webhook", {});

    const signed = await fetch(github.ingestUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-hub-signature-256": await githubSign("not the secret", BODY),
      },
      body: BODY,
    });
    expect(signed.status, "the github source refuses a wrong signature").toBe(401);
    const plain = await fetch(generic.ingestUrl, { method: "POST", body: "plain text" });
    expect(plain.status).toBe(200);

    for (const [source, status] of [
      [github.id, "rejected"],
      [generic.id, "accepted"],
    ] as const) {
      const listed = await newestRequest(server, source);
      const byId = await api<RequestOut>(server, "GET", `/ingest/api/v1/request/${listed.id}`);
      expect(byId.status, `GET /request/${listed.id}`).toBe(200);
      expect(byId.json, `${listed.id} by id, as its source ${source} shows it`).toEqual(listed);
      expect(byId.json).toMatchObject({ sourceId: source, status });
    }
  });

  it("answers 404 not_found naming an id no source received", async () => {
    const server = await startTestServer();
    const generic = await createSource(server, "generic-webhook", {});
    expect((await fetch(generic.ingestUrl, { method: "POST", body: "x" })).status).toBe(200);
    const received = await newestRequest(server, generic.id);

    const unknown = await api(server, "GET", "/ingest/api/v1/request/req_unknown");
    expect(unknown).toEqual({
      status: 404,
      json: { code: "not_found", detail: 'Request "req_unknown" not found' },
    });

    const deleted = await fetch(
      `${server.url}/ingest/api/v1/source/${generic.id}/request/${received.id}`,
      { method: "DELETE", headers: { authorization: `Bearer ${TEST_API_KEY}` } },
    );
    expect(deleted.status).toBe(204);
    const gone = await api(server, "GET", `/ingest/api/v1/request/${received.id}`);
    expect(gone, "a deleted request is not found either").toMatchObject({
      status: 404,
      json: { code: "not_found", detail: `Request "${received.id}" not found` },
    });
  });

  it("refuses a wrong API key with 401 and shows nothing of the request", async () => {
    const server = await startTestServer();
    const generic = await createSource(server, "generic-webhook", {});
    const secretBody = "nothing to see here";
    expect((await fetch(generic.ingestUrl, { method: "POST", body: secretBody })).status).toBe(200);
    const received = await newestRequest(server, generic.id);

    const res = await fetch(`${server.url}/ingest/api/v1/request/${received.id}`, {
      headers: { authorization: "Bearer wrong_key_0123456789abcdefghijklmn" },
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { code: string };
    expect(body.code).toBe("authentication_failed");
    expect(JSON.stringify(body)).not.toContain(secretBody);
  });
});
