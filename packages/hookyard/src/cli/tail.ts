import { ApiCallError, ApiClient } from "./api-client.js";
import type { CliIo } from "./cli-io.js";
import { serverSentEvents } from "./sse.js";

const BODY_PREVIEW_CHARS = 500;

interface StreamedRequest {
  id: string;
  status: string;
  reason: string | null;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
  bodyEncoding: "utf8" | "base64";
  sourceIp: string;
  receivedAt: string;
}

/**
 * `hookyard tail <source or bin>`: prints every request the source receives from now on, as it
 * arrives (the server's Server-Sent Events stream), until Ctrl-C. Exit 1 when the server refuses
 * (unknown source, wrong key, not reachable), with one line saying why.
 */
export async function runTail(req: {
  source: string;
  server: string;
  apiKey: string | undefined;
  io: CliIo;
}): Promise<number> {
  const { io } = req;
  const abort = new AbortController();
  let client: ApiClient;
  let response: Response;
  try {
    client = new ApiClient(req.server, req.apiKey);
    response = await client.send(
      "GET",
      `/ingest/api/v1/source/${encodeURIComponent(req.source)}/request/stream`,
      { accept: "text/event-stream", signal: abort.signal },
    );
  } catch (err) {
    if (!(err instanceof ApiCallError)) throw err;
    io.stderr.write(`hookyard tail: ${err.message}\n`);
    return 1;
  }
  if (response.body === null) return 1;
  io.stderr.write(`tailing ${req.source} on ${client.base} (Ctrl-C to stop)\n`);
  const reading = printEvents(response.body, io);
  const stopped = io.waitForShutdownSignal().then(() => abort.abort());
  await Promise.race([reading, stopped]);
  abort.abort();
  await reading.catch(() => undefined);
  return 0;
}

async function printEvents(body: ReadableStream<Uint8Array>, io: CliIo): Promise<void> {
  for await (const event of serverSentEvents(body)) {
    if (event.event !== "request") continue;
    io.stdout.write(describe(JSON.parse(event.data) as StreamedRequest));
  }
}

/** One line per request, then its body (UTF-8 text, shortened) indented below. */
function describe(r: StreamedRequest): string {
  const target = `/${r.path}${r.query === "" ? "" : `?${r.query}`}`;
  const size =
    r.bodyEncoding === "base64" ? Buffer.from(r.body, "base64").length : Buffer.byteLength(r.body);
  const verdict = r.status === "accepted" ? "" : ` ${r.status}${r.reason ? ` (${r.reason})` : ""}`;
  let text = printable(
    `${r.receivedAt} ${r.method} ${target} ${size} B from ${r.sourceIp} ${r.id}${verdict}`,
  );
  text += "\n";
  if (r.body !== "") {
    const preview =
      r.bodyEncoding === "utf8"
        ? r.body.length > BODY_PREVIEW_CHARS
          ? `${r.body.slice(0, BODY_PREVIEW_CHARS)}…`
          : r.body
        : `(${size} bytes, not UTF-8)`;
    text += `${printable(preview, { multiline: true }).replace(/^/gm, "  ")}\n`;
  }
  return text;
}

/**
 * C0 and C1 control characters and DEL (ESC among them: it starts every CSI and OSC sequence),
 * and the Unicode controls that reorder or hide text (zero-width marks, bidi overrides and
 * isolates, the BOM).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * `text` safe for a terminal: whoever sends a request to the URL chooses its bytes, and an
 * escape sequence printed as is can retitle the window, clear the screen, rewrite earlier lines
 * or, on some terminals, make it answer back as if typed. Each control is shown as an escape
 * (`\x1b`, `\u202e`) instead, which disarms the sequence it starts while the request stays
 * inspectable. A multi-line body keeps its line breaks and tabs (a CRLF is one break).
 */
export function printable(text: string, opts: { multiline?: boolean } = {}): string {
  const multiline = opts.multiline === true;
  return (multiline ? text.replace(/\r\n/g, "\n") : text).replace(CONTROL, (char) => {
    if (multiline && (char === "\n" || char === "\t")) return char;
    const code = char.codePointAt(0)!;
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
