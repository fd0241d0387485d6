/**
 * Which environment variables `hookyard apply` may read for `${env:NAME}`. Declaration files
 * come from pull requests; if any name were filled, a file could put
 * `${env:AWS_SECRET_ACCESS_KEY}` into an endpoint URL or a header and have CI send it away.
 * So only names the one running apply allows are filled: named with `--allow-env` or
 * `HOOKYARD_APPLY_ALLOW_ENV` (`NAME` or `PREFIX*`, comma-separated), and those starting with
 * DEFAULT_ALLOWED_PREFIX, a namespace no CI secret has unless it was exported for apply.
 */
export const DEFAULT_ALLOWED_PREFIX = "HOOKYARD_APPLY_";

/** The environment variable that allows more names, like `--allow-env`. */
export const ALLOW_ENV_VARIABLE = "HOOKYARD_APPLY_ALLOW_ENV";

const PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

export class EnvAllowListError extends Error {}

export interface EnvAllowList {
  allows(name: string): boolean;
}

/**
 * The allow-list of `patterns` (each `NAME` or `PREFIX*`; a list may be comma-separated) plus
 * DEFAULT_ALLOWED_PREFIX. A bare `*` is refused: it is exactly what the list exists to prevent.
 */
export function envAllowList(patterns: readonly string[]): EnvAllowList {
  const names = new Set<string>();
  const prefixes = [DEFAULT_ALLOWED_PREFIX];
  for (const pattern of patterns.flatMap((p) => p.split(",")).map((p) => p.trim())) {
    if (pattern === "") continue;
    if (!PATTERN.test(pattern)) {
      throw new EnvAllowListError(
        pattern === "*"
          ? `allowing * (--allow-env or ${ALLOW_ENV_VARIABLE}) would let the files read every variable, CI secrets included: name the variables, or a prefix such as DEPLOY_*`
          : `"${pattern}" (--allow-env or ${ALLOW_ENV_VARIABLE}) is not a variable name or a prefix ending in *, such as SLACK_URL or DEPLOY_*`,
      );
    }
    if (pattern.endsWith("*")) prefixes.push(pattern.slice(0, -1));
    else names.add(pattern);
  }
  return { allows: (name) => names.has(name) || prefixes.some((p) => name.startsWith(p)) };
}

/** Why `${env:name}` was not filled, for a problem line. */
export function notAllowedMessage(name: string): string {
  return `\${env:${name}} is not allowed: apply fills only the variables you name (--allow-env ${name}, or ${ALLOW_ENV_VARIABLE}=${name}) and those starting with ${DEFAULT_ALLOWED_PREFIX}`;
}
