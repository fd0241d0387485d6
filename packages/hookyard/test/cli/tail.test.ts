import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { recordingIo as tailIo } from "../helpers/cli-io.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

describe("hookyard tail", () => {
  it("prints each request a bin receives as it arrives, until Ctrl-C", async () => {
    const server = await startTestServer();
    const created = await fetch(`${server.url}/ingest/api/v1/source`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "bin", uid: "my-bin", type: "request-bin" }),
    });
    const bin = (await created.json()) as { ingestUrl: string };
    const tail = tailIo();
    const running = runCli(
      ["tail", "my-bin", "--server", server.url, "--api-key", TEST_API_KEY],
      tail.io,
    );
    await expect.poll(() => tail.stderr()).toContain("tailing my-bin");

    await fetch(`${bin.ingestUrl}/deploy?env=prod`, { method: "POST", body: '{"ok":true}' });
    await expect
      .poll(() => tail.stdout(), { timeout: 5_000 })
      .toMatch(/POST \/deploy\?env=prod 11 B from .*127\.0\.0\.1 req_\w+\n {2}\{"ok":true\}\n/);
    tail.stop();
    expect(await running).toBe(0);
  });

  it("says in one line why it cannot tail, and exits 1", async () => {
    const server = await startTestServer();
    const unknown = tailIo();
    const code = await runCli(
      ["tail", "nope", "--server", server.url, "--api-key", TEST_API_KEY],
      unknown.io,
    );
    expect(code).toBe(1);
    expect(unknown.stderr()).toBe(
      'hookyard tail: the server answered 404: Source "nope" not found\n',
    );
    const noKey = tailIo();
    expect(await runCli(["tail", "x", "--server", server.url], noKey.io)).toBe(1);
    expect(noKey.stderr()).toMatch(/no API key/);
    const usage = tailIo();
    expect(await runCli(["tail"], usage.io)).toBe(2);
  });
});
