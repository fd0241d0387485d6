import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifySignature } from "../signing/standard-webhooks.js";
import { printable } from "./printable.js";

/** Larger bodies are answered 413: the example prints messages, it does not store files. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface ExampleReceiver {
  /** `http://127.0.0.1:<port>/webhooks` */
  url: string;
  close(): Promise<void>;
}

/**
 * The receiver `hookyard dev` delivers its demo endpoint to: what a customer's webhook handler
 * does, in thirty lines — read the body, verify the Standard Webhooks signature with the
 * endpoint's secret, answer 204 (401 when the signature does not match), and print one line.
 */
export async function startExampleReceiver(opts: {
  /** The endpoint's current signing secrets (rotation keeps the old one valid for a while). */
  secrets: () => readonly string[];
  print: (line: string) => void;
  nowSeconds: () => number;
}): Promise<ExampleReceiver> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        return;
      }
      const body = Buffer.concat(chunks);
      const header = (name: string) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const msgId = header("webhook-id") ?? header("svix-id");
      const timestamp = header("webhook-timestamp") ?? header("svix-timestamp");
      const signature = header("webhook-signature") ?? header("svix-signature");
      const verified =
        msgId !== undefined &&
        timestamp !== undefined &&
        signature !== undefined &&
        verifySignature({
          secrets: opts.secrets(),
          msgId,
          timestampSeconds: Number(timestamp),
          body,
          signatureHeader: signature,
          nowSeconds: opts.nowSeconds(),
        });
      let eventType = "?";
      try {
        const parsed = JSON.parse(body.toString("utf8")) as { type?: unknown };
        if (typeof parsed.type === "string") eventType = parsed.type;
      } catch {
        // Not JSON: printed as a size only.
      }
      const what = `${req.method ?? "?"} ${req.url ?? "/"} ${eventType} ${msgId ?? "(no webhook-id)"}`;
      opts.print(
        verified
          ? `example receiver: ${printable(what)} ✔ signature verified (${body.length} bytes)`
          : `example receiver: ${printable(what)} ✘ signature does not verify (answered 401)`,
      );
      res.writeHead(verified ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
