import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scopedIdempotencyKey } from "../../src/http/idempotency.js";
import {
  applicationInput,
  endpointInput,
  endpointPatch,
  endpointUpdateInput,
  messageInput,
} from "../../src/http/inputs.js";
import { toPageRequest } from "../../src/http/pagination.js";
import { commaListOf } from "../../src/http/query-filters.js";
import {
  attemptOut,
  deliveryStatusesOf,
  endpointMessageOutJson,
  messageOutJson,
  pageJson,
  svixStatusOf,
} from "../../src/http/serializers.js";
import type { ValidationError } from "../../src/errors.js";
import type { Attempt, Delivery, DeliveryStatus, Message } from "../../src/model.js";

const T0 = Date.UTC(2025, 0, 1);

const MESSAGE: Message = {
  id: "msg_1",
  appId: "app_1",
  eventType: "invoice.paid",
  eventId: "evt-1",
  inboundRequestId: null,
  deliverAt: null,
  channels: ["eu"],
  tags: null,
  payload: '{"amount":100,"nested":{"ok":true},"text":"caf\\u00e9 \\"q\\""}',
  createdAt: T0,
};

const DELIVERY: Delivery = {
  id: "dlv_1",
  msgId: "msg_1",
  endpointId: "ep_1",
  appId: "app_1",
  status: "retrying",
  attempts: 2,
  nextAttemptAt: T0 + 300_000,
  leaseOwner: null,
  leaseUntil: null,
  createdAt: T0,
  updatedAt: T0,
};

