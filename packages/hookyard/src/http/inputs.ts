import { ValidationError } from "../errors.js";
import { epochMsOf } from "./schema-validation.js";
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

/**
 * One field under two names (Svix renamed them in SDK 2 and its server accepts both): the value
 * under whichever name the caller used. Both given with different values is refused (422 naming
 * both), since silently picking one would drop the other.
 */
function aliased<T>(
  fields: object,
  names: readonly [current: string, old: string],
): { given: false } | { given: true; value: T } {
  const body = fields as Record<string, unknown>;
  const [current, old] = names;
  const hasCurrent = body[current] !== undefined;
  const hasOld = body[old] !== undefined;
  if (hasCurrent && hasOld && !sameValue(body[current], body[old])) {
    throw new ValidationError(
      names.map((name) => ({
        loc: ["body", name],
        msg: `${current} and ${old} are two names of one field: give one, or the same value for both`,
        type: "value_error.conflict",
      })),
    );
  }
  if (hasCurrent) return { given: true, value: body[current] as T };
  if (hasOld) return { given: true, value: body[old] as T };
  return { given: false };
}

/** Equal values; lists (event types) compare as sets, since their order means nothing. */
function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    const set = new Set(a);
    return new Set(b).size === set.size && b.every((item) => set.has(item));
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

interface AliasedEndpointFields {
  rateLimit?: number | null;
  throttleRate?: number | null;
  filterTypes?: string[] | null;
  eventTypes?: string[] | null;
}

/** `throttleRate` (SDK 2) or `rateLimit` (SDK 1) → the service's `rateLimit`, only when given. */
function rateLimitOf(body: AliasedEndpointFields): { rateLimit?: number | null } {
  const rate = aliased<number | null>(body, ["throttleRate", "rateLimit"]);
  return rate.given ? { rateLimit: rate.value } : {};
}

/** `eventTypes` (SDK 2) or `filterTypes` (SDK 1) → the service's `filterTypes`, only when given. */
function filterTypesOf(body: AliasedEndpointFields): { filterTypes?: string[] | null } {
  const types = aliased<string[] | null>(body, ["eventTypes", "filterTypes"]);
  return types.given ? { filterTypes: types.value } : {};
}

export function applicationInput(body: ApplicationInBody): ApplicationInput {
  const { throttleRate: _alias, rateLimit: _rateLimit, ...rest } = body;
  return { ...rest, ...rateLimitOf(body) };
}

export function applicationPatch(body: ApplicationPatchBody): ApplicationPatch {
  const { throttleRate: _alias, rateLimit: _rateLimit, ...rest } = body;
  return { ...rest, ...rateLimitOf(body) };
}

/** An endpoint body with both spellings of its renamed fields folded into one each. */
function endpointFields<B extends AliasedEndpointFields>(
  body: B,
): Omit<B, keyof AliasedEndpointFields> & {
  rateLimit?: number | null;
  filterTypes?: string[] | null;
} {
  const {
    throttleRate: _throttleRate,
    rateLimit: _rateLimit,
    eventTypes: _eventTypes,
    filterTypes: _filterTypes,
    ...rest
  } = body;
  return { ...rest, ...rateLimitOf(body), ...filterTypesOf(body) };
}

export function endpointInput(body: EndpointInBody): EndpointInput {
  return endpointFields(body);
}

export function endpointUpdateInput(body: EndpointUpdateBody): EndpointUpdateInput {
  return endpointFields(body);
}

export function endpointPatch(body: EndpointPatchBody): EndpointPatch {
  return endpointFields(body);
}

/**
 * @throws ValidationError naming `transformationsParams` when a transformation (raw payload) is
 * asked for: Hookyard cannot honour it, and silently sending something else would be worse.
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
  if (transformationsParams !== undefined && transformationsParams !== null) {
    throw ValidationError.field(
      ["body", "transformationsParams"],
      "transformationsParams: transformations are not supported",
    );
  }
  const input: MessageInput = rest;
  if (deliverAt != null) input.deliverAt = epochMsOf(deliverAt);
  if (application !== undefined && application !== null) {
    input.application = applicationInput(application);
  }
  return input;
}
