import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { AUTH, buildStubApp } from "./stub-services.js";

/** A pino logger at `level` that keeps its lines and counts the child loggers made from it. */
function countingLogger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const counter = { children: 0 };
  // pino passes `onChild` on to every child, so children of children are counted too.
  const logger = pino({ level, onChild: () => counter.children++ }, stream);
  return { logger, lines, counter };
}

describe("request loggers", () => {
  it("builds no child logger for a request that writes no line", async () => {
    const { logger, counter } = countingLogger("warn");
    const app = await buildStubApp({ logger });
    const before = counter.children;
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({ method: "GET", url: "/api/v1/health" });
      expect(res.statusCode).toBe(204);
    }
    expect(counter.children).toBe(before);
  });

  it("writes a request's error line through a child bound to its request id", async () => {
    const { logger, lines, counter } = countingLogger("warn");
    const app = await buildStubApp({ logger });
    const before = counter.children;
    // The stub services throw: a 500, logged at error level through request.log.
    const res = await app.inject({ method: "GET", url: "/api/v1/app", headers: AUTH });
    expect(res.statusCode).toBe(500);
    expect(counter.children).toBe(before + 1);
    const line = lines.find((l) => l.msg === "request failed with an unexpected error");
    expect(line).toMatchObject({ reqId: res.headers["x-request-id"], level: 50 });
  });
});
