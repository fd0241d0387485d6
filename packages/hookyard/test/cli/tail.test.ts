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

  it("prints no control character a sender put in the request, showing each escaped instead", async () => {
    const server = await startTestServer();
    const created = await fetch(`${server.url}/ingest/api/v1/source`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "bin", uid: "evil-bin", type: "request-bin" }),
    });
    const bin = (await created.json()) as { ingestUrl: string };
    const tail = tailIo();
    const running = runCli(
      ["tail", "evil-bin", "--server", server.url, "--api-key", TEST_API_KEY],
      tail.io,
    );
    await expect.poll(() => tail.stderr()).toContain("tailing evil-bin");

    // Node refuses raw control bytes in the request line and headers; a latin1 header byte may
    // still be a C1 control, and the body and the percent-decoded path carry anything.
    const body = "title\u001b]0;pwned\u0007 clear\u001b[2J\r\nnext\tline\u009b31m\u202eevil\u0000";
    const res = await fetch(`${bin.ingestUrl}/%1B%5B2J?q=%1B%5D0%3Bx%07`, {
      method: "POST",
      headers: { "x-title": "a\u009b2Jb" },
      body,
    });
    expect(res.status).toBe(200);
    await expect.poll(() => tail.stdout(), { timeout: 5_000 }).toContain("evil");
    tail.stop();
    expect(await running).toBe(0);
    const printed = tail.stdout();
    expect(printed, "no control character but line breaks and tabs").not.toMatch(
      // eslint-disable-next-line no-control-regex -- looking for control characters
      /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/,
    );
    expect(printed, "the decoded path too").toContain(" POST /\\x1b[2J?q=");
    expect(printed).toContain(
      "  title\\x1b]0;pwned\\x07 clear\\x1b[2J\n  next\tline\\x9b31m\\u202eevil\\x00\n",
    );
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
