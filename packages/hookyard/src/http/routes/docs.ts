import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";

/** The security scheme name every authenticated operation refers to. */
const BEARER_SCHEME = "HTTPBearer";

const API_DESCRIPTION = [
  "Hookyard's Send API, wire-compatible with the Svix API for applications, event types,",
  "endpoints, messages and attempts: point an official Svix SDK at this server.",
  "",
  "Authenticate with `Authorization: Bearer <api key>`. POST requests accept an",
  "`Idempotency-Key` header: a repeat with the same key on the same path returns the first",
  "answer without repeating the operation.",
  "",
  "Hookyard extensions: `accept302`, `payloadFilter`, `auth` (bearer, basic, OAuth 2.0 client",
  "credentials) and `tls` (client certificate, CA bundle) on endpoints; `errorClass`,",
  "`errorMessage` and `responseHeaders` on attempts.",
].join("\n");

/**
 * Registers @fastify/swagger (OpenAPI 3, built from the route schemas), the document at
 * `{apiPrefix}/openapi.json` and the Swagger UI at `/docs` (assets served from the package, no
 * CDN). Must be registered before the routes it documents. No authentication.
 */
export async function registerDocsRoutes(
  app: FastifyInstance,
  opts: { version: string; apiPrefix: string },
): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Hookyard API", version: opts.version, description: API_DESCRIPTION },
      components: {
        securitySchemes: {
          [BEARER_SCHEME]: {
            type: "http",
            scheme: "bearer",
            description: "The admin API key.",
          },
        },
      },
      security: [{ [BEARER_SCHEME]: [] }],
      tags: [
        { name: "Health", description: "Liveness." },
        { name: "Application", description: "One per customer that receives webhooks." },
        { name: "Event Type", description: "The kinds of events applications publish." },
        { name: "Endpoint", description: "URLs that receive an application's messages." },
        { name: "Message", description: "Published events, fanned out to endpoints." },
        { name: "Message Attempt", description: "Delivery attempts and their results." },
      ],
    },
  });

  await app.register(fastifySwaggerUi, { routePrefix: "/docs" });

  app.get(`${opts.apiPrefix}/openapi.json`, { schema: { hide: true } }, (_request, reply) =>
    reply.send(app.swagger()),
  );
}
