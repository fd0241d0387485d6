import { resolve } from "node:path";
import {
  DeclarationsError,
  keyedFingerprint,
  readDeclarations,
  type Declarations,
} from "../apply/declarations.js";
import {
  ALLOW_ENV_VARIABLE,
  envAllowList,
  EnvAllowListError,
  type EnvAllowList,
} from "../apply/env-allow-list.js";
import { planApply, type ServerEndpoint, type ServerState, type Step } from "../apply/plan.js";
import { maskEnvValues } from "../rules/env-refs.js";
import { formatProblem } from "../rules/rulebook.js";
import type { RulesOrigin } from "../rules/rules-in-force.js";
import { ApiCallError, ApiClient } from "./api-client.js";
import type { CliIo } from "./cli-io.js";

/** As main.ts: a wrong flag value is a usage error. */
const USAGE_ERROR = 2;

/**
 * `hookyard apply -f <path> [--dry-run] [--prune] [--allow-env NAME,PREFIX*]…`: makes the server
 * match the declarations (config as code). Prints one line per object: `+` created, `~` changed
 * (which fields), `-` deleted (--prune), `=` unchanged; with --dry-run it only prints. Running it
 * twice changes nothing the second time. `${env:NAME}` is filled only for the names allowed
 * (env-allow-list.ts); values filled so never appear in what it prints.
 */
export async function runApply(req: {
  path: string;
  dryRun: boolean;
  prune: boolean;
  /** `--allow-env` values, each `NAME` or `PREFIX*`, comma-separated. */
  allowEnv: readonly string[];
  server: string;
  apiKey: string | undefined;
  io: CliIo;
}): Promise<number> {
  const { io } = req;
  let allowed: EnvAllowList;
  try {
    allowed = envAllowList([...req.allowEnv, io.env[ALLOW_ENV_VARIABLE] ?? ""]);
  } catch (err) {
    if (!(err instanceof EnvAllowListError)) throw err;
    io.stderr.write(`hookyard apply: ${err.message}\n`);
    return USAGE_ERROR;
  }
  let declared: Declarations;
  try {
    declared = await readDeclarations(resolve(io.cwd, req.path), io.env, allowed);
  } catch (err) {
    if (!(err instanceof DeclarationsError)) throw err;
    for (const problem of err.problems) io.stderr.write(`${formatProblem(problem)}\n`);
    io.stderr.write(`${err.problems.length} problem(s); nothing was applied\n`);
    return 1;
  }
  const hide = maskEnvValues(declared.secrets);
  let steps: Step[];
  let api: ApiClient;
  try {
    api = new ApiClient(req.server, req.apiKey);
    steps = planApply(declared, await serverState(api), {
      prune: req.prune,
      // Keyed with the API key (ApiClient has refused a missing one above).
      fingerprint: keyedFingerprint(req.apiKey!),
    });
  } catch (err) {
    if (!(err instanceof ApiCallError)) throw err;
    io.stderr.write(`hookyard apply: ${hide(err.message)}\n`);
    return 1;
  }
  for (const step of steps) {
    const detail = step.changes.length === 0 ? "" : ` (${step.changes.join("; ")})`;
    io.stdout.write(hide(`${step.verb} ${step.subject}${detail}\n`));
  }
  const count = (verb: Step["verb"]) => steps.filter((s) => s.verb === verb).length;
  const summary = `${count("+")} to create, ${count("~")} to change, ${count("-")} to delete, ${count("=")} unchanged`;
  const problems = steps.filter((s) => s.problem !== undefined);
  if (problems.length > 0) {
    for (const step of problems) io.stderr.write(hide(`${step.subject}: ${step.problem}\n`));
    io.stderr.write("nothing was applied\n");
    return 1;
  }
  if (req.dryRun) {
    io.stderr.write(`${summary} (dry run: nothing was changed)\n`);
    return 0;
  }
  let done = 0;
  for (const step of steps) {
    for (const request of step.requests) {
      try {
        await api.json(request.method, request.path, request.body);
      } catch (err) {
        if (!(err instanceof ApiCallError)) throw err;
        io.stderr.write(
          hide(`hookyard apply: ${step.verb} ${step.subject}: ${err.message}\n`) +
            `${done} of ${steps.filter((s) => s.requests.length > 0).length} change(s) were made before this one; fix it and apply again\n`,
        );
        return 1;
      }
    }
    if (step.requests.length > 0) done++;
  }
  io.stderr.write(
    `${count("+")} created, ${count("~")} changed, ${count("-")} deleted, ${count("=")} unchanged\n`,
  );
  return 0;
}

/** What the server has of everything apply manages, through the same API as anyone. */
async function serverState(api: ApiClient): Promise<ServerState> {
  const eventTypes = await all<{ name: string } & Record<string, unknown>>(
    api,
    "/api/v1/event-type?include_archived=true&with_content=true",
  );
  const apps = await all<Omit<ServerState["applications"][number], "endpoints">>(
    api,
    "/api/v1/app",
  );
  const applications = await Promise.all(
    apps.map(async (app) => ({
      ...app,
      endpoints: await all<ServerEndpoint>(api, `/api/v1/app/${app.id}/endpoint`),
    })),
  );
  const sourceList = await all<Omit<ServerState["sources"][number], "destinations">>(
    api,
    "/ingest/api/v1/source",
  );
  const sources = await Promise.all(
    sourceList.map(async (src) => ({
      ...src,
      destinations: await all<ServerEndpoint>(api, `/ingest/api/v1/source/${src.id}/endpoint`),
    })),
  );
  const rules = await api.json<RulesOrigin>("GET", "/api/v1/rules/source");
  return { eventTypes, applications, sources, rules };
}

/** Every page of a Svix list. */
async function all<T>(api: ApiClient, path: string): Promise<T[]> {
  const items: T[] = [];
  let iterator: string | null = null;
  for (;;) {
    const sep = path.includes("?") ? "&" : "?";
    const page: { data: T[]; iterator: string | null; done: boolean } = await api.json(
      "GET",
      `${path}${sep}limit=250${iterator === null ? "" : `&iterator=${encodeURIComponent(iterator)}`}`,
    );
    items.push(...page.data);
    if (page.done || page.iterator === null || page.data.length === 0) return items;
    iterator = page.iterator;
  }
}
