/** Storage for identity: organisation settings, MFA factors, WebAuthn challenges, lockout and throttling. */
import type { OrgSettings } from "../../../shared/api/identity";
import { DEFAULT_MAP_ATTRIBUTION, DEFAULT_MAP_TILE_URL } from "../../../shared/api/map";
import type { SortKey } from "../lib/paging";
import { USER_ORDER, USERS_AFTER } from "./users";

// ---- organisation settings

export const DEFAULT_SETTINGS: OrgSettings = {
  mfaRequired: true,
  passwordMinLength: 12,
  idleTimeoutMinutes: 30,
  absoluteLifetimeMinutes: 12 * 60,
  mapTileUrl: DEFAULT_MAP_TILE_URL,
  mapAttribution: DEFAULT_MAP_ATTRIBUTION,
  tsaUrl: null,
  tsaCaPem: null,
  geocoderUrl: null,
};

interface SettingsRow {
  mfa_required: number;
  password_min_length: number;
  idle_timeout_minutes: number;
  absolute_lifetime_minutes: number;
  map_tile_url: string | null;
  map_attribution: string;
  tsa_url: string | null;
  tsa_ca_pem: string | null;
  geocoder_url: string | null;
}

export async function getSettings(db: D1Database, orgId: string | null): Promise<OrgSettings> {
  if (!orgId) return DEFAULT_SETTINGS;
  const row = await db
    .prepare("SELECT mfa_required, password_min_length, idle_timeout_minutes, absolute_lifetime_minutes, map_tile_url, map_attribution, tsa_url, tsa_ca_pem, geocoder_url FROM org_settings WHERE org_id = ?")
    .bind(orgId)
    .first<SettingsRow>();
  if (!row) return DEFAULT_SETTINGS;
  return {
    mfaRequired: row.mfa_required === 1,
    passwordMinLength: row.password_min_length,
    idleTimeoutMinutes: row.idle_timeout_minutes,
    absoluteLifetimeMinutes: row.absolute_lifetime_minutes,
    mapTileUrl: row.map_tile_url,
    mapAttribution: row.map_attribution,
    tsaUrl: row.tsa_url,
    tsaCaPem: row.tsa_ca_pem,
    geocoderUrl: row.geocoder_url,
  };
}

export function settingsSave(db: D1Database, orgId: string, settings: OrgSettings, by: string, now: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO org_settings (org_id, mfa_required, password_min_length, idle_timeout_minutes, absolute_lifetime_minutes, map_tile_url, map_attribution, tsa_url, tsa_ca_pem, geocoder_url, updated_at, updated_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (org_id) DO UPDATE SET mfa_required = excluded.mfa_required, password_min_length = excluded.password_min_length,
         idle_timeout_minutes = excluded.idle_timeout_minutes, absolute_lifetime_minutes = excluded.absolute_lifetime_minutes,
         map_tile_url = excluded.map_tile_url, map_attribution = excluded.map_attribution,
         tsa_url = excluded.tsa_url, tsa_ca_pem = excluded.tsa_ca_pem, geocoder_url = excluded.geocoder_url,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    )
    .bind(orgId, settings.mfaRequired ? 1 : 0, settings.passwordMinLength, settings.idleTimeoutMinutes, settings.absoluteLifetimeMinutes, settings.mapTileUrl, settings.mapAttribution, settings.tsaUrl, settings.tsaCaPem, settings.geocoderUrl, now, by);
}

// ---- TOTP

export interface TotpRow {
  user_id: string;
  /** An envelope (lib/data-key.ts) when `secret_format` is 1; the base32 seed itself when 0 (rows from before migration 0012). */
  secret: string;
  secret_format: 0 | 1;
  confirmed_at: string | null;
  last_step: number | null;
}

export async function getTotp(db: D1Database, userId: string): Promise<TotpRow | null> {
  return db.prepare("SELECT user_id, secret, secret_format, confirmed_at, last_step FROM totp_credentials WHERE user_id = ?").bind(userId).first<TotpRow>();
}

