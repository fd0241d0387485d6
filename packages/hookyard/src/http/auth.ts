import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { AuthenticationError } from "../errors.js";
import type { AuthService } from "../outbound/services.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The token of an `Authorization: Bearer <token>` header, or null. */
function bearerTokenOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = BEARER.exec(header);
  return match?.[1] ?? null;
}

/**
 * An `onRequest` hook that refuses requests without a valid admin API key (401). It runs before
 * the body is read, so unauthenticated clients cannot make the server parse anything.
 */
export function bearerAuthHook(
  auth: AuthService,
): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  return (request, _reply, done) => {
    const token = bearerTokenOf(request.headers.authorization);
    if (token === null) {
      done(new AuthenticationError("Missing Authorization header: send `Bearer <api key>`"));
      return;
    }
    if (!auth.verify(token)) {
      done(new AuthenticationError("Invalid API key"));
      return;
    }
    done();
  };
}
