import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import type { EventType } from "../../src/model.js";
import {
  matchesStored,
  parseOpenApiSource,
  webhookEventTypes,
} from "../../src/outbound/openapi-import.js";
import type { ImportedEventType, OpenApiSource } from "../../src/outbound/openapi-import.js";

/** The event types of a document given as `spec`. */
function importSpec(spec: Record<string, unknown>): ImportedEventType[] {
  return webhookEventTypes(parseOpenApiSource({ spec })).map((w) => w.eventType);
}

/** The ValidationError that `run` throws, for asserting its `loc` and message. */
function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error("expected a ValidationError, but nothing was thrown");
}

function jsonBody(schema: unknown) {
  return { requestBody: { content: { "application/json": { schema } } } };
}

const PET = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string" }, tag: { $ref: "#/components/schemas/Tag" } },
};
const TAG = { type: "string", enum: ["cat", "dog"] };

const PETSTORE = {
  openapi: "3.1.0",
  info: { title: "Pets", version: "1" },
  webhooks: {
    "pet.created": {
      post: {
        summary: "A pet was added",
        description: "A pet was added to the store.",
        tags: ["pets"],
        ...jsonBody({ $ref: "#/components/schemas/Pet" }),
      },
    },
    "pet.sold": {
      post: { summary: "A pet was sold", deprecated: true, tags: ["not a group"] },
    },
  },
  components: { schemas: { Pet: PET, Tag: TAG } },
};

describe("reading the event types of an OpenAPI document", () => {
  it("turns each OpenAPI 3.1 webhook into an event type with its schema as version 1", () => {
    expect(importSpec(PETSTORE)).toEqual([
      {
        name: "pet.created",
        description: "A pet was added to the store.",
        schemas: { "1": { ...PET, properties: { name: { type: "string" }, tag: TAG } } },
        deprecated: false,
        groupName: "pets",
        featureFlags: null,
      },
      {
        name: "pet.sold",
        description: "A pet was sold",
        schemas: null,
        deprecated: true,
        groupName: null,
        featureFlags: null,
      },
    ]);
  });

  it("reads OpenAPI 3.0 x-webhooks the same way", () => {
    const [eventType] = importSpec({
      openapi: "3.0.3",
      "x-webhooks": { "invoice.paid": { post: { description: "Paid", ...jsonBody(TAG) } } },
    });
    expect(eventType).toMatchObject({
      name: "invoice.paid",
      description: "Paid",
      schemas: { "1": TAG },
    });
  });

  it("takes the first operation in post, put, patch order and falls back to an empty description", () => {
    const [eventType] = importSpec({
      webhooks: { a: { get: { summary: "from get" }, put: { ...jsonBody(TAG) } } },
    });
    expect(eventType).toMatchObject({ name: "a", description: "", schemas: { "1": TAG } });
  });

  it("follows $refs to request bodies and path items, not only to schemas", () => {
    const [eventType] = importSpec({
      webhooks: { "pet.created": { $ref: "#/components/pathItems/PetCreated" } },
      components: {
        pathItems: {
          PetCreated: { post: { requestBody: { $ref: "#/components/requestBodies/Pet" } } },
        },
        requestBodies: { Pet: { content: { "application/json": { schema: TAG } } } },
      },
    });
    expect(eventType?.schemas).toEqual({ "1": TAG });
  });

  it("inlines a schema used twice in both places and keeps keywords next to a $ref", () => {
    const [eventType] = importSpec({
      webhooks: {
        pair: {
          post: jsonBody({
            type: "object",
            properties: {
              first: { $ref: "#/components/schemas/Tag", description: "The first" },
              second: { $ref: "#/components/schemas/Tag", enum: ["cat"] },
            },
          }),
        },
      },
      components: { schemas: { Tag: TAG } },
    });
    expect(eventType?.schemas).toEqual({
      "1": {
        type: "object",
        properties: {
          first: { ...TAG, description: "The first" },
          // `enum` would collide with the target's, so both apply through allOf.
          second: { allOf: [TAG], enum: ["cat"] },
        },
      },
    });
  });

  it("refuses a cyclic $ref, naming the webhook and the cycle", () => {
    const err = refusal(() =>
      importSpec({
        webhooks: { "tree.grown": { post: jsonBody({ $ref: "#/components/schemas/Node" }) } },
        components: {
          schemas: {
            Node: { type: "object", properties: { child: { $ref: "#/components/schemas/Node" } } },
          },
        },
      }),
    );
    expect(err.problems[0]?.loc).toEqual(["body", "spec", "webhooks", "tree.grown"]);
    expect(err.problems[0]?.msg).toContain("$ref cycle");
    expect(err.problems[0]?.msg).toContain("#/components/schemas/Node");
  });

  it("refuses a $ref that points at nothing, outside the document or at Object.prototype", () => {
    for (const ref of ["#/components/schemas/Missing", "other.yaml#/Pet", "#/constructor"]) {
      const err = refusal(() =>
        importSpec({ webhooks: { a: { post: jsonBody({ $ref: ref }) } }, components: {} }),
      );
      expect(err.problems[0]?.loc, ref).toEqual(["body", "spec", "webhooks", "a"]);
      expect(err.problems[0]?.msg, ref).toContain(ref);
    }
  });

  it("refuses a $ref fan-out that would inline to a huge schema", () => {
    const schemas: Record<string, unknown> = { S0: { type: "string" } };
    for (let i = 1; i <= 30; i++) {
      const ref = { $ref: `#/components/schemas/S${i - 1}` };
      schemas[`S${i}`] = { type: "object", properties: { a: ref, b: ref } };
    }
    const err = refusal(() =>
      importSpec({
        webhooks: { big: { post: jsonBody({ $ref: "#/components/schemas/S30" }) } },
        components: { schemas },
      }),
    );
    expect(err.problems[0]?.msg).toMatch(/nodes once \$refs are inlined/);
  });

  it("refuses a webhook name that is not a valid event type name, naming it", () => {
    const err = refusal(() => importSpec({ webhooks: { "pet created!": { post: {} } } }));
    expect(err.problems[0]?.loc).toEqual(["body", "spec", "webhooks", "pet created!"]);
    expect(err.problems[0]?.msg).toContain("not a valid event type name");
  });

  it("refuses a name defined under both webhooks and x-webhooks", () => {
    const err = refusal(() =>
      importSpec({ webhooks: { a: { post: {} } }, "x-webhooks": { a: { post: {} } } }),
    );
    expect(err.problems[0]?.loc).toEqual(["body", "spec", "x-webhooks", "a"]);
  });

  it("refuses a document without webhooks", () => {
    const err = refusal(() => importSpec({ openapi: "3.1.0", paths: {} }));
    expect(err.problems[0]?.loc).toEqual(["body", "spec"]);
    expect(err.problems[0]?.msg).toContain("webhooks");
  });

  it("refuses a description longer than an event type may have", () => {
    const err = refusal(() =>
      importSpec({ webhooks: { a: { post: { description: "x".repeat(4097) } } } }),
    );
    expect(err.problems[0]?.loc).toEqual(["body", "spec", "webhooks", "a"]);
  });
});

