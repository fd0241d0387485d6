import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { CONFIG_KEYS } from "../../src/config/keys.js";
import type { ConfigKey } from "../../src/config/keys.js";
import { configDefaults, loadConfig } from "../../src/config/load.js";
import type { LoadConfigRequest } from "../../src/config/load.js";

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hookyard-config-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A working directory holding `hookyard.yaml` with `yaml` as its content. */
function dirWithYaml(yaml: string, fileName = "hookyard.yaml"): string {
  const dir = tempDir();
  writeFileSync(join(dir, fileName), yaml);
  return dir;
}

function load(req: Partial<LoadConfigRequest> = {}) {
  return loadConfig({ env: {}, flags: {}, cwd: req.cwd ?? tempDir(), ...req });
}

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError, but the config loaded");
}

function keyAt(path: string): ConfigKey {
  const key = CONFIG_KEYS.find((k) => k.path === path);
  if (key === undefined) throw new Error(`no config key ${path}`);
  return key;
}

describe("config defaults", () => {
  it("starts from the documented defaults when nothing is set", () => {
    expect(load()).toEqual({
      server: {
        host: "0.0.0.0",
        port: 8080,
        bodyLimitBytes: 1_048_576,
        publicUrl: null,
        requestTimeoutMs: 60_000,
        portalFrameAncestors: [],
        tls: { cert: null, key: null, clientCa: null },
      },
      database: {
        url: "sqlite:./.hookyard/hookyard.db",
        retentionDays: 30,
        auditRetentionDays: 365,
      },
      auth: { apiKey: null },
      secrets: { key: null, keyFile: null, previousKeys: [] },
      delivery: {
        retrySchedule: [5, 300, 1800, 7200, 18000, 36000, 36000],
        timeoutMs: 15_000,
        concurrency: 256,
        connectionsPerOrigin: 64,
        maxResponseBodyBytes: 20_000,
        leaseMs: 60_000,
        disableAfterFailingHours: 120,
        egressAllow: [],
      },
      inbound: {
        maxBodyBytes: 26_214_400,
        dedupWindowSeconds: 86_400,
        maxBytesInFlight: 268_435_456,
        trustProxy: [],
      },
      rules: { path: null, allowRunFromApi: false, allowedCommands: [] },
      tracing: { endpoint: null, tracesEndpoint: null, serviceName: "hookyard" },
      log: { level: "info" },
      metrics: { enabled: true, token: null, endpointLabels: false },
    });
  });

  it("returns a deeply frozen config that callers cannot change", () => {
    const config = configDefaults();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.delivery)).toBe(true);
    expect(Object.isFrozen(config.delivery.retrySchedule)).toBe(true);
  });

  it("gives every key its own env var and flag", () => {
    const envs = CONFIG_KEYS.map((k) => k.env);
    const flags = CONFIG_KEYS.map((k) => k.flag);
    expect(new Set(envs).size, envs.join(" ")).toBe(CONFIG_KEYS.length);
    expect(new Set(flags).size, flags.join(" ")).toBe(CONFIG_KEYS.length);
    for (const key of CONFIG_KEYS) {
      // Tracing takes the standard OpenTelemetry names (and only tracing does).
      expect(key.env, key.path).toMatch(
        key.section === "tracing" ? /^OTEL_[A-Z0-9_]+$/ : /^HOOKYARD_[A-Z0-9_]+$/,
      );
      expect(key.flag, key.path).toMatch(/^--[a-z0-9-]+$/);
    }
  });
});

describe("config precedence", () => {
  const yaml = "server:\n  port: 1111\n  host: 127.0.0.1\n";

  it("lets hookyard.yaml override a default", () => {
    const config = load({ cwd: dirWithYaml(yaml) });
    expect(config.server).toMatchObject({
      port: 1111,
      host: "127.0.0.1",
      bodyLimitBytes: 1_048_576,
    });
  });

  it("lets an env var override hookyard.yaml", () => {
    const config = load({ cwd: dirWithYaml(yaml), env: { HOOKYARD_PORT: "2222" } });
    expect(config.server).toMatchObject({ port: 2222, host: "127.0.0.1" });
  });

  it("lets a flag override the env var and the file", () => {
    const config = load({
      cwd: dirWithYaml(yaml),
      env: { HOOKYARD_PORT: "2222", HOOKYARD_HOST: "::1" },
      flags: { port: "3333" },
    });
    expect(config.server).toMatchObject({ port: 3333, host: "::1" });
  });

  it("accepts flag names with or without leading dashes and ignores absent flags", () => {
    const config = load({ flags: { "--delivery-timeout-ms": "500", "log-level": undefined } });
    expect(config.delivery.timeoutMs).toBe(500);
    expect(config.log.level).toBe("info");
  });

  it("ignores unrelated environment variables", () => {
    expect(load({ env: { PATH: "/bin", HOOKYARD_TEST_PG_URL: "postgres://x" } })).toEqual(
      configDefaults(),
    );
  });
});

