/**
 * What a provider's request says about itself, beyond its signature: its delivery id (to drop
 * duplicates: a provider retries a delivery it thinks failed) and its event type (to filter and
 * route on). Facts per provider: research/inbound.md §1.1 and §5.6.
 */

type Headers = Readonly<Record<string, string | undefined>>;

/** The body as JSON, or null if it is not a JSON object (a form, XML, …). */
export function jsonBody(
  body: Buffer,
  contentType: string | undefined,
): Record<string, unknown> | null {
  const type = contentType?.toLowerCase() ?? "";
  if (!type.includes("json") && !(type === "" && body[0] === 0x7b)) return null;
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

const text = (value: unknown): string | null =>
  typeof value === "string" && value.length > 0 ? value : null;

/** The provider's id of this delivery, the same on its retries; null when it sends none. */
export function deliveryIdOf(
  type: string,
  headers: Headers,
  json: Record<string, unknown> | null,
): string | null {
  const h = (name: string) => text(headers[name]);
  switch (type) {
    case "github":
      return h("x-github-delivery");
    case "stripe":
      return text(json?.id); // the event id (evt_…), the same on every retry
    case "slack":
      return text(json?.event_id);
    case "shopify":
      return h("x-shopify-event-id") ?? h("x-shopify-webhook-id");
    case "gitlab":
      return h("idempotency-key") ?? h("webhook-id") ?? h("x-gitlab-event-uuid");
    case "twilio":
      return h("i-twilio-idempotency-token");
    default:
      // Standard Webhooks and Svix senders, and anything that follows the common conventions.
      return h("webhook-id") ?? h("svix-id") ?? h("idempotency-key");
  }
}

/** The provider's event type, or null when the request does not say. */
export function eventTypeOf(
  type: string,
  headers: Headers,
  json: Record<string, unknown> | null,
): string | null {
  const h = (name: string) => text(headers[name]);
  switch (type) {
    case "github":
      return h("x-github-event");
    case "shopify":
      return h("x-shopify-topic");
    case "gitlab":
      return h("x-gitlab-event");
    case "slack": {
      const event = json?.event;
      const inner =
        typeof event === "object" && event !== null
          ? text((event as { type?: unknown }).type)
          : null;
      return inner ?? text(json?.type);
    }
    default:
      return text(json?.type);
  }
}
