import { ApiCallError, ApiClient } from "./api-client.js";
import type { CliIo } from "./cli-io.js";
import { printable } from "./printable.js";
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
