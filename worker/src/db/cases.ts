import type { CaseMember, CaseOversight, CaseRole, CaseSummary, KeyWrap, SupervisorList } from "../../../shared/api/cases";
import type { PublicJwk } from "../../../shared/api/schemas";
import type { SortKey } from "../lib/paging";

export interface CaseRow {
  id: string;
  org_id: string;
  number: string;
  title: string;
  description: string;
  tags: string;
  status: "open" | "closed";
  disposition: string | null;
  closed_at: string | null;
  created_at: string;
  updated_at: string;
  /** 'captures': a user's holding place for captures (migrations/0027_captures.sql), never listed as a case. */
  kind: "case" | "captures";
}

const CASE_COLUMNS = "c.id, c.org_id, c.number, c.title, c.description, c.tags, c.status, c.disposition, c.closed_at, c.created_at, c.updated_at, c.kind";

/** A case as one user sees it: their role (viewer, for a supervisor who oversees it) and whether they read it through oversight. */
export type MyCaseRow = CaseRow & { my_role: CaseRole; oversight: number; evidence_count: number };

export function toSummary(row: MyCaseRow): CaseSummary {
  return {
    id: row.id,
    number: row.number,
    title: row.title,
    status: row.status,
    disposition: row.disposition,
    closedAt: row.closed_at,
    tags: JSON.parse(row.tags) as string[],
    myRole: row.my_role,
    oversight: row.oversight === 1,
    evidenceCount: row.evidence_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The columns and joins of a case as `?1` sees it: a member with their role, or a supervisor who
 * oversees it (read as a viewer). Rows where `?1` is neither have `m.role` and `o.user_id` null.
 */
const MY_CASE_SELECT = `SELECT ${CASE_COLUMNS}, coalesce(m.role, 'viewer') AS my_role, (m.role IS NULL) AS oversight, c.evidence_count
         FROM cases c LEFT JOIN case_members m ON m.case_id = c.id AND m.user_id = ?1
              LEFT JOIN case_oversight o ON o.case_id = c.id AND o.user_id = ?1`;

/** Cases `userId` is a member of or oversees, filtered, last changed first: at most `limit`, after the case `after` names (updated_at, id). */
export async function listMyCases(
  db: D1Database,
  userId: string,
  filter: { q?: string; status?: string; tag?: string },
  after: SortKey | null,
  limit: number,
): Promise<MyCaseRow[]> {
  const like = filter.q ? `%${filter.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%` : null;
  const { results } = await db
    .prepare(
      `${MY_CASE_SELECT}
        WHERE c.kind = 'case' AND (m.user_id IS NOT NULL OR o.user_id IS NOT NULL)
          AND (?2 IS NULL OR c.number LIKE ?2 ESCAPE '\\' OR c.title LIKE ?2 ESCAPE '\\' OR c.description LIKE ?2 ESCAPE '\\'
               OR EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value LIKE ?2 ESCAPE '\\'))
          AND (?3 IS NULL OR c.status = ?3)
          AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value = ?4 COLLATE NOCASE))
          AND (?5 IS NULL OR c.updated_at < ?5 OR (c.updated_at = ?5 AND c.id < ?6))
        ORDER BY c.updated_at DESC, c.id DESC
        LIMIT ?7`,
    )
    .bind(userId, like, filter.status ?? null, filter.tag ?? null, after?.[0] ?? null, after?.[1] ?? null, limit)
    .all<MyCaseRow>();
  return results;
}

/** The case and the user's role in it (viewer, through oversight, for a supervisor who oversees it); null when there is no such case or the user is neither. */
export async function findCaseForMember(db: D1Database, caseId: string, userId: string): Promise<MyCaseRow | null> {
  return db
    .prepare(`${MY_CASE_SELECT} WHERE c.id = ?2 AND (m.user_id IS NOT NULL OR o.user_id IS NOT NULL)`)
    .bind(userId, caseId)
    .first<MyCaseRow>();
}

export async function caseNumberTaken(db: D1Database, orgId: string, number: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 AS x FROM cases WHERE org_id = ? AND number = ?").bind(orgId, number).first()) !== null;
}

export function caseInsert(
  db: D1Database,
  row: { id: string; orgId: string; number: string; title: string; description: string; tags: string[]; createdBy: string; now: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO cases (id, org_id, number, title, description, tags, status, created_by, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)`,
    )
    .bind(row.id, row.orgId, row.number, row.title, row.description, JSON.stringify(row.tags), row.createdBy, row.now, row.now);
}

/**
 * Changes a case. Closing records the disposition and `closed_at` (which starts the clocks of
 * categories counted from the close); reopening clears both, stopping those clocks.
 */
export function caseUpdate(
  db: D1Database,
  id: string,
  changes: { title?: string; description?: string; tags?: string[]; status?: string; disposition?: string; dispositionNote?: string },
  now: string,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE cases SET title = coalesce(?1, title), description = coalesce(?2, description), tags = coalesce(?3, tags),
              closed_at = CASE WHEN ?4 = 'closed' AND status = 'open' THEN ?5 WHEN ?4 = 'open' THEN NULL ELSE closed_at END,
              disposition = CASE WHEN ?4 = 'closed' THEN coalesce(?6, disposition) WHEN ?4 = 'open' THEN NULL ELSE disposition END,
              disposition_note = CASE WHEN ?4 = 'closed' AND ?6 IS NOT NULL THEN ?7 WHEN ?4 = 'open' THEN NULL ELSE disposition_note END,
              status = coalesce(?4, status), updated_at = ?5 WHERE id = ?8`,
    )
    .bind(
      changes.title ?? null, changes.description ?? null, changes.tags ? JSON.stringify(changes.tags) : null, changes.status ?? null, now,
      changes.disposition ?? null, changes.dispositionNote ?? null, id,
    );
}

export function memberInsert(db: D1Database, m: { caseId: string; userId: string; role: CaseRole; addedBy: string; now: string }): D1PreparedStatement {
  return db
    .prepare("INSERT INTO case_members (case_id, user_id, role, added_by, added_at) VALUES (?, ?, ?, ?, ?)")
    .bind(m.caseId, m.userId, m.role, m.addedBy, m.now);
}

export function memberRoleUpdate(db: D1Database, caseId: string, userId: string, role: CaseRole): D1PreparedStatement {
  return db.prepare("UPDATE case_members SET role = ? WHERE case_id = ? AND user_id = ?").bind(role, caseId, userId);
}

export function memberDelete(db: D1Database, caseId: string, userId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM case_members WHERE case_id = ? AND user_id = ?").bind(caseId, userId);
}

export async function listMembers(db: D1Database, caseId: string): Promise<CaseMember[]> {
  const { results } = await db
    .prepare(
      `SELECT m.user_id, u.name, u.email, m.role, m.added_at FROM case_members m JOIN users u ON u.id = m.user_id
        WHERE m.case_id = ? ORDER BY CASE m.role WHEN 'lead' THEN 0 WHEN 'contributor' THEN 1 ELSE 2 END, u.name`,
    )
    .bind(caseId)
    .all<{ user_id: string; name: string; email: string; role: CaseRole; added_at: string }>();
  return results.map((r) => ({ userId: r.user_id, name: r.name, email: r.email, role: r.role, addedAt: r.added_at }));
}

// ---- supervisor oversight (migration 0026)

/** Active supervisors of the organisation who have an encryption key: every new case key is wrapped to each. */
export async function listSupervisors(db: D1Database, orgId: string): Promise<SupervisorList["supervisors"]> {
  const { results } = await db
    .prepare(
      `SELECT u.id, u.name, u.email, k.kid, k.public_jwk FROM users u
         JOIN user_keys k ON k.user_id = u.id AND k.use = 'enc' AND k.retired_at IS NULL
        WHERE u.org_id = ? AND u.supervisor = 1 AND u.status = 'active' AND u.role IN ('investigator', 'admin') ORDER BY u.name COLLATE NOCASE, u.id`,
    )
    .bind(orgId)
    .all<{ id: string; name: string; email: string; kid: string; public_jwk: string }>();
  return results.map((r) => ({ userId: r.id, name: r.name, email: r.email, encryption: { kid: r.kid, publicJwk: JSON.parse(r.public_jwk) as PublicJwk } }));
}

export async function listOversight(db: D1Database, caseId: string): Promise<CaseOversight[]> {
  const { results } = await db
    .prepare("SELECT o.user_id, u.name, u.email, o.added_at FROM case_oversight o JOIN users u ON u.id = o.user_id WHERE o.case_id = ? ORDER BY u.name")
    .bind(caseId)
    .all<{ user_id: string; name: string; email: string; added_at: string }>();
  return results.map((r) => ({ userId: r.user_id, name: r.name, email: r.email, addedAt: r.added_at }));
}

/** The cases `userId` oversees. */
export async function oversightCasesOf(db: D1Database, userId: string): Promise<string[]> {
  const { results } = await db.prepare("SELECT case_id FROM case_oversight WHERE user_id = ? ORDER BY case_id").bind(userId).all<{ case_id: string }>();
  return results.map((r) => r.case_id);
}

export function oversightInsert(db: D1Database, o: { caseId: string; userId: string; addedBy: string; now: string }): D1PreparedStatement {
  return db.prepare("INSERT INTO case_oversight (case_id, user_id, added_by, added_at) VALUES (?, ?, ?, ?)").bind(o.caseId, o.userId, o.addedBy, o.now);
}

export function oversightDelete(db: D1Database, caseId: string, userId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM case_oversight WHERE case_id = ? AND user_id = ?").bind(caseId, userId);
}

export function supervisorSet(db: D1Database, userId: string, supervisor: boolean, now: string): D1PreparedStatement {
  return db.prepare("UPDATE users SET supervisor = ?, updated_at = ? WHERE id = ?").bind(supervisor ? 1 : 0, now, userId);
}

// ---- case keys

export async function currentCaseKey(db: D1Database, caseId: string): Promise<{ kid: string; publicJwk: PublicJwk } | null> {
  const row = await db
    .prepare("SELECT kid, public_jwk FROM case_keys WHERE case_id = ? AND retired_at IS NULL")
    .bind(caseId)
    .first<{ kid: string; public_jwk: string }>();
  return row ? { kid: row.kid, publicJwk: JSON.parse(row.public_jwk) as PublicJwk } : null;
}

export function caseKeyInsert(db: D1Database, key: { kid: string; caseId: string; publicJwk: PublicJwk; now: string }): D1PreparedStatement {
  return db
    .prepare("INSERT INTO case_keys (kid, case_id, public_jwk, created_at) VALUES (?, ?, ?, ?)")
    .bind(key.kid, key.caseId, JSON.stringify(key.publicJwk), key.now);
}

export function caseKeysRetire(db: D1Database, caseId: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE case_keys SET retired_at = ? WHERE case_id = ? AND retired_at IS NULL").bind(now, caseId);
}

export function wrapInsert(db: D1Database, w: { caseKid: string; wrap: KeyWrap; userId: string | null; now: string }): D1PreparedStatement {
  return db
    .prepare("INSERT INTO case_key_wraps (case_kid, recipient_kid, recipient_user, jwe, created_at) VALUES (?, ?, ?, ?, ?)")
    .bind(w.caseKid, w.wrap.recipientKid, w.userId, w.wrap.jwe, w.now);
}

/** Deletes every wrap of this case's keys to `userId` (a removed member keeps nothing). */
export function wrapsDeleteForUser(db: D1Database, caseId: string, userId: string): D1PreparedStatement {
  return db
    .prepare("DELETE FROM case_key_wraps WHERE recipient_user = ? AND case_kid IN (SELECT kid FROM case_keys WHERE case_id = ?)")
    .bind(userId, caseId);
}

/** Every key of the case, with its wrap to `userId`'s encryption key where there is one. */
export async function caseKeysForUser(
  db: D1Database,
  caseId: string,
  userId: string,
): Promise<{ kid: string; public_jwk: string; retired_at: string | null; wrap: string | null }[]> {
  const { results } = await db
    .prepare(
      `SELECT k.kid, k.public_jwk, k.retired_at,
              (SELECT w.jwe FROM case_key_wraps w WHERE w.case_kid = k.kid AND w.recipient_user = ? ORDER BY w.created_at DESC LIMIT 1) AS wrap
         FROM case_keys k WHERE k.case_id = ? ORDER BY k.created_at`,
    )
    .bind(userId, caseId)
    .all<{ kid: string; public_jwk: string; retired_at: string | null; wrap: string | null }>();
  return results;
}

export async function wrapFor(db: D1Database, caseKid: string, userId: string): Promise<string | null> {
  const row = await db
    .prepare("SELECT jwe FROM case_key_wraps WHERE case_kid = ? AND recipient_user = ? ORDER BY created_at DESC LIMIT 1")
    .bind(caseKid, userId)
    .first<{ jwe: string }>();
  return row?.jwe ?? null;
}
