import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock.js";
import { ValidationError } from "../errors.js";
import type { Store } from "../store/store.js";

/**
 * App portal tokens (Svix's `authentication.appPortalAccess`): what a SaaS hands its customer so
 * the customer manages the endpoints of one application, and nothing else. A token is signed
 * (HMAC-SHA256 with a key the server makes once and keeps in its settings) and carries its app,
 * expiry, session and read-only flag, so checking one needs no lookup but the revocations:
 * a logged-out session, or every token of an app issued before an `expire-all`.
 */

const KEY_SETTING = "portal_token_key";
const REVOKED_SETTING = "portal_revoked_sessions";
const NOT_BEFORE_SETTING = "portal_not_before";
const PREFIX = "portal_";
/** Svix's bounds: an hour to a week; a week by default. */
export const MIN_EXPIRY_S = 60 * 60;
export const MAX_EXPIRY_S = 7 * 24 * 60 * 60;
/** How long another process's logout may take to reach this one. */
const REVOCATIONS_TTL_MS = 5_000;

export interface PortalGrant {
  appId: string;
  appUid: string | null;
  readOnly: boolean;
  sessionId: string;
  /** Epoch ms (an expire-all a moment before must not refuse it). */
  issuedAtMs: number;
  /** Epoch seconds. */
  expiresAt: number;
}

interface Revocations {
  /** Logged-out sessions and when their tokens would have expired (epoch s). */
  sessions: Record<string, number>;
  /** Per app: tokens issued before this (epoch ms) are expired. */
  notBefore: Record<string, number>;
  readAt: number;
}

export class PortalAccess {
  readonly #store: Pick<Store, "getSetting" | "setSetting">;
  readonly #clock: Clock;
  readonly #key: Buffer;
  #revocations: Revocations | null = null;
  /** Revocations are read, changed and written one at a time (in this process). */
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(store: Pick<Store, "getSetting" | "setSetting">, clock: Clock, key: Buffer) {
    this.#store = store;
    this.#clock = clock;
    this.#key = key;
  }

  /** Loads the signing key, made on the first start (every process of a cluster shares it). */
  static async init(deps: {
    store: Pick<Store, "getSetting" | "setSetting">;
    clock: Clock;
  }): Promise<PortalAccess> {
    let hex = await deps.store.getSetting(KEY_SETTING);
    if (hex === null) {
      const made = randomBytes(32).toString("hex");
      await deps.store.setSetting(KEY_SETTING, made);
      // Two processes starting at once: the one written last is everybody's.
      hex = (await deps.store.getSetting(KEY_SETTING)) ?? made;
    }
    return new PortalAccess(deps.store, deps.clock, Buffer.from(hex, "hex"));
  }

  /** A token for the app; `expiry` in seconds (default and most: a week; least: an hour). */
  issue(
    app: { id: string; uid: string | null },
    opts: { expiry?: number | null; readOnly?: boolean | null; sessionId?: string | null },
  ): { token: string; grant: PortalGrant } {
    const expiry = opts.expiry ?? MAX_EXPIRY_S;
    if (!Number.isInteger(expiry) || expiry < MIN_EXPIRY_S || expiry > MAX_EXPIRY_S) {
      throw ValidationError.field(
        ["body", "expiry"],
        `must be a whole number of seconds from ${MIN_EXPIRY_S} to ${MAX_EXPIRY_S}`,
      );
    }
    const nowMs = this.#clock.now();
    const grant: PortalGrant = {
      appId: app.id,
      appUid: app.uid,
      readOnly: opts.readOnly === true,
      sessionId: opts.sessionId ?? randomBytes(12).toString("base64url"),
      issuedAtMs: nowMs,
      expiresAt: Math.floor(nowMs / 1000) + expiry,
    };
    const body = Buffer.from(JSON.stringify(grant)).toString("base64url");
    return { token: `${PREFIX}${body}.${this.#sign(body)}`, grant };
  }

  /** Whether a bearer token is a portal token (then only `verify` decides). */
  static isPortalToken(token: string): boolean {
    return token.startsWith(PREFIX);
  }

  /**
   * The grant of a valid token; or why not: `forged` (not signed here, or altered) or `ended`
   * (expired, logged out, expired-all). Only a forged one counts as a guess.
   */
  async verify(token: string): Promise<PortalGrant | "forged" | "ended"> {
    const dot = token.lastIndexOf(".");
    if (!token.startsWith(PREFIX) || dot < 0) return "forged";
    const body = token.slice(PREFIX.length, dot);
    const mac = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.#sign(body));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return "forged";
    let grant: PortalGrant;
    try {
      grant = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as PortalGrant;
    } catch {
      return "forged";
    }
    if (grant.expiresAt <= Math.floor(this.#clock.now() / 1000)) return "ended";
    const revoked = await this.#currentRevocations();
    if (Object.hasOwn(revoked.sessions, grant.sessionId)) return "ended";
    const notBefore = Object.hasOwn(revoked.notBefore, grant.appId)
      ? revoked.notBefore[grant.appId]!
      : 0;
    if (notBefore > grant.issuedAtMs) return "ended";
    return grant;
  }

  /** Logs a session out: its token (and any other with its session id) stops working. */
  async logout(grant: PortalGrant): Promise<void> {
    await this.#serially(() => this.#logout(grant));
  }

  async #logout(grant: PortalGrant): Promise<void> {
    const current = await this.#readRevocations();
    const now = Math.floor(this.#clock.now() / 1000);
    const sessions = Object.fromEntries(
      Object.entries(current.sessions).filter(([, expiresAt]) => expiresAt > now),
    );
    sessions[grant.sessionId] = grant.expiresAt;
    await this.#store.setSetting(REVOKED_SETTING, JSON.stringify(sessions));
    this.#revocations = null;
  }

  /** Expires every token of the app issued until now (Svix's `expire-all`). */
  async expireAll(appId: string): Promise<void> {
    await this.#serially(async () => {
      const current = await this.#readRevocations();
      const notBefore = { ...current.notBefore, [appId]: this.#clock.now() };
      await this.#store.setSetting(NOT_BEFORE_SETTING, JSON.stringify(notBefore));
      this.#revocations = null;
    });
  }

  #serially(work: () => Promise<void>): Promise<void> {
    const next = this.#writing.then(work);
    this.#writing = next.catch(() => undefined);
    return next;
  }

  #sign(body: string): string {
    return createHmac("sha256", this.#key).update(body).digest("base64url");
  }

  async #currentRevocations(): Promise<Revocations> {
    const cached = this.#revocations;
    if (cached !== null && this.#clock.now() - cached.readAt < REVOCATIONS_TTL_MS) return cached;
    this.#revocations = await this.#readRevocations();
    return this.#revocations;
  }

  async #readRevocations(): Promise<Revocations> {
    const [sessions, notBefore] = await Promise.all([
      this.#store.getSetting(REVOKED_SETTING),
      this.#store.getSetting(NOT_BEFORE_SETTING),
    ]);
    return {
      sessions: sessions === null ? {} : (JSON.parse(sessions) as Record<string, number>),
      notBefore: notBefore === null ? {} : (JSON.parse(notBefore) as Record<string, number>),
      readAt: this.#clock.now(),
    };
  }
}
