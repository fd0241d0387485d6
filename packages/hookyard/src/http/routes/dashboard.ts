import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";

/**
 * The web dashboard: `GET /` is its page, `/ui/<hash>/…` its files. The page is a client of the
 * API like any other (the admin key, kept in the browser tab, as a bearer token), so this module
 * serves files only and knows no data. The files are the package's own (`dist/ui`, compiled from
 * `ui/src` by the build, and `ui/static`): no CDN. Their URLs carry a digest of all of them, so
 * they are cached for a year and a new version is a new URL; the page itself is never cached.
 */

/** Where the page may load from and talk to: only this server. */
const PAGE_SOURCES = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
];

/** The dashboard may not be framed; the portal by the sites the operator names. */
function policy(frameAncestors: readonly string[]): string {
  const ancestors = frameAncestors.length === 0 ? "'none'" : frameAncestors.join(" ");
  return [...PAGE_SOURCES, `frame-ancestors ${ancestors}`].join("; ");
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

interface Asset {
  body: Buffer;
  type: string;
}

/** The package's root: three levels above this module, in src/ as in dist/. */
function packageRoot(): string {
  return fileURLToPath(new URL("../../../", import.meta.url));
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every file the page may load, by its path below `/ui/<hash>/`. */
export function loadAssets(root = packageRoot()): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const dir of [join(root, "dist", "ui"), join(root, "ui", "static")]) {
    for (const path of filesUnder(dir)) {
      const type = TYPES[extname(path)];
      if (type === undefined) continue; // source maps, build info
      assets.set(relative(dir, path).split(sep).join("/"), { body: readFileSync(path), type });
    }
  }
  return assets;
}

function digest(assets: Map<string, Asset>): string {
  const hash = createHash("sha256");
  for (const [path, asset] of [...assets].sort(([a], [b]) => (a < b ? -1 : 1))) {
    hash.update(path).update("\0").update(asset.body).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

function page(version: string): string {
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    "<title>Hookyard</title>",
    `<link rel="icon" href="/ui/${version}/favicon.svg" type="image/svg+xml">`,
    `<link rel="stylesheet" href="/ui/${version}/app.css">`,
    `<script type="module" src="/ui/${version}/app.js"></script>`,
    "</head>",
    "<body>",
    '<div id="app"></div>',
    "<noscript>The Hookyard dashboard needs JavaScript; the API works without it (/docs).</noscript>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

export function registerDashboardRoutes(
  app: FastifyInstance,
  opts: { portalFrameAncestors: readonly string[] },
  assets: Map<string, Asset> = loadAssets(),
): void {
  const version = digest(assets);
  const built = assets.has("app.js");
  const html = page(version);
  const dashboardPolicy = policy([]);
  const portalPolicy = policy(opts.portalFrameAncestors);

  const secure = (reply: FastifyReply) =>
    reply
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer")
      .header("cross-origin-opener-policy", "same-origin-allow-popups");

  // The portal is the same page: it opens in portal mode when the token is in its URL.
  for (const [path, csp] of [
    ["/", dashboardPolicy],
    ["/portal", portalPolicy],
  ] as const) {
    app.get(path, { schema: { hide: true } }, (_request, reply) => {
      secure(reply).header("cache-control", "no-cache").header("content-security-policy", csp);
      // Browsers that predate frame-ancestors: the dashboard is never framed.
      if (path === "/") reply.header("x-frame-options", "DENY");
      if (!built) {
        return reply
          .code(503)
          .type("text/plain; charset=utf-8")
          .send("The dashboard is not built: run `npm run build` (the API works: /docs).\n");
      }
      return reply.type("text/html; charset=utf-8").send(html);
    });
  }

  app.get<{ Params: { hash: string; "*": string } }>(
    "/ui/:hash/*",
    { schema: { hide: true } },
    (request, reply) => {
      const asset = assets.get(request.params["*"]);
      secure(reply);
      if (asset === undefined || request.params.hash !== version) {
        return reply.code(404).type("text/plain; charset=utf-8").send("Not found\n");
      }
      return reply
        .header("cache-control", "public, max-age=31536000, immutable")
        .type(asset.type)
        .send(asset.body);
    },
  );
}