/** Starts (or restarts) TOTP enrolment with a new sealed secret; changes nothing if TOTP is already confirmed. */
export function totpStart(db: D1Database, userId: string, sealed: { secret: string; keyId: string }, now: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO totp_credentials (user_id, secret, secret_format, secret_key_id, created_at) VALUES (?, ?, 1, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, secret_format = 1, secret_key_id = excluded.secret_key_id, created_at = excluded.created_at
        WHERE confirmed_at IS NULL`,
    )
    .bind(userId, sealed.secret, sealed.keyId, now);
}

/** Up to `limit` rows whose secret is not sealed under `keyId`: plain seeds (format 0) and seeds sealed under a retired key. */
export async function totpSecretsToSeal(db: D1Database, keyId: string, limit: number): Promise<Pick<TotpRow, "user_id" | "secret" | "secret_format">[]> {
  const { results } = await db
    .prepare(
      `SELECT user_id, secret, secret_format FROM totp_credentials
        WHERE secret_format = 0 OR secret_key_id IS NULL OR secret_key_id < ?1 OR secret_key_id > ?1 LIMIT ?2`,
    )
    .bind(keyId, limit)
    .all<Pick<TotpRow, "user_id" | "secret" | "secret_format">>();
  return results;
}

/** Replaces a secret by its sealed form, only if it is still the one that was read (a restarted enrolment wins). */
export function resealTotpStatement(db: D1Database, userId: string, was: string, sealed: { secret: string; keyId: string }): D1PreparedStatement {
  return db
    .prepare("UPDATE totp_credentials SET secret = ?, secret_format = 1, secret_key_id = ? WHERE user_id = ? AND secret = ?")
    .bind(sealed.secret, sealed.keyId, userId, was);
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

/** Replaces a user's recovery codes; with `onlyIfEvent`, only if that audit event was written earlier in the batch. */
export function replaceRecoveryCodesStatements(db: D1Database, userId: string, hashes: string[], now: string, onlyIfEvent: string | null = null): D1PreparedStatement[] {
  return [
    db.prepare("DELETE FROM recovery_codes WHERE user_id = ?1 AND (?2 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?2))").bind(userId, onlyIfEvent),
    ...hashes.map((hash) =>
      db
        .prepare(
          `INSERT INTO recovery_codes (user_id, code_hash, created_at) SELECT ?1, ?2, ?3
            WHERE ?4 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?4)`,
        )
        .bind(userId, hash, now, onlyIfEvent),
    ),
  ];
}

export async function recoveryCodesLeft(db: D1Database, userId: string): Promise<number> {
  const row = await db.prepare("SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL").bind(userId).first<{ n: number }>();
  return row?.n ?? 0;
}

/** Is this an unused recovery code of the user's? (Using it is `recoveryCodeUse`, in the batch that records the sign-in.) */
export async function recoveryCodeUsable(db: D1Database, userId: string, hash: string): Promise<boolean> {
  const row = await db.prepare("SELECT 1 AS ok FROM recovery_codes WHERE user_id = ? AND code_hash = ? AND used_at IS NULL").bind(userId, hash).first<{ ok: number }>();
  return row !== null;
}

/** Uses a recovery code once: changes a row only for the one request that marks it used. */
export function recoveryCodeUse(db: D1Database, userId: string, hash: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL").bind(now, userId, hash);
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

/** Adds a passkey, only if the statement just before it in the batch changed a row (its registration challenge, used up). */
export function passkeyInsertAfterChange(
  db: D1Database,
  passkey: { id: string; userId: string; publicKey: string; counter: number; transports: string[]; name: string; now: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO passkeys (id, user_id, public_key, counter, transports, name, created_at)
       SELECT ?, ?, ?, ?, ?, ?, ? WHERE changes() > 0`,
    )
    .bind(passkey.id, passkey.userId, passkey.publicKey, passkey.counter, JSON.stringify(passkey.transports), passkey.name, passkey.now);
}

/** Records a passkey's use (its signature counter), only if the statement just before it in the batch changed a row (its challenge, used up). */
export function passkeyUsedAfterChange(db: D1Database, id: string, counter: number, now: string): D1PreparedStatement {
  return db.prepare("UPDATE passkeys SET counter = ?, last_used_at = ? WHERE id = ? AND changes() > 0").bind(counter, now, id);
}

