/**
 * `${env:NAME}` and `${env:NAME:-default}` in rulebooks and `hookyard apply` files: secrets and
 * per-machine values stay in the environment, out of the files kept in git.
 */
const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * `text` with each reference filled from `env`, else from its default. A variable that is not
 * set and has no default is reported to `missing` (and filled with nothing); `filled` hears of
 * each value taken from the environment (to keep it out of what is printed).
 */
export function fillEnvRefs(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  missing: (name: string) => void,
  filled: (name: string, value: string) => void = () => undefined,
): string {
  return text.replace(ENV_REF, (_, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (value !== undefined) {
      filled(name, value);
      return value;
    }
    if (fallback !== undefined) return fallback;
    missing(name);
    return "";
  });
}

/** The names of the variables `text` refers to. */
export function envRefNames(text: string): string[] {
  return [...text.matchAll(ENV_REF)].map((m) => m[1]!);
}

/**
 * Output with every value an environment variable filled written back as `${env:NAME}`: what
 * `hookyard apply` and dry runs print never shows a secret.
 */
export function maskEnvValues(secrets: ReadonlyMap<string, string>): (text: string) => string {
  // Longest first, so a value that contains another is replaced whole; short ones would mangle.
  const values = [...secrets]
    .filter(([, value]) => value.length >= 4)
    .sort(([, a], [, b]) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const [name, value] of values) out = out.split(value).join(`\${env:${name}}`);
    return out;
  };
}

/** `value` with every text in it masked (see maskEnvValues), before it is serialised. */
export function maskDeep(value: unknown, mask: (text: string) => string): unknown {
  if (typeof value === "string") return mask(value);
  if (Array.isArray(value)) return value.map((item) => maskDeep(item, mask));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, maskDeep(v, mask)] as const),
    );
  }
  return value;
}
