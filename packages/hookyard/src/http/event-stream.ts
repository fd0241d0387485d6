import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { FastifyRequest } from "fastify";
import { TooManyRequestsError } from "../errors.js";
import { bearerTokenOf } from "./auth.js";

/** Open streams an API key may hold: more than a team's `tail`s and `listen`s, not thousands. */
export const MAX_STREAMS_PER_KEY = 32;
/** Events a stream holds for a client that does not read, beyond what its socket buffers. */
export const MAX_STREAM_BACKLOG_BYTES = 1024 * 1024;
export const KEEP_ALIVE_MS = 15_000;

/** The key a request authenticated with (the auth hook has checked it), as a map key. */
function apiKeyOf(request: FastifyRequest): string {
  // The token, not the header: `bearer  k` and `Bearer k` are one key with one budget. A digest,
  // so the key itself is not kept as a map key for as long as a stream is open.
  return createHash("sha256")
    .update(bearerTokenOf(request.headers.authorization) ?? "")
    .digest("base64");
}

/**
 * One Server-Sent Events response that respects backpressure: once `write` says the socket is
 * full, events wait here (not in Node's socket buffer, which would grow without bound) until it
 * drains. A client that lets more than MAX_STREAM_BACKLOG_BYTES wait, or that drains nothing
 * between two keep-alive ticks, is disconnected: memory per stream stays bounded.
 */
export class EventStream {
  readonly #res: ServerResponse;
  readonly #backlog: string[] = [];
  #backlogBytes = 0;
  #blocked = false;
  /** Blocked at the last tick too: the client has drained nothing for a whole interval. */
  #blockedAtTick = false;
  #closed = false;

  constructor(res: ServerResponse) {
    this.#res = res;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.on("drain", () => this.#drain());
    res.once("close", () => {
      this.#closed = true;
      this.#backlog.length = 0;
    });
  }

  /** Sends `text` (now, or after the backlog); false when the stream is (now) closed. */
  send(text: string): boolean {
    if (this.#closed) return false;
    if (!this.#blocked) {
      this.#blocked = !this.#res.write(text);
      return true;
    }
    this.#backlogBytes += Buffer.byteLength(text);
    if (this.#backlogBytes > MAX_STREAM_BACKLOG_BYTES) {
      this.#close();
      return false;
    }
    this.#backlog.push(text);
    return true;
  }

  /** The keep-alive: a comment, unless the client is not reading (then, twice: close). */
  tick(): boolean {
    if (this.#closed) return false;
    if (!this.#blocked) return this.send(": keep-alive\n\n");
    if (this.#blockedAtTick) {
      this.#close();
      return false;
    }
    this.#blockedAtTick = true;
    return true;
  }

  /** Resolves once the client has taken what was written (at once unless it is behind). */
  writable(): Promise<void> {
    if (!this.#blocked || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#res.off("drain", done);
        this.#res.off("close", done);
        resolve();
      };
      this.#res.on("drain", done);
      this.#res.once("close", done);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  #drain(): void {
    this.#blocked = false;
    this.#blockedAtTick = false;
    while (!this.#blocked && this.#backlog.length > 0) {
      const text = this.#backlog.shift()!;
      this.#backlogBytes -= Buffer.byteLength(text);
      this.#blocked = !this.#res.write(text);
    }
  }

  #close(): void {
    this.#closed = true;
    this.#backlog.length = 0;
    // destroy, not end: end would wait for the socket's buffer to drain, which is the problem.
    this.#res.destroy();
  }
}

/**
 * The streams each API key holds open (request streams and listeners alike): one more than
 * MAX_STREAMS_PER_KEY is refused, so a leaked key cannot pin the server's sockets.
 */
export class StreamSlots {
  readonly #open = new Map<string, number>();
  readonly #responses = new Set<ServerResponse>();

  /** Ends every open stream: a server that stops does not wait for its clients to leave. */
  endAll(): void {
    // A client that is behind would make end() wait for it: that one is cut.
    for (const res of this.#responses) {
      if (res.writableNeedDrain) res.destroy();
      else res.end();
    }
  }

  /**
   * Takes a slot for the request's key, released when `res` closes.
   * @throws TooManyRequestsError when the key holds every slot.
   */
  take(request: FastifyRequest, res: ServerResponse, what: string): void {
    const key = apiKeyOf(request);
    const open = this.#open.get(key) ?? 0;
    if (open >= MAX_STREAMS_PER_KEY) {
      request.log.info({ open }, "stream refused: too many open");
      throw new TooManyRequestsError(
        `This API key already has ${open} streams open, the most allowed; close one (${what}) and try again`,
        15,
      );
    }
    this.#open.set(key, open + 1);
    this.#responses.add(res);
    res.once("close", () => {
      this.#responses.delete(res);
      const left = (this.#open.get(key) ?? 1) - 1;
      if (left > 0) this.#open.set(key, left);
      else this.#open.delete(key);
    });
  }
}
