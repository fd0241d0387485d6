import type { Endpoint } from "../model.js";

/**
 * Whether a message goes to an endpoint (Svix semantics): the endpoint is enabled, its event-type
 * filter (if any) names the message's type, and its channel filter (if any) shares a channel with
 * the message (a message without channels never matches an endpoint that filters on channels).
 */
export function endpointAccepts(
  endpoint: Endpoint,
  message: { eventType: string; channels: readonly string[] | null },
): boolean {
  if (endpoint.disabled) return false;
  if (endpoint.filterTypes !== null && !endpoint.filterTypes.includes(message.eventType))
    return false;
  if (endpoint.channels !== null) {
    const channels = message.channels;
    if (channels === null || !channels.some((c) => endpoint.channels!.includes(c))) return false;
  }
  return true;
}
