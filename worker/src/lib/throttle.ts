/**
 * Lockout and throttling for every way of signing in (password, second factor, passkey):
 * - five consecutive failures for an email address lock it for 10 minutes (counted per address
 *   whether or not an account has it, so the work and the answer are the same either way);
 * - 20 failed attempts from one IP within a sliding 10 minutes refuse further attempts from it.
 *   Each attempt reserves its place in the window before any credential is checked, in one
 *   statement, so concurrent attempts cannot get past the limit; an attempt that does not fail
 *   gives its place back when it is answered (`releaseUnusedAttempt`).
 * A locked account answers exactly like a wrong password; the lock itself is audited. The
 * per-address count and the failure's events are written in one batch.
 */
import type { Context, MiddlewareHandler } from "hono";
import { attemptRelease, failureRecord, getFailures, reserveAttempt } from "../db/identity";
import type { AppEnv } from "../env";
import { audit, auditStatement, auditStatementIfChanged, flushAudit, orgOf, type AuditRecord } from "./audit";
import { ApiError } from "./errors";
import { clientIp } from "./request";

export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_MS = 10 * 60 * 1000;
export const IP_WINDOW_MS = 10 * 60 * 1000;
export const IP_MAX_FAILURES = 20;

/** OpenID Connect starts allowed from one IP in the window (every start counts: each stores a pending sign-in). */
export const OIDC_START_MAX = 20;

/**
 * Wrong access codes for link shares allowed from one IP in the window, over all links (each
 * link also locks after its own 5 in a row): trying many links from one address stops here.
 */
export const ACCESS_CODE_MAX_FAILURES = 20;

type Bucket = "sign_in" | "oidc_start" | "share_code";
const BUCKET_LIMIT: Record<Bucket, number> = { sign_in: IP_MAX_FAILURES, oidc_start: OIDC_START_MAX, share_code: ACCESS_CODE_MAX_FAILURES };

/** The client's IP as the throttle counts it: all clients whose address is not known share one count. */
function ipKey(c: Context<AppEnv>): string {
  return clientIp(c) ?? "unknown";
}

/**
 * Takes a place in `bucket`'s window for this attempt (atomically: see `reserveAttempt`). When
 * the window is full, records `auth.throttled` and answers false; nothing has been checked yet.
 */
async function reserve(c: Context<AppEnv>, bucket: Bucket, email: string | null): Promise<number | false> {
  const now = Date.now();
  const key = bucket === "sign_in" ? ipKey(c) : `${bucket}:${ipKey(c)}`;
  const limit = BUCKET_LIMIT[bucket];
  const id = await reserveAttempt(c.env.DB, key, new Date(now).toISOString(), new Date(now - IP_WINDOW_MS).toISOString(), limit);
  if (id !== null) return id;
  await audit(c, {
    action: "auth.throttled",
    target: { type: "ip", id: ipKey(c) },
    outcome: "denied",
    actor: { type: "anonymous", id: null, label: email ?? undefined },
    details: { bucket, limit, windowMinutes: IP_WINDOW_MS / 60_000 },
  });
  c.header("Retry-After", String(Math.ceil(IP_WINDOW_MS / 1000)));
  return false;
}

/**
 * Reserves this sign-in attempt's place in its IP's window of failures, before any credential is
 * checked; refuses with 429 when the window is full. The place is kept if the attempt fails
 * (`recordSignInFailure`) and given back otherwise, when the request is answered
 * (`releaseUnusedAttempt`, on every router that calls this).
 */
export async function reserveSignInAttempt(c: Context<AppEnv>, email: string | null): Promise<void> {
  if (!(await tryReserveSignInAttempt(c, email))) {
    throw new ApiError(429, "too_many_attempts", "Too many failed sign-in attempts from your network. Wait 10 minutes and try again.");
  }
}

/** As `reserveSignInAttempt`, answering false instead of throwing (for routes that answer with a redirect). */
export async function tryReserveSignInAttempt(c: Context<AppEnv>, email: string | null): Promise<boolean> {
  const id = await reserve(c, "sign_in", email);
  if (id === false) return false;
  c.set("signInAttempt", id);
  return true;
}

/** Counts one OpenID Connect start from this IP; false (recorded as `auth.throttled`) when there were too many lately. */
export async function reserveOidcStart(c: Context<AppEnv>): Promise<boolean> {
  return (await reserve(c, "oidc_start", null)) !== false;
}

/**
 * Reserves this access-code attempt's place in its IP's window of wrong codes (over every link),
 * before the code is checked; false (recorded as `auth.throttled`, bucket `share_code`) when the
 * window is full. The caller gives the place back (`attemptRelease`) when the code is right.
 */
export async function reserveAccessCodeAttempt(c: Context<AppEnv>): Promise<number | false> {
  return reserve(c, "share_code", null);
}

/** The reserved attempt failed and that is on the record: its place in the window is kept. */
export function keepSignInAttempt(c: Context<AppEnv>): void {
  c.set("signInAttempt", null);
}

/**
 * Middleware for routers whose routes reserve sign-in attempts: once the request is answered, an
 * attempt that was not recorded as a failure (it succeeded, or stopped for another reason) gives
 * its place back. If even that fails, the place stays until the window passes it.
 */
export const releaseUnusedAttempt: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const id = c.get("signInAttempt") as number | null | undefined;
  if (id == null) return;
  c.set("signInAttempt", null);
  await attemptRelease(c.env.DB, id)
    .run()
    .catch((err: unknown) => console.error("throttle: a reserved sign-in attempt could not be given back", err));
};

/** Is sign-in for `email` locked right now? */
export async function isLocked(db: D1Database, email: string): Promise<boolean> {
  const row = await getFailures(db, email);
  return row?.locked_until != null && Date.parse(row.locked_until) > Date.now();
}

/**
 * Records a failed attempt, in one batch: counted against (when known) the email address (the IP's
 * count is the attempt reserved before the check, kept once this batch is written), the lock when this failure sets it (`auth.lockout`), the failure's own `event`, with
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
  const statements = [...(input.before ?? [])];
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
  keepSignInAttempt(c);
  if (orgId) await flushAudit(c.env, orgId);
}
