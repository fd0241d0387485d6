import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { eventFrom } from "../http/routes/rules.js";
import type { RuleEvent } from "../model.js";
import { Automation } from "../rules/automation.js";
import { maskDeep, maskEnvValues } from "../rules/env-refs.js";
import { readRulebook } from "../rules/rulebook-files.js";
import { formatProblem, RulebookError, type Rulebook } from "../rules/rulebook.js";
import { ApiCallError, ApiClient } from "./api-client.js";
import type { CliIo } from "./cli-io.js";
import { SystemClock } from "../clock.js";
import { TimeSortableIds } from "../ids.js";
import { createLogger } from "../observability/logger.js";

/**
 * `hookyard rules check <path>`: every problem of a rulebook, one line each (file:line: field:
 * why), exit 1 if any. `hookyard rules test <path> --event <file.json>`: which rules the event
 * matches and what their actions would do, without doing it. Both work offline, without a server.
 */
export async function runRules(req: {
  action: "check" | "test";
  path: string;
  eventFile: string | undefined;
  /** A received request (`req_…`) to dry-run against, fetched from `server`. */
  requestId: string | undefined;
  server: string;
  apiKey: string | undefined;
  io: CliIo;
}): Promise<number> {
  const { io } = req;
  let book: Rulebook;
  try {
    book = await readRulebook(resolve(io.cwd, req.path), io.env);
  } catch (err) {
    if (!(err instanceof RulebookError)) throw err;
    for (const problem of err.problems) io.stderr.write(`${formatProblem(problem)}\n`);
    io.stderr.write(`${err.problems.length} problem(s); the rulebook cannot be used\n`);
    return 1;
  }
  if (req.action === "check") {
    io.stdout.write(`${book.rules.length} rule(s) in ${book.files.length} file(s): ok\n`);
    return 0;
  }
  if ((req.eventFile === undefined) === (req.requestId === undefined)) {
    io.stderr.write(
      "hookyard rules test: give --event <file.json> or --request <request id>, one of them\n",
    );
    return 2;
  }
  let event: RuleEvent;
  let keys: string[];
  if (req.requestId !== undefined) {
    try {
      const api = new ApiClient(req.server, req.apiKey);
      ({ event, keys } = await api.json<{ event: RuleEvent; keys: string[] }>(
        "GET",
        `/api/v1/rule-event/${encodeURIComponent(req.requestId)}`,
      ));
    } catch (err) {
      if (!(err instanceof ApiCallError)) throw err;
      io.stderr.write(`hookyard rules test: ${err.message}\n`);
      return 1;
    }
  } else {
    try {
      const text = await readFile(resolve(io.cwd, req.eventFile!), "utf8");
      event = eventFrom(JSON.parse(text) as Partial<RuleEvent>);
      keys = [event.source];
    } catch (err) {
      io.stderr.write(`hookyard rules test: cannot read the event: ${(err as Error).message}\n`);
      return 1;
    }
  }
  // A dry run does nothing: no store, no egress are ever called.
  const clock = new SystemClock();
  const automation = new Automation({
    store: undefined as never,
    clock,
    ids: new TimeSortableIds({ now: () => clock.now() }),
    logger: createLogger({ level: "silent" }),
    owner: "dry-run",
    egress: undefined as never,
  });
  const results = await automation.dryRun(book, event, keys);
  const masked = maskDeep(results, maskEnvValues(book.secrets));
  io.stdout.write(`${JSON.stringify(masked, null, 2)}\n`);
  const matched = results.filter((r) => r.matched).map((r) => r.rule);
  io.stderr.write(
    `${results.length} rule(s) listen to this event; ${matched.length} match${matched.length === 0 ? "" : `: ${matched.join(", ")}`}\n`,
  );
  return results.some((r) => r.error !== null) ? 1 : 0;
}
