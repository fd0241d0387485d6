import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { forwardedParts } from "../../src/delivery/forward.js";
import type { InboundRequest } from "../../src/model.js";

/** A received GET with `path` after the token (as the router decoded it) and `query`. */
function received(path: string, query = ""): InboundRequest {
  return {
    id: "req_1",
    sourceId: "src_1",
    status: "accepted",
    reason: null,
    method: "GET",
    path,
    query,
    headers: {},
    body: Buffer.alloc(0),
    sourceIp: "127.0.0.1",
    dedupKey: null,
    eventType: null,
    duplicateOf: null,
    createdAt: 0,
  };
}

const DESTINATION = "https://dest.example/hooks/github?team=ops";

function forwardedTo(path: string, query = ""): URL {
  return new URL(forwardedParts(received(path, query), DESTINATION).url);
}

describe("the URL a received request is forwarded to", () => {
  it("appends the sender's path below the destination's path and its query after the destination's", () => {
    expect(forwardedTo("deploy/prod", "sha=abc%20def").href).toBe(
      "https://dest.example/hooks/github/deploy/prod?team=ops&sha=abc%20def",
    );
  });

  it("keeps the destination's path when the sender's path climbs out with dot segments", () => {
    // Stored before ingest refused them: the router had decoded %2e%2e to "..".
    for (const path of ["../../admin", "./../admin", "a/../../../admin", "..", "../"]) {
      const url = forwardedTo(path);
      expect(url.host, path).toBe("dest.example");
      expect(url.pathname, path).toMatch(/^\/hooks\/github(\/|$)/);
      expect(url.pathname, path).not.toContain("..");
    }
    expect(forwardedTo("../../admin").pathname).toBe("/hooks/github/admin");
  });

  it("escapes what the URL parser would read as a dot segment or a slash", () => {
    // "%2e%2e" (from a double-encoded %252e%252e), ".<tab>." (parsers drop tabs) and a backslash
    // (a slash in http URLs) each stay one segment below the destination's path.
    expect(forwardedTo("%2e%2e/%2E%2e/admin").pathname).toBe(
      "/hooks/github/%252e%252e/%252E%252e/admin",
    );
    expect(forwardedTo(".\t./admin").pathname).toBe("/hooks/github/.%09./admin");
    expect(forwardedTo("..\\..\\admin").pathname).toBe("/hooks/github/..%5C..%5Cadmin");
    expect(forwardedTo("100%").pathname, "a literal % is re-escaped").toBe("/hooks/github/100%25");
  });

  it("never leaves the destination's host or path, whatever the path", () => {
    const piece = fc.constantFrom(
      ".",
      "..",
      "/",
      "\\",
      "%",
      "2e",
      "2E",
      "2f",
      "5c",
      "\t",
      "\n",
      "?",
      "#",
      "a",
      "é",
      " ",
      "@",
      ":",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const path = pieces.join("");
        const url = forwardedTo(path);
        expect(url.origin, JSON.stringify(path)).toBe("https://dest.example");
        expect(url.pathname, JSON.stringify(path)).toMatch(/^\/hooks\/github(\/|$)/);
        expect(url.searchParams.get("team"), JSON.stringify(path)).toBe("ops");
        for (const segment of url.pathname.split("/")) {
          expect(segment.toLowerCase(), JSON.stringify(path)).not.toMatch(/^(\.|%2e){1,2}$/);
        }
      }),
      { numRuns: 500 },
    );
  });
});
