import { Transform, type Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  BadRequestError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  type HookyardError,
} from "../../errors.js";
import type { Receiver } from "../../inbound/receiver.js";
import type { PeerCertificates } from "../client-certificate-auth.js";
import { publicBaseUrl } from "../public-url.js";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/** Ingest tokens are base64url (sources.ts); anything else names no source, unlooked-up. */
const TOKEN = /^[\w-]{1,256}$/;

/** Bodies in flight drain within seconds: a sender refused for the budget may try again soon. */
const BUDGET_RETRY_AFTER_SECONDS = 5;

interface IngestParams {
  token: string;
  "*"?: string;
}

/**
 * The ingest URLs third parties call: `/in/<token>` (and `/in/<token>/<anything>`), any method,
 * any content type. No API key: the token in the URL and the source's signature check stand for
 * it. The body is kept as bytes (no parsing before verification: signatures cover the exact
 * bytes); a GET's payload is its query string.
 *
 * Nothing of the body is read before the token is known (issue 18): an unknown token is a 404,
 * a path suffix that could leave a destination's path a 400, a declared length over the source's
 * `maxBodyBytes` a 413, all at once; while the body streams in, passing the source's limit is a
 * 413 at that byte. `maxBytesInFlight` caps the body bytes all ingest requests hold at once: a
 * request that would pass it is a 503 with `Retry-After`. Every answer carries
 * `X-Content-Type-Options: nosniff` (a bin may answer with its own content type and body).
 */
export function registerIngestRoutes(
  app: FastifyInstance,
  deps: {
    receiver: Pick<Receiver, "bodyLimitOf" | "receive">;
    publicUrl: string | null;
    maxBodyBytes: number;
    /** Body bytes all ingest requests may hold at once (absent: no cap). */
    maxBytesInFlight?: number;
    /** The client certificates of connections (a source's clientCa judges them). */
    peers: Pick<PeerCertificates, "of">;
  },
): void {
  const budget = new BodyBudget(deps.maxBytesInFlight ?? Infinity);
  const admitted = new WeakMap<FastifyRequest, { limit: number; hold: BudgetHold }>();

  // Only in this plugin's scope: the API's JSON parser stays as it is elsewhere.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
    done(null, body);
  });

  app.addHook<{ Params: IngestParams }>("onRequest", async (request, reply) => {
    // Before any await: a sender that hangs up while its token is looked up still releases.
    const hold = budget.hold();
    reply.raw.once("close", () => hold.release());
    const token = request.params.token;
    const sourceLimit = TOKEN.test(token) ? await deps.receiver.bodyLimitOf(token) : null;
    if (sourceLimit === null) {
      throw refusal(reply, new NotFoundError("No source has this ingest URL"));
    }
    const problem = pathSuffixProblem(request.url);
    if (problem !== null) {
      throw refusal(
        reply,
        new BadRequestError(`The path after the ingest token ${problem}; it cannot be forwarded`),
      );
    }
    const limit = Math.min(sourceLimit, deps.maxBodyBytes);
    const declared = Number(request.headers["content-length"] ?? 0);
    if (declared > limit) throw refusal(reply, tooLarge(declared, limit));
    if (!hold.cover(Number.isSafeInteger(declared) ? declared : 0)) {
      throw refusal(reply, busy(reply));
    }
    admitted.set(request, { limit, hold });
  });

  app.addHook("preParsing", (request, reply, payload, done) => {
    const admission = admitted.get(request);
    // A declared length is within the limit and held in full already, and the body parser
    // refuses a body that does not match it: only a body of unknown length is counted.
    const counted =
      admission === undefined || request.headers["content-length"] !== undefined
        ? payload
        : meteredBody(payload, reply, admission);
    done(null, counted);
  });

  app.addHook("onSend", (_request, reply, payload, done) => {
    // Last, so that no source's own response headers can take it off.
    void reply.header("x-content-type-options", "nosniff");
    done(null, payload);
  });

  const handler = async (request: FastifyRequest<{ Params: IngestParams }>) => {
    const queryAt = request.url.indexOf("?");
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const span = request.traceSpan;
    const outcome = await deps.receiver.receive(request.params.token, {
      method: request.method,
      url: publicBaseUrl(request, deps.publicUrl) + request.url,
      path: request.params["*"] ?? "",
      query: queryAt < 0 ? "" : request.url.slice(queryAt + 1),
      headers,
      body,
      sourceIp: request.ip,
      ...(span != null && { traceparent: span.traceparent }),
      clientCertificates: deps.peers.of(request.raw.socket),
    });
    if (span != null && outcome.request !== null) {
      span.setAttributes({
        "hookyard.source.id": outcome.request.sourceId,
        "hookyard.inbound_request.id": outcome.request.id,
        "hookyard.inbound_request.status": outcome.request.status,
      });
    }
    return outcome;
  };

  for (const url of ["/in/:token", "/in/:token/*"]) {
    app.route<{ Params: IngestParams }>({
      method: [...METHODS],
      url,
      bodyLimit: deps.maxBodyBytes,
      schema: { hide: true },
      handler: async (request, reply) => {
        const outcome = await handler(request);
        if (outcome.delayMs !== undefined && outcome.delayMs > 0) await sleep(outcome.delayMs);
        if (outcome.headers !== undefined) void reply.headers(outcome.headers);
        if (outcome.contentType !== undefined) void reply.type(outcome.contentType);
        return reply.code(outcome.status).send(outcome.body);
      },
    });
  }
}

