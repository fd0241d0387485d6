import type { AttemptErrorClass, AttemptTrigger, DeliveryStatus } from "../model.js";
import { nextRetryDelayMs, parseRetryAfter } from "./retry-policy.js";

/**
 * What happens after one attempt: pure, so the whole policy (success, retry schedule,
 * Retry-After, 410 Gone, manual attempts) is tested without a network or a store.
 */
export interface AttemptResponse {
  statusCode: number;
  headers: Record<string, string> | null;
  errorClass: AttemptErrorClass | null;
}

export interface AttemptDecision {
  succeeded: boolean;
  /** The attempt's error class; `http_status`/`redirect` when a non-success response arrived. */
  errorClass: AttemptErrorClass | null;
  status: DeliveryStatus;
  /** Set when status is "retrying". */
  nextAttemptAt: number | null;
  /** The receiver answered 410 Gone: the endpoint must be disabled now (Standard Webhooks). */
  disableEndpoint: boolean;
}

export function decideAfterAttempt(req: {
  response: AttemptResponse;
  accept302: boolean;
  /** Attempts made including this one. */
  attemptsMade: number;
  trigger: AttemptTrigger;
  /** The delivery's state before a manual attempt: a manual failure never reschedules. */
  previous: { status: DeliveryStatus; nextAttemptAt: number | null };
  now: number;
  scheduleMs: readonly number[];
  random: () => number;
}): AttemptDecision {
  const { response, now } = req;
  const code = response.statusCode;
  const succeeded =
    response.errorClass === null &&
    ((code >= 200 && code < 300) || (req.accept302 && code === 302));
  if (succeeded) {
    return {
      succeeded,
      errorClass: null,
      status: "succeeded",
      nextAttemptAt: null,
      disableEndpoint: false,
    };
  }
  const errorClass: AttemptErrorClass =
    response.errorClass ?? (code >= 300 && code < 400 ? "redirect" : "http_status");
  if (code === 410) {
    return { succeeded, errorClass, status: "failed", nextAttemptAt: null, disableEndpoint: true };
  }
  if (req.trigger === "manual") {
    const open = req.previous.status === "pending" || req.previous.status === "retrying";
    return open
      ? {
          succeeded,
          errorClass,
          status: "retrying",
          nextAttemptAt: req.previous.nextAttemptAt ?? now,
          disableEndpoint: false,
        }
      : { succeeded, errorClass, status: "failed", nextAttemptAt: null, disableEndpoint: false };
  }
  const retryAfterMs =
    code === 429 || code === 503 ? parseRetryAfter(response.headers?.["retry-after"], now) : null;
  const delay = nextRetryDelayMs({
    attemptsMade: req.attemptsMade,
    scheduleMs: req.scheduleMs,
    random: req.random,
    retryAfterMs,
  });
  return delay === null
    ? { succeeded, errorClass, status: "failed", nextAttemptAt: null, disableEndpoint: false }
    : {
        succeeded,
        errorClass,
        status: "retrying",
        nextAttemptAt: now + delay,
        disableEndpoint: false,
      };
}
