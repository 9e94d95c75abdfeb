import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { OrgSettings } from "../../../shared/api/identity";
import type { SessionInfo } from "../../../shared/api/schemas";
import { getSettings, mfaFactors } from "../db/identity";
import { getOrganisationById } from "../db/organisations";
import { findSession, sessionInsert, sessionPromoteAfterChange, sessionRevoke, touchSession, type SessionRow, type SessionStage } from "../db/sessions";
import { toUser, type UserRow } from "../db/users";
import type { AppEnv } from "../env";
import { audit } from "./audit";
import { ApiError } from "./errors";
import { clientIp, userAgent } from "./request";
import { newId, newToken, tokenHash } from "./secrets";

export const SESSION_COOKIE = "custody_session";
/** Default idle timeout (the organisation may change it): a session ends this long after its last use. */
export const IDLE_TIMEOUT_MS = 30 * 60 * 1000;
/** Default absolute lifetime (the organisation may change it): a session ends this long after sign-in. */
export const ABSOLUTE_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** A password-only session waiting for its second factor lasts this long. */
export const MFA_PENDING_LIFETIME_MS = 5 * 60 * 1000;
/** A session restricted to enrolling MFA lasts this long. */
export const MFA_ENROLMENT_LIFETIME_MS = 15 * 60 * 1000;
/** Sensitive actions need an authentication this recent. */
export const RECENT_AUTH_MS = 5 * 60 * 1000;
/** `last_seen_at` is written at most this often, to keep reads cheap. */
const TOUCH_INTERVAL_MS = 60 * 1000;

function isLocalhost(url: string): boolean {
  const { hostname } = new URL(url);
  return hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]";
}

const minutes = (n: number) => n * 60 * 1000;

function lifetimeOf(stage: SessionStage, settings: OrgSettings): number {
  if (stage === "mfa_pending") return MFA_PENDING_LIFETIME_MS;
  if (stage === "mfa_enrolment") return MFA_ENROLMENT_LIFETIME_MS;
  return minutes(settings.absoluteLifetimeMinutes);
}

function setSessionCookie(c: Context<AppEnv>, token: string, lifetimeMs: number): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Strict",
    // Browsers treat http://localhost as a secure context but a Secure cookie would not be
    // sent over plain http by every client; everywhere else the cookie is Secure.
    secure: !isLocalhost(c.req.url),
    path: "/",
    maxAge: Math.floor(lifetimeMs / 1000),
  });
}

/** Which second factors a user can use, in the order the sign-in screen offers them. */
export async function mfaMethodsOf(db: D1Database, userId: string): Promise<("totp" | "recovery_code" | "passkey")[]> {
  const factors = await mfaFactors(db, userId);
  const methods: ("totp" | "recovery_code" | "passkey")[] = [];
  if (factors.totp) methods.push("totp");
  if (factors.passkeys > 0) methods.push("passkey");
  if ((factors.totp || factors.passkeys > 0) && factors.recoveryCodes > 0) methods.push("recovery_code");
  return methods;
}

/**
 * The stage a password sign-in (or setup, or invitation acceptance) starts in: waiting for a
 * second factor when the user has one; restricted to enrolling one when the organisation
 * requires MFA and they have none; otherwise signed in.
 */
export async function passwordStage(db: D1Database, user: UserRow): Promise<SessionStage> {
  if ((await mfaMethodsOf(db, user.id)).length > 0) return "mfa_pending";
  const settings = await getSettings(db, user.org_id);
  return settings.mfaRequired ? "mfa_enrolment" : "active";
}

/**
 * A session about to start, or be promoted: the statement to put in the batch that records it
 * (with its audit event), and what to do once that batch committed.
 */
export interface PendingSession {
  statement: D1PreparedStatement;
  /** After the batch: sets the session cookie and answers the session's info. */
  complete(): Promise<SessionInfo>;
}