describe("config file location", () => {
  it("reads the file named by HOOKYARD_CONFIG", () => {
    const cwd = dirWithYaml("log:\n  level: debug\n", "custom.yaml");
    expect(load({ cwd, env: { HOOKYARD_CONFIG: "custom.yaml" } }).log.level).toBe("debug");
  });

  it("prefers --config over HOOKYARD_CONFIG and over hookyard.yaml", () => {
    const cwd = dirWithYaml("log:\n  level: debug\n", "custom.yaml");
    writeFileSync(join(cwd, "hookyard.yaml"), "log:\n  level: warn\n");
    writeFileSync(join(cwd, "other.yaml"), "log:\n  level: error\n");
    const config = load({ cwd, configFile: "other.yaml", env: { HOOKYARD_CONFIG: "custom.yaml" } });
    expect(config.log.level).toBe("error");
  });

  it("reads no file at all when configFile is null", () => {
    const cwd = dirWithYaml("server:\n  port: 1111\n");
    expect(load({ cwd, configFile: null }).server.port).toBe(8080);
  });

  it("refuses a named config file that does not exist, naming the file and who named it", () => {
    const viaFlag = configErrorOf(() => load({ configFile: "missing.yaml" }));
    expect(viaFlag.message).toBe("config file not found: missing.yaml (named by --config)");
    const viaEnv = configErrorOf(() => load({ env: { HOOKYARD_CONFIG: "gone.yaml" } }));
    expect(viaEnv.message).toBe("config file not found: gone.yaml (named by HOOKYARD_CONFIG)");
  });

  it("treats an empty or comments-only file and empty sections as no settings", () => {
    expect(load({ cwd: dirWithYaml("# nothing here\n") })).toEqual(configDefaults());
    expect(load({ cwd: dirWithYaml("server:\n  # port: 1\n") })).toEqual(configDefaults());
  });

  it("reports broken YAML on one line naming the file", () => {
    const err = configErrorOf(() => load({ cwd: dirWithYaml("server:\n  port: [1,\n") }));
    expect(err.message).toMatch(/^invalid YAML in hookyard\.yaml: /);
    expect(err.message).not.toContain("\n");
  });
});

