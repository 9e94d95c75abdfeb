/**
 * Lockout and throttling for every way of signing in (password, second factor, passkey):
 * - five consecutive failures for an email address lock it for 10 minutes (counted per address
 *   whether or not an account has it, so the work and the answer are the same either way);
 * - 20 failed attempts from one IP within a sliding 10 minutes refuse further attempts from it.
 * A locked account answers exactly like a wrong password; the lock itself is audited. The counts
 * and the failure's events are written in one batch: no count without its event, no event
 * without its count.
 */
import type { Context } from "hono";
import { attemptRecord, countAttempts, failureRecord, getFailures } from "../db/identity";
import type { AppEnv } from "../env";
import { audit, auditStatement, auditStatementIfChanged, flushAudit, orgOf, type AuditRecord } from "./audit";
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
 * Records a failed attempt, in one batch: counted against the IP and (when known) the email
 * address, the lock when this failure sets it (`auth.lockout`), the failure's own `event`, with
 * `before` (e.g. using up the passkey challenge tried) and `after` (e.g. ending a half-finished
 * sign-in once locked). If the batch cannot be written the
 * request fails, with nothing counted and nothing recorded.
 */
export async function recordSignInFailure(
  c: Context<AppEnv>,
  input: { email: string | null; userId: string | null; event: AuditRecord; before?: D1PreparedStatement[]; after?: D1PreparedStatement[] },
): Promise<void> {
  const { email, userId, event } = input;
  const now = new Date();
  const nowIso = now.toISOString();
  const orgId = await orgOf(c, event);
  const statements = [...(input.before ?? []), ...attemptRecord(c.env.DB, ipKey(c), nowIso, new Date(now.getTime() - IP_WINDOW_MS).toISOString())];
  if (email !== null) {
    // e.g. an unknown passkey has no address: only the IP is counted.
    const lockedUntil = new Date(now.getTime() + LOCKOUT_MS).toISOString();
    statements.push(...failureRecord(c.env.DB, email, LOCKOUT_THRESHOLD, nowIso, lockedUntil));
    if (orgId) {
      statements.push(
        auditStatementIfChanged(c, orgId, {
          action: "auth.lockout",
          target: { type: "user", id: userId },
          outcome: "denied",
          actor: { type: "anonymous", id: null, label: email },
          details: { email, lockedUntil, failures: LOCKOUT_THRESHOLD },
        }).statement,
      );
    }
  }
  if (orgId) statements.push(auditStatement(c, orgId, event));
  statements.push(...(input.after ?? []));
  await c.env.DB.batch(statements);
  if (orgId) await flushAudit(c.env, orgId);
}