/**
 * A session for `user` in `stage`: only the token's hash is stored, the token goes in a cookie.
 * With `onlyIfEvent`, the session is written only if that audit event was written earlier in the
 * batch (the sign-in's guarded change happened).
 */
export async function newSession(
  c: Context<AppEnv>,
  user: UserRow,
  options: { stage: SessionStage; method: string },
  onlyIfEvent: string | null = null,
): Promise<PendingSession> {
  const token = newToken();
  const now = new Date();
  const settings = await getSettings(c.env.DB, user.org_id);
  const lifetime = lifetimeOf(options.stage, settings);
  const expiresAt = new Date(now.getTime() + lifetime).toISOString();
  const statement = sessionInsert(
    c.env.DB,
    {
      tokenHash: await tokenHash(token),
      publicId: newId(),
      userId: user.id,
      now: now.toISOString(),
      expiresAt,
      ip: clientIp(c),
      userAgent: userAgent(c),
      stage: options.stage,
      method: options.method,
    },
    onlyIfEvent,
  );
  return {
    statement,
    complete: async () => {
      setSessionCookie(c, token, lifetime);
      return sessionInfo(c.env.DB, user, expiresAt, options.stage);
    },
  };
}

/**
 * Finishing a restricted session (second factor given, or MFA enrolled): it becomes active under
 * a new token, and the old one stops working. The statement changes the row only if the one just
 * before it in the batch changed one (put it right after the statement that used up the factor);
 * check its `meta.changes` after the batch before calling `complete`.
 */
export async function sessionPromotion(c: Context<AppEnv>, user: UserRow, method: string): Promise<PendingSession> {
  const token = newToken();
  const now = new Date();
  const settings = await getSettings(c.env.DB, user.org_id);
  const lifetime = lifetimeOf("active", settings);
  const expiresAt = new Date(now.getTime() + lifetime).toISOString();
  const statement = sessionPromoteAfterChange(c.env.DB, {
    oldHash: c.get("sessionHash"),
    newHash: await tokenHash(token),
    now: now.toISOString(),
    expiresAt,
    method,
  });
  return {
    statement,
    complete: async () => {
      setSessionCookie(c, token, lifetime);
      return sessionInfo(c.env.DB, user, expiresAt, "active");
    },
  };
}

/** The answer when a session to promote was no longer there to promote. */
export const sessionEnded = () => new ApiError(401, "session_ended", "Your session has ended. Sign in again.");

export async function sessionInfo(db: D1Database, user: UserRow, expiresAt: string, stage: SessionStage = "active"): Promise<SessionInfo> {
  const organisation = await getOrganisationById(db, user.org_id);
  if (!organisation) throw new Error(`user ${user.id} has no organisation`);
  const { orgId: _orgId, ...publicUser } = toUser(user);
  const info: SessionInfo = { user: publicUser, organisation, expiresAt, stage };
  if (stage === "mfa_pending") info.mfaMethods = await mfaMethodsOf(db, user.id);
  return info;
}

/** When a session ends: the earliest of its stored expiry, the absolute lifetime and the idle timeout. */
export function sessionEnd(
  session: { expires_at: string; last_seen_at: string; created_at?: string },
  settings: Pick<OrgSettings, "idleTimeoutMinutes" | "absoluteLifetimeMinutes"> = { idleTimeoutMinutes: 30, absoluteLifetimeMinutes: 720 },
): number {
  const ends = [Date.parse(session.expires_at), Date.parse(session.last_seen_at) + minutes(settings.idleTimeoutMinutes)];
  if (session.created_at) ends.push(Date.parse(session.created_at) + minutes(settings.absoluteLifetimeMinutes));
  return Math.min(...ends);
}

const STAGE_REFUSALS: Record<SessionStage, () => ApiError> = {
  active: () => new ApiError(403, "forbidden", "Not allowed."),
  mfa_pending: () => new ApiError(403, "mfa_required", "Finish signing in with your second factor first."),
  mfa_enrolment: () => new ApiError(403, "mfa_enrolment_required", "Set up two-step verification before anything else."),
};

