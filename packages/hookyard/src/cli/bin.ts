import { ApiCallError, ApiClient } from "./api-client.js";
import type { CliIo } from "./cli-io.js";

interface SourceOut {
  id: string;
  uid: string | null;
  name: string;
  type: string;
  ingestUrl: string;
  config: Record<string, unknown>;
  createdAt: string;
}

/** What `hookyard bin create` may set of the bin's answer (each optional). */
export interface BinAnswer {
  status?: string | undefined;
  body?: string | undefined;
  contentType?: string | undefined;
  delay?: string | undefined;
}

/**
 * `hookyard bin create [<uid>]` makes a request bin (a source of type request-bin) and prints
 * its URL alone on stdout, so `URL=$(hookyard bin create)` works; `hookyard bin list` prints
 * the bins. The server validates the answer's settings and names the bad one.
 */
export async function runBin(req: {
  action: string | undefined;
  uid: string | undefined;
  answer: BinAnswer;
  server: string;
  apiKey: string | undefined;
  io: CliIo;
}): Promise<number> {
  const { io } = req;
  try {
    const client = new ApiClient(req.server, req.apiKey);
    if (req.action === "create") {
      const config = answerConfig(req.answer);
      const bin = await client.json<SourceOut>("POST", "/ingest/api/v1/source", {
        name: req.uid ?? "request bin",
        ...(req.uid !== undefined && { uid: req.uid }),
        type: "request-bin",
        config,
      });
      io.stdout.write(`${bin.ingestUrl}\n`);
      io.stderr.write(
        `bin ${bin.uid ?? bin.id} created; watch it with: hookyard tail ${bin.uid ?? bin.id}\n`,
      );
      return 0;
    }
    // list
    let iterator: string | null = null;
    do {
      const query: string = iterator === null ? "" : `&iterator=${encodeURIComponent(iterator)}`;
      const page: { data: SourceOut[]; iterator: string | null; done: boolean } = await client.json(
        "GET",
        `/ingest/api/v1/source?limit=250${query}`,
      );
      for (const source of page.data) {
        if (source.type !== "request-bin") continue;
        io.stdout.write(`${source.uid ?? source.id}\t${source.ingestUrl}\t${source.createdAt}\n`);
      }
      iterator = page.done ? null : page.iterator;
    } while (iterator !== null);
    return 0;
  } catch (err) {
    if (!(err instanceof ApiCallError)) throw err;
    io.stderr.write(`hookyard bin: ${err.message}\n`);
    return 1;
  }
}

function answerConfig(answer: BinAnswer): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  // Numbers go as numbers when they read as one; anything else goes as typed, for the server
  // to refuse with the name of the setting.
  const number = (text: string) => (/^\d+$/.test(text) ? Number(text) : text);
  if (answer.status !== undefined) config["responseStatus"] = number(answer.status);
  if (answer.body !== undefined) config["responseBody"] = answer.body;
  if (answer.contentType !== undefined) config["responseContentType"] = answer.contentType;
  if (answer.delay !== undefined) config["responseDelayMs"] = number(answer.delay);
  return config;
}
