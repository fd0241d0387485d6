import type { FastifyInstance } from "fastify";
import type { Sources } from "../../inbound/sources.js";
import type { OutboundServices } from "../../outbound/services.js";
import { SourceParams } from "../schemas/source.js";
import { registerOwnedEndpointRoutes } from "./owned-endpoints.js";

/**
 * A source's destinations (Svix Ingest's `ingest.endpoint` API): the endpoints of the source's
 * own application, so they have every field and behaviour of outbound endpoints (filterTypes on
 * the provider's event type, headers, rateLimit, secret and its rotation, disabled). Each accepted
 * request goes to every matching one through the delivery engine, body and headers as received,
 * signed with the destination's secret (Standard Webhooks).
 */
export function registerIngestEndpointRoutes(
  app: FastifyInstance,
  deps: { sources: Sources; services: OutboundServices },
): void {
  const { sources } = deps;
  registerOwnedEndpointRoutes(app, deps.services.endpoints, {
    base: "/source/:source_id/endpoint",
    tags: ["Ingest endpoint"],
    params: SourceParams,
    endpointIdDescription: "The destination's id (`ep_…`) or uid.",
    appOf: async (params) => (await sources.get(params["source_id"]!)).appId,
    summaries: {
      list: "List a source's destinations",
      create: "Add a destination to a source",
      get: "Get a destination",
      update: "Update a destination",
      remove: "Remove a destination",
      getSecret: "Get a destination's signing secret",
      rotateSecret: "Rotate a destination's signing secret",
      getHeaders: "Get a destination's custom headers",
      setHeaders: "Replace a destination's custom headers",
    },
    descriptions: {
      create:
        "Every field of an outbound endpoint; `filterTypes` match the provider's event type (X-GitHub-Event, a JSON body's `type`, …).",
      remove: "Its open deliveries end cancelled.",
    },
  });
}
