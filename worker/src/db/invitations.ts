export interface InvitationRow {
  token_hash: string;
  user_id: string;
  expires_at: string;
  used_at: string | null;
}

export function invitationInsert(
  db: D1Database,
  invitation: { tokenHash: string; userId: string; createdBy: string; now: string; expiresAt: string },
): D1PreparedStatement {
  return db
    .prepare("INSERT INTO invitations (token_hash, user_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
    .bind(invitation.tokenHash, invitation.userId, invitation.createdBy, invitation.now, invitation.expiresAt);
}

export async function findInvitation(db: D1Database, tokenHash: string): Promise<InvitationRow | null> {
  return db
    .prepare("SELECT token_hash, user_id, expires_at, used_at FROM invitations WHERE token_hash = ?")
    .bind(tokenHash)
    .first<InvitationRow>();
}

/**
 * Marks the invitation used; only one caller can win (the `used_at IS NULL` guard). With
 * `onlyIfEvent`, only if that audit event (the acceptance) was written earlier in the batch.
 */
export function invitationUse(db: D1Database, tokenHash: string, now: string, onlyIfEvent: string | null = null): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE invitations SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL
          AND (?3 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?3))`,
    )
    .bind(now, tokenHash, onlyIfEvent);
}
