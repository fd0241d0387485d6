import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import { Svix } from "svix";
import { onTestFinished } from "vitest";
import type { Clock } from "../../src/clock.js";
import { configDefaults } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import type { LookupFn } from "../../src/delivery/http-sender.js";
import { FakeClock } from "./fake-clock.js";
import { TEST_SECRETS_KEY } from "./secrets.js";
import { testDatabaseUrl } from "./test-store.js";
import { startHookyard, type RunningHookyard, type StartOptions } from "../../src/main.js";

export const TEST_API_KEY = "test_admin_key_0123456789abcdefghij";

export interface TestServer {
  hookyard: RunningHookyard;
  svix: Svix;
  url: string;
  dir: string;
  config: Config;
  /** Stops the server (idempotent); the database directory stays until the test ends. */
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** A rulebook file or directory (`rules.path`). */
  rulesPath?: string;
  /** Fills the rulebook's `${env:NAME}` instead of the test process's environment. */
  env?: Record<string, string>;
  clock?: Clock;
  random?: () => number;
  lookup?: LookupFn;
  /** Defaults to a fresh temp dir; pass one (and `databaseUrl`) to restart on the same database. */
  dir?: string;
  /** Defaults to a fresh database of the store under test (test-store.ts). */
  databaseUrl?: string;
  retentionDays?: number;
  delivery?: Partial<Config["delivery"]>;
  engine?: StartOptions["engine"];
  server?: Partial<Config["server"]>;
  inbound?: Partial<Config["inbound"]>;
  /** The rules settings beside `rulesPath` (the run policy). */
  rules?: Partial<Omit<Config["rules"], "path">>;
  metrics?: Partial<Config["metrics"]>;
  /** Tracing settings (default: off). */
  tracing?: Partial<Config["tracing"]>;
  /** Secrets keys (default: a key file made beside SQLite, TEST_SECRETS_KEY on PostgreSQL). */
  secrets?: Partial<Config["secrets"]>;
  /** Defaults to a silent logger (HOOKYARD_TEST_LOG sets its level). */
  logger?: Logger;
}

/**
 * A real Hookyard on 127.0.0.1:0 with its SQLite file in a temp dir, and the official svix SDK
 * pointed at it. Only the test config allow-lists 127.0.0.1 in the egress guard.
 */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "hookyard-test-")));
  if (opts.dir === undefined) onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const defaults = configDefaults();
  const databaseUrl = opts.databaseUrl ?? (await testDatabaseUrl(dir));
  const config: Config = {
    ...defaults,
    server: { ...defaults.server, host: "127.0.0.1", port: 0, ...opts.server },
    database: {
      url: databaseUrl,
      retentionDays: opts.retentionDays ?? defaults.database.retentionDays,
      auditRetentionDays: defaults.database.auditRetentionDays,
    },
    auth: { apiKey: TEST_API_KEY },
    // PostgreSQL refuses to start without a configured key (several servers share it).
    secrets: {
      ...defaults.secrets,
      ...(databaseUrl.startsWith("postgres") && { key: TEST_SECRETS_KEY }),
      ...opts.secrets,
    },
    delivery: { ...defaults.delivery, egressAllow: ["127.0.0.1/32"], ...opts.delivery },
    inbound: { ...defaults.inbound, ...opts.inbound },
    rules: { ...defaults.rules, path: opts.rulesPath ?? null, ...opts.rules },
    tracing: { ...defaults.tracing, ...opts.tracing },
    log: { level: "silent" },
    metrics: { ...defaults.metrics, ...opts.metrics },
  };
  const hookyard = await startHookyard(config, {
    logger: opts.logger ?? pino({ level: process.env["HOOKYARD_TEST_LOG"] ?? "silent" }),
    ...(opts.clock !== undefined && { clock: opts.clock }),
    ...(opts.env !== undefined && { env: opts.env }),
    ...(opts.random !== undefined && { random: opts.random }),
    ...(opts.lookup !== undefined && { lookup: opts.lookup }),
    ...(opts.engine !== undefined && { engine: opts.engine }),
  });
  onTestFinished(() => hookyard.close());
  if (opts.clock instanceof FakeClock) opts.clock.settleWith(() => hookyard.store.whenIdle());
  // The SDK retries 5xx answers by itself; no retries here so a server error fails the test at once.
  const svix = new Svix(TEST_API_KEY, { serverUrl: hookyard.url, retryScheduleInMs: [] });
  return { hookyard, svix, url: hookyard.url, dir, config, stop: () => hookyard.close() };
}
