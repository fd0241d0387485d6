import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    globalSetup: ["packages/hookyard/test/helpers/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Files run in parallel and share nothing but loopback ports (all port 0) and PostgreSQL.
    pool: "forks",
  },
});
