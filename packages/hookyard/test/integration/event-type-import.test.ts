import type { ApiException } from "svix";
import { describe, expect, it } from "vitest";
import { apiError } from "../helpers/api-error.js";
import { startTestServer } from "../helpers/server.js";

/** The `loc`s of a 422 body. */
function locs(err: ApiException<unknown>): string[][] {
  return (err.body as { detail: { loc: string[] }[] }).detail.map((d) => d.loc);
}

const INVOICE = {
  type: "object",
  required: ["id", "amount"],
  properties: { id: { type: "string" }, amount: { type: "integer", minimum: 0 } },
};

/** A small OpenAPI 3.1 document: two webhooks, one of them with a $ref'd schema. */
function billingSpec(overrides: { voidedDescription?: string } = {}) {
  return {
    openapi: "3.1.0",
    info: { title: "Billing", version: "1.0.0" },
    webhooks: {
      "invoice.paid": {
        post: {
          summary: "Invoice paid",
          description: "An invoice was paid in full.",
          tags: ["billing"],
          requestBody: {
            content: { "application/json": { schema: { $ref: "#/components/schemas/Invoice" } } },
          },
          responses: { "200": { description: "Received" } },
        },
      },
      "invoice.voided": {
        post: {
          summary: overrides.voidedDescription ?? "Invoice voided",
          deprecated: true,
          requestBody: {
            content: {
              "application/json": {
                schema: { type: "object", properties: { id: { type: "string" } } },
              },
            },
          },
        },
      },
    },
    components: { schemas: { Invoice: INVOICE } },
  };
}

