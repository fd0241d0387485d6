import type { ValidationProblem } from "../errors.js";

/** The slice of an Ajv `ErrorObject` the conversion reads. */
export interface SchemaFailure {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Fastify's name for the request part → Svix's `loc` root. */
const LOC_ROOT: Record<string, string> = {
  body: "body",
  querystring: "query",
  params: "path",
  headers: "header",
};

function pathSegments(instancePath: string): string[] {
  if (instancePath === "") return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function describe(failure: SchemaFailure): { msg: string; type: string } {
  const { keyword, params } = failure;
  switch (keyword) {
    case "required":
      return { msg: "field required", type: "value_error.missing" };
    case "type":
      return {
        msg: `must be of type ${String(params["type"])}`,
        type: `type_error.${String(params["type"])}`,
      };
    case "additionalProperties":
      return { msg: "unknown field", type: "value_error.extra" };
    case "enum": {
      const allowed = Array.isArray(params["allowedValues"]) ? params["allowedValues"] : [];
      return {
        msg: `must be one of: ${allowed.map((v) => JSON.stringify(v)).join(", ")}`,
        type: "value_error",
      };
    }
    default:
      return { msg: failure.message ?? "is invalid", type: "value_error" };
  }
}

/**
 * Converts Ajv failures of one request part into Svix's 422 items, e.g. a missing `name` in the
 * body becomes `{loc: ["body", "name"], msg: "body.name: field required", type: "value_error.missing"}`.
 * `part` is Fastify's `validationContext` ("body", "querystring", "params", "headers").
 */
export function problemsFromSchemaFailures(
  failures: readonly SchemaFailure[],
  part: string,
): ValidationProblem[] {
  const root = LOC_ROOT[part] ?? part;
  const seen = new Set<string>();
  const problems: ValidationProblem[] = [];
  for (const failure of failures) {
    const loc = [root, ...pathSegments(failure.instancePath)];
    const missing = failure.params["missingProperty"];
    const extra = failure.params["additionalProperty"];
    if (failure.keyword === "required" && typeof missing === "string") loc.push(missing);
    if (failure.keyword === "additionalProperties" && typeof extra === "string") loc.push(extra);
    const { msg, type } = describe(failure);
    const field = loc.length === 1 ? root : loc.slice(1).join(".");
    const problem = { loc, msg: `${field}: ${msg}`, type };
    const key = JSON.stringify(problem);
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}
