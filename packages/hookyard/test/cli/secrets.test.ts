import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { recordingIo } from "../helpers/cli-io.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { keyFileBox } from "../helpers/test-store.js";

/** `hookyard secrets` on a SQLite server's key file (`<database>.key`), as a user runs it. */

const SECRET = "whsec_cm90YXRlLWtleS1jbGktc2VjcmV0LTEyMzQ1Ng==";

async function secrets(server: TestServer, ...args: string[]) {
  const rec = recordingIo();
  const code = await runCli(["secrets", ...args, "--database-url", server.config.database.url], {
    ...rec.io,
    cwd: server.dir,
  });
  return { code, stdout: rec.stdout(), stderr: rec.stderr() };
}

function keyLines(path: string): string[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"));
}

describe("hookyard secrets", () => {
  it("rotates the key file's key, re-seals on restart, then drops the old key", async () => {
    const server = await startTestServer();
    if (!server.config.database.url.startsWith("sqlite:")) return; // a key file is SQLite's
    const keyFile = `${server.config.database.url.slice("sqlite:".length)}.key`;
    const app = await server.svix.application.create({ name: "A" });
    const ep = await server.svix.endpoint.create(app.id, {
      url: "http://127.0.0.1:9/",
      secret: SECRET,
    });
    const [oldKey] = keyLines(keyFile);
    await server.stop();

    const rotated = await secrets(server, "rotate-key");
    expect(rotated, rotated.stderr).toMatchObject({ code: 0 });
    const lines = keyLines(keyFile);
    expect(lines, "the new key first, the old one kept").toHaveLength(2);
    expect(lines[1]).toBe(oldKey);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const early = await secrets(server, "drop-previous");
    expect(early.code, "values still sealed with the old key").toBe(1);
    expect(early.stderr).toMatch(/^hookyard: secrets drop-previous: .*not sealed with key/);
    expect(keyLines(keyFile)).toHaveLength(2);

    const again = await startTestServer({
      dir: server.dir,
      databaseUrl: server.config.database.url,
    });
    await expect
      .poll(async () => Object.keys((await again.hookyard.store.secretsStatus()).byKeyId), {
        timeout: 5_000,
        message: "keys still sealing values",
      })
      .toEqual([keyFileBox(keyFile).current.id]);
    const status = await secrets(again, "status");
    expect(status.stdout, status.stdout).toMatch(/current\s+\d+/);
    expect(status.stdout).toContain("previous keys can be removed");
    expect((await again.svix.endpoint.getSecret(app.id, ep.id)).key).toBe(SECRET);
    await again.stop();

    const dropped = await secrets(again, "drop-previous");
    expect(dropped, dropped.stderr).toMatchObject({ code: 0 });
    expect(keyLines(keyFile)).toEqual([lines[0]]);
    const last = await startTestServer({
      dir: server.dir,
      databaseUrl: server.config.database.url,
    });
    expect((await last.svix.endpoint.getSecret(app.id, ep.id)).key).toBe(SECRET);
  });

  it("prints a new key and what to set when the key comes from the configuration", async () => {
    const rec = recordingIo();
    const key = Buffer.alloc(32, 1).toString("base64");
    const code = await runCli(["secrets", "rotate-key", "--secrets-key", key], rec.io);
    expect(code, rec.stderr()).toBe(0);
    expect(rec.stdout()).toMatch(/HOOKYARD_SECRETS_KEY=[A-Za-z0-9+/]{43}=/);
    expect(rec.stdout()).toContain(`HOOKYARD_SECRETS_PREVIOUS_KEYS=${key}`);
  });

  it("refuses an unknown action and a bad key with a message naming them", async () => {
    const rec = recordingIo();
    expect(await runCli(["secrets", "rotate"], rec.io)).toBe(2);
    expect(rec.stderr()).toContain('secrets needs "rotate-key", "status" or "drop-previous"');
    const bad = recordingIo();
    expect(await runCli(["secrets", "status", "--secrets-key", "short"], bad.io)).toBe(1);
    expect(bad.stderr()).toMatch(/invalid --secrets-key \(flag\)/);
    expect(bad.stderr()).not.toContain("short");
  });
});
