import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";

/** One scripted reply; `hang` never answers (the socket stays open until the receiver closes). */
export interface ReplySpec {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
  hang?: boolean;
}

export type Reply = number | ReplySpec;

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/hooks?x=1`. */
  url: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** The body's bytes as they arrived. */
  raw: Buffer;
  /** Wall-clock epoch ms when the request was complete. */
  receivedAt: number;
  /** Requests on the same TCP connection share this number (1, 2, … per receiver). */
  socketId: number;
  /** HTTPS receivers: the common name of the client certificate presented, or null. */
  clientCertCommonName: string | null;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>/` (https for an HTTPS receiver) */
  url: string;
  port: number;
  /** Every request so far, in arrival order. */
  requests: RecordedRequest[];
  /** The next request not yet taken by `nextRequest` (waits for it; default 5 s). */
  nextRequest(opts?: { timeoutMs?: number }): Promise<RecordedRequest>;
  /** Resolves with the first `n` requests once that many arrived (default wait 5 s). */
  waitForCount(n: number, opts?: { timeoutMs?: number }): Promise<RecordedRequest[]>;
  /** Replaces the script; replies are consumed in order, then the default reply is used. */
  setReplies(replies: Reply[]): void;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

export interface ReceiverOptions {
  replies?: Reply[];
  /** Used once `replies` are consumed; default 200. */
  defaultReply?: Reply;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Answers these requests itself (undefined: the script's next reply). */
  respond?: (req: RecordedRequest) => Reply | undefined;
  /**
   * An HTTPS receiver with this certificate; with `requestCert` it refuses a client that
   * presents no certificate issued by `ca`.
   */
  tls?: { cert: string; key: string; ca?: string; requestCert?: boolean };
}

const DEFAULT_WAIT_MS = 5_000;

interface Waiter {
  ready: () => boolean;
  settle: () => void;
  fail: (err: Error) => void;
}

/**
 * A real HTTP receiver on loopback port 0 (STYLE §3 "Receivers"): it records method, path,
 * headers and raw body of each request and answers from a script. Register `close` with
 * `onTestFinished` right after starting it.
 */
export async function startReceiver(opts: ReceiverOptions = {}): Promise<Receiver> {
  const host = opts.host ?? "127.0.0.1";
  const defaultReply = opts.defaultReply ?? 200;
  let script: Reply[] = [...(opts.replies ?? [])];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const socketIds = new WeakMap<Socket, number>();
  const timers = new Set<NodeJS.Timeout>();
  let waiters: Waiter[] = [];
  let taken = 0;
  let closed = false;

  const notify = (): void => {
    const still: Waiter[] = [];
    for (const waiter of waiters) {
      if (waiter.ready()) waiter.settle();
      else still.push(waiter);
    }
    waiters = still;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
      }
      const peer = opts.tls === undefined ? null : (req.socket as TLSSocket).getPeerCertificate();
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers,
        body: Buffer.concat(chunks).toString("utf8"),
        raw: Buffer.concat(chunks),
        receivedAt: Date.now(),
        socketId: socketIds.get(req.socket) ?? 0,
        clientCertCommonName: typeof peer?.subject?.CN === "string" ? peer.subject.CN : null,
      };
      requests.push(recorded);
      const next = opts.respond?.(recorded) ?? script.shift() ?? defaultReply;
      const reply: ReplySpec = typeof next === "number" ? { status: next } : next;
      notify();
      if (reply.hang === true) return;
      const answer = (): void => {
        if (res.destroyed) return;
        const body = reply.body ?? "";
        const headers: Record<string, string> = { ...reply.headers };
        const hasLength = Object.keys(headers).some(
          (name) => name.toLowerCase() === "content-length",
        );
        if (!hasLength) headers["content-length"] = String(Buffer.byteLength(body));
        res.writeHead(reply.status, headers);
        res.end(body);
      };
      if (reply.delayMs === undefined || reply.delayMs <= 0) {
        answer();
        return;
      }
      // eslint-disable-next-line no-restricted-globals -- scripted reply delay
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, reply.delayMs);
      timers.add(timer);
    });
  };
  const tls = opts.tls;
  const server =
    tls === undefined
      ? createServer(handle)
      : createHttpsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca !== undefined && { ca: tls.ca }),
            requestCert: tls.requestCert === true,
            rejectUnauthorized: tls.requestCert === true,
          },
          handle,
        );

  let nextSocketId = 1;
  server.on("connection", (socket: Socket) => {
    if (tls === undefined) socketIds.set(socket, nextSocketId++);
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // An HTTPS request's socket is the TLS socket, known once its handshake is done.
  server.on("secureConnection", (socket: TLSSocket) => socketIds.set(socket, nextSocketId++));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${tls === undefined ? "http" : "https"}://${host.includes(":") ? `[${host}]` : host}:${port}/`;

  const wait = <T>(
    what: string,
    timeoutMs: number,
    ready: () => boolean,
    value: () => T,
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (closed) {
        reject(new Error(`receiver ${url}: closed while waiting for ${what}`));
        return;
      }
      if (ready()) {
        resolve(value());
        return;
      }
      // eslint-disable-next-line no-restricted-globals -- bounded wait for a request, not a sleep
      const timer = setTimeout(() => {
        waiters = waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `receiver ${url}: no ${what} within ${timeoutMs} ms (${requests.length} request(s) received)`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        ready,
        settle: () => {
          clearTimeout(timer);
          resolve(value());
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      waiters.push(waiter);
    });

  return {
    url,
    port,
    requests,
    nextRequest({ timeoutMs = DEFAULT_WAIT_MS } = {}) {
      // Claim the index now so concurrent callers get successive requests.
      const index = taken++;
      return wait(
        `request #${index + 1}`,
        timeoutMs,
        () => requests.length > index,
        () => requests[index] as RecordedRequest,
      );
    },
    waitForCount(n, { timeoutMs = DEFAULT_WAIT_MS } = {}) {
      return wait(
        `${n} request(s)`,
        timeoutMs,
        () => requests.length >= n,
        () => requests.slice(0, n),
      );
    },
    setReplies(replies) {
      script = [...replies];
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const pending = waiters;
      waiters = [];
      for (const waiter of pending) waiter.fail(new Error(`receiver ${url}: closed`));
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
