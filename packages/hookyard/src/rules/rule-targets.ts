import type { AppId, Endpoint, InboundRequestId } from "../model.js";
import type { Applications } from "../outbound/applications.js";
import type { EndpointCache } from "../outbound/endpoint-cache.js";
import type { Endpoints } from "../outbound/endpoints.js";
import type { Messages } from "../outbound/messages.js";
import { targetEndpoint } from "../outbound/target-endpoints.js";

/** What the rules' actions send through: messages, so the one delivery engine sends them. */
export interface RuleEgress {
  /** Publishes an outbound message to an application, as the API would. */
  publish(req: {
    app: string;
    eventType: string;
    payload: unknown;
    channels: string[] | null;
    eventId: string;
  }): Promise<{ messageId: string }>;
  /**
   * Sends one request to a URL (a forward, a notification): a JSON body, or a received request's
   * own bytes and headers.
   */
  send(req: {
    url: string;
    headers: Record<string, string>;
    body: { json: unknown } | { inboundRequestId: InboundRequestId };
    eventType: string;
    eventId: string;
  }): Promise<{ messageId: string }>;
}

/** The hidden application whose endpoints are the URLs rules send to. */
export const RULES_APP_UID = "hookyard-rules";

/**
 * RuleEgress on the outbound services: each distinct target (URL and headers) of a rule is an
 * endpoint of the `hookyard-rules` application, made on first use and reused, subscribed to a
 * channel of its own so that each message goes to its one target. Retries, attempts, the egress
 * guard and the messages API come with it.
 */
export class MessageEgress implements RuleEgress {
  readonly #deps: {
    applications: Applications;
    endpoints: Endpoints;
    cache: EndpointCache;
    messages: Messages;
  };
  #appId: AppId | null = null;

  constructor(deps: {
    applications: Applications;
    endpoints: Endpoints;
    cache: EndpointCache;
    messages: Messages;
  }) {
    this.#deps = deps;
  }

  async publish(req: {
    app: string;
    eventType: string;
    payload: unknown;
    channels: string[] | null;
    eventId: string;
  }): Promise<{ messageId: string }> {
    const { message } = await this.#deps.messages.create(req.app, {
      eventType: req.eventType,
      payload: req.payload as Record<string, unknown>,
      eventId: req.eventId,
      ...(req.channels !== null && { channels: req.channels }),
    });
    return { messageId: message.id };
  }

  async send(req: {
    url: string;
    headers: Record<string, string>;
    body: { json: unknown } | { inboundRequestId: InboundRequestId };
    eventType: string;
    eventId: string;
  }): Promise<{ messageId: string }> {
    const appId = await this.#rulesApp();
    const target = await this.#target(appId, req.url, req.headers);
    const { body } = req;
    const { message } = await this.#deps.messages.publish(
      appId,
      {
        eventType: req.eventType,
        // A forwarded request's message shows an empty payload; its bytes are the request's.
        payload: ("json" in body ? body.json : {}) as Record<string, unknown>,
        eventId: req.eventId,
        channels: target.channels,
        ...("inboundRequestId" in body && { inboundRequestId: body.inboundRequestId }),
      },
      [target],
    );
    return { messageId: message.id };
  }

  async #rulesApp(): Promise<AppId> {
    if (this.#appId !== null) return this.#appId;
    const { app } = await this.#deps.applications.create(
      { name: "Hookyard rules", uid: RULES_APP_UID, metadata: { "hookyard.rules": "targets" } },
      { getIfExists: true },
    );
    this.#appId = app.id;
    return app.id;
  }

  async #target(appId: AppId, url: string, headers: Record<string, string>): Promise<Endpoint> {
    return targetEndpoint(
      this.#deps.endpoints,
      appId,
      {
        kind: "target",
        url,
        headers,
        channels: (uid) => [uid],
        description: "a rule's forward or notify target",
      },
      await this.#deps.cache.forApp(appId),
    );
  }
}
