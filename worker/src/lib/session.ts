import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { SessionInfo } from "../../../shared/api/schemas";
import { getOrganisationById } from "../db/organisations";
import { createSession, findSession, revokeSession, touchSession } from "../db/sessions";
import { toUser, type UserRow } from "../db/users";
import type { AppEnv } from "../env";
import { audit } from "./audit";
import { ApiError } from "./errors";
import { clientIp, userAgent } from "./request";
import { newToken, tokenHash } from "./secrets";

export const SESSION_COOKIE = "custody_session";
/** A session ends this long after its last use. */
export const IDLE_TIMEOUT_MS = 30 * 60 * 1000;
/** A session ends this long after sign-in, however active. */
export const ABSOLUTE_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** `last_seen_at` is written at most this often, to keep reads cheap. */
const TOUCH_INTERVAL_MS = 60 * 1000;

function isLocalhost(url: string): boolean {
  const { hostname } = new URL(url);
  return hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]";
}

/** Starts a session for `user`: stores only the token's hash, sends the token as a cookie. */
export async function startSession(c: Context<AppEnv>, user: UserRow): Promise<SessionInfo> {
  const token = newToken();
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ABSOLUTE_LIFETIME_MS).toISOString();
  await createSession(c.env.DB, {
    tokenHash: await tokenHash(token),
    userId: user.id,
    now: now.toISOString(),
    expiresAt,
    ip: clientIp(c),
    userAgent: userAgent(c),
  });
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Strict",
    // Browsers treat http://localhost as a secure context but a Secure cookie would not be
    // sent over plain http by every client; everywhere else the cookie is Secure.
    secure: !isLocalhost(c.req.url),
    path: "/",
    maxAge: Math.floor(ABSOLUTE_LIFETIME_MS / 1000),
  });
  return sessionInfo(c.env.DB, user, expiresAt);
}

export async function sessionInfo(db: D1Database, user: UserRow, expiresAt: string): Promise<SessionInfo> {
  const organisation = await getOrganisationById(db, user.org_id);
  if (!organisation) throw new Error(`user ${user.id} has no organisation`);
  const { orgId: _orgId, ...publicUser } = toUser(user);
  return { user: publicUser, organisation, expiresAt };
}

/** When a session ends: the earlier of its absolute expiry and idle expiry. */
export function sessionEnd(session: { expires_at: string; last_seen_at: string }): number {
  return Math.min(Date.parse(session.expires_at), Date.parse(session.last_seen_at) + IDLE_TIMEOUT_MS);
}

/**
 * Requires a live session: sets `user` and `sessionHash`, or answers 401. A session past its
 * idle or absolute limit, or whose user is no longer active, is revoked on the spot.
 */
export const requireSession: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
  const hash = await tokenHash(token);
  const found = await findSession(c.env.DB, hash);
  const now = Date.now();
  if (!found || sessionEnd(found.session) <= now || found.user.status !== "active") {
    if (found) await revokeSession(c.env.DB, hash, new Date(now).toISOString());
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    throw new ApiError(401, "session_ended", "Your session has ended. Sign in again.");
  }
  if (now - Date.parse(found.session.last_seen_at) > TOUCH_INTERVAL_MS) {
    await touchSession(c.env.DB, hash, new Date(now).toISOString());
  }
  c.set("user", toUser(found.user));
  c.set("sessionHash", hash);
  await next();
};

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

/** Ends the current session (if any) and clears the cookie; returns whose session it was. */
export async function endSession(c: Context<AppEnv>): Promise<UserRow | null> {
  const token = getCookie(c, SESSION_COOKIE);
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
  if (!token) return null;
  const hash = await tokenHash(token);
  const found = await findSession(c.env.DB, hash);
  if (!found) return null;
  await revokeSession(c.env.DB, hash, new Date().toISOString());
  return found.user;
}
