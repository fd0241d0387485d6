import { isAbsolute, normalize } from "node:path";
import type { Rule, RulebookProblem } from "./rulebook.js";

/**
 * Which programs a rulebook that did not come from the server's disk may start. A `run` action
 * in a file an operator put on the host is the operator's own decision (as with adnanh/webhook
 * or Event-Driven Ansible); one uploaded through the API is a decision of whoever holds an API
 * key, so it is refused unless the host's configuration allows exactly that program — twice:
 * `rules.allowRunFromApi` and `rules.allowedCommands`.
 */
export interface RunPolicy {
  allowRunFromApi: boolean;
  /** Absolute paths of programs. */
  allowedCommands: readonly string[];
}

export const NO_RUN_FROM_UPLOADS: RunPolicy = { allowRunFromApi: false, allowedCommands: [] };

type RunAction = Extract<Rule["actions"][number], { type: "run" }>;

/**
 * Why the host's policy refuses this run action of an uploaded rule, or null when it allows it.
 * Checked when a rulebook is uploaded, when a stored upload is loaded, and again before each run.
 */
export function refusedRun(
  action: Pick<RunAction, "written">,
  policy: RunPolicy,
): { field: string; message: string } | null {
  const { field, program, cwd } = action.written;
  if (!policy.allowRunFromApi) {
    return {
      field,
      message:
        "a run action starts a program on the server's host, so it is accepted only from rulebook files on the server's disk (--rules / HOOKYARD_RULES), not from an upload; an operator can allow chosen programs with rules.allowRunFromApi and rules.allowedCommands in the host's configuration",
    };
  }
  if (program.includes("{{")) {
    return {
      field: `${field}.argv[0]`,
      message:
        "the program of an uploaded rule's run action must be written out, not a {{ }} template: it is checked against rules.allowedCommands",
    };
  }
  if (!policy.allowedCommands.includes(program)) {
    const allowed = policy.allowedCommands.map((c) => `"${c}"`).join(", ");
    return {
      field: `${field}.argv[0]`,
      message: `"${program}" is not in the host's rules.allowedCommands (${allowed === "" ? "empty" : allowed}); an uploaded rule may start only those programs, named by absolute path`,
    };
  }
  if (cwd !== null) {
    const problem = escapingPath(cwd);
    if (problem !== null) return { field: `${field}.cwd`, message: problem };
  }
  return null;
}

/**
 * Why a path from an upload could leave the directory it is meant to stay in (the server's
 * working directory for an uploaded rule's cwd; nothing for a file name), or null.
 */
export function escapingPath(path: string): string | null {
  if (path.includes("{{")) return "must be written out, not a {{ }} template, in an upload";
  if (path.includes("\0")) return "must not contain a NUL character";
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.startsWith("\\")) {
    return "must be a relative path in an upload, not an absolute one";
  }
  const segments = normalize(path.replace(/\\/g, "/")).split("/");
  if (segments.includes("..")) return "must not go up a directory (..) in an upload";
  return null;
}

/**
 * The rules of an upload the policy refuses, each with why (its file, line and field): an upload
 * with any is refused whole. The rules of files on disk are not checked.
 */
export function runPolicyProblems(rules: readonly Rule[], policy: RunPolicy): RulebookProblem[] {
  const problems: RulebookProblem[] = [];
  for (const rule of rules) {
    if (rule.origin === "file") continue;
    for (const action of rule.actions) {
      if (action.type !== "run") continue;
      const refused = refusedRun(action, policy);
      if (refused === null) continue;
      problems.push({
        file: rule.file,
        line: action.line,
        field: refused.field,
        message: `rule "${rule.name}": ${refused.message}`,
      });
    }
  }
  return problems;
}

/**
 * Takes the refused rules of a stored upload (made before the policy, or under a wider one) out
 * of force: they stay listed, disabled, with the reason. Returns the names of those disabled.
 */
export function disableRefusedRules(rules: readonly Rule[], policy: RunPolicy): string[] {
  const disabled: string[] = [];
  for (const rule of rules) {
    if (rule.origin === "file") continue;
    const refused = rule.actions
      .filter((action): action is RunAction => action.type === "run")
      .map((action) => refusedRun(action, policy))
      .find((why) => why !== null);
    if (refused === undefined || refused === null) continue;
    rule.enabled = false;
    rule.disabledReason = `not run: ${refused.field}: ${refused.message}`;
    disabled.push(rule.name);
  }
  return disabled;
}
