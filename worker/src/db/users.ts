import type { Role, User, UserRole } from "../../../shared/api/schemas";
import type { SortKey } from "../lib/paging";

export interface UserRow {
  id: string;
  org_id: string;
  email: string;
  name: string;
  role: UserRole;
  status: User["status"];
  password_hash: string | null;
  created_at: string;
  /** 1: a supervisor of the organisation (migration 0026): every new case key is also wrapped to them. */
  supervisor: number;
}

/** A guest is stored as role 'site_operator' with guest = 1 (migration 0015); it reads as role 'guest'. */
export const ROLE_COLUMN = "CASE WHEN guest = 1 THEN 'guest' ELSE role END AS role";
const COLUMNS = `id, org_id, email, name, ${ROLE_COLUMN}, status, password_hash, created_at, supervisor`;

export function toUser(row: UserRow): User & { orgId: string } {
  return {
    id: row.id,
    orgId: row.org_id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    supervisor: row.supervisor === 1,
    createdAt: row.created_at,
  };
}

/**
 * The statement that inserts a user, for use alone or inside a batch. With `onlyIfEvent`, the row
 * is written only if that audit event was written earlier in the same batch.
 */
export function userInsert(
  db: D1Database,
  user: {
    id: string;
    orgId: string;
    email: string;
    name: string;
    role: Role;
    status: User["status"];
    passwordHash: string | null;
    now: string;
  },
  onlyIfEvent: string | null = null,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO users (id, org_id, email, name, role, status, password_hash, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8 WHERE ?9 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?9)`,
    )
    .bind(user.id, user.orgId, user.email, user.name, user.role, user.status, user.passwordHash, user.now, onlyIfEvent);
}

export async function findUserByEmail(db: D1Database, email: string): Promise<UserRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM users WHERE email = ?`).bind(email).first<UserRow>();
}

export async function findUserById(db: D1Database, id: string): Promise<UserRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM users WHERE id = ?`).bind(id).first<UserRow>();
}

/**
 * The order users are listed in (name, ignoring case, then email, then id) and the keyset
 * condition for the page after the user `?2, ?3, ?4` names (all null for the first page).
 */
export const USER_ORDER = "name COLLATE NOCASE, email, id";
export const USERS_AFTER = `(?2 IS NULL OR name > ?2 COLLATE NOCASE OR (name = ?2 COLLATE NOCASE AND (email > ?3 OR (email = ?3 AND id > ?4))))`;

/** The organisation's users by name: at most `limit`, after the user `after` names (name, email, id). */
export async function listUsers(db: D1Database, orgId: string, after: SortKey | null, limit: number): Promise<UserRow[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM users WHERE org_id = ?1 AND ${USERS_AFTER} ORDER BY ${USER_ORDER} LIMIT ?5`)
    .bind(orgId, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, limit)
    .all<UserRow>();
  return results;
}

/** Changes a user's name and/or role; with `onlyIfEvent`, only if that audit event was written earlier in the batch. */
export function userUpdate(
  db: D1Database,
  id: string,
  changes: { name?: string; role?: Role },
  now: string,
  onlyIfEvent: string | null = null,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE users SET name = coalesce(?1, name), role = coalesce(?2, role), updated_at = ?3
        WHERE id = ?4 AND (?5 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?5))`,
    )
    .bind(changes.name ?? null, changes.role ?? null, now, id, onlyIfEvent);
}

/** Sets the password of an invited user, only while `invitationHash` is unused and unexpired. */
export function acceptInvitationStatement(
  db: D1Database,
  input: { userId: string; invitationHash: string; passwordHash: string; now: string },
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE users SET password_hash = ?, status = 'active', updated_at = ?
        WHERE id = ? AND status = 'invited'
          AND EXISTS (SELECT 1 FROM invitations
                       WHERE token_hash = ? AND user_id = users.id AND used_at IS NULL AND expires_at > ?)`,
    )
    .bind(input.passwordHash, input.now, input.userId, input.invitationHash, input.now);
}
