import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { recordingIo } from "../helpers/cli-io.js";
import { startTestServer, TEST_API_KEY } from "../helpers/server.js";

describe("hookyard bin", () => {
  it("creates a bin that answers as told, prints its URL alone, and lists bins", async () => {
    const server = await startTestServer();
    const api = ["--server", server.url, "--api-key", TEST_API_KEY];
    const create = recordingIo();
    const code = await runCli(
      ["bin", "create", "slow-500", "--status", "500", "--body", "nope", "--delay", "50", ...api],
      create.io,
    );
    expect(code, create.stderr()).toBe(0);
    const url = create.stdout().trim();
    expect(url).toMatch(/^http:\/\/.+\/in\/[\w-]+$/);
    expect(create.stderr()).toContain("hookyard tail slow-500");

    const answer = await fetch(`${url}/anything`, { method: "DELETE" });
    expect(answer.status).toBe(500);
    expect(await answer.text()).toBe("nope");

    const list = recordingIo();
    expect(await runCli(["bin", "list", ...api], list.io)).toBe(0);
    expect(list.stdout()).toMatch(new RegExp(`^slow-500\\t${url}\\t\\d{4}-`));

    const bad = recordingIo();
    expect(await runCli(["bin", "create", "--status", "99", ...api], bad.io)).toBe(1);
    expect(bad.stderr()).toMatch(/^hookyard bin: the server answered 422: .*responseStatus/);
    const usage = recordingIo();
    expect(await runCli(["bin", "remove"], usage.io)).toBe(2);
  });
});