/**
 * Why the raw path after `/in/<token>` could leave a destination's path once forwarded, or null.
 * Checked on the URL as sent: the router has already decoded `%2e%2e` to `..` and `%2F` to `/`.
 */
function pathSuffixProblem(url: string): string | null {
  const queryAt = url.indexOf("?");
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const tokenAt = path.indexOf("/in/") + "/in/".length;
  const suffixAt = path.indexOf("/", tokenAt);
  if (suffixAt < 0) return null;
  for (const segment of path.slice(suffixAt + 1).split("/")) {
    if (/%2f|%5c|\\/i.test(segment)) return "contains an encoded / (%2F) or a \\ (%5C)";
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return "is not valid percent-encoding";
    }
    // URL parsers drop tabs and newlines: `.%09.` would be read as `..`.
    const dots = decoded.replace(/[\t\n\r]/g, "");
    if (dots === "." || dots === "..") return "contains a dot segment (. or ..)";
  }
  return null;
}

/**
 * The error to throw from a hook that answers before the body is read: the connection closes
 * after the answer, so a sender still uploading cannot keep it (and its bytes) busy.
 */
function refusal(reply: FastifyReply, error: HookyardError): HookyardError {
  const { headers } = reply.request;
  if (headers["transfer-encoding"] !== undefined || Number(headers["content-length"] ?? 0) > 0) {
    void reply.header("connection", "close");
  }
  return error;
}

function tooLarge(bytes: number, limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `Request body is ${bytes} bytes or more; this source accepts at most ${limit}`,
  );
}

function busy(reply: FastifyReply): ServiceUnavailableError {
  void reply.header("retry-after", String(BUDGET_RETRY_AFTER_SECONDS));
  return new ServiceUnavailableError(
    "Too many request bodies are being received at once; retry later",
  );
}

/**
 * The body as the content-type parser reads it, counted on the way: past `limit` bytes it fails
 * with 413, and each byte past what the request holds of the budget (a body without a declared
 * length holds nothing up front) must be taken from it, else 503.
 */
function meteredBody(
  payload: Readable,
  reply: FastifyReply,
  admission: { limit: number; hold: BudgetHold },
): Transform {
  let read = 0;
  const metered = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      read += chunk.length;
      if (read > admission.limit) {
        callback(refusal(reply, tooLarge(read, admission.limit)));
      } else if (!admission.hold.cover(read)) {
        callback(refusal(reply, busy(reply)));
      } else {
        callback(null, chunk);
      }
    },
  });
  // Not `pipeline`: on a refusal it would destroy the request, and with it the socket the
  // answer goes out on. The parser still hears of a sender that hangs up.
  payload.once("error", (err) => metered.destroy(err));
  payload.pipe(metered);
  return metered;
}

/** The process-wide count of ingest body bytes being held; each request takes from it. */
class BodyBudget {
  readonly #max: number;
  #used = 0;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /** A request's share, empty at first; released once, when its response closes. */
  hold(): BudgetHold {
    let held = 0;
    let released = false;
    return {
      cover: (bytes) => {
        if (released) return false;
        if (bytes <= held) return true;
        if (this.#used + bytes - held > this.#max) return false;
        this.#used += bytes - held;
        held = bytes;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#used -= held;
        held = 0;
      },
    };
  }
}

interface BudgetHold {
  /** Makes the share at least `bytes`; false (nothing taken) when the budget cannot. */
  cover(bytes: number): boolean;
  release(): void;
}
