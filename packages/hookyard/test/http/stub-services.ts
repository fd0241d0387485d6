import { pino, type Logger } from "pino";
import { onTestFinished } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildHttpApp } from "../../src/http/app.js";
import type { OutboundServices } from "../../src/outbound/services.js";
import type { IdempotencyRecord } from "../../src/store/store.js";
import { SystemClock } from "../../src/clock.js";
import { PortalAccess } from "../../src/outbound/portal-access.js";
import { Metrics } from "../../src/observability/metrics.js";
import type { ApiKeys } from "../../src/outbound/api-keys.js";
import type { AuditLog } from "../../src/outbound/audit-log.js";

export const TEST_API_KEY = "hy_test_key";

function notUsed(): never {
  throw new Error("not used in this test");
}

/** A proxy whose every method throws: the routes under test never reach the domain. */
function unusedService<T extends object>(): T {
  return new Proxy({} as T, { get: () => notUsed });
}

/**
 * Services for HTTP-layer tests that never reach the domain (auth, parsing, validation, routing,
 * docs). Every domain method throws "not used in this test"; `auth.verify` is a stub accepting
 * only TEST_API_KEY, and `idempotency.get` answers from `recorded` (empty by default).
 */
export function stubServices(opts: { recorded?: IdempotencyRecord[] } = {}): OutboundServices {
  const recorded = new Map((opts.recorded ?? []).map((r) => [r.key, r]));
  return {
    applications: unusedService(),
    eventTypes: unusedService(),
    endpoints: unusedService(),
    replays: unusedService(),
    messages: unusedService(),
    attempts: unusedService(),
    idempotency: {
      get: (key) => Promise.resolve(recorded.get(key) ?? null),
      put: notUsed,
    },
    auth: { verify: (token) => token === TEST_API_KEY },
  };
}

/** Builds the app on stub services with a silent logger; closed when the test finishes. */
export async function buildStubApp(
  opts: { bodyLimitBytes?: number; services?: OutboundServices; logger?: Logger } = {},
): Promise<FastifyInstance> {
  const app = await buildHttpApp({
    services: opts.services ?? stubServices(),
    tasks: { tasks: unusedService(), statistics: unusedService(), activity: unusedService() },
    inbound: {
      sources: unusedService(),
      receiver: unusedService(),
      listeners: unusedService(),
      feeds: unusedService(),
      publicUrl: null,
      maxBodyBytes: 1024,
    },
    portal: await PortalAccess.init({
      store: { getSetting: () => Promise.resolve(null), setSetting: () => Promise.resolve() },
      clock: new SystemClock(),
    }),
    logger: opts.logger ?? pino({ level: "silent" }),
    bodyLimitBytes: opts.bodyLimitBytes ?? 1024 * 1024,
    version: "0.0.0-test",
    operational: unusedService(),
    // No API keys beside the admin key; changes are "recorded" nowhere.
    access: {
      keys: { authenticate: () => null } as unknown as ApiKeys,
      audit: { record: () => Promise.resolve() } as unknown as AuditLog,
    },
    metrics: {
      metrics: new Metrics({
        version: "0.0.0-test",
        endpointLabels: false,
        backlog: { deliveryBacklog: () => Promise.resolve([]), now: () => 0 },
      }),
      token: null,
    },
  });
  onTestFinished(() => app.close());
  return app;
}

export const AUTH = { authorization: `Bearer ${TEST_API_KEY}` };
