import { CloneType, Type } from "@sinclair/typebox";
import type { Static, TSchema } from "@sinclair/typebox";

/**
 * The one declaration of Hookyard's configuration (STYLE 2.5). Each leaf carries its default,
 * description, environment variable and CLI flag, so validation, the `Config` type, the
 * `serve --help` text and `hookyard.example.yaml` all come from here and cannot drift apart.
 *
 * Sources, lowest to highest precedence: defaults < hookyard.yaml < HOOKYARD_* env < CLI flags.
 */

/** Metadata every config leaf declares. Read back by `config/keys.ts`. */
export interface SettingMeta<T> {
  /** One sentence for `--help` and the example file. */
  description: string;
  default: T;
  /** Hookyard's own name, or the standard OpenTelemetry one for the tracing keys. */
  env: `HOOKYARD_${string}` | `OTEL_${string}`;
  flag: `--${string}`;
  /** Never echoed in error messages. */
  secret?: boolean;
}

function setting<S extends TSchema>(schema: S, meta: SettingMeta<Static<S>>): S {
  return CloneType(schema, { ...meta });
}

const NullableString = (options: { minLength?: number } = {}) =>
  Type.Union([Type.String({ minLength: 1, ...options }), Type.Null()]);

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Svix-like default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (DESIGN "Default policy"). */
export const DEFAULT_RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18000, 36000, 36000];

/** HTTPS of the server's own listener (issue 16); the files are read at start. */
const TlsSchema = Type.Object(
  {
    cert: setting(NullableString(), {
      description:
        "PEM file of the server's certificate (its chain after it): with key, the server speaks HTTPS only; null: plain HTTP.",
      default: null,
      env: "HOOKYARD_TLS_CERT",
      flag: "--tls-cert",
    }),
    key: setting(NullableString(), {
      description: "PEM file of the private key of server.tls.cert (unencrypted).",
      default: null,
      env: "HOOKYARD_TLS_KEY",
      flag: "--tls-key",
    }),
    clientCa: setting(NullableString(), {
      description:
        "PEM file of the CA certificates API clients' certificates must be issued by: the API (not ingest URLs, health or the dashboard's files) then needs a client certificate as well as the API key; null: no client certificate needed.",
      default: null,
      env: "HOOKYARD_TLS_CLIENT_CA",
      flag: "--tls-client-ca",
    }),
  },
  { additionalProperties: false },
);

const ServerSchema = Type.Object(
  {
    host: setting(Type.String({ minLength: 1 }), {
      description: "Interface the HTTP server listens on.",
      default: "0.0.0.0",
      env: "HOOKYARD_HOST",
      flag: "--host",
    }),
    port: setting(Type.Integer({ minimum: 0, maximum: 65535 }), {
      description: "TCP port of the HTTP server; 0 picks any free port.",
      default: 8080,
      env: "HOOKYARD_PORT",
      flag: "--port",
    }),
    bodyLimitBytes: setting(Type.Integer({ minimum: 1 }), {
      description: "Largest accepted request body in bytes; larger payloads get 413.",
      default: 1_048_576,
      env: "HOOKYARD_BODY_LIMIT_BYTES",
      flag: "--body-limit-bytes",
    }),
    publicUrl: setting(NullableString(), {
      description: "Public base URL of this server (used in links); null when unknown.",
      default: null,
      env: "HOOKYARD_PUBLIC_URL",
      flag: "--public-url",
    }),
    requestTimeoutMs: setting(Type.Integer({ minimum: 1 }), {
      description:
        "Longest a client may take to send a whole request, headers and body, in milliseconds; a slower one gets 408 and its connection is closed.",
      default: 60_000,
      env: "HOOKYARD_REQUEST_TIMEOUT_MS",
      flag: "--request-timeout-ms",
    }),
    portalFrameAncestors: setting(Type.Array(Type.String({ minLength: 1 })), {
      description:
        "Sites that may embed the customer app portal in an iframe (CSP frame-ancestors sources, e.g. https://app.example.com); none by default (comma-separated in env/flags).",
      default: [],
      env: "HOOKYARD_PORTAL_FRAME_ANCESTORS",
      flag: "--portal-frame-ancestors",
    }),
    tls: TlsSchema,
  },
  { additionalProperties: false },
);

