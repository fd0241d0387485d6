import { request as httpRequest, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ListenedRequest } from "../debug/listener-feeds.js";

/** Headers about one hop's connection, not the request: the local request makes its own. */
const HOP_HEADERS = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "content-length",
  "expect",
]);
/** A local app that takes longer than this is treated as down (the request is retried). */
export const FORWARD_TIMEOUT_MS = 30_000;

export interface ForwardResult {
  /** The local app's status, or null when it gave none (see `error`). */
  status: number | null;
  error: string | null;
  durationMs: number;
}

/** The local URL: --forward-to, then the request's own path and query. */
export function forwardUrl(forwardTo: URL, request: { path: string; query: string }): URL {
  const url = new URL(forwardTo.href);
  if (request.path !== "") {
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/${request.path}`;
  }
  if (request.query !== "") {
    url.search = url.search === "" ? `?${request.query}` : `${url.search}&${request.query}`;
  }
  return url;
}

/** Sends one request to the local app with node:http, so nothing rewrites its headers. */
export function forward(
  forwardTo: URL,
  request: ListenedRequest,
  signal: AbortSignal,
): Promise<ForwardResult> {
  const url = forwardUrl(forwardTo, request);
  const body = Buffer.from(request.body, request.bodyEncoding === "base64" ? "base64" : "utf8");
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!HOP_HEADERS.has(name)) headers[name] = value;
  }
  if (body.length > 0 || !["GET", "HEAD", "DELETE", "OPTIONS"].includes(request.method)) {
    headers["content-length"] = String(body.length);
  }
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const outgoing = send(url, { method: request.method, headers, signal }, (res) => {
      res.resume();
      res.once("end", () =>
        resolve({ status: res.statusCode ?? 0, error: null, durationMs: elapsed() }),
      );
      res.once("error", (err) =>
        resolve({ status: null, error: describe(err), durationMs: elapsed() }),
      );
    });
    outgoing.setTimeout(FORWARD_TIMEOUT_MS, () => {
      outgoing.destroy(new Error(`no answer within ${FORWARD_TIMEOUT_MS / 1000} s`));
    });
    outgoing.once("error", (err) =>
      resolve({ status: null, error: describe(err), durationMs: elapsed() }),
    );
    outgoing.end(body);
  });
}

function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (code === "ECONNREFUSED") return "connection refused (is the local app running?)";
  if (code === "ECONNRESET") return "connection reset by the local app";
  if (code === "ENOTFOUND") return "the local host name does not resolve";
  return err.message;
}
