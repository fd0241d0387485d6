import { ValidationError } from "../errors.js";
import type {
  ApplicationInput,
  ApplicationPatch,
  EndpointInput,
  EndpointPatch,
  EndpointUpdateInput,
  MessageInput,
} from "../outbound/services.js";
import type { ApplicationInBody, ApplicationPatchBody } from "./schemas/application.js";
import type { EndpointInBody, EndpointPatchBody, EndpointUpdateBody } from "./schemas/endpoint.js";
import type { MessageInBody } from "./schemas/message.js";

/**
 * Validated request bodies → service inputs. Bodies come from JSON, so an absent field is absent
 * (never `undefined`) and passes through as "leave as is"; only Svix's aliases and the fields
 * Hookyard accepts but ignores need work here.
 */

interface RateLimitFields {
  rateLimit?: number | null;
  throttleRate?: number | null;
}

/** `rateLimit` wins; the deprecated `throttleRate` is used only when `rateLimit` is absent. */
function rateLimitOf(body: RateLimitFields): { rateLimit?: number | null } {
  if (body.rateLimit !== undefined) return { rateLimit: body.rateLimit };
  if (body.throttleRate !== undefined) return { rateLimit: body.throttleRate };
  return {};
}

export function applicationInput(body: ApplicationInBody): ApplicationInput {
  const { throttleRate: _alias, rateLimit: _rateLimit, ...rest } = body;
  return { ...rest, ...rateLimitOf(body) };
}

export function applicationPatch(body: ApplicationPatchBody): ApplicationPatch {
  const { throttleRate: _alias, rateLimit: _rateLimit, ...rest } = body;
  return { ...rest, ...rateLimitOf(body) };
}

export function endpointInput(body: EndpointInBody): EndpointInput {
  const { throttleRate: _alias, rateLimit: _rateLimit, ...rest } = body;
  return { ...rest, ...rateLimitOf(body) };
}

export function endpointUpdateInput(body: EndpointUpdateBody): EndpointUpdateInput {
  const { throttleRate: _alias, rateLimit: _rateLimit, ...rest } = body;
  return { ...rest, ...rateLimitOf(body) };
}

export function endpointPatch(body: EndpointPatchBody): EndpointPatch {
  const { throttleRate: _alias, rateLimit: _rateLimit, ...rest } = body;
  return { ...rest, ...rateLimitOf(body) };
}

/**
 * @throws ValidationError naming `deliverAt` or `transformationsParams` when a scheduled
 * delivery or a transformation (raw payload) is asked for: Hookyard cannot honour either, and
 * silently sending something else would be worse than refusing.
 */
export function messageInput(body: MessageInBody): MessageInput {
  const {
    payloadRetentionPeriod: _period,
    payloadRetentionHours: _hours,
    deliverAt,
    transformationsParams,
    application,
    ...rest
  } = body;
  if (deliverAt !== undefined && deliverAt !== null) {
    throw ValidationError.field(
      ["body", "deliverAt"],
      "deliverAt: scheduled delivery is not supported",
    );
  }
  if (transformationsParams !== undefined && transformationsParams !== null) {
    throw ValidationError.field(
      ["body", "transformationsParams"],
      "transformationsParams: transformations are not supported",
    );
  }
  const input: MessageInput = rest;
  if (application !== undefined && application !== null) {
    input.application = applicationInput(application);
  }
  return input;
}
