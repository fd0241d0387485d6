import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Context,
  type HrTime,
  type Span,
  type TextMapGetter,
  type Tracer,
} from "@opentelemetry/api";
import {
  ExportResultCode,
  W3CTraceContextPropagator,
  type ExportResult,
} from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { AttemptSpan, AttemptTracer } from "../delivery/attempt-tracer.js";
import type { RequestSpan, RequestTracer } from "../http/request-spans.js";
import type { Attempt } from "../model.js";

/**
 * OpenTelemetry tracing (issue 16): the only module that imports the SDK, loaded by the
 * composition root only when a collector is configured. Spans go in batches to an OTLP/HTTP
 * collector as JSON; the exporter itself reads the other standard variables (headers, timeout,
 * certificates: OTEL_EXPORTER_OTLP_*).
 *
 * The provider is this instance's, never registered globally, and no context manager is
 * installed: parents are passed explicitly (a stored `traceparent`), so several servers in one
 * process (tests) stay apart and nothing else in the process is traced by accident.
 */

export interface TracingSettings {
  /** Where spans are posted (tracing-settings.ts). */
  url: string;
  serviceName: string;
  serviceVersion: string;
  /** This process's lease owner id: which node made a span. */
  instanceId: string;
}

export interface TracingDeps {
  /** Span times follow the injected clock, as every other time does. */
  clock: Clock;
  logger: Logger;
}

/**
 * Longest `close` waits for the last spans: a collector that is down would otherwise hold the
 * server's shutdown for the exporter's retries (≈ 8 s measured).
 */
const CLOSE_TIMEOUT_MS = 3_000;

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const HEADERS: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

export class Tracing implements RequestTracer, AttemptTracer {
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #propagator = new W3CTraceContextPropagator();
  readonly #clock: Clock;
  readonly #log: Logger;
  #closing: Promise<void> | null = null;

  constructor(settings: TracingSettings, deps: TracingDeps) {
    this.#clock = deps.clock;
    this.#log = deps.logger;
    this.#provider = new TracerProvider({
      resource: resourceFromAttributes({
        "service.name": settings.serviceName,
        "service.version": settings.serviceVersion,
        "service.instance.id": settings.instanceId,
      }),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter: new LoggedExporter(new OTLPTraceExporter({ url: settings.url }), deps.logger),
        }),
      ],
    });
    this.#tracer = this.#provider.getTracer("hookyard", settings.serviceVersion);
  }

  startRequest(req: { method: string; route: string; headers: Headers }): RequestSpan {
    const startedAt = this.#clock.now();
    const span = this.#tracer.startSpan(
      `${req.method} ${req.route}`,
      {
        kind: SpanKind.SERVER,
        startTime: hrTimeOf(startedAt),
        attributes: { "http.request.method": req.method, "http.route": req.route },
      },
      // An invalid or absent traceparent extracts nothing: the span starts a trace.
      this.#propagator.extract(ROOT_CONTEXT, req.headers, HEADERS),
    );
    return {
      traceparent: traceparentOf(span),
      setAttributes: (attributes) => span.setAttributes(attributes),
      end: (statusCode, durationMs) => {
        span.setAttribute("http.response.status_code", statusCode);
        // A server span's 4xx is the client's error, not this span's (OpenTelemetry HTTP).
        if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end(hrTimeOf(startedAt + durationMs));
      },
    };
  }

  startAttempt(req: Parameters<AttemptTracer["startAttempt"]>[0]): AttemptSpan {
    const { message, delivery, startedAt } = req;
    const span = this.#tracer.startSpan(
      "webhook attempt",
      {
        kind: SpanKind.CLIENT,
        startTime: hrTimeOf(startedAt),
        attributes: {
          "hookyard.app.id": delivery.appId,
          "hookyard.message.id": message.id,
          "hookyard.event_type": message.eventType,
          "hookyard.endpoint.id": delivery.endpointId,
          "hookyard.delivery.id": delivery.id,
          "hookyard.attempt.number": req.attempt,
          "hookyard.attempt.trigger": req.trigger,
        },
      },
      this.#parentOf(message.traceparent),
    );
    return {
      traceparent: traceparentOf(span),
      end: (attempt: Attempt, durationMs: number) => {
        span.setAttribute("hookyard.attempt.id", attempt.id);
        // The host only: a receiver's URL may carry a token in its path or query.
        if (URL.canParse(attempt.url))
          span.setAttribute("server.address", new URL(attempt.url).hostname);
        if (attempt.responseStatusCode > 0) {
          span.setAttribute("http.response.status_code", attempt.responseStatusCode);
        }
        if (attempt.errorClass !== null) span.setAttribute("error.type", attempt.errorClass);
        if (!attempt.succeeded) {
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: attempt.errorMessage ?? `HTTP ${attempt.responseStatusCode}`,
          });
        }
        span.end(hrTimeOf(startedAt + durationMs));
      },
    };
  }

  /**
   * Exports the spans still queued (for at most CLOSE_TIMEOUT_MS) and stops; idempotent, and
   * never fails a shutdown: telemetry only, the server stops without the last spans.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        if (err !== undefined) this.#log.warn({ err }, "the last spans could not be exported");
        resolve();
      };
      const timer = this.#clock.setTimer(CLOSE_TIMEOUT_MS, () =>
        settle(new Error(`not exported within ${CLOSE_TIMEOUT_MS} ms`)),
      );
      this.#provider.shutdown().then(
        () => settle(),
        (err: unknown) => settle(err ?? new Error("shutting the exporter down failed")),
      );
    });
    return this.#closing;
  }

  #parentOf(traceparent: string | undefined): Context {
    if (traceparent === undefined) return ROOT_CONTEXT;
    return this.#propagator.extract(ROOT_CONTEXT, { traceparent }, HEADERS);
  }
}

/** W3C `traceparent` (version 00) of a span: its trace, itself, and whether it is sampled. */
function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** Epoch ms (fractions kept) as OpenTelemetry's [seconds, nanoseconds]. */
function hrTimeOf(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}

/**
 * The OTLP exporter, telling the log when exporting starts failing and when it works again
 * (once each, not per batch): OpenTelemetry's own diagnostics are silent unless a global logger
 * is set, and a collector that is down must not go unnoticed nor flood the log.
 */
class LoggedExporter implements SpanExporter {
  readonly #exporter: SpanExporter;
  readonly #log: Logger;
  #failing = false;

  constructor(exporter: SpanExporter, log: Logger) {
    this.#exporter = exporter;
    this.#log = log;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#exporter.export(spans, (result) => {
      const failed = result.code !== ExportResultCode.SUCCESS;
      if (failed && !this.#failing) {
        this.#log.warn({ err: result.error, spans: spans.length }, "exporting spans failed");
      } else if (!failed && this.#failing) {
        this.#log.info({ spans: spans.length }, "exporting spans works again");
      }
      this.#failing = failed;
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#exporter.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#exporter.forceFlush?.() ?? Promise.resolve();
  }
}