describe("parsing the import request's document", () => {
  it("reads specRaw as YAML", () => {
    const specRaw = [
      "openapi: 3.1.0",
      "webhooks:",
      "  invoice.paid:",
      "    post:",
      "      summary: An invoice was paid",
      "      requestBody:",
      "        content:",
      "          application/json:",
      "            schema: { $ref: '#/components/schemas/Invoice' }",
      "components:",
      "  schemas:",
      "    Invoice: { type: object, required: [id], properties: { id: { type: string } } }",
    ].join("\n");
    const [webhook] = webhookEventTypes(parseOpenApiSource({ specRaw }));
    expect(webhook?.loc).toEqual(["body", "specRaw", "webhooks", "invoice.paid"]);
    expect(webhook?.eventType).toMatchObject({
      name: "invoice.paid",
      description: "An invoice was paid",
      schemas: {
        "1": { type: "object", required: ["id"], properties: { id: { type: "string" } } },
      },
    });
  });

  it("reads specRaw as JSON", () => {
    const doc = parseOpenApiSource({ specRaw: JSON.stringify(PETSTORE) });
    expect(doc.value).toEqual(PETSTORE);
  });

  it("needs exactly one of spec and specRaw", () => {
    expect(refusal(() => parseOpenApiSource({})).problems[0]?.loc).toEqual(["body", "spec"]);
    expect(
      refusal(() => parseOpenApiSource({ spec: null, specRaw: null })).problems[0]?.loc,
    ).toEqual(["body", "spec"]);
    expect(refusal(() => parseOpenApiSource({ spec: {}, specRaw: "{}" })).problems[0]?.loc).toEqual(
      ["body", "specRaw"],
    );
  });

  it("refuses specRaw that is neither JSON nor YAML, or not a mapping", () => {
    for (const specRaw of ["webhooks: [", '{"webhooks": ', "just a string", "- a\n- b"]) {
      expect(refusal(() => parseOpenApiSource({ specRaw })).problems[0]?.loc, specRaw).toEqual([
        "body",
        "specRaw",
      ]);
    }
  });

  it("refuses a YAML alias bomb instead of expanding it", () => {
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i <= 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      lines.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const err = refusal(() => parseOpenApiSource({ specRaw: lines.join("\n") }));
    expect(err.problems[0]?.loc).toEqual(["body", "specRaw"]);
  });

  it("refuses specRaw over 1 MiB", () => {
    const err = refusal(() => parseOpenApiSource({ specRaw: `#${" ".repeat(1_048_576)}` }));
    expect(err.problems[0]?.msg).toContain("at most");
  });

  it("rejects any text or JSON value only with a ValidationError", () => {
    const onlyValidationErrors = (source: OpenApiSource) => {
      try {
        webhookEventTypes(parseOpenApiSource(source));
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
      }
    };
    fc.assert(fc.property(fc.string(), (specRaw) => onlyValidationErrors({ specRaw })));
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (spec) =>
        onlyValidationErrors({ spec: { webhooks: spec } }),
      ),
    );
  });
});

describe("deciding whether an import changes a stored event type", () => {
  const imported: ImportedEventType = {
    name: "pet.created",
    description: "Added",
    schemas: { "1": { type: "object", properties: { a: { type: "string" } }, required: ["a"] } },
    deprecated: false,
    groupName: "pets",
    featureFlags: null,
  };
  const stored: EventType = {
    name: "pet.created",
    description: "Added",
    // The same schema with its keys in another order, as PostgreSQL's jsonb returns it.
    schemas: { "1": { properties: { a: { type: "string" } }, required: ["a"], type: "object" } },
    archived: false,
    deprecated: false,
    featureFlag: "beta",
    groupName: "pets",
    createdAt: 0,
    updatedAt: 0,
  };

  it("leaves an event type alone that already says what the document says", () => {
    expect(matchesStored(stored, imported)).toBe(true);
  });

  it("changes an archived one, or one with another description, schema, flag or group", () => {
    const variants: Partial<EventType>[] = [
      { archived: true },
      { description: "Other" },
      { schemas: null },
      { deprecated: true },
      { groupName: null },
    ];
    for (const variant of variants) {
      expect(matchesStored({ ...stored, ...variant }, imported), JSON.stringify(variant)).toBe(
        false,
      );
    }
  });
});
