import { once } from "node:events";
import { createServer, Socket, type Server } from "node:net";
import { onTestFinished } from "vitest";
import { TEST_PG_URL } from "./temp-postgres.js";

/**
 * A TCP proxy in front of PostgreSQL that the test can cut (every connection reset, new ones
 * refused) and restore: the database "goes away" for this store only.
 */
export async function cuttableProxy(): Promise<{
  url: string;
  /** `base` (default the test database's URL) pointed at the proxy. */
  urlOf(base?: string): string;
  cut(): Promise<void>;
  restore(): Promise<void>;
}> {
  const target = new URL(TEST_PG_URL);
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (typeof address === "object" && address !== null) port = address.port;
  };
  await listen();
  const close = async () => {
    for (const s of sockets) s.destroy();
    const s = server;
    server = null;
    if (s !== null) await new Promise((resolve) => s.close(resolve));
  };
  onTestFinished(close);
  /** `base` (default the test database's URL) pointed at the proxy. */
  const urlOf = (base: string = TEST_PG_URL): string => {
    const url = new URL(base);
    url.hostname = "127.0.0.1";
    url.port = String(port);
    return url.toString();
  };
  return { url: urlOf(), urlOf, cut: close, restore: listen };
}
