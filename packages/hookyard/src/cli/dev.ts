import pinoPretty from "pino-pretty";
import { createLogger } from "../observability/logger.js";
import { ApiCallError, ApiClient } from "./api-client.js";
import { startExampleReceiver, type ExampleReceiver } from "./example-receiver.js";
import { renderServeHelp } from "./help.js";
import { runServer, type ServeRequest } from "./serve.js";

/**
 * The fixed admin key of `hookyard dev`: printed, in the README, and useless off this machine —
 * the dev server listens on loopback only.
 */
export const DEV_API_KEY = "hookyard_dev_key_local_only_not_a_secret";
const DEV_APP = "dev";
const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1"];
const DEV_ENDPOINT = "example-receiver";
const DEV_EVENT_TYPE = "dev.ping";

/** `hookyard dev`'s defaults (a hookyard.yaml, HOOKYARD_* variables and flags still win). */
export const DEV_DEFAULTS: Readonly<Record<string, unknown>> = {
  "server.host": "127.0.0.1",
  "database.url": "sqlite:./.hookyard/dev.db",
  "auth.apiKey": DEV_API_KEY,
  // Loopback is what a developer's own app listens on; `serve` keeps the guard closed.
  "delivery.egressAllow": ["127.0.0.0/8", "::1/128"],
};

export interface DevRequest extends ServeRequest {
  /** `--forward-to`: the demo endpoint delivers to this URL instead of the example receiver. */
  forwardTo: string | undefined;
}

export function renderDevHelp(): string {
  return [
    "Usage: hookyard dev [--forward-to <url>] [server options]",
    "",
    "Starts Hookyard for local development, in one command:",
    `  - a SQLite database in ./.hookyard/dev.db (separate from serve's ./.hookyard/hookyard.db)`,
    `  - the fixed admin API key ${DEV_API_KEY}, listening on 127.0.0.1 only`,
    "  - deliveries to loopback (127.0.0.0/8, ::1) allowed, so endpoints can be your localhost app;",
    "    `hookyard serve` refuses them (the egress guard)",
    "  - readable, coloured logs when stdout is a terminal (JSON lines otherwise, as serve)",
    `  - an application "${DEV_APP}" with an endpoint "${DEV_ENDPOINT}" that delivers to a built-in`,
    "    example receiver, which verifies each webhook's signature and prints it; a first",
    `    "${DEV_EVENT_TYPE}" message is sent at start, so you see one delivered and verified`,
    "",
    "It then prints the URLs and a curl command that publishes another message.",
    "",
    "Options:",
    "  --forward-to <url>   Deliver the demo endpoint to your own app instead (e.g.",
    "                       http://localhost:3000/webhooks); its signing secret is printed.",
    "  Every option of `hookyard serve` (see below); --host 0.0.0.0 would expose the fixed key.",
    "",
    "Exit codes: 0 after Ctrl-C, 1 when the server cannot start.",
    "",
    renderServeHelp()
      .split("\n")
      .filter((line) => !line.startsWith("Usage:"))
      .join("\n"),
  ].join("\n");
}

/**
 * `hookyard dev`: `serve` with development defaults, then the demo application, its endpoint
 * and the example receiver, a first message, and what to do next.
 */
