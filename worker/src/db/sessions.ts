import type { UserRow } from "./users";

export interface SessionRow {
  token_hash: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

export async function createSession(
  db: D1Database,
  session: { tokenHash: string; userId: string; now: string; expiresAt: string; ip: string | null; userAgent: string | null },
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(session.tokenHash, session.userId, session.now, session.now, session.expiresAt, session.ip, session.userAgent)
    .run();
}

/** A live (not revoked) session and its user, by token hash; expiry is checked by the caller. */
export async function findSession(
  db: D1Database,
  tokenHash: string,
): Promise<{ session: SessionRow; user: UserRow } | null> {
  const row = await db
    .prepare(
      `SELECT s.token_hash, s.user_id, s.created_at AS s_created_at, s.last_seen_at, s.expires_at,
              u.id, u.org_id, u.email, u.name, u.role, u.status, u.password_hash, u.created_at
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = ? AND s.revoked_at IS NULL`,
    )
    .bind(tokenHash)
    .first<SessionRow & UserRow & { s_created_at: string }>();
  if (!row) return null;
  return {
    session: {
      token_hash: row.token_hash,
      user_id: row.user_id,
      created_at: row.s_created_at,
      last_seen_at: row.last_seen_at,
      expires_at: row.expires_at,
    },
    user: row,
  };
}

export async function touchSession(db: D1Database, tokenHash: string, now: string): Promise<void> {
  await db.prepare("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?").bind(now, tokenHash).run();
}

export async function revokeSession(db: D1Database, tokenHash: string, now: string): Promise<void> {
  await db
    .prepare("UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL")
    .bind(now, tokenHash)
    .run();
}
