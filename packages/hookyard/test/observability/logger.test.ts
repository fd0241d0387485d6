import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";

/** A logger whose JSON lines are collected in memory (pino writes synchronously to a stream). */
function recordingLogger(level = "debug") {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ level, destination });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, records };
}

describe("logger", () => {
  it("tags every line with the service name and the fields first", () => {
    const { logger, records } = recordingLogger();
    logger
      .child({ component: "dispatcher" })
      .info({ msgId: "msg_1", attempt: 2 }, "attempt finished");
    expect(records()).toMatchObject([
      {
        service: "hookyard",
        component: "dispatcher",
        msgId: "msg_1",
        attempt: 2,
        msg: "attempt finished",
      },
    ]);
  });

  it("never writes authorization headers, secrets or API keys", () => {
    const { logger, records } = recordingLogger();
    logger.info(
      {
        req: { headers: { authorization: "Bearer sk_live_1", "content-type": "application/json" } },
        request: { headers: { authorization: "Basic dXNlcjpwYXNz" } },
        endpoint: {
          secret: "whsec_abc",
          url: "https://example.com/hook",
          authSecret: "oauth_cs_1",
          tlsClientKey: "-----BEGIN PRIVATE KEY-----k1",
        },
        auth: { type: "oauth2", clientSecret: "oauth_cs_2" },
        apiKey: "sk_live_2",
        secret: "whsec_def",
      },
      "request received",
    );
    const text = JSON.stringify(records());
    const secrets = ["sk_live_1", "dXNlcjpwYXNz", "whsec_abc", "sk_live_2", "whsec_def"];
    for (const secret of [...secrets, "oauth_cs_1", "PRIVATE KEY-----k1", "oauth_cs_2"]) {
      expect(text, `${secret} must be redacted`).not.toContain(secret);
    }
    expect(records()[0]).toMatchObject({
      req: { headers: { "content-type": "application/json" } },
      endpoint: { url: "https://example.com/hook" },
    });
  });

  it("drops lines below the configured level", () => {
    const { logger, records } = recordingLogger("warn");
    logger.info({}, "not written");
    logger.warn({}, "written");
    expect(records().map((r) => r["msg"])).toEqual(["written"]);
  });
});
