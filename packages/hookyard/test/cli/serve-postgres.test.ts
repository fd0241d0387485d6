import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import type { CliIo } from "../../src/cli/cli-io.js";
import { runCli } from "../../src/cli/main.js";
import { TEST_SECRETS_KEY } from "../helpers/secrets.js";
import { PG_MIGRATIONS } from "../../src/store/postgres/pg-migrations.js";
import {
  pgUrlWithSchema,
  postgresUnavailable,
  tempPgSchema,
  TEST_PG_URL,
} from "../helpers/temp-postgres.js";

const unavailable = await postgresUnavailable();

/** Runs `hookyard serve --database-url <url>`; resolves with the exit code and stderr. */
async function serveOn(url: string): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: () => true },
    stderr: { write: (text: string) => err.push(text) },
    env: {},
    cwd: process.cwd(),
    waitForShutdownSignal: () => Promise.resolve("SIGTERM"),
    exit: () => undefined,
  };
  const argv = ["serve", "--host", "127.0.0.1", "--port", "0", "--log-level", "silent"];
  const code = await runCli(
    [...argv, "--database-url", url, "--secrets-key", TEST_SECRETS_KEY],
    io,
  );
  return { code, stderr: err.join("") };
}

function withUser(user: string, password = ""): string {
  const url = new URL(TEST_PG_URL);
  url.username = user;
  url.password = password;
  return url.toString();
}

describe.skipIf(unavailable !== null)("hookyard migrate on PostgreSQL", () => {
  it("applies every schema step once, then finds the schema current", async () => {
    const url = pgUrlWithSchema(await tempPgSchema());
    const out: string[] = [];
    const io: CliIo = {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => out.push(`stderr: ${text}`) },
      env: { HOOKYARD_DATABASE_URL: url },
      cwd: process.cwd(),
      waitForShutdownSignal: () => Promise.resolve("SIGTERM"),
      exit: () => undefined,
    };
    expect(await runCli(["migrate"], io)).toBe(0);
    expect(await runCli(["migrate"], io)).toBe(0);
    const versions = PG_MIGRATIONS.map((m) => m.version).join(", ");
    expect(out).toEqual([
      expect.stringMatching(new RegExp(`: applied schema version\\(s\\) ${versions}\\n$`)),
      expect.stringMatching(/: schema already current\n$/),
    ]);
    out.length = 0;
    expect(await runCli(["stats"], io)).toBe(0);
    expect(out.join("")).toMatch(/\ntable +rows +size\nattempt +0 +[\d.]+ KiB\n/);
  });

  it("stats refuses a database without Hookyard's tables and creates none", async () => {
    const url = pgUrlWithSchema(await tempPgSchema());
    const err: string[] = [];
    const io: CliIo = {
      stdout: { write: () => true },
      stderr: { write: (text: string) => err.push(text) },
      env: { HOOKYARD_DATABASE_URL: url },
      cwd: process.cwd(),
      waitForShutdownSignal: () => Promise.resolve("SIGTERM"),
      exit: () => undefined,
    };
    expect(await runCli(["stats"], io)).toBe(1);
    expect(err.join("")).toMatch(
      /has no Hookyard tables yet; start a server or run hookyard migrate/,
    );
    expect(await runCli(["stats"], io), "still none after").toBe(1);
  });
});

describe.skipIf(unavailable !== null)("hookyard serve on a bad PostgreSQL URL", () => {
  it("says on one line, without the password, that nothing answers, and exits 1", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const address = closed.address();
    if (typeof address !== "object" || address === null) throw new Error("no port");
    await new Promise((resolve) => closed.close(resolve)); // nothing listens there any more
    const { code, stderr } = await serveOn(
      `postgres://hookyard:s3cret@127.0.0.1:${address.port}/hookyard`,
    );
    expect(code).toBe(1);
    expect(stderr.trimEnd().split("\n"), stderr).toHaveLength(1);
    expect(stderr).toMatch(
      /^hookyard: cannot start: cannot use the PostgreSQL database postgres:\/\/hookyard:\*\*\*@127\.0\.0\.1:\d+\/hookyard: .*ECONNREFUSED/,
    );
    expect(stderr).not.toContain("s3cret");
  });

  it("names a role the server does not know", async () => {
    const { code, stderr } = await serveOn(withUser("hookyard_no_such_role"));
    expect(code).toBe(1);
    expect(stderr.trimEnd().split("\n"), stderr).toHaveLength(1);
    expect(stderr).toMatch(/role "hookyard_no_such_role" does not exist/);
  });

  it("refuses a server that does not speak PostgreSQL", async () => {
    // Anything else on the port: here a TCP server that answers with an HTTP error and closes.
    const sockets = new Set<Socket>();
    const other = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    other.listen(0, "127.0.0.1");
    await once(other, "listening");
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => other.close(() => resolve()));
    });
    const address = other.address();
    if (typeof address !== "object" || address === null) throw new Error("no port");
    const { code, stderr } = await serveOn(`postgres://postgres@127.0.0.1:${address.port}/test`);
    expect(code).toBe(1);
    expect(stderr.trimEnd().split("\n"), stderr).toHaveLength(1);
    expect(stderr).toMatch(/^hookyard: cannot start: cannot use the PostgreSQL database .+: .+/);
  });
});
