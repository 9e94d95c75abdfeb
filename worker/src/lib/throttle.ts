/**
 * Lockout and throttling for every way of signing in (password, second factor, passkey):
 * - five consecutive failures for an email address lock it for 10 minutes (counted per address
 *   whether or not an account has it, so the work and the answer are the same either way);
 * - 20 failed attempts from one IP within a sliding 10 minutes refuse further attempts from it.
 * A locked account answers exactly like a wrong password; the lock itself is audited.
 */
import type { Context } from "hono";
import { clearFailures, countAttempts, getFailures, recordAttempt, recordFailure } from "../db/identity";
import type { AppEnv } from "../env";
import { audit } from "./audit";
import { ApiError } from "./errors";
import { clientIp } from "./request";

export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_MS = 10 * 60 * 1000;
export const IP_WINDOW_MS = 10 * 60 * 1000;
export const IP_MAX_FAILURES = 20;

function ipKey(c: Context<AppEnv>): string {
  return clientIp(c) ?? "unknown";
}

/** Refuses with 429 when this IP has failed too often lately. Call before checking any credential. */
export async function checkIpThrottle(c: Context<AppEnv>, email: string | null): Promise<void> {
  const now = Date.now();
  const failures = await countAttempts(c.env.DB, ipKey(c), new Date(now - IP_WINDOW_MS).toISOString());
  if (failures >= IP_MAX_FAILURES) {
    await audit(c, {
      action: "auth.throttled",
      target: { type: "ip", id: ipKey(c) },
      outcome: "denied",
      actor: { type: "anonymous", id: null, label: email ?? undefined },
      details: { failuresInWindow: failures, windowMinutes: IP_WINDOW_MS / 60_000 },
    });
    c.header("Retry-After", String(Math.ceil(IP_WINDOW_MS / 1000)));
    throw new ApiError(429, "too_many_attempts", "Too many failed sign-in attempts from your network. Wait 10 minutes and try again.");
  }
}

/** Is sign-in for `email` locked right now? */
export async function isLocked(db: D1Database, email: string): Promise<boolean> {
  const row = await getFailures(db, email);
  return row?.locked_until != null && Date.parse(row.locked_until) > Date.now();
}

/**
 * Counts a failed attempt against the IP and (when known) the email address; audits the lock when this
 * failure set it. Returns whether the address is now locked.
 */
export async function recordSignInFailure(c: Context<AppEnv>, email: string | null, userId: string | null, orgId?: string): Promise<boolean> {
  const now = new Date();
  const nowIso = now.toISOString();
  await recordAttempt(c.env.DB, ipKey(c), nowIso, new Date(now.getTime() - IP_WINDOW_MS).toISOString());
  if (email === null) return false; // e.g. an unknown passkey: only the IP is counted
  const before = await getFailures(c.env.DB, email);
  const wasLocked = before?.locked_until != null && before.locked_until > nowIso;
  const after = await recordFailure(c.env.DB, email, LOCKOUT_THRESHOLD, nowIso, new Date(now.getTime() + LOCKOUT_MS).toISOString());
  const locked = after.locked_until != null && after.locked_until > nowIso;
  if (locked && !wasLocked) {
    await audit(c, {
      action: "auth.lockout",
      target: { type: "user", id: userId },
      outcome: "denied",
      actor: { type: "anonymous", id: null, label: email },
      details: { email, lockedUntil: after.locked_until, failures: LOCKOUT_THRESHOLD },
      ...(orgId ? { orgId } : {}),
    });
  }
  return locked;
}

/** A complete sign-in: the consecutive-failure count starts again. */
export async function recordSignInSuccess(db: D1Database, email: string): Promise<void> {
  await clearFailures(db, email);
}
