import { describe, expect, it } from "vitest";
import type { Endpoint } from "../../src/model.js";
import { endpointAccepts } from "../../src/outbound/endpoint-filter.js";
import { Seed } from "../helpers/seed.js";

const seed = new Seed();

function endpoint(overrides: Partial<Endpoint>): Endpoint {
  return seed.endpoint("app_1", overrides);
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
