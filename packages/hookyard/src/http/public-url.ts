import type { FastifyRequest } from "fastify";

/**
 * The base of URLs Hookyard hands out and of the URL a sender is taken to have called:
 * `server.publicUrl` when set (behind a proxy), else the scheme and host of `request`. One place,
 * so an ingest URL shown by the API and the URL a Twilio signature is checked against agree.
 */
export function publicBaseUrl(request: FastifyRequest, publicUrl: string | null): string {
  return publicUrl?.replace(/\/+$/, "") ?? `${request.protocol}://${request.host}`;
}
