import { Type, type Static } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { RuleEvent, RuleRun, RuleRunStatus } from "../../model.js";
import type { Automation } from "../../rules/automation.js";
import type { Rule } from "../../rules/rulebook.js";
import type { RulesInForce } from "../../rules/rules-in-force.js";
import { mapPage, PAGE_QUERY, toPageRequest, type PageQuery } from "../pagination.js";
import { ERROR_RESPONSES } from "../schemas/common.js";
import { iso } from "../serializers.js";
import { ValidationError } from "../../errors.js";
import { maskDeep, maskEnvValues } from "../../rules/env-refs.js";

const TAGS = ["Rules"];
const MAX_RULEBOOK_BYTES = 1024 * 1024;

interface RulebookUpload {
  rulebook?: string;
  files?: Array<{ name: string; text: string }>;
  env?: Record<string, string>;
  fingerprint?: string;
}
const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "interrupted"] as const;

const RuleOut = Type.Object(
  {
    name: Type.String(),
    file: Type.String(),
    line: Type.Integer(),
    enabled: Type.Boolean({
      description:
        "False for a rule its rulebook disables, and for an uploaded rule the host's run policy refuses (see disabledReason).",
    }),
    disabledReason: Type.Union([Type.Null(), Type.String()], {
      description:
        "Why a rule the rulebook enables is not in force: an upload stored before the run policy whose `run` action the host does not allow.",
    }),
    sources: Type.Array(Type.Record(Type.String(), Type.Unknown())),
    throttle: Type.Union([
      Type.Null(),
      Type.Object({ mode: Type.String(), windowMs: Type.Integer() }),
    ]),
    concurrency: Type.Integer(),
    actions: Type.Array(Type.String(), { description: "Each action's type, in order." }),
  },
  { title: "RuleOut" },
);

const RuleRunOut = Type.Object(
  {
    id: Type.String({ description: "`rrun_…`" }),
    rule: Type.String(),
    status: Type.Union(RUN_STATUSES.map((s) => Type.Literal(s))),
    error: Type.Union([Type.Null(), Type.String()]),
    event: Type.Unknown({ description: "The event as the rule saw it." }),
    actions: Type.Array(Type.Unknown(), {
      description: "Each action's outcome: index, id, type, status, output, error, duration.",
    }),
    createdAt: Type.String({ format: "date-time" }),
    startedAt: Type.Union([Type.Null(), Type.String({ format: "date-time" })]),
    finishedAt: Type.Union([Type.Null(), Type.String({ format: "date-time" })]),
  },
  { title: "RuleRunOut" },
);

function ruleOut(rule: Rule): Static<typeof RuleOut> {
  return {
    name: rule.name,
    file: rule.file,
    line: rule.line,
    enabled: rule.enabled,
    disabledReason: rule.disabledReason,
    sources: rule.sources.map(({ kind, ...rest }) => ({ [kind]: Object.values(rest)[0], ...rest })),
    throttle:
      rule.throttle === null
        ? null
        : { mode: rule.throttle.mode, windowMs: rule.throttle.windowMs },
    concurrency: rule.concurrency,
    actions: rule.actions.map((a) => a.type),
  };
}

function runOut(run: RuleRun): Static<typeof RuleRunOut> {
  return {
    id: run.id,
    rule: run.rule,
    status: run.status,
    error: run.error,
    event: run.event,
    actions: run.actions,
    createdAt: iso(run.createdAt),
    startedAt: run.startedAt === null ? null : iso(run.startedAt),
    finishedAt: run.finishedAt === null ? null : iso(run.finishedAt),
  };
}