export function passkeyDelete(db: D1Database, userId: string, id: string): D1PreparedStatement {
  return db.prepare("DELETE FROM passkeys WHERE user_id = ? AND id = ?").bind(userId, id);
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

/**
 * A challenge, if it exists and has not expired. Reading does not use it up: the route uses it up
 * with `challengeDelete` in the batch that records the outcome (only the request whose delete
 * changes the row wins).
 */
export async function findChallenge(db: D1Database, id: string, now: string): Promise<ChallengeRow | null> {
  const row = await db
    .prepare("SELECT id, challenge, purpose, user_id, session_hash, expires_at FROM webauthn_challenges WHERE id = ?")
    .bind(id)
    .first<ChallengeRow>();
  return row && row.expires_at > now ? row : null;
}

/** Uses a challenge up (single use); changes a row only for the first request to do it. */
export function challengeDelete(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare("DELETE FROM webauthn_challenges WHERE id = ?").bind(id);
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
 * Counts one more consecutive failure for `email` (not while it is locked); the `limit`-th sets a
 * lock until `lockUntil` and starts the count again. Two statements, in this order: the second
 * changes a row exactly when this failure set the lock (so an event right after it, written if
 * changed, records the lock).
 */
export function failureRecord(db: D1Database, email: string, limit: number, now: string, lockUntil: string): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT INTO sign_in_failures (email, failures, locked_until, updated_at) VALUES (?1, 1, NULL, ?2)
         ON CONFLICT (email) DO UPDATE SET updated_at = ?2,
           failures = CASE WHEN locked_until > ?2 THEN failures ELSE failures + 1 END`,
      )
      .bind(email, now),
    db
      .prepare(
        `UPDATE sign_in_failures SET failures = 0, locked_until = ?1
          WHERE email = ?2 AND failures >= ?3 AND (locked_until IS NULL OR locked_until <= ?4)`,
      )
      .bind(lockUntil, email, limit, now),
  ];
}

/** A complete sign-in: the consecutive-failure count starts again (with `onlyIfEvent`, only if that event was written). */
export function failuresClear(db: D1Database, email: string, onlyIfEvent: string | null = null): D1PreparedStatement {
  return db
    .prepare("DELETE FROM sign_in_failures WHERE email = ?1 AND (?2 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?2))")
    .bind(email, onlyIfEvent);
}

// ---- per-IP throttle (sliding window of attempts)

/**
 * Reserves one attempt for `key` (a client IP, or a prefixed bucket such as `oidc_start:<ip>`) in
 * the window after `since`, unless `limit` attempts are already in it; forgets those before.
 * The check and the reservation are one statement, so no number of concurrent requests can get
 * past the limit. Answers the reservation's id (to release it: `attemptRelease`), or null when
 * the limit is reached.
 */
export async function reserveAttempt(db: D1Database, key: string, now: string, since: string, limit: number): Promise<number | null> {
  const [, reserved] = await db.batch<{ id: number }>([
    db.prepare("DELETE FROM sign_in_attempts WHERE ip = ? AND at <= ?").bind(key, since),
    db
      .prepare(
        `INSERT INTO sign_in_attempts (ip, at) SELECT ?1, ?2
          WHERE (SELECT count(*) FROM sign_in_attempts WHERE ip = ?1 AND at > ?3) < ?4
          RETURNING rowid AS id`,
      )
      .bind(key, now, since, limit),
  ]);
  return reserved?.results[0]?.id ?? null;
}

/** Gives back a reserved attempt (the attempt did not fail). */
export function attemptRelease(db: D1Database, id: number): D1PreparedStatement {
  return db.prepare("DELETE FROM sign_in_attempts WHERE rowid = ?").bind(id);
}

// ---- administration

export async function userSecurity(
  db: D1Database,
  orgId: string,
  now: string,
  after: SortKey | null,
  limit: number,
): Promise<{ id: string; name: string; email: string; totp: number; passkeys: number; codes: number; locked_until: string | null; sessions: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT u.id, u.name, u.email,
              (SELECT count(*) FROM totp_credentials t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL) AS totp,
              (SELECT count(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys,
              (SELECT count(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) AS codes,
              (SELECT f.locked_until FROM sign_in_failures f WHERE f.email = u.email AND f.locked_until > ?5) AS locked_until,
              (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL AND s.stage = 'active' AND s.expires_at > ?5) AS sessions
         FROM users u WHERE u.org_id = ?1 AND ${USERS_AFTER} ORDER BY ${USER_ORDER} LIMIT ?6`,
    )
    .bind(orgId, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, now, limit)
    .all<{ id: string; name: string; email: string; totp: number; passkeys: number; codes: number; locked_until: string | null; sessions: number }>();
  return results;
}

/** Disables a user (active or invited); the statement changes nothing if already disabled. */
export function disableUserStatement(db: D1Database, id: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE users SET status = 'disabled', updated_at = ? WHERE id = ? AND status <> 'disabled'").bind(now, id);
}

/** Enables a disabled user again: active, or invited if they never set a password (changes nothing unless disabled). */
export function enableUserStatement(db: D1Database, id: string, now: string): D1PreparedStatement {
  return db
    .prepare("UPDATE users SET status = CASE WHEN password_hash IS NULL THEN 'invited' ELSE 'active' END, updated_at = ? WHERE id = ? AND status = 'disabled'")
    .bind(now, id);
}

export function setPasswordStatement(db: D1Database, userId: string, passwordHash: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?").bind(passwordHash, now, userId);
}