/**
 * The only API paths a guest's session reaches (docs/disclosure.md §1.2): their own sign-in,
 * second factor, keys and sessions, and what is shared with them. Anything else is refused (deny
 * by default, so a route added later is closed to guests until it is listed here).
 */
const GUEST_PATHS = ["/api/auth/", "/api/mfa/", "/api/keys/me", "/api/sessions", "/api/shared"];
const GUEST_EXACT = new Set(["/api/keys/recovery"]);
const guestMayReach = (path: string) => GUEST_EXACT.has(path) || GUEST_PATHS.some((prefix) => path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`));

/**
 * Requires a live session in one of `stages`: sets `user`, `session` and `sessionHash`, or
 * answers 401 (no live session) or 403 (a session restricted to finishing MFA). A session past
 * its idle or absolute limit, or whose user is no longer active, is revoked on the spot.
 */
export function requireSessionIn(...stages: SessionStage[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (!token) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
    const hash = await tokenHash(token);
    const found = await findSession(c.env.DB, hash);
    const now = Date.now();
    const settings = found ? await getSettings(c.env.DB, found.user.org_id) : null;
    if (!found || !settings || sessionEnd(found.session, settings) <= now || found.user.status !== "active") {
      // Already over by time (or the user is no longer active): bookkeeping, not an action to record.
      if (found) await sessionRevoke(c.env.DB, hash, new Date(now).toISOString()).run();
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      throw new ApiError(401, "session_ended", "Your session has ended. Sign in again.");
    }
    c.set("user", toUser(found.user));
    c.set("sessionHash", hash);
    c.set("session", found.session);
    if (!stages.includes(found.session.stage)) throw STAGE_REFUSALS[found.session.stage]();
    if (found.user.role === "guest" && !guestMayReach(c.req.path)) {
      throw new ApiError(403, "guest_forbidden", "Guests see only what is shared with them.");
    }
    if (now - Date.parse(found.session.last_seen_at) > TOUCH_INTERVAL_MS) {
      await touchSession(c.env.DB, hash, new Date(now).toISOString());
    }
    await next();
  };
}

/** Requires a fully signed-in session (second factor given where one is needed). */
export const requireSession: MiddlewareHandler<AppEnv> = requireSessionIn("active");

/** Requires a live session of an administrator. Use after `requireSession`. */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.get("user").role !== "admin") {
    await audit(c, {
      action: "access.denied",
      target: { type: "route", id: `${c.req.method} ${c.req.routePath}` },
      outcome: "denied",
    });
    throw new ApiError(403, "forbidden", "Only an administrator can do this.");
  }
  await next();
};

/** Has the current session authenticated (signed in or re-authenticated) within `RECENT_AUTH_MS`? */
export function isRecentlyAuthenticated(session: Pick<SessionRow, "auth_at">, now = Date.now()): boolean {
  return now - Date.parse(session.auth_at) <= RECENT_AUTH_MS;
}

/**
 * Requires that the user proved who they are within the last 5 minutes (sign-in or
 * `POST /api/auth/reauth`), before a sensitive action. Use after `requireSession`. Answers
 * 403 `reauth_required`; the client re-authenticates and repeats the request.
 */
export const requireRecentAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!isRecentlyAuthenticated(c.get("session"))) {
    throw new ApiError(403, "reauth_required", "For your security, confirm it's you (password or passkey) and try again.");
  }
  await next();
};

/**
 * The current session (if any), to end: clears the cookie and answers whose session it was and
 * the statement that revokes it (for the batch that records the sign-out).
 */
export async function endingSession(c: Context<AppEnv>): Promise<{ user: UserRow; statement: D1PreparedStatement } | null> {
  const token = getCookie(c, SESSION_COOKIE);
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
  if (!token) return null;
  const hash = await tokenHash(token);
  const found = await findSession(c.env.DB, hash);
  if (!found) return null;
  return { user: found.user, statement: sessionRevoke(c.env.DB, hash, new Date().toISOString()) };
}
