import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { SystemClock, type Clock } from "./clock.js";
import type { Config } from "./config/schema.js";
import {
  DeliveryEngine,
  type DeliveryEngineConfig,
  type RateSlots,
  type Sender,
} from "./delivery/engine.js";
import type { LookupFn } from "./delivery/http-sender.js";
import { ThreadedSender } from "./delivery/sender-thread.js";
import { RateLimiter } from "./delivery/rate-limiter.js";
import { parseCidrList } from "./delivery/ssrf-guard.js";
import { buildHttpApp } from "./http/app.js";
import { readTlsListener } from "./http/tls-options.js";
import { TimeSortableIds } from "./ids.js";
import { createLogger } from "./observability/logger.js";
import { Metrics } from "./observability/metrics.js";
import { startTracing } from "./observability/start-tracing.js";
import { Listeners } from "./debug/listeners.js";
import { PortalAccess } from "./outbound/portal-access.js";
import { activity } from "./outbound/activity.js";
import { ListenerFeeds } from "./debug/listener-feeds.js";
import { Receiver } from "./inbound/receiver.js";
import { Sources } from "./inbound/sources.js";
import { Automation } from "./rules/automation.js";
import { outboundEvent } from "./rules/events.js";
import { MessageEgress } from "./rules/rule-targets.js";
import { startRules } from "./rules/rules-in-force.js";
import { ApiKeyAuth } from "./outbound/api-key.js";
import { ApiKeys } from "./outbound/api-keys.js";
import { AuditLog } from "./outbound/audit-log.js";
import { Applications } from "./outbound/applications.js";
import { Attempts } from "./outbound/attempts.js";
import { BackgroundTasks } from "./outbound/background-tasks.js";
import { EndpointCache } from "./outbound/endpoint-cache.js";
import { EndpointReplays } from "./outbound/endpoint-replays.js";
import { Endpoints } from "./outbound/endpoints.js";
import { EventTypes } from "./outbound/event-types.js";
import { Idempotency } from "./outbound/idempotency.js";
import { Messages } from "./outbound/messages.js";
import { OperationalWebhooks } from "./outbound/operational-webhooks.js";
import { PayloadFilters, scopeOfMessage } from "./outbound/payload-filter.js";
import { PayloadSchemas } from "./outbound/payload-schemas.js";
import { pruneExpired } from "./outbound/retention.js";
import { Statistics } from "./outbound/statistics.js";
import type { OutboundServices } from "./outbound/services.js";
import { SecretBox, secretKey } from "./secrets/secret-box.js";
import { checkSecretsKey, loadSecretKeys, type SecretKeys } from "./secrets/secrets-keys.js";
import { SecretsResealer } from "./secrets/secrets-reseal.js";
import { acquireProcessLock } from "./store/process-lock.js";
import type { PgStore } from "./store/postgres/pg-store.js";
import { SqliteStore } from "./store/sqlite/sqlite-store.js";
import type { SecretsStatus, Store, TableStats } from "./store/store.js";
import type { EndpointId, MessageId } from "./model.js";

export const VERSION = "0.1.0";
const USER_AGENT = `Hookyard/${VERSION}`;
/** Room for the message envelope around a payload of `bodyLimitBytes`. */
const ENVELOPE_BYTES = 64 * 1024;
const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;

export interface RunningHookyard {
  url: string;
  /** The admin API key generated on first start (shown once), or null. */
  generatedApiKey: string | null;
  engine: DeliveryEngine;
  store: Store;
  http: FastifyInstance;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  clock?: Clock;
  random?: () => number;
  /** DNS resolution for the egress guard (tests point names at loopback); implies no sender thread. */
  lookup?: LookupFn;
  /** Send from a worker thread (default) or from the main thread. */
  senderThread?: boolean;
  /** Working directory for relative database paths. */
  cwd?: string;
  /** Address to listen on; false to skip `listen` (inject-only tests). */
  listen?: boolean;
  /** Fills rulebooks' `${env:NAME}` (default: the process's environment). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Host names the HTTP server answers (see HttpAppDeps.allowedHostnames); default any. */
  allowedHostnames?: readonly string[];
  /** Engine settings that are not user configuration (tests shorten the in-memory horizon). */
  engine?: Partial<
    Pick<
      DeliveryEngineConfig,
      "holdInMemoryMs" | "holdInMemoryBytes" | "maxParkedPerEndpoint" | "sweepIntervalMs"
    >
  >;
}