const DatabaseSchema = Type.Object(
  {
    url: setting(Type.String({ minLength: 1 }), {
      description:
        "Database: sqlite:<path> (one process) or postgres://user[:password]@host[:port]/database (several processes).",
      default: "sqlite:./.hookyard/hookyard.db",
      env: "HOOKYARD_DATABASE_URL",
      flag: "--database-url",
    }),
    retentionDays: setting(Type.Number({ exclusiveMinimum: 0 }), {
      description:
        "Messages, deliveries and attempts older than this many days are removed (hourly, in small steps); open deliveries are kept.",
      default: 30,
      env: "HOOKYARD_RETENTION_DAYS",
      flag: "--retention-days",
    }),
    auditRetentionDays: setting(Type.Number({ exclusiveMinimum: 0 }), {
      description: "Audit log entries older than this many days are removed (hourly).",
      default: 365,
      env: "HOOKYARD_AUDIT_RETENTION_DAYS",
      flag: "--audit-retention-days",
    }),
  },
  { additionalProperties: false },
);

const AuthSchema = Type.Object(
  {
    apiKey: setting(NullableString(), {
      description:
        "Admin bearer token; null generates one on first start, prints it once and keeps only its hash.",
      default: null,
      env: "HOOKYARD_API_KEY",
      flag: "--api-key",
      secret: true,
    }),
  },
  { additionalProperties: false },
);

/** A 32-byte key as 64 hex digits or 44 characters of base64. */
const SECRETS_KEY_PATTERN = "^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=?)$";

/** Secrets at rest (issue 16): the keys that seal endpoint and source secrets in the database. */
const SecretsSchema = Type.Object(
  {
    key: setting(Type.Union([Type.String({ pattern: SECRETS_KEY_PATTERN }), Type.Null()]), {
      description:
        "Key that seals secrets in the database (32 bytes as base64 or hex); null: read secrets.keyFile, or on SQLite make <database>.key on first start.",
      default: null,
      env: "HOOKYARD_SECRETS_KEY",
      flag: "--secrets-key",
      secret: true,
    }),
    keyFile: setting(NullableString(), {
      description:
        "File holding the key (first line) and previous keys (further lines) when secrets.key is null; null: <database>.key beside a SQLite file.",
      default: null,
      env: "HOOKYARD_SECRETS_KEY_FILE",
      flag: "--secrets-key-file",
    }),
    previousKeys: setting(Type.Array(Type.String({ pattern: SECRETS_KEY_PATTERN })), {
      description:
        "Older keys that still open secrets sealed before a rotation; the server re-seals those with secrets.key in the background.",
      default: [],
      env: "HOOKYARD_SECRETS_PREVIOUS_KEYS",
      flag: "--secrets-previous-keys",
      secret: true,
    }),
  },
  { additionalProperties: false },
);

