/** Storage for identity: organisation settings, MFA factors, WebAuthn challenges, lockout and throttling. */
import type { OrgSettings } from "../../../shared/api/identity";

// ---- organisation settings

export const DEFAULT_SETTINGS: OrgSettings = {
  mfaRequired: true,
  passwordMinLength: 12,
  idleTimeoutMinutes: 30,
  absoluteLifetimeMinutes: 12 * 60,
};

interface SettingsRow {
  mfa_required: number;
  password_min_length: number;
  idle_timeout_minutes: number;
  absolute_lifetime_minutes: number;
}

export async function getSettings(db: D1Database, orgId: string | null): Promise<OrgSettings> {
  if (!orgId) return DEFAULT_SETTINGS;
  const row = await db
    .prepare("SELECT mfa_required, password_min_length, idle_timeout_minutes, absolute_lifetime_minutes FROM org_settings WHERE org_id = ?")
    .bind(orgId)
    .first<SettingsRow>();
  if (!row) return DEFAULT_SETTINGS;
  return {
    mfaRequired: row.mfa_required === 1,
    passwordMinLength: row.password_min_length,
    idleTimeoutMinutes: row.idle_timeout_minutes,
    absoluteLifetimeMinutes: row.absolute_lifetime_minutes,
  };
}

export async function saveSettings(db: D1Database, orgId: string, settings: OrgSettings, by: string, now: string): Promise<void> {
  await db
    .prepare(
      `INSERT INTO org_settings (org_id, mfa_required, password_min_length, idle_timeout_minutes, absolute_lifetime_minutes, updated_at, updated_by)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (org_id) DO UPDATE SET mfa_required = excluded.mfa_required, password_min_length = excluded.password_min_length,
         idle_timeout_minutes = excluded.idle_timeout_minutes, absolute_lifetime_minutes = excluded.absolute_lifetime_minutes,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    )
    .bind(orgId, settings.mfaRequired ? 1 : 0, settings.passwordMinLength, settings.idleTimeoutMinutes, settings.absoluteLifetimeMinutes, now, by)
    .run();
}

// ---- TOTP

export interface TotpRow {
  user_id: string;
  secret: string;
  confirmed_at: string | null;
  last_step: number | null;
}

export async function getTotp(db: D1Database, userId: string): Promise<TotpRow | null> {
  return db.prepare("SELECT user_id, secret, confirmed_at, last_step FROM totp_credentials WHERE user_id = ?").bind(userId).first<TotpRow>();
}

/** Starts (or restarts) TOTP enrolment with a new secret; false if TOTP is already confirmed. */
export async function startTotp(db: D1Database, userId: string, secret: string, now: string): Promise<boolean> {
  const result = await db
    .prepare(
      `INSERT INTO totp_credentials (user_id, secret, created_at) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at WHERE confirmed_at IS NULL`,
    )
    .bind(userId, secret, now)
    .run();
  return result.meta.changes === 1;
}

/**
 * Records `step` as used, only if it is later than the last used one: two requests racing with
 * the same code cannot both win.
 */
export function useTotpStepStatement(db: D1Database, userId: string, step: number, confirmNow: string | null): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE totp_credentials SET last_step = ?, confirmed_at = coalesce(confirmed_at, ?)
        WHERE user_id = ? AND (last_step IS NULL OR last_step < ?)`,
    )
    .bind(step, confirmNow, userId, step);
}

export function deleteTotpStatement(db: D1Database, userId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM totp_credentials WHERE user_id = ?").bind(userId);
}

// ---- recovery codes

export function replaceRecoveryCodesStatements(db: D1Database, userId: string, hashes: string[], now: string): D1PreparedStatement[] {
  return [
    db.prepare("DELETE FROM recovery_codes WHERE user_id = ?").bind(userId),
    ...hashes.map((hash) => db.prepare("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)").bind(userId, hash, now)),
  ];
}

export async function recoveryCodesLeft(db: D1Database, userId: string): Promise<number> {
  const row = await db.prepare("SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL").bind(userId).first<{ n: number }>();
  return row?.n ?? 0;
}

