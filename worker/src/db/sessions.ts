import type { UserRow } from "./users";

export type SessionStage = "active" | "mfa_pending" | "mfa_enrolment";

export interface SessionRow {
  token_hash: string;
  public_id: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  stage: SessionStage;
  /** When the user last proved who they are in this session (sign-in or re-authentication). */
  auth_at: string;
  method: string | null;
}

/**
 * The statement that starts a session. With `onlyIfEvent`, the row is written only if that audit
 * event was written earlier in the same batch (the event is the witness that the guarded change,
 * e.g. an invitation or a passkey challenge used up, really happened).
 */
export function sessionInsert(
  db: D1Database,
  session: {
    tokenHash: string;
    publicId: string;
    userId: string;
    now: string;
    expiresAt: string;
    ip: string | null;
    userAgent: string | null;
    stage: SessionStage;
    method: string;
  },
  onlyIfEvent: string | null = null,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO sessions (token_hash, public_id, user_id, created_at, last_seen_at, expires_at, ip, user_agent, stage, auth_at, method)
       SELECT ?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?4, ?9
        WHERE ?10 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?10)`,
    )
    .bind(
      session.tokenHash,
      session.publicId,
      session.userId,
      session.now,
      session.expiresAt,
      session.ip,
      session.userAgent,
      session.stage,
      session.method,
      onlyIfEvent,
    );
}

/** A live (not revoked) session and its user, by token hash; expiry is checked by the caller. */
export async function findSession(
  db: D1Database,
  tokenHash: string,
): Promise<{ session: SessionRow; user: UserRow } | null> {
  const row = await db
    .prepare(
      `SELECT s.token_hash, s.public_id, s.user_id, s.created_at AS s_created_at, s.last_seen_at, s.expires_at,
              s.stage, coalesce(s.auth_at, s.created_at) AS auth_at, s.method,
              u.id, u.org_id, u.email, u.name, CASE WHEN u.guest = 1 THEN 'guest' ELSE u.role END AS role, u.status, u.password_hash, u.created_at, u.supervisor
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = ? AND s.revoked_at IS NULL`,
    )
    .bind(tokenHash)
    .first<Omit<SessionRow, "created_at"> & UserRow & { s_created_at: string }>();
  if (!row) return null;
  return {
    session: {
      token_hash: row.token_hash,
      public_id: row.public_id,
      user_id: row.user_id,
      created_at: row.s_created_at,
      last_seen_at: row.last_seen_at,
      expires_at: row.expires_at,
      stage: row.stage,
      auth_at: row.auth_at,
      method: row.method,
    },
    user: row,
  };
}

export async function touchSession(db: D1Database, tokenHash: string, now: string): Promise<void> {
  await db.prepare("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?").bind(now, tokenHash).run();
}

export function sessionRevoke(db: D1Database, tokenHash: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL").bind(now, tokenHash);
}

/**
 * Moves a restricted session to `active` under a new token (the old token stops working: a
 * token seen before the second factor is never the one that carries full rights). Changes the
 * row only if the statement just before it in the batch changed one (`changes()`): put it right
 * after the statement that used up the second factor, so a factor lost to a concurrent request
 * promotes nothing.
 */
export function sessionPromoteAfterChange(
  db: D1Database,
  input: { oldHash: string; newHash: string; now: string; expiresAt: string; method: string },
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE sessions SET token_hash = ?1, stage = 'active', auth_at = ?2, last_seen_at = ?2, expires_at = ?3, method = ?4
        WHERE token_hash = ?5 AND revoked_at IS NULL AND stage <> 'active' AND changes() > 0`,
    )
    .bind(input.newHash, input.now, input.expiresAt, input.method, input.oldHash);
}

/** Records a fresh authentication (re-authentication before a sensitive action); with `onlyIfEvent`, only if that event was written. */
export function sessionReauthenticated(db: D1Database, tokenHash: string, now: string, onlyIfEvent: string | null = null): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE sessions SET auth_at = ?1 WHERE token_hash = ?2 AND revoked_at IS NULL
          AND (?3 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?3))`,
    )
    .bind(now, tokenHash, onlyIfEvent);
}

/** Revokes a user's session if this session is now locked out (`email` locked until after `now`). */
export function sessionRevokeIfLocked(db: D1Database, tokenHash: string, email: string, now: string): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE sessions SET revoked_at = ?1 WHERE token_hash = ?2 AND revoked_at IS NULL
          AND EXISTS (SELECT 1 FROM sign_in_failures WHERE email = ?3 AND locked_until > ?1)`,
    )
    .bind(now, tokenHash, email);
}

export interface SessionListRow {
  token_hash: string;
  public_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  method: string | null;
}

/** A user's live sessions (not revoked, not past their absolute expiry), newest first. */
export async function listUserSessions(db: D1Database, userId: string, now: string): Promise<SessionListRow[]> {
  const { results } = await db
    .prepare(
      `SELECT token_hash, public_id, created_at, last_seen_at, expires_at, ip, user_agent, method FROM sessions
        WHERE user_id = ? AND revoked_at IS NULL AND stage = 'active' AND expires_at > ? ORDER BY last_seen_at DESC`,
    )
    .bind(userId, now)
    .all<SessionListRow>();
  return results;
}

/** Revokes one of a user's sessions by its public id (changes nothing when there was none live). */
export function sessionRevokeById(db: D1Database, userId: string, publicId: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND public_id = ? AND revoked_at IS NULL").bind(now, userId, publicId);
}

/** The statement that revokes every live session of a user (but `exceptHash`, if given). */
export function revokeUserSessionsStatement(db: D1Database, userId: string, now: string, exceptHash: string | null = null): D1PreparedStatement {
  return db
    .prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND token_hash IS NOT ?")
    .bind(now, userId, exceptHash);
}
