import type { FastifyInstance } from "fastify";
import { NoContent } from "../schemas/common.js";

/** `GET {apiPrefix}/health`: 204 while the process serves requests. No authentication. */
export function registerHealthRoutes(app: FastifyInstance, apiPrefix: string): void {
  app.get(
    `${apiPrefix}/health`,
    {
      schema: {
        tags: ["Health"],
        summary: "Health",
        description: "204 while the server accepts requests. Needs no API key.",
        security: [],
        response: { 204: NoContent },
      },
    },
    async (_request, reply) => reply.code(204).send(),
  );
  // Svix's liveness probe: answers while the process serves requests, without touching anything.
  app.route({
    method: ["GET", "HEAD"],
    url: `${apiPrefix}/health/ping`,
    schema: {
      tags: ["Health"],
      summary: "Ping",
      description: "204 while the process serves requests (a liveness probe). Needs no API key.",
      security: [],
      response: { 204: NoContent },
    },
    handler: async (_request, reply) => reply.code(204).send(),
  });
}
