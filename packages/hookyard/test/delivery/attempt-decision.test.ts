import { describe, expect, it } from "vitest";
import { decideAfterAttempt, type AttemptResponse } from "../../src/delivery/attempt-decision.js";

const SCHEDULE = [5_000, 300_000];
const NOW = 1_000_000;

function decide(
  response: Partial<AttemptResponse>,
  extra: Partial<Parameters<typeof decideAfterAttempt>[0]> = {},
) {
  return decideAfterAttempt({
    response: { statusCode: 200, headers: null, errorClass: null, ...response },
    accept302: false,
    attemptsMade: 1,
    trigger: "scheduled",
    previous: { status: "pending", nextAttemptAt: NOW },
    now: NOW,
    scheduleMs: SCHEDULE,
    random: () => 0.5,
    ...extra,
  });
}

describe("deciding what follows an attempt", () => {
  it("counts any 2xx as success", () => {
    for (const statusCode of [200, 201, 204, 299]) {
      expect(decide({ statusCode }), `status ${statusCode}`).toMatchObject({
        succeeded: true,
        status: "succeeded",
      });
    }
  });

  it("treats 302 as a failed redirect unless the endpoint accepts it", () => {
    expect(decide({ statusCode: 302 })).toMatchObject({
      succeeded: false,
      errorClass: "redirect",
      status: "retrying",
    });
    expect(decide({ statusCode: 302 }, { accept302: true })).toMatchObject({ succeeded: true });
    expect(decide({ statusCode: 301 }, { accept302: true })).toMatchObject({ succeeded: false });
  });

  it("schedules the next retry from the schedule and fails once it is exhausted", () => {
    expect(decide({ statusCode: 500 })).toMatchObject({
      status: "retrying",
      nextAttemptAt: NOW + 5_000,
      errorClass: "http_status",
    });
    expect(decide({ statusCode: 500 }, { attemptsMade: 2 })).toMatchObject({
      nextAttemptAt: NOW + 300_000,
    });
    expect(decide({ statusCode: 500 }, { attemptsMade: 3 })).toMatchObject({
      status: "failed",
      nextAttemptAt: null,
    });
  });

  it("keeps the transport error class of an attempt without a response", () => {
    expect(decide({ statusCode: 0, errorClass: "timeout" })).toMatchObject({
      errorClass: "timeout",
      status: "retrying",
    });
  });

  it("honours Retry-After only on 429 and 503", () => {
    const headers = { "retry-after": "60" };
    expect(decide({ statusCode: 429, headers })).toMatchObject({ nextAttemptAt: NOW + 60_000 });
    expect(decide({ statusCode: 503, headers })).toMatchObject({ nextAttemptAt: NOW + 60_000 });
    expect(decide({ statusCode: 500, headers })).toMatchObject({ nextAttemptAt: NOW + 5_000 });
  });

  it("asks to disable the endpoint after 410 Gone and ends the delivery", () => {
    expect(decide({ statusCode: 410 })).toMatchObject({ disableEndpoint: true, status: "failed" });
  });

  it("never reschedules a failed manual attempt of a finished delivery", () => {
    const previous = { status: "failed" as const, nextAttemptAt: null };
    expect(decide({ statusCode: 500 }, { trigger: "manual", previous })).toMatchObject({
      status: "failed",
      nextAttemptAt: null,
    });
    const open = { status: "retrying" as const, nextAttemptAt: NOW + 9_000 };
    expect(decide({ statusCode: 500 }, { trigger: "manual", previous: open })).toMatchObject({
      status: "retrying",
      nextAttemptAt: NOW + 9_000,
    });
  });
});
