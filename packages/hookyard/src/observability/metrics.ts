import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Attempt, InboundRequest, RuleRun } from "../model.js";
import type { CommitStats, DeliveryBacklog, DeliveryUpdate } from "../store/store.js";

/** What the metrics read at scrape time: the open deliveries, and the time they are measured at. */
export interface BacklogSource {
  deliveryBacklog(now: number): Promise<DeliveryBacklog[]>;
  now(): number;
}

export interface MetricsOptions {
  version: string;
  /** Label attempt series with the endpoint id (off: one series per outcome, not per endpoint). */
  endpointLabels: boolean;
  backlog: BacklogSource;
}

/** Latency buckets in seconds: from a fast loopback answer to the 15 s attempt timeout. */
const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15,
];
const WRITES_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/**
 * The Prometheus metrics of one process (issue 16), on a registry of its own (no global state:
 * two servers in one test process keep their counts apart). Counters are fed by the parts'
 * events (the engine's attempts, the receiver's requests, the rules' runs, the store's commits,
 * the HTTP app's responses); the backlog gauges are read from the database when scraped, so on
 * PostgreSQL every process reports the same database-wide backlog (aggregate it with max, not
 * sum). Labels stay low-cardinality: routes are patterns, never paths; no message ids; endpoint
 * ids only when asked for. Label children are cached, so a hot-path count is a map lookup and an
 * add, not prom-client's label hashing.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #endpointLabels: boolean;
  readonly #backlog: BacklogSource;
  readonly #httpRequests: Counter<"method" | "route" | "status">;
  readonly #publishSeconds: Histogram;
  readonly #ingestSeconds: Histogram;
  readonly #attempts: Counter<string>;
  readonly #attemptSeconds: Histogram<string>;
  readonly #received: Counter<"source_id" | "verdict">;
  readonly #ruleRuns: Counter<"rule" | "outcome">;
  readonly #commitWrites: Histogram;
  readonly #commitSeconds: Histogram;
  readonly #children = new Map<string, { inc(): void } | { observe(value: number): void }>();

  constructor(opts: MetricsOptions) {
    this.#endpointLabels = opts.endpointLabels;
    this.#backlog = opts.backlog;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "hookyard_info",
      help: "Always 1; the version label says which Hookyard runs.",
      labelNames: ["version"],
      registers,
    }).set({ version: opts.version }, 1);
    this.#httpRequests = new Counter({
      name: "hookyard_http_requests_total",
      help: "HTTP requests answered, by method, route pattern and status code.",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.#publishSeconds = new Histogram({
      name: "hookyard_publish_duration_seconds",
      help: "Time to answer a publish (POST /api/v1/app/{app_id}/msg), committed included.",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#ingestSeconds = new Histogram({
      name: "hookyard_ingest_duration_seconds",
      help: "Time to answer a request at an ingest URL (verified and stored).",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const attemptLabels = this.#endpointLabels
      ? ["outcome", "error_class", "endpoint_id"]
      : ["outcome", "error_class"];
    this.#attempts = new Counter({
      name: "hookyard_delivery_attempts_total",
      help: "Delivery attempts by the delivery's state after them (succeeded, retrying, failed = retries exhausted, cancelled, superseded = another process took it) and error class (none on success).",
      labelNames: attemptLabels,
      registers,
    });
    this.#attemptSeconds = new Histogram({
      name: "hookyard_delivery_attempt_duration_seconds",
      help: "Duration of delivery attempts, from sending the request to the end of the response.",
      // Unlabelled (one latency distribution) unless asked per endpoint: succeeded and failed
      // attempts are told apart by the counter above.
      labelNames: this.#endpointLabels ? ["endpoint_id"] : [],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#received = new Counter({
      name: "hookyard_inbound_requests_total",
      help: "Requests received at ingest URLs, by source and verdict (accepted, rejected, duplicate).",
      labelNames: ["source_id", "verdict"],
      registers,
    });
    this.#ruleRuns = new Counter({
      name: "hookyard_rule_runs_total",
      help: "Rule runs finished, by rule and outcome (succeeded, failed, interrupted).",
      labelNames: ["rule", "outcome"],
      registers,
    });
    this.#commitWrites = new Histogram({
      name: "hookyard_store_commit_writes",
      help: "Writes per group commit (one transaction for all the writes of an event-loop turn).",
      buckets: WRITES_BUCKETS,
      registers,
    });
    this.#commitSeconds = new Histogram({
      name: "hookyard_store_commit_duration_seconds",
      help: "Duration of a group commit's transaction, BEGIN to COMMIT.",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#backlogGauges(registers);
  }

  /** The text a scrape gets, in Prometheus' exposition format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  httpResponse(method: string, route: string, status: number, seconds: number): void {
    this.#counter(this.#httpRequests, `h ${method} ${route} ${status}`, [
      method,
      route,
      String(status),
    ]).inc();
    if (method === "POST" && route === PUBLISH_ROUTE) this.#publishSeconds.observe(seconds);
    else if (route.startsWith(INGEST_ROUTE_PREFIX)) this.#ingestSeconds.observe(seconds);
  }

  attempt(attempt: Attempt, update: DeliveryUpdate | null): void {
    const outcome = update === null ? "superseded" : update.status;
    const errorClass = attempt.errorClass ?? "none";
    const endpoint = this.#endpointLabels ? [attempt.endpointId] : [];
    this.#counter(this.#attempts, `a ${outcome} ${errorClass} ${endpoint.join("")}`, [
      outcome,
      errorClass,
      ...endpoint,
    ]).inc();
    this.#histogram(this.#attemptSeconds, `d ${endpoint.join("")}`, endpoint).observe(
      attempt.durationMs / 1000,
    );
  }

  received(request: InboundRequest): void {
    this.#counter(this.#received, `r ${request.sourceId} ${request.status}`, [
      request.sourceId,
      request.status,
    ]).inc();
  }

  ruleRunFinished(run: RuleRun): void {
    this.#counter(this.#ruleRuns, `u ${run.rule}\u0000${run.status}`, [run.rule, run.status]).inc();
  }

  commit(stats: CommitStats): void {
    this.#commitWrites.observe(stats.writes);
    this.#commitSeconds.observe(stats.durationMs / 1000);
  }

  #counter<T extends string>(metric: Counter<T>, key: string, labels: string[]): { inc(): void } {
    let child = this.#children.get(key) as { inc(): void } | undefined;
    if (child === undefined) {
      child = metric.labels(...labels);
      this.#children.set(key, child);
    }
    return child;
  }

  #histogram<T extends string>(
    metric: Histogram<T>,
    key: string,
    labels: string[],
  ): { observe(value: number): void } {
    let child = this.#children.get(key) as { observe(value: number): void } | undefined;
    if (child === undefined) {
      child = metric.labels(...labels);
      this.#children.set(key, child);
    }
    return child;
  }

  /** Gauges read from the database on each scrape (one query for both). */
  #backlogGauges(registers: Registry[]): void {
    const backlog = this.#backlog;
    let reading: Promise<DeliveryBacklog[]> | null = null;
    let readAt = -Infinity;
    // Both gauges collect in the same scrape and share one read, which later scrapes reuse for a
    // few seconds: however often /metrics is asked, the database is read at most that often.
    const read = () => {
      const now = backlog.now();
      if (reading === null || now - readAt >= BACKLOG_READ_EVERY_MS) {
        readAt = now;
        reading = backlog.deliveryBacklog(now).catch((err: unknown) => {
          readAt = -Infinity;
          throw err;
        });
      }
      return reading;
    };
    new Gauge({
      name: "hookyard_deliveries_open",
      help: "Deliveries not yet finished, by state: held (leased by a process: being sent, or a retry it sends soon), due (waiting for a sender), scheduled (a retry or deliverAt later, not held). Database-wide.",
      labelNames: ["state"],
      registers,
      async collect() {
        const rows = await read();
        const sum = (pick: (row: DeliveryBacklog) => number) =>
          rows.reduce((total, row) => total + pick(row), 0);
        this.reset();
        this.set(
          { state: "held" },
          sum((row) => row.leased),
        );
        this.set(
          { state: "due" },
          sum((row) => row.due),
        );
        this.set(
          { state: "scheduled" },
          sum((row) => row.scheduled),
        );
      },
    });
    new Gauge({
      name: "hookyard_delivery_oldest_open_age_seconds",
      help: "Age of each application's oldest unfinished delivery (the SLA signal); applications without any are absent. Database-wide.",
      labelNames: ["app_id"],
      registers,
      async collect() {
        const rows = await read();
        const now = backlog.now();
        this.reset();
        for (const row of rows) {
          this.set({ app_id: row.appId }, Math.max(0, (now - row.oldestCreatedAt) / 1000));
        }
      },
    });
  }
}

const PUBLISH_ROUTE = "/api/v1/app/:app_id/msg";
/** The backlog gauges read the database at most this often. */
const BACKLOG_READ_EVERY_MS = 5_000;
const INGEST_ROUTE_PREFIX = "/in/";
