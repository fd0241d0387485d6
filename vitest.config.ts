import { connect } from "node:net";
import { defineConfig } from "vitest/config";

const PG_URL = new URL(
  process.env["HOOKYARD_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test",
);

/** Whether something listens where the PostgreSQL tests expect the server. */
function postgresListens(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(PG_URL.port || 5432), PG_URL.hostname);
    const done = (listens: boolean) => {
      socket.destroy();
      resolve(listens);
    };
    socket.setTimeout(2_000);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

export default defineConfig(async () => {
  const pg = (await postgresListens()) || process.env["CI"] === "true";
  if (!pg) {
    process.stderr.write(
      `skipping the integration tests on PostgreSQL: nothing listens at ${PG_URL.host} (HOOKYARD_TEST_PG_URL)\n`,
    );
  }
  const shared = {
    globalSetup: ["packages/hookyard/test/helpers/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Files run in parallel and share nothing but loopback ports (all port 0) and PostgreSQL
    // (each test on its own schema).
    pool: "forks" as const,
  };
  return {
    test: {
      projects: [
        { test: { ...shared, name: "sqlite", include: ["packages/*/test/**/*.test.ts"] } },
        // Every integration test again, on PostgreSQL (helpers/test-store.ts). Under CI=true it
        // always runs: a missing server fails the run instead of skipping.
        ...(pg
          ? [
              {
                test: {
                  ...shared,
                  name: "postgres",
                  include: ["packages/hookyard/test/integration/**/*.test.ts"],
                  env: { HOOKYARD_TEST_STORE: "postgres" },
                },
              },
            ]
          : []),
      ],
    },
  };
});