export async function runDev(req: DevRequest): Promise<number> {
  const { io } = req;
  if (req.forwardTo !== undefined && !/^https?:\/\/./.test(req.forwardTo)) {
    io.stderr.write(`hookyard dev: --forward-to must be an http(s) URL, not "${req.forwardTo}"\n`);
    return 2;
  }
  const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
  // A hookyard.yaml beside it is most likely serve's (host 0.0.0.0, its database): dev reads a
  // file only when named with --config or HOOKYARD_CONFIG.
  const configFile = req.configFile ?? (io.env["HOOKYARD_CONFIG"] === undefined ? null : undefined);
  return runServer(
    { ...req, configFile },
    {
      defaults: DEV_DEFAULTS,
      refuse: (config) =>
        config.auth.apiKey === DEV_API_KEY && !LOOPBACK_HOSTS.includes(config.server.host)
          ? `hookyard dev listens on loopback only with its published key; to listen on ${config.server.host}, set your own HOOKYARD_API_KEY (at least 32 characters)`
          : null,
      startOptions: { allowedHostnames: ["localhost", "127.0.0.1", "[::1]"] },
      logger: (config) =>
        createLogger({
          level: config.log.level,
          ...(tty && {
            destination: pinoPretty({
              colorize: true,
              sync: true,
              translateTime: "SYS:HH:MM:ss.l",
              ignore: "pid,hostname,service",
              singleLine: true,
              destination: 1,
            }),
          }),
        }),
      started: async (running, config, logger) => {
        const loopbackAllowed = config.delivery.egressAllow.some((cidr) => cidr.startsWith("127."));
        logger.warn(
          { egressAllow: config.delivery.egressAllow },
          loopbackAllowed
            ? "dev mode: deliveries to loopback are allowed (hookyard serve refuses them)"
            : "dev mode: loopback is not in delivery.egressAllow, the demo endpoint cannot be reached",
        );
        const apiKey = config.auth.apiKey ?? DEV_API_KEY;
        const client = new ApiClient(running.url, apiKey);
        let secrets: string[] = [];
        let receiver: ExampleReceiver | null = null;
        if (req.forwardTo === undefined) {
          receiver = await startExampleReceiver({
            secrets: () => secrets,
            print: (line) => io.stderr.write(`${line}\n`),
            // eslint-disable-next-line no-restricted-syntax -- a receiver checks timestamps against its own wall clock
            nowSeconds: () => Math.floor(Date.now() / 1000),
          });
        }
        const target = receiver?.url ?? req.forwardTo!;
        try {
          const secret = await seedDemo(client, target);
          secrets = [secret];
          io.stderr.write(
            banner({
              url: running.url,
              apiKey,
              database: config.database.url,
              target,
              secret,
              own: receiver === null,
            }),
          );
          await client.json("POST", `/api/v1/app/${DEV_APP}/msg`, {
            eventType: DEV_EVENT_TYPE,
            payload: {
              type: DEV_EVENT_TYPE,
              message: "Hello from hookyard dev: this webhook was signed, delivered and verified.",
            },
          });
        } catch (err) {
          await receiver?.close();
          if (err instanceof ApiCallError)
            throw new Error(`setting up the demo endpoint: ${err.message}`);
          throw err;
        }
        return () => receiver?.close();
      },
    },
  );
}

/**
 * The demo application and its endpoint, made or brought up to date (the receiver's port changes
 * between runs), with the event type documented; returns the endpoint's signing secret.
 */
async function seedDemo(client: ApiClient, url: string): Promise<string> {
  await client.json("POST", "/api/v1/app?get_if_exists=true", { name: "Dev", uid: DEV_APP });
  await client.json("GET", `/api/v1/event-type/${DEV_EVENT_TYPE}`).catch(async (err: unknown) => {
    if (!(err instanceof ApiCallError && err.status === 404)) throw err;
    await client.json("POST", "/api/v1/event-type", {
      name: DEV_EVENT_TYPE,
      description: "A test message sent by hookyard dev.",
    });
  });
  const endpoint = `/api/v1/app/${DEV_APP}/endpoint/${DEV_ENDPOINT}`;
  try {
    await client.json("PATCH", endpoint, { url, disabled: false });
  } catch (err) {
    if (!(err instanceof ApiCallError && err.status === 404)) throw err;
    await client.json("POST", `/api/v1/app/${DEV_APP}/endpoint`, {
      uid: DEV_ENDPOINT,
      url,
      description: "hookyard dev's demo endpoint",
    });
  }
  const { key } = await client.json<{ key: string }>("GET", `${endpoint}/secret`);
  return key;
}

function banner(d: {
  url: string;
  apiKey: string;
  database: string;
  target: string;
  secret: string;
  own: boolean;
}): string {
  const key = `-H 'Authorization: Bearer ${d.apiKey}'`;
  const json = "-H 'Content-Type: application/json'";
  return [
    "",
    "Hookyard dev server — for local development only",
    "",
    `  API            ${d.url}/api/v1   (reference: ${d.url}/docs)`,
    `  API key        ${d.apiKey}   (fixed, dev only)`,
    `  Database       ${d.database.replace(/^sqlite:/, "")}`,
    `  Egress         loopback allowed (dev only; hookyard serve refuses it)`,
    `  Demo endpoint  app "${DEV_APP}", endpoint "${DEV_ENDPOINT}" → ${d.target}`,
    ...(d.own
      ? [`  Its secret     ${d.secret}   (verify with any Standard Webhooks library)`]
      : []),
    "",
    "Publish a message (it is delivered, signed, to the demo endpoint):",
    `  curl -X POST ${d.url}/api/v1/app/${DEV_APP}/msg ${key} ${json} -d '{"eventType":"${DEV_EVENT_TYPE}","payload":{"type":"${DEV_EVENT_TYPE}","hello":"world"}}'`,
    "",
    "Next:",
    `  export HOOKYARD_API_KEY=${d.apiKey} HOOKYARD_SERVER_URL=${d.url}`,
    `  npx hookyard dev --forward-to http://localhost:3000/webhooks   # deliver to your own app`,
    "  npx hookyard bin create my-bin                                 # a URL that captures anything",
    "  npx hookyard listen --source my-bin --forward-to http://localhost:3000/webhooks",
    "  npx hookyard trigger github.push --source my-bin               # a signed test event",
    "",
  ].join("\n");
}
