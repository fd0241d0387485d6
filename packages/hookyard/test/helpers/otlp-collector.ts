import { startReceiver, type Receiver } from "./receiver.js";

/** A span as an OTLP/HTTP JSON export carried it, flattened for assertions. */
export interface CollectedSpan {
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId: string | undefined;
  name: string;
  /** OTLP's SpanKind: 2 server, 3 client. */
  kind: number;
  /** Epoch ms (OTLP sends nanoseconds as text). */
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string | undefined };
  resource: Record<string, string | number | boolean>;
}

export interface Collector {
  /** `http://127.0.0.1:<port>`: the base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  url: string;
  /** Every export request so far (paths, content types), in arrival order. */
  receiver: Receiver;
  /** Every span of every export so far. */
  spans(): CollectedSpan[];
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        startTimeUnixNano: string | number;
        endTimeUnixNano: string | number;
        attributes?: OtlpAttribute[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
}

/**
 * An OTLP/HTTP collector on loopback: a real receiver (receiver.ts) answering 200, whose
 * requests are read as the JSON exports the OpenTelemetry HTTP exporter sends.
 */
export async function startCollector(): Promise<Collector> {
  const receiver = await startReceiver({ defaultReply: { status: 200, body: "{}" } });
  return {
    url: receiver.url.replace(/\/$/, ""),
    receiver,
    spans: () => receiver.requests.flatMap((request) => spansOf(request.body)),
    close: () => receiver.close(),
  };
}

function spansOf(body: string): CollectedSpan[] {
  const parsed = JSON.parse(body) as OtlpExport;
  return (parsed.resourceSpans ?? []).flatMap((resourceSpans) => {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    return (resourceSpans.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map((span) => ({
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId === "" ? undefined : span.parentSpanId,
        name: span.name,
        kind: span.kind,
        startMs: Number(BigInt(span.startTimeUnixNano) / 1_000n) / 1000,
        endMs: Number(BigInt(span.endTimeUnixNano) / 1_000n) / 1000,
        attributes: attributesOf(span.attributes),
        status: { code: span.status?.code ?? 0, message: span.status?.message },
        resource,
      })),
    );
  });
}

function attributesOf(
  list: OtlpAttribute[] | undefined,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    const v =
      value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
      value.doubleValue ??
      value.boolValue;
    if (v !== undefined) out[key] = v;
  }
  return out;
}