const DeliverySchema = Type.Object(
  {
    retrySchedule: setting(Type.Array(Type.Number({ exclusiveMinimum: 0 })), {
      description:
        "Seconds to wait before each retry (comma-separated in env/flags); empty means no retries.",
      default: DEFAULT_RETRY_SCHEDULE_SECONDS,
      env: "HOOKYARD_RETRY_SCHEDULE",
      flag: "--retry-schedule",
    }),
    timeoutMs: setting(Type.Integer({ minimum: 1 }), {
      description: "Timeout of one delivery attempt in milliseconds.",
      default: 15_000,
      env: "HOOKYARD_DELIVERY_TIMEOUT_MS",
      flag: "--delivery-timeout-ms",
    }),
    concurrency: setting(Type.Integer({ minimum: 1 }), {
      description: "Most delivery attempts in flight at once.",
      default: 256,
      env: "HOOKYARD_DELIVERY_CONCURRENCY",
      flag: "--delivery-concurrency",
    }),
    connectionsPerOrigin: setting(Type.Integer({ minimum: 1 }), {
      description: "Most keep-alive connections per receiver origin.",
      default: 64,
      env: "HOOKYARD_CONNECTIONS_PER_ORIGIN",
      flag: "--connections-per-origin",
    }),
    maxResponseBodyBytes: setting(Type.Integer({ minimum: 0 }), {
      description: "Bytes of each receiver response body kept in the attempt log.",
      default: 20_000,
      env: "HOOKYARD_MAX_RESPONSE_BODY_BYTES",
      flag: "--max-response-body-bytes",
    }),
    leaseMs: setting(Type.Integer({ minimum: 1 }), {
      description: "How long a claimed delivery stays reserved before another worker may take it.",
      default: 60_000,
      env: "HOOKYARD_LEASE_MS",
      flag: "--lease-ms",
    }),
    disableAfterFailingHours: setting(Type.Number({ exclusiveMinimum: 0 }), {
      description: "An endpoint failing without a success for this many hours is disabled.",
      default: 120,
      env: "HOOKYARD_DISABLE_AFTER_FAILING_HOURS",
      flag: "--disable-after-failing-hours",
    }),
    egressAllow: setting(Type.Array(Type.String({ minLength: 1 })), {
      description:
        "CIDRs exempt from the egress guard, e.g. 127.0.0.1/32 (comma-separated in env/flags).",
      default: [],
      env: "HOOKYARD_EGRESS_ALLOW",
      flag: "--egress-allow",
    }),
  },
  { additionalProperties: false },
);

const InboundSchema = Type.Object(
  {
    maxBodyBytes: setting(Type.Integer({ minimum: 1 }), {
      description:
        "Largest request body an ingest URL accepts (25 MiB, GitHub's own cap); larger ones get 413. A source's config may set a smaller maxBodyBytes.",
      default: 25 * 1024 * 1024,
      env: "HOOKYARD_INBOUND_MAX_BODY_BYTES",
      flag: "--inbound-max-body-bytes",
    }),
    dedupWindowSeconds: setting(Type.Integer({ minimum: 0 }), {
      description:
        "A request repeating a provider delivery id, or the signed content (the signature; for bearer/basic sources the method, path, query and body), of one accepted this recently is answered 200 and recorded as a duplicate, not forwarded; 0 turns it off. A source's config may set its own dedupWindowSeconds.",
      default: 86_400,
      env: "HOOKYARD_INBOUND_DEDUP_WINDOW_SECONDS",
      flag: "--inbound-dedup-window-seconds",
    }),
    maxBytesInFlight: setting(Type.Integer({ minimum: 1 }), {
      description:
        "Request body bytes all ingest URLs together may be receiving and holding at once (256 MiB); a request that would pass it gets 503 with Retry-After before its body is read.",
      default: 256 * 1024 * 1024,
      env: "HOOKYARD_INBOUND_MAX_BYTES_IN_FLIGHT",
      flag: "--inbound-max-bytes-in-flight",
    }),
    trustProxy: setting(Type.Array(Type.String({ minLength: 1 })), {
      description:
        "Addresses or CIDRs of the load balancers in front of Hookyard (comma-separated in env/flags): a request from one of them is taken to come from the client its X-Forwarded-For names (source allowedIps, the wrong-API-key limit, logs), and its X-Forwarded-Proto and -Host are believed; empty: the connection's own address, and X-Forwarded-* are ignored.",
      default: [],
      env: "HOOKYARD_TRUST_PROXY",
      flag: "--trust-proxy",
    }),
  },
  { additionalProperties: false },
);