describe("config errors name the key and its source", () => {
  it("names the env var for a bad port", () => {
    const err = configErrorOf(() => load({ env: { HOOKYARD_PORT: "abc" } }));
    expect(err.message).toBe('invalid HOOKYARD_PORT (env): expected an integer 0–65535, got "abc"');
    expect(err).toMatchObject({ key: "server.port", source: { kind: "env" } });
  });

  it("names the flag for an out-of-range port", () => {
    const err = configErrorOf(() => load({ flags: { port: "70000" } }));
    expect(err.message).toBe('invalid --port (flag): expected an integer 0–65535, got "70000"');
  });

  it("names the key path and the file for a bad value in hookyard.yaml", () => {
    const err = configErrorOf(() => load({ cwd: dirWithYaml("server:\n  port: eighty\n") }));
    expect(err.message).toBe(
      'invalid server.port (hookyard.yaml): expected an integer 0–65535, got "eighty"',
    );
    expect(err).toMatchObject({
      key: "server.port",
      source: { kind: "file", file: "hookyard.yaml" },
    });
  });

  // Every key: a value of the wrong type in the file is refused with the key path and file name.
  it.each(CONFIG_KEYS.map((key) => [key.path, key] as const))(
    "refuses a mapping as the value of %s in hookyard.yaml",
    (_path, key) => {
      // server.tls.cert is written `server:\n  tls:\n    cert: ...`.
      const parts = key.path.split(".");
      const yaml = parts.map((part, depth) => `${"  ".repeat(depth)}${part}:`).join("\n");
      const cwd = dirWithYaml(`${yaml}\n${"  ".repeat(parts.length)}nested: true\n`);
      const err = configErrorOf(() => load({ cwd }));
      expect(err.message).toMatch(
        new RegExp(`^invalid ${key.path.replaceAll(".", "\\.")} \\(hookyard\\.yaml\\): `),
      );
      expect(err.key).toBe(key.path);
    },
  );

  const badText: Record<string, string> = {
    integer: "12.5",
    number: "lots",
    enum: "loud",
    "number-list": "1,x",
    "string-list": "not-a-cidr",
    string: "",
    boolean: "yes",
  };
  // auth.apiKey takes any text (empty means none), rules.path and the server.tls files any path
  // (checked at start, with the rulebook or the certificate), so no text form of them is invalid.
  const textKeys = CONFIG_KEYS.filter(
    // Any text is a valid key, path or token.
    (key) =>
      !["auth.apiKey", "rules.path", "metrics.token", "secrets.keyFile"].includes(key.path) &&
      !key.path.startsWith("server.tls."),
  );

  it.each(textKeys.map((key) => [key.env, key] as const))(
    "refuses an invalid %s from the environment and from its flag",
    (_env, key) => {
      // A nullable URL reads "" as none: a URL of another scheme is its bad sample.
      const urls = ["server.publicUrl", "tracing.endpoint", "tracing.tracesEndpoint"];
      const text = urls.includes(key.path)
        ? "ftp://example.com"
        : key.path === "secrets.key"
          ? "not-32-bytes"
          : badText[key.shape.kind];
      expect(text, `a bad sample for ${key.path}`).toBeDefined();
      const fromEnv = configErrorOf(() => load({ env: { [key.env]: text } }));
      expect(fromEnv.message.startsWith(`invalid ${key.env} (env): `), fromEnv.message).toBe(true);
      const fromFlag = configErrorOf(() => load({ flags: { [key.flag.slice(2)]: text } }));
      expect(fromFlag.message.startsWith(`invalid ${key.flag} (flag): `), fromFlag.message).toBe(
        true,
      );
    },
  );

  it("never echoes the API key in an error", () => {
    const err = configErrorOf(() => load({ cwd: dirWithYaml("auth:\n  apiKey: 987654321\n") }));
    expect(err.message).toContain("invalid auth.apiKey (hookyard.yaml)");
    expect(err.message).not.toContain("987654321");
  });

  it("rejects an unknown key in hookyard.yaml and lists the known ones", () => {
    const err = configErrorOf(() => load({ cwd: dirWithYaml("server:\n  prot: 80\n") }));
    expect(err.message).toBe(
      'unknown key "server.prot" in hookyard.yaml (keys in server: host, port, bodyLimitBytes, publicUrl, requestTimeoutMs, portalFrameAncestors, tls)',
    );
  });

  it("rejects an unknown section in hookyard.yaml", () => {
    const err = configErrorOf(() => load({ cwd: dirWithYaml("srever:\n  port: 80\n") }));
    expect(err.message).toMatch(/^unknown key "srever" in hookyard\.yaml \(sections: server, /);
  });

  it("rejects an unknown flag", () => {
    expect(configErrorOf(() => load({ flags: { prot: "1" } })).message).toBe(
      "unknown option --prot",
    );
  });
});

describe("grouped keys (server.tls)", () => {
  it("reads a group from its nested mapping, and from its own env vars and flags", () => {
    const cwd = dirWithYaml("server:\n  port: 1\n  tls:\n    cert: a.pem\n    key: a.key\n");
    expect(load({ cwd }).server).toMatchObject({ port: 1, tls: { cert: "a.pem", key: "a.key" } });
    expect(load({ cwd, env: { HOOKYARD_TLS_CERT: "b.pem" } }).server.tls.cert).toBe("b.pem");
    expect(load({ cwd, flags: { "tls-key": "c.key" } }).server.tls).toEqual({
      cert: "a.pem",
      key: "c.key",
      clientCa: null,
    });
  });

  it("keeps a group's defaults when it is all commented out", () => {
    const config = load({ cwd: dirWithYaml("server:\n  tls:\n    # cert: a.pem\n") });
    expect(config.server.tls).toEqual({ cert: null, key: null, clientCa: null });
  });

  it("rejects an unknown key in a group and lists the group's keys", () => {
    const err = configErrorOf(() => load({ cwd: dirWithYaml("server:\n  tls:\n    crt: a\n") }));
    expect(err.message).toBe(
      'unknown key "server.tls.crt" in hookyard.yaml (keys in server.tls: cert, key, clientCa)',
    );
    expect(err.key).toBe("server.tls.crt");
  });

  it("refuses a value where the group's mapping belongs", () => {
    const err = configErrorOf(() => load({ cwd: dirWithYaml("server:\n  tls: cert.pem\n") }));
    expect(err.message).toBe("invalid server.tls (hookyard.yaml): expected a mapping of keys");
  });
});

describe("retry schedule", () => {
  it('reads "1,1,1" as three one-second retries', () => {
    expect(load({ env: { HOOKYARD_RETRY_SCHEDULE: "1,1,1" } }).delivery.retrySchedule).toEqual([
      1, 1, 1,
    ]);
  });

  it("reads an empty value as no retries", () => {
    expect(load({ flags: { "retry-schedule": "" } }).delivery.retrySchedule).toEqual([]);
    expect(
      load({ cwd: dirWithYaml("delivery:\n  retrySchedule: []\n") }).delivery.retrySchedule,
    ).toEqual([]);
  });

  it("accepts spaces and fractions of a second", () => {
    expect(load({ env: { HOOKYARD_RETRY_SCHEDULE: " 0.5 , 2 " } }).delivery.retrySchedule).toEqual([
      0.5, 2,
    ]);
  });

  it("refuses a non-number entry, naming the env var", () => {
    const err = configErrorOf(() => load({ env: { HOOKYARD_RETRY_SCHEDULE: "1,x" } }));
    expect(err.message).toBe(
      'invalid HOOKYARD_RETRY_SCHEDULE (env): expected a comma-separated list of positive numbers, got "1,x"',
    );
  });

  it.each(["0", "-1", "1,,2", "Infinity"])("refuses %j as a schedule", (text) => {
    const err = configErrorOf(() => load({ flags: { "retry-schedule": text } }));
    expect(err.message).toMatch(/^invalid --retry-schedule \(flag\): /);
  });

  it("refuses a negative delay in hookyard.yaml", () => {
    const err = configErrorOf(() =>
      load({ cwd: dirWithYaml("delivery:\n  retrySchedule: [1, -5]\n") }),
    );
    expect(err.message).toBe(
      "invalid delivery.retrySchedule (hookyard.yaml): expected a list of positive numbers, got [1,-5]",
    );
  });
});

describe("egress allow-list", () => {
  it("accepts IPv4 and IPv6 CIDRs and bare addresses", () => {
    const config = load({
      env: { HOOKYARD_EGRESS_ALLOW: "127.0.0.1/32, 10.0.0.0/8,::1/128,192.168.1.5" },
    });
    expect(config.delivery.egressAllow).toEqual([
      "127.0.0.1/32",
      "10.0.0.0/8",
      "::1/128",
      "192.168.1.5",
    ]);
  });

  it("refuses a prefix that is too long, naming the flag and the entry", () => {
    const err = configErrorOf(() =>
      load({ flags: { "egress-allow": "127.0.0.1/32,10.0.0.0/33" } }),
    );
    expect(err.message).toMatch(/^invalid --egress-allow \(flag\): invalid CIDR "10\.0\.0\.0\/33"/);
  });

  it("refuses a host name in hookyard.yaml", () => {
    const err = configErrorOf(() =>
      load({ cwd: dirWithYaml("delivery:\n  egressAllow: [localhost]\n") }),
    );
    expect(err.message).toMatch(
      /^invalid delivery\.egressAllow \(hookyard\.yaml\): invalid CIDR "localhost"/,
    );
  });
});

describe("trusted proxies", () => {
  it("accepts addresses and CIDRs, and refuses a host name naming the key", () => {
    const config = load({ env: { HOOKYARD_TRUST_PROXY: "10.0.0.0/8, 192.168.1.5,fd00::/8" } });
    expect(config.inbound.trustProxy).toEqual(["10.0.0.0/8", "192.168.1.5", "fd00::/8"]);
    const err = configErrorOf(() =>
      load({ cwd: dirWithYaml("inbound:\n  trustProxy: [loopback]\n") }),
    );
    expect(err.message).toMatch(
      /^invalid inbound\.trustProxy \(hookyard\.yaml\): invalid CIDR "loopback"/,
    );
  });
});

describe("database url", () => {
  it("accepts sqlite:<path>", () => {
    expect(
      load({ flags: { "database-url": "sqlite:/var/lib/hookyard/db.sqlite" } }).database.url,
    ).toBe("sqlite:/var/lib/hookyard/db.sqlite");
  });

  it.each(["postgres://u:p@db:5432/hookyard", "postgresql://hookyard@127.0.0.1/test"])(
    "accepts %j",
    (url) => {
      expect(load({ env: { HOOKYARD_DATABASE_URL: url } }).database.url).toBe(url);
    },
  );

  it("refuses a malformed postgres URL without echoing it, naming the env var", () => {
    const err = configErrorOf(() =>
      load({ env: { HOOKYARD_DATABASE_URL: "postgres://u:secret@/hookyard" } }),
    );
    expect(err.message).toBe(
      "invalid HOOKYARD_DATABASE_URL (env): expected postgres://user[:password]@host[:port]/database (the value is not shown: it may hold a password)",
    );
    expect(err.message, "the password stays out of the message").not.toContain("secret");
  });

  it.each(["mysql://db/x", "sqlite:", "./hookyard.db"])("refuses %j", (url) => {
    const err = configErrorOf(() => load({ cwd: dirWithYaml(`database:\n  url: "${url}"\n`) }));
    expect(err.message).toMatch(
      /^invalid database\.url \(hookyard\.yaml\): expected sqlite:<path>/,
    );
  });
});

describe("nullable keys", () => {
  it("refuses a configured API key shorter than 32 characters, without showing it", () => {
    const err = configErrorOf(() => load({ env: { HOOKYARD_API_KEY: "sk_short_secret" } }));
    expect(err.message).toMatch(
      /^invalid HOOKYARD_API_KEY \(env\): must be at least 32 characters/,
    );
    expect(err.message).not.toContain("sk_short_secret");
  });

  it("refuses a relative program in rules.allowedCommands", () => {
    const err = configErrorOf(() =>
      load({ env: { HOOKYARD_RULES_ALLOWED_COMMANDS: "/usr/bin/true,deploy.sh" } }),
    );
    expect(err.message).toMatch(
      /ALLOWED_COMMANDS \(env\): each entry must be an absolute path of a program, got "deploy\.sh"/,
    );
  });

  it("reads an empty HOOKYARD_API_KEY as no key and a non-empty one as the key", () => {
    expect(load({ env: { HOOKYARD_API_KEY: "" } }).auth.apiKey).toBeNull();
    const KEY32 = "sk_test_1_0123456789abcdefghijklmnop";
    expect(load({ env: { HOOKYARD_API_KEY: KEY32 } }).auth.apiKey).toBe(KEY32);
  });

  it("accepts an http(s) public URL", () => {
    expect(load({ flags: { "public-url": "https://hooks.example.com" } }).server.publicUrl).toBe(
      "https://hooks.example.com",
    );
  });

  it("keeps the key metadata the help text relies on", () => {
    expect(keyAt("auth.apiKey")).toMatchObject({
      nullable: true,
      secret: true,
      env: "HOOKYARD_API_KEY",
    });
    expect(keyAt("log.level").shape).toEqual({
      kind: "enum",
      values: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
    });
  });
});

describe("tracing from the standard OpenTelemetry variables", () => {
  it("reads OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_SERVICE_NAME", () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://collector:4318/custom/traces",
      OTEL_SERVICE_NAME: "hookyard-eu",
    };
    expect(load({ env }).tracing).toEqual({
      endpoint: "http://collector:4318",
      tracesEndpoint: "https://collector:4318/custom/traces",
      serviceName: "hookyard-eu",
    });
  });

  it("reads an empty OTEL_EXPORTER_OTLP_ENDPOINT as tracing off", () => {
    expect(load({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "" } }).tracing.endpoint).toBeNull();
  });

  it("lets --otlp-endpoint override the variable and hookyard.yaml", () => {
    const cwd = dirWithYaml("tracing:\n  endpoint: http://from-file:4318\n");
    const config = load({
      cwd,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://from-env:4318" },
      flags: { "otlp-endpoint": "http://from-flag:4318" },
    });
    expect(config.tracing.endpoint).toBe("http://from-flag:4318");
    expect(load({ cwd }).tracing.endpoint).toBe("http://from-file:4318");
  });

  it("refuses a collector endpoint that is no http(s) URL, naming the variable", () => {
    const err = configErrorOf(() =>
      load({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" } }),
    );
    expect(err.message).toBe(
      'invalid OTEL_EXPORTER_OTLP_ENDPOINT (env): expected the http(s) URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318, got "collector:4318"',
    );
    expect(err).toMatchObject({ key: "tracing.endpoint", source: { kind: "env" } });
  });

  it("refuses an empty OTEL_SERVICE_NAME", () => {
    const err = configErrorOf(() => load({ env: { OTEL_SERVICE_NAME: " " } }));
    expect(err.message).toMatch(/^invalid OTEL_SERVICE_NAME \(env\): expected a non-empty string/);
  });
});
