import { Type } from "@sinclair/typebox";
import { MAX_PEM_CHARS } from "../../outbound/endpoint-tls-options.js";
import { INPUT_OBJECT, Nullable, StringEnum } from "./common.js";

/**
 * The Hookyard extensions `auth` and `tls` of an endpoint (issue 16). One object shape per
 * extension, whatever the auth type: the service checks which fields a type takes and names the
 * field in its 422. Secrets go in and never come out: responses carry `…Set: true` instead.
 */

const AUTH_TYPES = ["bearer", "basic", "oauth2"] as const;

const KEEP =
  "Secret: never shown (the response says `{name}Set: true`); leave it out to keep the stored one.";

function secret(name: string, what: string, limits: { minLength?: number; maxLength: number }) {
  return Type.Optional(
    Type.String({ ...limits, description: `${what} ${KEEP.replace("{name}", name)}` }),
  );
}

const AUTH_DESCRIPTION =
  "Hookyard extension: how Hookyard authenticates to the endpoint, sent as the " +
  "`Authorization` header of every request (an endpoint with `auth` cannot also have a custom " +
  "Authorization header). `bearer`: `token`. `basic`: `username`, `password`. `oauth2`: the " +
  "client credentials grant (RFC 6749 §4.4) at `tokenUrl` with `clientId` and `clientSecret` " +
  "(sent with HTTP Basic, the RFC's default), optional `scope` and `audience`; the token is " +
  "cached until it expires and fetched anew after the endpoint answers 401. An attempt whose " +
  "token cannot be fetched fails with errorClass `auth` and is retried. null removes it.";

export const EndpointAuthIn = Type.Object(
  {
    type: StringEnum(AUTH_TYPES),
    token: secret("token", "bearer: the token (visible ASCII).", { minLength: 1, maxLength: 4096 }),
    username: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, description: "basic: without ':'." }),
    ),
    password: secret("password", "basic: the password.", { maxLength: 1024 }),
    tokenUrl: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: "oauth2: the token endpoint (http(s), behind the egress guard).",
      }),
    ),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    clientSecret: secret(
      "clientSecret",
      "oauth2: kept when left out only while `tokenUrl` stays the same.",
      { minLength: 1, maxLength: 1024 },
    ),
    scope: Type.Optional(
      Nullable(Type.String({ maxLength: 1024, description: "oauth2: space-separated scopes." })),
    ),
    audience: Type.Optional(
      Nullable(
        Type.String({
          maxLength: 1024,
          description: "oauth2: sent as the `audience` parameter (Auth0 and others ask for it).",
        }),
      ),
    ),
  },
  { ...INPUT_OBJECT, title: "EndpointAuthIn", description: AUTH_DESCRIPTION },
);

const TLS_DESCRIPTION =
  "Hookyard extension, for https URLs: `clientCert` (PEM, the chain after the leaf allowed) " +
  "and `clientKey` (PEM, unencrypted, must match the certificate) are presented to the " +
  "receiver (mTLS); `ca` (PEM bundle) replaces the system roots the receiver's certificate must " +
  "chain to. Each PEM at most 64 KiB. Connections with different TLS options are never shared. " +
  "A handshake that fails is an attempt with errorClass `tls`. null removes them.";

function pem(description: string) {
  return Type.Optional(Nullable(Type.String({ maxLength: MAX_PEM_CHARS, description })));
}

export const EndpointTlsIn = Type.Object(
  {
    clientCert: pem("PEM client certificate (then its intermediates)."),
    clientKey: pem(`PEM private key of clientCert. ${KEEP.replace("{name}", "clientKey")}`),
    ca: pem("PEM certificates the receiver's certificate must chain to."),
  },
  { ...INPUT_OBJECT, title: "EndpointTlsIn", description: TLS_DESCRIPTION },
);

const IS_SET = (name: string) =>
  Type.Optional(Type.Boolean({ description: `The ${name} is stored (it is never shown).` }));

export const EndpointAuthOut = Type.Object(
  {
    type: StringEnum(AUTH_TYPES),
    username: Type.Optional(Type.String()),
    tokenUrl: Type.Optional(Type.String()),
    clientId: Type.Optional(Type.String()),
    scope: Type.Optional(Nullable(Type.String())),
    audience: Type.Optional(Nullable(Type.String())),
    tokenSet: IS_SET("token"),
    passwordSet: IS_SET("password"),
    clientSecretSet: IS_SET("client secret"),
  },
  { title: "EndpointAuthOut", description: "Hookyard extension: see EndpointAuthIn." },
);

export const EndpointTlsOut = Type.Object(
  {
    clientCert: Nullable(Type.String()),
    clientKeySet: Type.Boolean({ description: "The client key is stored (it is never shown)." }),
    ca: Nullable(Type.String()),
  },
  { title: "EndpointTlsOut", description: "Hookyard extension: see EndpointTlsIn." },
);
