import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { BadRequestError, ForbiddenError, NotFoundError, ValidationError } from "../../errors.js";
import { MAX_EXPIRY_S, MIN_EXPIRY_S, type PortalAccess } from "../../outbound/portal-access.js";
import type { ApplicationService } from "../../outbound/services.js";
import { publicBaseUrl } from "../public-url.js";
import { ApplicationIn, type ApplicationInBody } from "../schemas/application.js";
import { ERROR_RESPONSES, NoContent } from "../schemas/common.js";

const TAGS = ["Authentication"];

const AppPortalAccessIn = Type.Object(
  {
    expiry: Type.Optional(
      Type.Union([Type.Null(), Type.Integer()], {
        description: `How long the token is valid, in seconds: ${MIN_EXPIRY_S} (an hour) to ${MAX_EXPIRY_S} (a week, the default).`,
      }),
    ),
    readOnly: Type.Optional(
      Type.Union([Type.Null(), Type.Boolean()], {
        description: "The customer may look but not change anything.",
      }),
    ),
    sessionId: Type.Optional(
      Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 128 })], {
        description: "Names the session: logging it out expires every token issued with it.",
      }),
    ),
    application: Type.Optional(
      Type.Union([Type.Null(), ApplicationIn], {
        description: "Made when the application of the path does not exist yet.",
      }),
    ),
    featureFlags: Type.Optional(Type.Array(Type.String())),
    capabilities: Type.Optional(
      Type.Union([Type.Null(), Type.Array(Type.String())], {
        description:
          "Not supported yet: a non-empty list is refused (422) rather than ignored; use `readOnly` (a read-only token reads everything but endpoint secrets).",
      }),
    ),
  },
  { title: "AppPortalAccessIn" },
);

const AppPortalAccessOut = Type.Object(
  {
    url: Type.String({
      description:
        "Opens the portal (the token is in the URL's fragment, never sent in a request).",
    }),
    token: Type.String({ description: "A bearer token for this application's API routes only." }),
  },
  { title: "AppPortalAccessOut" },
);

function requireAdmin(request: FastifyRequest): void {
  if (request.portal !== undefined) {
    throw new ForbiddenError("An app portal token cannot make portal tokens");
  }
}

/**
 * Svix's authentication routes: a time-limited app portal link for one application, logging a
 * portal session out, and expiring every portal token of an application.
 */
export function registerAuthRoutes(
  app: FastifyInstance,
  deps: { applications: ApplicationService; portal: PortalAccess; publicUrl: string | null },
): void {
  app.post<{
    Params: { app_id: string };
    Body: {
      expiry?: number | null;
      readOnly?: boolean | null;
      sessionId?: string | null;
      application?: ApplicationInBody | null;
      capabilities?: string[] | null;
    };
  }>(
    "/auth/app-portal-access/:app_id",
    {
      schema: {
        tags: TAGS,
        summary: "Get an app portal link",
        description:
          "A link (and its token) that opens the customer app portal of one application: its endpoints (add, edit, disable, rotate the secret), messages and attempts, resends. The token reaches that application's routes only (403 elsewhere) until it expires or is logged out. Admin key only.",
        params: Type.Object({ app_id: Type.String() }),
        body: AppPortalAccessIn,
        response: { 200: AppPortalAccessOut, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      requireAdmin(request);
      const { capabilities } = request.body;
      if (capabilities !== undefined && capabilities !== null && capabilities.length > 0) {
        throw ValidationError.field(
          ["body", "capabilities"],
          "capabilities are not supported yet; use readOnly",
        );
      }
      const { app_id: appId } = request.params;
      const application = await deps.applications.get(appId).catch(async (err: unknown) => {
        const wanted = request.body.application;
        if (!(err instanceof NotFoundError) || wanted === undefined || wanted === null) throw err;
        const made = await deps.applications.create(
          { ...wanted, uid: wanted.uid ?? appId },
          { getIfExists: true },
        );
        return made.app;
      });
      const { token } = deps.portal.issue(application, request.body);
      const base = publicBaseUrl(request, deps.publicUrl);
      return { url: `${base}/portal#token=${token}`, token };
    },
  );

  app.post(
    "/auth/logout",
    {
      schema: {
        tags: TAGS,
        summary: "Log an app portal session out",
        description:
          "Sent with an app portal token: that token's session stops working (on every process within 5 s).",
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      if (request.portal === undefined) {
        throw new BadRequestError("Log out with the app portal token to end, not the admin key");
      }
      await deps.portal.logout(request.portal);
      reply.code(204);
      return null;
    },
  );

  app.post<{ Params: { app_id: string } }>(
    "/auth/app/:app_id/expire-all",
    {
      schema: {
        tags: TAGS,
        summary: "Expire every app portal token of an application",
        description: "Every portal token issued for the application until now stops working.",
        params: Type.Object({ app_id: Type.String() }),
        response: { 204: NoContent, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const application = await deps.applications.get(request.params.app_id);
      await deps.portal.expireAll(application.id);
      reply.code(204);
      return null;
    },
  );
}