/** Hookyard's own: the rules in force, their runs, an upload and a dry run. */
export function registerRuleRoutes(
  app: FastifyInstance,
  deps: { automation: Automation; rules: Pick<RulesInForce, "replace" | "origin"> },
): void {
  const { automation, rules } = deps;
  app.get(
    "/rules",
    {
      schema: {
        tags: TAGS,
        summary: "List the rules in force",
        response: { 200: Type.Object({ data: Type.Array(RuleOut) }), ...ERROR_RESPONSES },
      },
    },
    (_request, reply) => reply.send({ data: automation.rulebook.rules.map(ruleOut) }),
  );

  app.put<{ Body: RulebookUpload }>(
    "/rules",
    {
      schema: {
        tags: TAGS,
        summary: "Replace the rules in force",
        description:
          "Either `rulebook`, one rulebook's YAML text, or `files`, several (as a directory's files: rule names unique across them, notifiers shared). `env` fills `${env:NAME}` in them (an upload never reads the server's own environment); its values are stored with the rulebook and never shown, also not in problems. The rulebook is checked whole: any problem gives 422 listing each with its file, line and field, and the rules in force stay. A `run` action (it starts a program on the server's host) is refused with 422 unless the host allows it twice: `rules.allowRunFromApi` and the program's absolute path in `rules.allowedCommands` (then argv[0] must be written out and a `cwd` relative, without `..`); rulebook files on the server's disk (`--rules`) are not limited so. An accepted upload is stored in the database: it comes back after a restart and reaches every process on the database. 409 when the server reads its rules from files (`--rules`).",
        body: Type.Object(
          {
            rulebook: Type.Optional(Type.String({ maxLength: MAX_RULEBOOK_BYTES })),
            files: Type.Optional(
              Type.Array(
                Type.Object(
                  {
                    name: Type.String({ minLength: 1, maxLength: 256 }),
                    text: Type.String({ maxLength: MAX_RULEBOOK_BYTES }),
                  },
                  { additionalProperties: false },
                ),
                { maxItems: 256 },
              ),
            ),
            env: Type.Optional(
              Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), Type.String(), {
                maxProperties: 256,
              }),
            ),
            fingerprint: Type.Optional(
              Type.String({
                maxLength: 128,
                description:
                  "Opaque; kept with the upload and shown by GET /rules/source (hookyard apply keys it with its API key to see whether anything changed).",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ data: Type.Array(RuleOut) }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const { rulebook, files, env, fingerprint } = request.body;
      if ((rulebook === undefined) === (files === undefined)) {
        throw new ValidationError([
          {
            loc: ["body", "rulebook"],
            msg: "give either rulebook (one YAML text) or files (a list of {name, text})",
            type: "value_error.missing",
          },
        ]);
      }
      const upload = files ?? [{ name: "(api)", text: rulebook! }];
      const book = await rules.replace(upload, env ?? {}, fingerprint ?? null);
      return { data: book.rules.map(ruleOut) };
    },
  );

  app.get(
    "/rules/source",
    {
      schema: {
        tags: TAGS,
        summary: "Where the rules come from",
        description:
          "`origin`: `files` (the server's rules path, which it watches), `api` (the last upload, stored; `files` and the uploader's `fingerprint` describe it, never its `env`), or `none`.",
        response: {
          200: Type.Object({
            origin: Type.Union([Type.Literal("files"), Type.Literal("api"), Type.Literal("none")]),
            path: Type.Union([Type.Null(), Type.String()]),
            files: Type.Array(Type.Object({ name: Type.String(), text: Type.String() })),
            fingerprint: Type.Union([Type.Null(), Type.String()]),
          }),
          ...ERROR_RESPONSES,
        },
      },
    },
    (_request, reply) => reply.send(rules.origin()),
  );

  app.get<{ Querystring: PageQuery & { rule?: string; status?: RuleRunStatus } }>(
    "/rule-run",
    {
      schema: {
        tags: TAGS,
        summary: "List rule runs",
        description: "Newest first; filter by `rule` and `status`.",
        querystring: Type.Object({
          ...PAGE_QUERY,
          rule: Type.Optional(Type.String({ maxLength: 128 })),
          status: Type.Optional(Type.Union(RUN_STATUSES.map((s) => Type.Literal(s)))),
        }),
        response: {
          200: Type.Object({
            data: Type.Array(RuleRunOut),
            iterator: Type.Union([Type.Null(), Type.String()]),
            prevIterator: Type.Union([Type.Null(), Type.String()]),
            done: Type.Boolean(),
          }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const { rule, status, ...page } = request.query;
      const filter = {
        ...(rule !== undefined && { rule }),
        ...(status !== undefined && { status }),
      };
      return mapPage(await automation.listRuns(filter, toPageRequest(page)), runOut);
    },
  );

  app.get<{ Params: { run_id: string } }>(
    "/rule-run/:run_id",
    {
      schema: {
        tags: TAGS,
        summary: "Get a rule run",
        params: Type.Object({ run_id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: RuleRunOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => runOut(await automation.getRun(request.params.run_id)),
  );

  app.get<{ Params: { request_id: string } }>(
    "/rule-event/:request_id",
    {
      schema: {
        tags: TAGS,
        summary: "The event rules see for a received request",
        description:
          "The `event` (and the `keys` naming its source) that rules evaluate for a request a source received: what `hookyard rules test --request` dry-runs a rulebook against.",
        params: Type.Object({ request_id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: {
          200: Type.Object({ event: Type.Unknown(), keys: Type.Array(Type.String()) }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => automation.eventOfRequest(request.params.request_id),
  );

  app.post<{ Body: { event?: Partial<RuleEvent>; requestId?: string; keys?: string[] } }>(
    "/rules/test",
    {
      schema: {
        tags: TAGS,
        summary: "Dry-run the rules in force on an event",
        description:
          "Which rules listen to the event, whether each condition holds, and what each action would do (its fields evaluated), without doing anything. The event is `event` (missing fields defaulted) or the received request `requestId`. `keys` name the event's origin (a source's or application's uid or id); by default `event.source` (or the request's source).",
        body: Type.Object({
          event: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
          requestId: Type.Optional(
            Type.String({
              maxLength: 64,
              description: "A received request (`req_…`) to use as the event instead of `event`.",
            }),
          ),
          keys: Type.Optional(Type.Array(Type.String(), { maxItems: 16 })),
        }),
        response: { 200: Type.Object({ data: Type.Array(Type.Unknown()) }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { requestId } = request.body;
      if ((requestId === undefined) === (request.body.event === undefined)) {
        throw new ValidationError([
          {
            loc: ["body", "event"],
            msg: "give either event (an event, missing fields defaulted) or requestId (a received request)",
            type: "value_error.missing",
          },
        ]);
      }
      const captured = requestId === undefined ? null : await automation.eventOfRequest(requestId);
      const event = captured?.event ?? eventFrom(request.body.event!);
      const keys = request.body.keys ?? captured?.keys ?? [event.source];
      const book = automation.rulebook;
      const results = await automation.dryRun(book, event, keys);
      // Secrets filled from the environment (a Slack URL, a routing key) are not shown.
      return {
        data: maskDeep(results, maskEnvValues(book.secrets)) as unknown[],
      };
    },
  );
}

/** A full event from a partial one (a test fixture names only what it needs). */
export function eventFrom(partial: Partial<RuleEvent>): RuleEvent {
  return {
    kind: partial.kind ?? "inbound",
    id: partial.id ?? "evt_test",
    source: partial.source ?? "test",
    type: partial.type ?? null,
    payload: partial.payload ?? {},
    headers: Object.fromEntries(
      Object.entries(partial.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    ),
    body: partial.body ?? JSON.stringify(partial.payload ?? {}),
    method: partial.method ?? null,
    path: partial.path ?? null,
    query: partial.query ?? {},
    receivedAt: partial.receivedAt ?? new Date(0).toISOString(),
  };
}
