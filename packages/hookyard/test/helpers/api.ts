import { TEST_API_KEY, type TestServer } from "./server.js";

/** One call to a test server's API with the admin key: its status and JSON body. */
export async function api<T>(
  server: Pick<TestServer, "url">,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T };
}