/** The composition root (STYLE 2.3): config → logger → store → engine → services → http. */
export async function startHookyard(
  config: Config,
  opts: StartOptions = {},
): Promise<RunningHookyard> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const clock = opts.clock ?? new SystemClock();
  const random = opts.random ?? Math.random;
  const ids = new TimeSortableIds({ now: () => clock.now() });
  const owner = `node_${randomBytes(6).toString("hex")}`;

  const cleanups: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    // First: a wrong TLS file stops the start before anything is opened.
    const tls = readTlsListener(config.server.tls, opts.cwd ?? process.cwd());
    if (tls !== null && tls.notAfter <= clock.now()) {
      logger.warn({ notAfter: new Date(tls.notAfter) }, "the server's TLS certificate has expired");
    }
    // First in, so last out: the spans of everything closing before it are still exported.
    const tracing = await startTracing(config.tracing, {
      clock,
      logger,
      serviceVersion: VERSION,
      instanceId: owner,
    });
    if (tracing !== null) cleanups.push(() => tracing.close());
    const { store, database, keys, rateSlots } = await openStore(config, opts, logger, cleanups);
    // Before anything reads a secret: a wrong key refuses the start, never serves without them.
    try {
      checkSecretsKey(await store.secretsStatus(), keys);
    } catch (err) {
      // A key file made just now, for a database sealed with another key (restored without its
      // key file), would only make the next start look as if the key were known.
      if (keys.created && keys.keyFile !== null) rmSync(keys.keyFile, { force: true });
      throw err;
    }
    if (keys.created) {
      logger.warn(
        { keyFile: keys.keyFile },
        "made a secrets key file beside the database: back it up apart from it, the secrets cannot be read without it",
      );
    }
    const { auth, generatedKey } = await ApiKeyAuth.init(store, config.auth.apiKey);
    const metrics = config.metrics.enabled
      ? new Metrics({
          version: VERSION,
          endpointLabels: config.metrics.endpointLabels,
          backlog: { deliveryBacklog: (now) => store.deliveryBacklog(now), now: () => clock.now() },
        })
      : null;
    if (metrics !== null) cleanups.push(store.onCommit((commit) => metrics.commit(commit)));

    const senderSettings = {
      timeoutMs: config.delivery.timeoutMs,
      connectionsPerOrigin: config.delivery.connectionsPerOrigin,
      maxResponseBodyBytes: config.delivery.maxResponseBodyBytes,
    };
    // An injected DNS lookup is a function, which cannot cross to a worker thread: tests that
    // point names at loopback send from the main thread.
    let sender: Sender;
    if (opts.lookup === undefined && opts.senderThread !== false) {
      sender = new ThreadedSender(
        { ...senderSettings, egressAllow: config.delivery.egressAllow },
        { onFailure: (err) => logger.error({ err }, "the sending thread failed") },
      );
    } else {
      // Imported here: undici is the sending thread's; the main thread loads it only for this.
      const { HttpSender } = await import("./delivery/http-sender.js");
      sender = new HttpSender({
        ...senderSettings,
        allow: parseCidrList(config.delivery.egressAllow),
        ...(opts.lookup !== undefined && { lookup: opts.lookup }),
      });
    }
    const cache = new EndpointCache({
      store,
      clock,
      logger,
      disableAfterFailingMs: config.delivery.disableAfterFailingHours * 3_600_000,
    });
    const engine = new DeliveryEngine({
      store,
      sender,
      endpoints: cache,
      // Several processes share a PostgreSQL database's endpoints, and so their rate limits.
      rateLimiter: rateSlots?.(() => clock.now()) ?? new RateLimiter({ now: () => clock.now() }),
      clock,
      random,
      ids,
      logger,
      owner,
      config: {
        retryScheduleMs: config.delivery.retrySchedule.map((s) => s * 1000),
        concurrency: config.delivery.concurrency,
        perEndpointConcurrency: config.delivery.connectionsPerOrigin,
        leaseMs: config.delivery.leaseMs,
        sweepIntervalMs: 2_000,
        holdInMemoryMs: 60_000,
        ...opts.engine,
        userAgent: USER_AGENT,
        closeTimeoutMs: 10_000,
      },
      ...(tracing !== null && { tracer: tracing }),
    });
    cleanups.push(() => engine.close());
    if (metrics !== null)
      engine.on("attempt", (attempt, update) => metrics.attempt(attempt, update));

    const schemas = new PayloadSchemas();
    const applications = new Applications({ store, clock, ids, endpoints: cache });
    const eventTypes = new EventTypes({ store, clock, schemas });
    const leaseMs = config.delivery.leaseMs;
    const payloadFilters = new PayloadFilters({
      logger: logger.child({ component: "payload-filter" }),
    });
    const messages = new Messages({
      store,
      clock,
      ids,
      applications,
      eventTypes,
      schemas,
      endpoints: cache,
      payloadFilters,
      engine,
      maxPayloadBytes: config.server.bodyLimitBytes,
      leaseMs,
    });
    // Made once the services it publishes through exist (below); endpoints tell it of toggles.
    let operational: OperationalWebhooks | null = null;
    const endpoints = new Endpoints({
      store,
      clock,
      ids,
      applications,
      eventTypes,
      cache,
      messages,
      engine,
      leaseMs,
      onToggled: (endpoint) =>
        endpoint.disabled
          ? operational?.endpointDisabled(endpoint, "manual")
          : operational?.endpointEnabled(endpoint),
    });
    const attempts = new Attempts({
      store,
      clock,
      ids,
      applications,
      endpoints,
      messages,
      engine,
      leaseMs,
    });
    const idempotency = new Idempotency({ store, clock });
    const tasks = new BackgroundTasks({
      store,
      clock,
      ids,
      log: logger.child({ component: "background-tasks" }),
    });
    // Registered after the engine's close, so it runs first: tasks finish handing work over.
    cleanups.push(() => tasks.whenIdle(10_000));
    const replays = new EndpointReplays({
      store,
      clock,
      ids,
      endpoints,
      engine,
      tasks,
      leaseMs,
      payloadAccepts: (endpoint, message) =>
        endpoint.payloadFilter === null ||
        payloadFilters.matches(endpoint, scopeOfMessage(message)),
    });
    const statistics = new Statistics({ store, tasks });
    const runPolicy = {
      allowRunFromApi: config.rules.allowRunFromApi,
      allowedCommands: config.rules.allowedCommands,
    };
    const automation = new Automation({
      runPolicy,
      store,
      clock,
      ids,
      logger,
      owner,
      egress: new MessageEgress({ applications, endpoints, cache, messages }),
      ...(metrics !== null && { onRunFinished: (run) => metrics.ruleRunFinished(run) }),
    });
    const rules = await startRules(config.rules.path, automation, {
      runPolicy,
      store,
      clock,
      logger,
      cwd: opts.cwd ?? process.cwd(),
      ...(opts.env !== undefined && { env: opts.env }),
    });
    cleanups.push(() => rules.close());
    messages.rules = {
      plan: (message, app) => {
        const keys = app.uid === null ? [app.id] : [app.id, app.uid];
        return automation.listensToMessage(message.eventType, keys)
          ? automation.plan(outboundEvent(message, app.uid ?? app.id), keys)
          : [];
      },
      start: (runs) => automation.start(runs),
    };
    cache.onDisabled = (endpoint, reason) => {
      automation.operational("endpoint.disabled", {
        appId: endpoint.appId,
        endpointId: endpoint.id,
        url: endpoint.url,
        reason,
      });
      operational?.endpointDisabled(endpoint, "automatic");
    };
    const receiver = new Receiver({
      store,
      clock,
      ids,
      endpoints: cache,
      payloadFilters,
      engine,
      leaseMs: config.delivery.leaseMs,
      ...config.inbound,
      automation,
    });
    if (metrics !== null) receiver.on("received", (request) => metrics.received(request));
    // A source's writes here drop this process's cached sources; other processes hear of them
    // through the store's change feed (PostgreSQL) below.
    const sources = new Sources({
      store,
      clock,
      ids,
      onChange: () => receiver.forgetSources(),
      clientCertificates: tls !== null,
    });
    const ops = new OperationalWebhooks({
      applications,
      messages,
      endpointsOf: (appId) => cache.forApp(appId),
      endpoint: (appId, endpointId) => cache.get(appId, endpointId as EndpointId),
      eventIdOf: async (appId, msgId) =>
        (await store.getMessage(appId, msgId as MessageId))?.eventId ?? null,
      sourceUidOf: async (sourceId) => (await sources.get(sourceId).catch(() => null))?.uid ?? null,
      clock,
      logger: logger.child({ component: "operational-webhooks" }),
    });
    operational = ops;
    engine.on("attempt", (attempt, update) => ops.attempt(attempt, update));
    receiver.on("received", (request) => ops.received(request));
    // Runs before the engine closes: the events raised so far are published first.
    cleanups.push(() => ops.whenIdle());
    const apiKeys = await ApiKeys.init({
      store,
      clock,
      ids,
      resolveApp: async (idOrUid) => (await applications.get(idOrUid)).id,
    });
    const audit = new AuditLog({ store, clock, ids });
    // Other processes on the same database changed configuration this process caches.
    const unsubscribe = store.onChange((change) => {
      switch (change.kind) {
        case "application":
          applications.forget(change.appId);
          cache.forgetApp(change.appId);
          break;
        case "endpoints":
          cache.forgetApp(change.appId);
          break;
        case "event-type":
          eventTypes.forget(change.name);
          break;
        case "due":
          engine.wake(change.at);
          break;
        case "message-expunged":
          engine.expunged(change.msgId);
          break;
        case "sources":
          receiver.forgetSources();
          break;
        case "api-keys":
          apiKeys
            .reload()
            .catch((err: unknown) => logger.warn({ err }, "reloading API keys failed"));
          break;
        case "resync":
          apiKeys
            .reload()
            .catch((err: unknown) => logger.warn({ err }, "reloading API keys failed"));
          receiver.forgetSources();
          applications.clear();
          cache.clear();
          eventTypes.forget();
          break;
      }
    });
    cleanups.push(unsubscribe);
    const services: OutboundServices = {
      applications,
      eventTypes,
      endpoints,
      replays,
      messages,
      attempts,
      idempotency,
      auth,
    };

    const http = await buildHttpApp({
      services,
      tasks: { tasks, statistics, activity: (window) => activity({ store, clock }, window) },
      rules: { automation, rules },
      inbound: {
        sources,
        receiver,
        listeners: new Listeners({ store, clock }),
        feeds: new ListenerFeeds({ store, clock, received: receiver, userAgent: USER_AGENT }),
        publicUrl: config.server.publicUrl,
        maxBodyBytes: config.inbound.maxBodyBytes,
        maxBytesInFlight: config.inbound.maxBytesInFlight,
      },
      logger,
      bodyLimitBytes: config.server.bodyLimitBytes + ENVELOPE_BYTES,
      requestTimeoutMs: config.server.requestTimeoutMs,
      ...(opts.allowedHostnames !== undefined && { allowedHostnames: opts.allowedHostnames }),
      portal: await PortalAccess.init({ store, clock }),
      portalFrameAncestors: config.server.portalFrameAncestors,
      version: VERSION,
      ...(metrics !== null && { metrics: { metrics, token: config.metrics.token } }),
      operational: ops,
      access: { keys: apiKeys, audit },
      ...(tracing !== null && { tracer: tracing }),
      ...(tls !== null && { tls }),
      clock,
      trustProxy: config.inbound.trustProxy,
    });
    cleanups.push(() => http.close());

    // One SQLite process per file: leases of a previous (crashed) run can be taken at once. On
    // PostgreSQL other processes hold live leases; expired ones are swept like any due work.
    await engine.start({ takeOverLeases: store.kind === "sqlite" });
    if (store.kind === "sqlite") {
      // One process per file: a task still running in it was cut short by the previous run.
      const interrupted = await store.failRunningBackgroundTasks(
        clock.now(),
        "interrupted: the server stopped before the task finished",
      );
      if (interrupted > 0) logger.warn({ interrupted }, "marked interrupted background tasks");
    }
    // Runs a previous process left: on one SQLite file every open one is ours to take now.
    await automation.recover({ all: store.kind === "sqlite" });
    // Seals what an older version left in plaintext and what a previous key sealed, meanwhile
    // serving: reads open either form.
    const resealer = new SecretsResealer({ store, logger });
    void resealer.start();
    cleanups.push(() => resealer.close());
    const maintenance = () => {
      idempotency.prune().then(
        (pruned) => logger.debug({ pruned }, "pruned idempotency keys"),
        (err: unknown) => logger.warn({ err }, "pruning idempotency keys failed"),
      );
      const retentionDays = config.database.retentionDays;
      pruneExpired({ store, clock, retentionDays, logger }).catch((err: unknown) =>
        logger.warn({ err }, "pruning expired data failed"),
      );
      audit.prune(config.database.auditRetentionDays).then(
        (pruned) => logger.debug({ pruned }, "pruned audit log entries"),
        (err: unknown) => logger.warn({ err }, "pruning the audit log failed"),
      );
      automation
        .recover({ all: false })
        .catch((err: unknown) => logger.warn({ err }, "rules: taking over runs failed"));
      timer = clock.setTimer(MAINTENANCE_INTERVAL_MS, maintenance);
    };
    let timer = clock.setTimer(MAINTENANCE_INTERVAL_MS, maintenance);
    cleanups.push(() => timer.cancel());

    let url = "";
    if (opts.listen !== false) {
      await http.listen({ host: config.server.host, port: config.server.port });
      const address = http.server.address();
      const port =
        typeof address === "object" && address !== null ? address.port : config.server.port;
      const host =
        config.server.host === "0.0.0.0" || config.server.host === "::"
          ? "127.0.0.1"
          : config.server.host;
      const scheme = tls === null ? "http" : "https";
      url = `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
      logger.info({ url, database }, "hookyard listening");
    }

    let closing: Promise<void> | null = null;
    return {
      url,
      generatedApiKey: generatedKey,
      engine,
      store,
      http,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * `hookyard migrate`: brings the configured database's schema to this version's (as `serve` does
 * at start, under the same lock) and closes it. Returns what it applied.
 */
export async function migrateDatabase(
  config: Config,
  opts: Pick<StartOptions, "cwd" | "logger"> = {},
): Promise<{ database: string; applied: readonly number[] }> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    // A migration reads and writes no secret: it needs no key (PostgreSQL) and makes no key file.
    const { database, applied } = await openStore(config, opts, logger, cleanups, true, false);
    return { database, applied };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

/** `hookyard stats`: the size of each table of the configured database (safe beside servers). */
export async function databaseStats(
  config: Config,
  opts: Pick<StartOptions, "cwd" | "logger"> = {},
): Promise<{ database: string; tables: TableStats[] }> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const { store, database } = await openStore(config, opts, logger, cleanups, false);
    return { database, tables: await store.tableStats() };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

/** `hookyard secrets status`: how the database's secrets are sealed (safe beside servers). */
export async function databaseSecrets(
  config: Config,
  opts: Pick<StartOptions, "cwd" | "logger"> = {},
): Promise<{ database: string; status: SecretsStatus; keys: SecretKeys | null }> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const opened = await openStore(config, opts, logger, cleanups, false);
    const status = await opened.store.secretsStatus();
    return { database: opened.database, status, keys: opened.configured ? opened.keys : null };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

/**
 * Opens the store `url` names (config validation already refused other forms) and registers its
 * cleanup. `database` describes it for logs, without a password.
 */
async function openStore(
  config: Config,
  opts: StartOptions,
  logger: Logger,
  cleanups: (() => Promise<void> | void)[],
  /**
   * false: a reader beside running servers (`hookyard stats`): no SQLite file lock, no new file,
   * no PostgreSQL migration.
   */
  exclusive = true,
  /** false: no secrets key is needed (nothing secret is read or written); none is made. */
  keysNeeded = exclusive,
): Promise<{
  store: Store;
  database: string;
  applied: readonly number[];
  keys: SecretKeys;
  /** false: no key is configured, `keys` is a reader's own. */
  configured: boolean;
  /** Rate-limit slots shared by every process on the database; null: this process's own. */
  rateSlots: ((now: () => number) => RateSlots) | null;
}> {
  const url = config.database.url;
  const cwd = opts.cwd ?? process.cwd();
  if (/^postgres(ql)?:/i.test(url)) {
    const database = withoutPassword(url);
    const found = loadSecretKeys(config.secrets, { sqlitePath: null, cwd, create: keysNeeded });
    const keys = found ?? readerKeys();
    // Loaded only for a PostgreSQL URL: a SQLite server never holds the pg driver in memory.
    const { PgStore } = await import("./store/postgres/pg-store.js");
    let store: PgStore;
    try {
      store = await PgStore.open({
        url,
        secrets: keys.box,
        logger: logger.child({ component: "postgres" }),
        migrate: exclusive,
      });
    } catch (err) {
      throw new Error(`cannot use the PostgreSQL database ${database}`, { cause: err });
    }
    cleanups.push(() => store.close());
    return {
      store,
      database,
      applied: store.applied,
      keys,
      configured: found !== null,
      rateSlots: (now) => store.rateSlots(now),
    };
  }
  const dbPath = resolve(cwd, url.replace(/^sqlite:(\/\/)?/, ""));
  if (!exclusive && !existsSync(dbPath)) throw new Error(`there is no database at ${dbPath}`);
  mkdirSync(dirname(dbPath), { recursive: true });
  if (exclusive) {
    const lock = acquireProcessLock(`${dbPath}.lock`, process.pid);
    cleanups.push(() => lock.release());
  }
  const found = loadSecretKeys(config.secrets, { sqlitePath: dbPath, cwd, create: keysNeeded });
  const keys = found ?? readerKeys();
  const store = SqliteStore.open({
    path: dbPath,
    secrets: keys.box,
    logger: logger.child({ component: "sqlite" }),
  });
  cleanups.push(() => store.close());
  return {
    store,
    database: dbPath,
    applied: store.applied,
    keys,
    configured: found !== null,
    rateSlots: null,
  };
}

/**
 * Keys for a reader beside servers that finds none configured: it reads no secret and writes
 * none, so this key of its own never seals anything kept.
 */
function readerKeys(): SecretKeys {
  return { box: new SecretBox(secretKey(randomBytes(32))), keyFile: null, created: false };
}

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "***";
  parsed.search = "";
  return parsed.toString();
}