/** Uses a recovery code once: true only for the one request that marks it used. */
export async function useRecoveryCode(db: D1Database, userId: string, hash: string, now: string): Promise<boolean> {
  const result = await db
    .prepare("UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL")
    .bind(now, userId, hash)
    .run();
  return result.meta.changes === 1;
}

export function deleteRecoveryCodesStatement(db: D1Database, userId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM recovery_codes WHERE user_id = ?").bind(userId);
}

// ---- passkeys

export interface PasskeyRow {
  id: string;
  user_id: string;
  public_key: string;
  counter: number;
  transports: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

const PASSKEY_COLUMNS = "id, user_id, public_key, counter, transports, name, created_at, last_used_at";

export async function listPasskeys(db: D1Database, userId: string): Promise<PasskeyRow[]> {
  const { results } = await db.prepare(`SELECT ${PASSKEY_COLUMNS} FROM passkeys WHERE user_id = ? ORDER BY created_at`).bind(userId).all<PasskeyRow>();
  return results;
}

export async function findPasskey(db: D1Database, id: string): Promise<PasskeyRow | null> {
  return db.prepare(`SELECT ${PASSKEY_COLUMNS} FROM passkeys WHERE id = ?`).bind(id).first<PasskeyRow>();
}

export function insertPasskeyStatement(
  db: D1Database,
  passkey: { id: string; userId: string; publicKey: string; counter: number; transports: string[]; name: string; now: string },
): D1PreparedStatement {
  return db
    .prepare("INSERT INTO passkeys (id, user_id, public_key, counter, transports, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
    .bind(passkey.id, passkey.userId, passkey.publicKey, passkey.counter, JSON.stringify(passkey.transports), passkey.name, passkey.now);
}

export async function passkeyUsed(db: D1Database, id: string, counter: number, now: string): Promise<void> {
  await db.prepare("UPDATE passkeys SET counter = ?, last_used_at = ? WHERE id = ?").bind(counter, now, id).run();
}

export async function deletePasskey(db: D1Database, userId: string, id: string): Promise<boolean> {
  const result = await db.prepare("DELETE FROM passkeys WHERE user_id = ? AND id = ?").bind(userId, id).run();
  return result.meta.changes === 1;
}

export function deletePasskeysStatement(db: D1Database, userId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM passkeys WHERE user_id = ?").bind(userId);
}

/** What second factors a user has. */
export async function mfaFactors(db: D1Database, userId: string): Promise<{ totp: boolean; passkeys: number; recoveryCodes: number }> {
  const row = await db
    .prepare(
      `SELECT (SELECT count(*) FROM totp_credentials WHERE user_id = ?1 AND confirmed_at IS NOT NULL) AS totp,
              (SELECT count(*) FROM passkeys WHERE user_id = ?1) AS passkeys,
              (SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL) AS codes`,
    )
    .bind(userId)
    .first<{ totp: number; passkeys: number; codes: number }>();
  return { totp: (row?.totp ?? 0) > 0, passkeys: row?.passkeys ?? 0, recoveryCodes: row?.codes ?? 0 };
}

// ---- WebAuthn challenges

export type ChallengePurpose = "register" | "sign_in" | "second_factor" | "reauth";

export interface ChallengeRow {
  id: string;
  challenge: string;
  purpose: ChallengePurpose;
  user_id: string | null;
  session_hash: string | null;
  expires_at: string;
}

export async function saveChallenge(db: D1Database, row: ChallengeRow, now: string): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM webauthn_challenges WHERE expires_at <= ?").bind(now),
    db
      .prepare("INSERT INTO webauthn_challenges (id, challenge, purpose, user_id, session_hash, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
      .bind(row.id, row.challenge, row.purpose, row.user_id, row.session_hash, row.expires_at),
  ]);
}

/** Takes a challenge (deleting it: single use) if it exists and has not expired. */
export async function takeChallenge(db: D1Database, id: string, now: string): Promise<ChallengeRow | null> {
  const row = await db
    .prepare("DELETE FROM webauthn_challenges WHERE id = ? RETURNING id, challenge, purpose, user_id, session_hash, expires_at")
    .bind(id)
    .first<ChallengeRow>();
  return row && row.expires_at > now ? row : null;
}

