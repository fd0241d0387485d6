/** Where a config value came from; messages name it so the operator knows what to fix. */
export type ConfigSource =
  { kind: "default" } | { kind: "file"; file: string } | { kind: "env" } | { kind: "flag" };

/**
 * An invalid or unreadable configuration. The message is one line that names the key as the
 * operator wrote it and its source, e.g. `invalid HOOKYARD_PORT (env): expected an integer
 * 0–65535, got "abc"`. Not a `HookyardError`: it never reaches an HTTP client, only the CLI.
 */
export class ConfigError extends Error {
  /** Dotted key path (`server.port`), or null when the problem is not about one key. */
  readonly key: string | null;
  readonly source: ConfigSource | null;

  constructor(
    message: string,
    details: { key?: string | null; source?: ConfigSource | null; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ConfigError";
    this.key = details.key ?? null;
    this.source = details.source ?? null;
  }
}