describe("Svix SDK against Hookyard: importing event types from OpenAPI", () => {
  it("creates one event type per webhook with its $ref'd schema, enforced at publish", async () => {
    const { svix } = await startTestServer();
    const result = await svix.eventType.importOpenapi({ spec: billingSpec() });
    expect(result.data.modified).toEqual(["invoice.paid", "invoice.voided"]);
    expect(result.data.toModify ?? null, "only a dry run lists to_modify").toBeNull();

    expect(await svix.eventType.get("invoice.paid")).toMatchObject({
      name: "invoice.paid",
      description: "An invoice was paid in full.",
      schemas: { "1": INVOICE },
      deprecated: false,
      archived: false,
      groupName: "billing",
    });
    expect(await svix.eventType.get("invoice.voided")).toMatchObject({
      description: "Invoice voided",
      deprecated: true,
      groupName: null,
    });

    const app = await svix.application.create({ name: "Billing" });
    const refused = await apiError(
      svix.message.create(app.id, { eventType: "invoice.paid", payload: { id: "in_1" } }),
    );
    expect(refused.code, "a payload without the required amount").toBe(422);
    expect(JSON.stringify(refused.body)).toContain("amount");
    const sent = await svix.message.create(app.id, {
      eventType: "invoice.paid",
      payload: { id: "in_1", amount: 100 },
    });
    expect(sent.id).toMatch(/^msg_/);
  });

  it("reports a dry run's changes in to_modify and writes nothing", async () => {
    const { svix } = await startTestServer();
    await svix.eventType.create({ name: "legacy.event", description: "Old" });
    const result = await svix.eventType.importOpenapi({
      specRaw: JSON.stringify(billingSpec()),
      dryRun: true,
      replaceAll: true,
    });
    expect(result.data.modified).toEqual([]);
    expect(result.data.toModify).toEqual([
      {
        name: "invoice.paid",
        description: "An invoice was paid in full.",
        schemas: { "1": INVOICE },
        deprecated: false,
        groupName: "billing",
        featureFlags: null,
      },
      expect.objectContaining({ name: "invoice.voided", deprecated: true }),
    ]);
    expect((await apiError(svix.eventType.get("invoice.paid"))).code).toBe(404);
    expect((await svix.eventType.list()).data.map((e) => e.name)).toEqual(["legacy.event"]);
  });

  it("modifies nothing when the same document is imported again, and only what changed after", async () => {
    const { svix } = await startTestServer();
    await svix.eventType.importOpenapi({ spec: billingSpec() });
    const before = await svix.eventType.get("invoice.paid");

    const again = await svix.eventType.importOpenapi({ specRaw: JSON.stringify(billingSpec()) });
    expect(again.data.modified, "the stored event types already match").toEqual([]);
    const dry = await svix.eventType.importOpenapi({ spec: billingSpec(), dryRun: true });
    expect(dry.data.toModify).toEqual([]);
    expect((await svix.eventType.get("invoice.paid")).updatedAt).toEqual(before.updatedAt);

    const changed = await svix.eventType.importOpenapi({
      spec: billingSpec({ voidedDescription: "Invoice cancelled" }),
    });
    expect(changed.data.modified).toEqual(["invoice.voided"]);
    expect((await svix.eventType.get("invoice.voided")).description).toBe("Invoice cancelled");
  });

  it("archives the event types a replaceAll import does not name and unarchives those it does", async () => {
    const { svix } = await startTestServer();
    await svix.eventType.create({ name: "legacy.event", description: "Old" });
    await svix.eventType.create({ name: "invoice.paid", description: "Paid" });
    await svix.eventType.delete("invoice.paid");

    const result = await svix.eventType.importOpenapi({ spec: billingSpec(), replaceAll: true });
    expect(result.data.modified).toEqual(["invoice.paid", "invoice.voided", "legacy.event"]);
    expect((await svix.eventType.get("legacy.event")).archived).toBe(true);
    expect((await svix.eventType.get("invoice.paid")).archived).toBe(false);
    expect((await svix.eventType.list()).data.map((e) => e.name)).toEqual([
      "invoice.paid",
      "invoice.voided",
    ]);
  });

  it("reads a YAML specRaw", async () => {
    const { svix } = await startTestServer();
    const specRaw = [
      "openapi: 3.0.3",
      "info: { title: Users, version: '1' }",
      "x-webhooks:",
      "  user.created:",
      "    post:",
      "      description: A user signed up",
      "      requestBody:",
      "        content:",
      "          application/json:",
      "            schema:",
      "              type: object",
      "              required: [email]",
      "              properties: { email: { type: string } }",
    ].join("\n");
    const result = await svix.eventType.importOpenapi({ specRaw });
    expect(result.data.modified).toEqual(["user.created"]);
    expect(await svix.eventType.get("user.created")).toMatchObject({
      description: "A user signed up",
      schemas: { "1": { type: "object", required: ["email"] } },
    });
  });

  it("answers 422 naming the field for bad input, and writes nothing", async () => {
    // Room for a specRaw over its own limit, which must be a 422 rather than the body's 413.
    const { svix } = await startTestServer({ server: { bodyLimitBytes: 4 * 1_048_576 } });
    const cyclic = {
      webhooks: {
        "tree.grown": {
          post: {
            requestBody: {
              content: { "application/json": { schema: { $ref: "#/components/schemas/Node" } } },
            },
          },
        },
      },
      components: {
        schemas: {
          Node: { type: "object", properties: { child: { $ref: "#/components/schemas/Node" } } },
        },
      },
    };
    const badSchema = {
      webhooks: {
        "a.b": {
          post: { requestBody: { content: { "application/json": { schema: { type: 12 } } } } },
        },
      },
    };
    const cases: Array<{
      why: string;
      body: Parameters<typeof svix.eventType.importOpenapi>[0];
      loc: string[];
    }> = [
      { why: "neither spec nor specRaw", body: {}, loc: ["body", "spec"] },
      {
        why: "both spec and specRaw",
        body: { spec: billingSpec(), specRaw: "{}" },
        loc: ["body", "specRaw"],
      },
      {
        why: "unparsable specRaw",
        body: { specRaw: "webhooks: [unclosed" },
        loc: ["body", "specRaw"],
      },
      { why: "a spec that is not an object", body: { spec: ["webhooks"] }, loc: ["body", "spec"] },
      {
        why: "a cyclic $ref",
        body: { spec: cyclic },
        loc: ["body", "spec", "webhooks", "tree.grown"],
      },
      {
        why: "a webhook name with a space",
        body: { spec: { webhooks: { "a b": {} } } },
        loc: ["body", "spec", "webhooks", "a b"],
      },
      {
        why: "a schema that is not JSON Schema",
        body: { spec: badSchema },
        loc: ["body", "spec", "webhooks", "a.b"],
      },
      {
        why: "a specRaw over 1 MiB",
        body: { specRaw: " ".repeat(1_048_577) },
        loc: ["body", "specRaw"],
      },
    ];
    for (const { why, body, loc } of cases) {
      const err = await apiError(svix.eventType.importOpenapi(body));
      expect(err.code, `${why}: ${JSON.stringify(err.body)}`).toBe(422);
      expect(locs(err), why).toContainEqual(loc);
    }
    const all = await svix.eventType.list({ includeArchived: true });
    expect(all.data, "a refused import writes nothing").toEqual([]);
  });
});
