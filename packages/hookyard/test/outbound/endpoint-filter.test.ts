import { describe, expect, it } from "vitest";
import type { Endpoint } from "../../src/model.js";
import { endpointAccepts } from "../../src/outbound/endpoint-filter.js";

function endpoint(over: Partial<Endpoint>): Endpoint {
  return {
    id: "ep_1",
    appId: "app_1",
    uid: null,
    url: "https://example.com",
    description: "",
    version: 1,
    disabled: false,
    filterTypes: null,
    channels: null,
    rateLimit: null,
    metadata: {},
    headers: {},
    secret: "whsec_x",
    previousSecrets: [],
    accept302: false,
    failingSince: null,
    createdAt: 0,
    updatedAt: 0,
    ...over,
  };
}

describe("which endpoints a message goes to", () => {
  it("sends everything to an endpoint without filters", () => {
    expect(endpointAccepts(endpoint({}), { eventType: "a.b", channels: null })).toBe(true);
  });

  it("never sends to a disabled endpoint", () => {
    expect(
      endpointAccepts(endpoint({ disabled: true }), { eventType: "a.b", channels: null }),
    ).toBe(false);
  });

  it("matches the event-type filter exactly", () => {
    const ep = endpoint({ filterTypes: ["invoice.paid"] });
    expect(endpointAccepts(ep, { eventType: "invoice.paid", channels: null })).toBe(true);
    expect(endpointAccepts(ep, { eventType: "invoice.voided", channels: null })).toBe(false);
  });

  it("needs one shared channel when the endpoint filters on channels", () => {
    const ep = endpoint({ channels: ["eu", "us"] });
    expect(endpointAccepts(ep, { eventType: "a", channels: ["us"] })).toBe(true);
    expect(endpointAccepts(ep, { eventType: "a", channels: ["apac"] })).toBe(false);
    expect(endpointAccepts(ep, { eventType: "a", channels: null })).toBe(false);
  });
});