const RulesSchema = Type.Object(
  {
    path: setting(NullableString(), {
      description:
        "A rulebook file, or a directory of them (*.yaml, *.yml): the Automate rules. Checked at start (an invalid rulebook stops the server) and reloaded when the files change (an invalid change is refused and logged; the last good rules stay).",
      default: null,
      env: "HOOKYARD_RULES",
      flag: "--rules",
    }),
    allowRunFromApi: setting(Type.Boolean(), {
      description:
        "Accept `run` actions in rulebooks uploaded through the API or `hookyard apply` (only for programs in allowedCommands). Off: commands run only from rulebook files on this host. Whoever holds an API key can then start those programs.",
      default: false,
      env: "HOOKYARD_RULES_ALLOW_RUN_FROM_API",
      flag: "--rules-allow-run-from-api",
    }),
    allowedCommands: setting(Type.Array(Type.String({ minLength: 1 })), {
      description:
        "Absolute paths of the programs an uploaded rulebook's `run` may start, with allowRunFromApi (comma-separated in env/flags); anything else is refused at upload.",
      default: [],
      env: "HOOKYARD_RULES_ALLOWED_COMMANDS",
      flag: "--rules-allowed-commands",
    }),
  },
  { additionalProperties: false },
);

/**
 * Tracing (issue 16) reads the standard OpenTelemetry variables, so an environment set up for
 * any OpenTelemetry SDK sets Hookyard up too. No endpoint: tracing is off and nothing is loaded.
 */
const TracingSchema = Type.Object(
  {
    endpoint: setting(NullableString(), {
      description:
        "Base URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318: spans are posted as JSON to <url>/v1/traces. Unset (and no tracesEndpoint): no tracing.",
      default: null,
      env: "OTEL_EXPORTER_OTLP_ENDPOINT",
      flag: "--otlp-endpoint",
    }),
    tracesEndpoint: setting(NullableString(), {
      description:
        "Full URL spans are posted to, used as is in place of endpoint + /v1/traces; setting it alone turns tracing on too.",
      default: null,
      env: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
      flag: "--otlp-traces-endpoint",
    }),
    serviceName: setting(Type.String({ minLength: 1 }), {
      description: "The service.name of every span.",
      default: "hookyard",
      env: "OTEL_SERVICE_NAME",
      flag: "--otel-service-name",
    }),
  },
  { additionalProperties: false },
);

const LogSchema = Type.Object(
  {
    level: setting(Type.Union(LOG_LEVELS.map((level) => Type.Literal(level))), {
      description: "Least severe log level written.",
      default: "info",
      env: "HOOKYARD_LOG_LEVEL",
      flag: "--log-level",
    }),
  },
  { additionalProperties: false },
);

const MetricsSchema = Type.Object(
  {
    enabled: setting(Type.Boolean(), {
      description: "Serve Prometheus metrics at GET /metrics.",
      default: true,
      env: "HOOKYARD_METRICS_ENABLED",
      flag: "--metrics-enabled",
    }),
    token: setting(NullableString(), {
      description:
        "Bearer token a scraper must send to GET /metrics; null answers this host (loopback) only.",
      default: null,
      env: "HOOKYARD_METRICS_TOKEN",
      flag: "--metrics-token",
      secret: true,
    }),
    endpointLabels: setting(Type.Boolean(), {
      description:
        "Label attempt metrics with the endpoint id (one series per endpoint: mind the cardinality).",
      default: false,
      env: "HOOKYARD_METRICS_ENDPOINT_LABELS",
      flag: "--metrics-endpoint-labels",
    }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    server: ServerSchema,
    database: DatabaseSchema,
    auth: AuthSchema,
    secrets: SecretsSchema,
    delivery: DeliverySchema,
    inbound: InboundSchema,
    rules: RulesSchema,
    tracing: TracingSchema,
    log: LogSchema,
    metrics: MetricsSchema,
  },
  { additionalProperties: false },
);

/** The validated, deeply frozen configuration `loadConfig` returns. */
export type Config = Static<typeof ConfigSchema>;

export type LogLevel = Config["log"]["level"];

/** The one setting outside the schema: where the YAML file lives (it cannot configure itself). */
export const CONFIG_FILE_SETTING = {
  description: "YAML config file; a named file must exist (default: ./hookyard.yaml if present).",
  env: "HOOKYARD_CONFIG",
  flag: "--config",
  defaultFileName: "hookyard.yaml",
} as const;
