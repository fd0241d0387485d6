import type { Endpoint, InboundRequest, Message } from "../model.js";
import { signatureHeader } from "../signing/standard-webhooks.js";
import { forwardedParts } from "./forward.js";

/** The HTTP request Hookyard sends an endpoint for a message (its method is POST unless set). */
export interface OutgoingRequest {
  url: string;
  method?: string;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

/**
 * What an attempt sends — and what `hookyard listen --endpoint` forwards, so a local app sees
 * the very bytes and signature a real delivery carries. Outbound: the endpoint's custom
 * headers, then ours. Forwarded (`received`: the request a source received): the sender's
 * headers, then the destination's custom headers, then the signature made with the
 * destination's secret. Secrets rotated out within their grace period sign too.
 */
export function outgoingRequest(req: {
  endpoint: Endpoint;
  message: Message;
  received: InboundRequest | null;
  now: number;
  keyOf: (secret: string) => Buffer;
  userAgent: string;
  /**
   * The attempt span's (tracing on; issue 16): sent last, so the receiver's tracing joins the
   * trace whatever the custom or forwarded headers hold. Absent: the headers stay as they are.
   */
  traceparent?: string | undefined;
}): OutgoingRequest {
  const { endpoint, message, now } = req;
  const forwarded = req.received === null ? null : forwardedParts(req.received, endpoint.url);
  const body = forwarded?.body ?? message.payload;
  const timestamp = Math.floor(now / 1000);
  const secrets = [endpoint.secret];
  for (const old of endpoint.previousSecrets) if (old.expiresAt > now) secrets.push(old.key);
  const signature = {
    "webhook-id": message.id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signatureHeader(secrets, message.id, timestamp, body, req.keyOf),
  };
  if (forwarded === null) {
    return {
      url: endpoint.url,
      headers: {
        ...endpoint.headers,
        "content-type": "application/json",
        "user-agent": req.userAgent,
        ...signature,
        ...(req.traceparent !== undefined && { traceparent: req.traceparent }),
      },
      body,
    };
  }
  return {
    url: forwarded.url,
    method: forwarded.method,
    headers: {
      ...forwarded.headers,
      ...endpoint.headers,
      ...signature,
      ...(req.traceparent !== undefined && { traceparent: req.traceparent }),
    },
    body,
  };
}
