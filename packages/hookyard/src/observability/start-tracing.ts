import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import type { Tracing } from "./tracing.js";

/**
 * Tracing (issue 16) when a collector is configured; otherwise null, and the OpenTelemetry SDK
 * is never even loaded (tracing.ts is imported on demand), so untraced servers pay nothing.
 */
export async function startTracing(
  config: Config["tracing"],
  deps: { clock: Clock; logger: Logger; serviceVersion: string; instanceId: string },
): Promise<Tracing | null> {
  const url = tracesUrlOf(config);
  if (url === null) return null;
  const { Tracing } = await import("./tracing.js");
  const log = deps.logger.child({ component: "tracing" });
  log.info({ url: withoutPassword(url) }, "exporting spans to an OTLP collector");
  return new Tracing(
    {
      url,
      serviceName: config.serviceName,
      serviceVersion: deps.serviceVersion,
      instanceId: deps.instanceId,
    },
    { clock: deps.clock, logger: log },
  );
}

/**
 * Where spans are posted, or null: tracing is off. As OpenTelemetry specifies it for OTLP/HTTP,
 * the traces endpoint is used as is, and the base endpoint gets `v1/traces` appended.
 */
export function tracesUrlOf(tracing: Config["tracing"]): string | null {
  if (tracing.tracesEndpoint !== null) return tracing.tracesEndpoint;
  if (tracing.endpoint === null) return null;
  return `${tracing.endpoint.endsWith("/") ? tracing.endpoint : `${tracing.endpoint}/`}v1/traces`;
}

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "***";
  return parsed.toString();
}