// ---- lockout

export interface FailureRow {
  email: string;
  failures: number;
  locked_until: string | null;
}

export async function getFailures(db: D1Database, email: string): Promise<FailureRow | null> {
  return db.prepare("SELECT email, failures, locked_until FROM sign_in_failures WHERE email = ?").bind(email).first<FailureRow>();
}

/**
 * Counts one more consecutive failure for `email`; the `limit`-th sets a lock until `lockUntil`
 * and starts the count again. Returns the row after the change.
 */
export async function recordFailure(db: D1Database, email: string, limit: number, now: string, lockUntil: string): Promise<FailureRow> {
  const row = await db
    .prepare(
      `INSERT INTO sign_in_failures (email, failures, locked_until, updated_at) VALUES (?1, 1, NULL, ?2)
       ON CONFLICT (email) DO UPDATE SET updated_at = ?2,
         failures = CASE WHEN locked_until > ?2 THEN failures ELSE failures + 1 END
       RETURNING email, failures, locked_until`,
    )
    .bind(email, now)
    .first<FailureRow>();
  if (row && row.locked_until !== null && row.locked_until > now) return row;
  if (row && row.failures >= limit) {
    await db.prepare("UPDATE sign_in_failures SET failures = 0, locked_until = ? WHERE email = ?").bind(lockUntil, email).run();
    return { email, failures: row.failures, locked_until: lockUntil };
  }
  return row ?? { email, failures: 1, locked_until: null };
}

export async function clearFailures(db: D1Database, email: string): Promise<void> {
  await db.prepare("DELETE FROM sign_in_failures WHERE email = ?").bind(email).run();
}

// ---- per-IP throttle (sliding window of failed attempts)

export async function countAttempts(db: D1Database, ip: string, since: string): Promise<number> {
  const row = await db.prepare("SELECT count(*) AS n FROM sign_in_attempts WHERE ip = ? AND at > ?").bind(ip, since).first<{ n: number }>();
  return row?.n ?? 0;
}

export async function recordAttempt(db: D1Database, ip: string, now: string, since: string): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM sign_in_attempts WHERE ip = ? AND at <= ?").bind(ip, since),
    db.prepare("INSERT INTO sign_in_attempts (ip, at) VALUES (?, ?)").bind(ip, now),
  ]);
}

// ---- administration

export async function userSecurity(
  db: D1Database,
  orgId: string,
  now: string,
): Promise<{ id: string; totp: number; passkeys: number; codes: number; locked_until: string | null; sessions: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT u.id,
              (SELECT count(*) FROM totp_credentials t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL) AS totp,
              (SELECT count(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys,
              (SELECT count(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) AS codes,
              (SELECT f.locked_until FROM sign_in_failures f WHERE f.email = u.email AND f.locked_until > ?2) AS locked_until,
              (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL AND s.stage = 'active' AND s.expires_at > ?2) AS sessions
         FROM users u WHERE u.org_id = ?1`,
    )
    .bind(orgId, now)
    .all<{ id: string; totp: number; passkeys: number; codes: number; locked_until: string | null; sessions: number }>();
  return results;
}

/** Disables a user (active or invited); the statement changes nothing if already disabled. */
export function disableUserStatement(db: D1Database, id: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE users SET status = 'disabled', updated_at = ? WHERE id = ? AND status <> 'disabled'").bind(now, id);
}

/** Enables a disabled user again: active, or invited if they never set a password. */
export async function enableUser(db: D1Database, id: string, now: string): Promise<boolean> {
  const result = await db
    .prepare("UPDATE users SET status = CASE WHEN password_hash IS NULL THEN 'invited' ELSE 'active' END, updated_at = ? WHERE id = ? AND status = 'disabled'")
    .bind(now, id)
    .run();
  return result.meta.changes === 1;
}

export function setPasswordStatement(db: D1Database, userId: string, passwordHash: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?").bind(passwordHash, now, userId);
}
