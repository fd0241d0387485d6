import type { FastifyInstance } from "fastify";
import {
  OPERATIONAL_APP_UID,
  OPERATIONAL_EVENT_TYPES,
  type OperationalWebhooks,
} from "../../outbound/operational-webhooks.js";
import type { EndpointService } from "../../outbound/services.js";
import { registerOwnedEndpointRoutes } from "./owned-endpoints.js";

const EVENTS_DESCRIPTION = `Events: ${OPERATIONAL_EVENT_TYPES.map((t) => `\`${t}\``).join(", ")}. Each is a message of Hookyard's own application (uid \`${OPERATIONAL_APP_UID}\`), signed with the endpoint's secret and retried like any message; \`eventTypes\` picks which ones an endpoint receives.`;

/**
 * Svix's operational webhook endpoints (`/api/v1/operational-webhook/endpoint`): endpoints of
 * the operational application, with the endpoint API's bodies and rules, so the svix SDK's
 * `operationalWebhook.endpoint` methods work unchanged.
 */
export function registerOperationalWebhookRoutes(
  app: FastifyInstance,
  deps: { endpoints: EndpointService; operational: OperationalWebhooks },
): void {
  const { operational } = deps;
  registerOwnedEndpointRoutes(app, deps.endpoints, {
    base: "/operational-webhook/endpoint",
    tags: ["Operational webhook"],
    endpointIdDescription: "The operational endpoint's id (`ep_…`) or uid.",
    appOf: async () => (await operational.app()).id,
    summaries: {
      list: "List operational webhook endpoints",
      create: "Create an operational webhook endpoint",
      get: "Get an operational webhook endpoint",
      update: "Update an operational webhook endpoint",
      remove: "Delete an operational webhook endpoint",
      getSecret: "Get an operational webhook endpoint's signing secret",
      rotateSecret: "Rotate an operational webhook endpoint's signing secret",
      getHeaders: "Get an operational webhook endpoint's custom headers",
      setHeaders: "Replace an operational webhook endpoint's custom headers",
    },
    descriptions: {
      create: EVENTS_DESCRIPTION,
      update: "Replaces its fields (not the secret or headers); creates it (201) when absent.",
      rotateSecret: "The old secret keeps signing for `gracePeriodSeconds` (default 24 h).",
    },
  });
}