describe("Svix JSON for messages", () => {
  it("renders MessageOut with the stored payload verbatim", () => {
    const out = JSON.parse(messageOutJson(MESSAGE, true)) as Record<string, unknown>;
    expect(out).toEqual({
      id: "msg_1",
      eventType: "invoice.paid",
      eventId: "evt-1",
      channels: ["eu"],
      tags: null,
      payload: JSON.parse(MESSAGE.payload),
      deliverAt: null,
      timestamp: "2025-01-01T00:00:00.000Z",
    });
    expect(messageOutJson(MESSAGE, true)).toContain(`"payload":${MESSAGE.payload}`);
  });

  it('renders an expunged payload as {"expired": true}, and a scheduled time', () => {
    const expunged = { ...MESSAGE, payload: "", deliverAt: Date.UTC(2025, 0, 2) };
    expect(JSON.parse(messageOutJson(expunged, true))).toMatchObject({
      payload: { expired: true },
      deliverAt: "2025-01-02T00:00:00.000Z",
    });
    expect(JSON.parse(messageOutJson(expunged, false))).toMatchObject({ payload: {} });
  });

  it("renders payload {} without content", () => {
    expect(JSON.parse(messageOutJson(MESSAGE, false))).toMatchObject({ payload: {} });
  });

  it("renders valid JSON for any event type, event id and payload", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.option(fc.string()),
        fc.dictionary(fc.string(), fc.jsonValue()),
        (eventType, eventId, payload) => {
          const message = { ...MESSAGE, eventType, eventId, payload: JSON.stringify(payload) };
          const out = JSON.parse(messageOutJson(message, true)) as Record<string, unknown>;
          expect(out["eventType"]).toBe(eventType);
          expect(out["eventId"]).toBe(eventId);
          expect(out["payload"]).toEqual(JSON.parse(message.payload));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("renders an endpoint message with its delivery state and a page envelope", () => {
    const json = pageJson(
      {
        data: [{ message: MESSAGE, delivery: DELIVERY }],
        iterator: "msg_1",
        prevIterator: null,
        done: false,
      },
      (item) => endpointMessageOutJson(item, false),
    );
    expect(JSON.parse(json)).toEqual({
      data: [
        expect.objectContaining({
          id: "msg_1",
          payload: {},
          status: 1,
          statusText: "pending",
          nextAttempt: "2025-01-01T00:05:00.000Z",
        }),
      ],
      iterator: "msg_1",
      prevIterator: null,
      done: false,
    });
  });
});

describe("Svix statuses", () => {
  it("maps every delivery status to Svix's number and text", () => {
    const all: DeliveryStatus[] = ["pending", "retrying", "succeeded", "failed", "cancelled"];
    expect(all.map(svixStatusOf)).toEqual([
      { status: 1, statusText: "pending" },
      { status: 1, statusText: "pending" },
      { status: 0, statusText: "success" },
      { status: 2, statusText: "fail" },
      { status: 4, statusText: "canceled" },
    ]);
  });

  it("maps Svix status filters back, pending with retrying, and nothing for sending", () => {
    expect([0, 1, 2, 3, 4].map(deliveryStatusesOf)).toEqual([
      ["succeeded"],
      ["pending", "retrying"],
      ["failed"],
      [],
      ["cancelled"],
    ]);
    for (const status of ["pending", "retrying", "succeeded", "failed", "cancelled"] as const) {
      expect(deliveryStatusesOf(svixStatusOf(status).status), status).toContain(status);
    }
  });

  it("renders a failed manual attempt with Hookyard's extensions", () => {
    const attempt: Attempt = {
      id: "atmpt_1",
      deliveryId: "dlv_1",
      msgId: "msg_1",
      endpointId: "ep_1",
      appId: "app_1",
      url: "https://example.com/hook",
      succeeded: false,
      responseStatusCode: 0,
      responseBody: "",
      responseHeaders: null,
      durationMs: 15000.4,
      errorClass: "timeout",
      errorMessage: "no response in 15 s",
      trigger: "manual",
      createdAt: T0,
    };
    expect(attemptOut(attempt)).toEqual({
      id: "atmpt_1",
      msgId: "msg_1",
      endpointId: "ep_1",
      url: "https://example.com/hook",
      response: "",
      responseStatusCode: 0,
      responseDurationMs: 15000,
      status: 2,
      statusText: "fail",
      triggerType: 1,
      timestamp: "2025-01-01T00:00:00.000Z",
      errorClass: "timeout",
      errorMessage: "no response in 15 s",
      responseHeaders: null,
    });
  });
});

describe("request bodies to service inputs", () => {
  it("takes throttleRate (SDK 2) or rateLimit (SDK 1) and refuses the two disagreeing", () => {
    expect(applicationInput({ name: "A", throttleRate: 5 })).toEqual({ name: "A", rateLimit: 5 });
    expect(applicationInput({ name: "A", rateLimit: 7 })).toEqual({ name: "A", rateLimit: 7 });
    expect(applicationInput({ name: "A", rateLimit: 7, throttleRate: 7 })).toEqual({
      name: "A",
      rateLimit: 7,
    });
    expect(() => applicationInput({ name: "A", rateLimit: 7, throttleRate: 5 })).toThrow(
      /throttleRate and rateLimit/,
    );
    expect(applicationInput({ name: "A" })).toEqual({ name: "A" });
    expect(endpointPatch({ throttleRate: null })).toEqual({ rateLimit: null });
  });

  it("takes eventTypes (SDK 2) or filterTypes (SDK 1) as the endpoint's event-type filter", () => {
    expect(endpointInput({ url: "https://x", eventTypes: ["a"] })).toEqual({
      url: "https://x",
      filterTypes: ["a"],
    });
    expect(endpointInput({ url: "https://x", filterTypes: ["b"] })).toEqual({
      url: "https://x",
      filterTypes: ["b"],
    });
    expect(endpointPatch({ eventTypes: null }), "null clears the filter").toEqual({
      filterTypes: null,
    });
    expect(endpointPatch({}), "absent leaves it as it is").toEqual({});
    expect(
      endpointPatch({ eventTypes: ["a", "b"], filterTypes: ["b", "a"] }),
      "one set of types in two orders is one value",
    ).toEqual({ filterTypes: ["a", "b"] });
    let problems: unknown;
    try {
      endpointUpdateInput({ url: "https://x", eventTypes: ["a"], filterTypes: ["b"] });
    } catch (err) {
      problems = (err as ValidationError).problems;
    }
    expect(problems, "both names, two values: each is named").toMatchObject([
      { loc: ["body", "eventTypes"] },
      { loc: ["body", "filterTypes"] },
    ]);
  });

  it("drops ignored message fields and maps an inline application", () => {
    expect(
      messageInput({
        eventType: "a.b",
        payload: { x: 1 },
        payloadRetentionPeriod: 90,
        application: { name: "Acme", throttleRate: 2 },
      }),
    ).toEqual({ eventType: "a.b", payload: { x: 1 }, application: { name: "Acme", rateLimit: 2 } });
  });

  it("refuses a transformation instead of sending an empty payload", () => {
    expect(() =>
      messageInput({ eventType: "a.b", payload: {}, transformationsParams: { rawPayload: "x" } }),
    ).toThrow(/transformationsParams/);
  });

  it("takes a scheduled delivery time as epoch ms", () => {
    expect(
      messageInput({ eventType: "a.b", payload: {}, deliverAt: "2030-01-01T00:00:00Z" }),
    ).toEqual({ eventType: "a.b", payload: {}, deliverAt: Date.UTC(2030, 0, 1) });
    expect(messageInput({ eventType: "a.b", payload: {}, deliverAt: null })).toEqual({
      eventType: "a.b",
      payload: {},
    });
  });
});

describe("query helpers", () => {
  it("scopes idempotency keys by method and path, ignoring query and trailing slash", () => {
    expect(scopedIdempotencyKey("POST", "/api/v1/app/?get_if_exists=true", "k")).toBe(
      "POST /api/v1/app k",
    );
    expect(scopedIdempotencyKey("POST", "/api/v1/app/app_1/msg", "k")).not.toBe(
      scopedIdempotencyKey("POST", "/api/v1/app/app_2/msg", "k"),
    );
  });

  it("splits comma-joined and repeated list parameters", () => {
    expect(commaListOf(["a,b", "c", ""])).toEqual(["a", "b", "c"]);
  });

  it("passes the page order only when given", () => {
    expect(toPageRequest({ limit: 10 })).toEqual({ limit: 10, iterator: null });
    expect(toPageRequest({ limit: 10, iterator: "x", order: "ascending" })).toEqual({
      limit: 10,
      iterator: "x",
      order: "ascending",
    });
  });
});
