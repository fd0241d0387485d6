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
  const loader = action.written.envNames.find((name) => CODE_LOADING_ENV.test(name));
  if (loader !== undefined) {
    return {
      field: `${field}.env.${loader}`,
      message: `an uploaded rule may not set ${loader}: it can make the allowed program load or run other code`,
    };
  }
  return null;
}

/**
 * Variables that make a program find, load or run code other than its own (the dynamic loader,
 * shells, interpreters, git's commands and config): set by an upload, they would turn an allowed
 * program into any program. PATH is always the server's (rules/command.ts).
 */
const CODE_LOADING_ENV =
  /^(PATH|HOME|IFS|ENV|BASH_ENV|BASHOPTS|SHELLOPTS|PS4|LD_.*|DYLD_.*|GCONV_PATH|GLIBC_TUNABLES|MALLOC_.*|NODE_.*|PYTHON.*|PERL5.*|PERLLIB|RUBY.*|GEM_.*|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|CLASSPATH|GIT_.*|XDG_CONFIG_HOME|XDG_CONFIG_DIRS|SSH_.*|LUA_.*|TCL.*|PHP.*)$/i;

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

/** Each run action of an uploaded rule the policy refuses, with why. Files on disk are not checked. */
function refusals(
  rules: readonly Rule[],
  policy: RunPolicy,
): Array<{ rule: Rule; action: RunAction; field: string; message: string }> {
  return rules.flatMap((rule) =>
    rule.origin === "file"
      ? []
      : rule.actions.flatMap((action) => {
          const refused = action.type === "run" ? refusedRun(action, policy) : null;
          return refused === null ? [] : [{ rule, action: action as RunAction, ...refused }];
        }),
  );
}

/**
 * The problems of an upload the policy refuses, each with its file, line and field: an upload
 * with any is refused whole.
 */
export function runPolicyProblems(rules: readonly Rule[], policy: RunPolicy): RulebookProblem[] {
  return refusals(rules, policy).map(({ rule, action, field, message }) => ({
    file: rule.file,
    line: action.line,
    field,
    message: `rule "${rule.name}": ${message}`,
  }));
}

/**
 * Takes the refused rules of a stored upload (made before the policy, or under a wider one) out
 * of force: they stay listed, disabled, with the reason. Returns the names of those disabled.
 */
export function disableRefusedRules(rules: readonly Rule[], policy: RunPolicy): string[] {
  const disabled: string[] = [];
  for (const { rule, field, message } of refusals(rules, policy)) {
    if (!rule.enabled) continue; // its first refused action says why
    rule.enabled = false;
    rule.disabledReason = `not run: ${field}: ${message}`;
    disabled.push(rule.name);
  }
  return disabled;
}
