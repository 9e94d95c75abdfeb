import type { CaseMember, CaseRole, CaseSummary, KeyWrap } from "../../../shared/api/cases";
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

export function toSummary(row: CaseRow & { my_role: CaseRole; evidence_count: number }): CaseSummary {
  return {
    id: row.id,
    number: row.number,
    title: row.title,
    status: row.status,
    disposition: row.disposition,
    closedAt: row.closed_at,
    tags: JSON.parse(row.tags) as string[],
    myRole: row.my_role,
    evidenceCount: row.evidence_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Cases `userId` is a member of, filtered, last changed first: at most `limit`, after the case `after` names (updated_at, id). */
export async function listMyCases(
  db: D1Database,
  userId: string,
  filter: { q?: string; status?: string; tag?: string },
  after: SortKey | null,
  limit: number,
): Promise<(CaseRow & { my_role: CaseRole; evidence_count: number })[]> {
  const like = filter.q ? `%${filter.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%` : null;
  const { results } = await db
    .prepare(
      `SELECT ${CASE_COLUMNS}, m.role AS my_role,
              (SELECT count(*) FROM evidence e WHERE e.case_id = c.id AND e.status = 'complete' AND e.deleted_at IS NULL) AS evidence_count
         FROM cases c JOIN case_members m ON m.case_id = c.id AND m.user_id = ?1
        WHERE c.kind = 'case'
          AND (?2 IS NULL OR c.number LIKE ?2 ESCAPE '\\' OR c.title LIKE ?2 ESCAPE '\\' OR c.description LIKE ?2 ESCAPE '\\'
               OR EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value LIKE ?2 ESCAPE '\\'))
          AND (?3 IS NULL OR c.status = ?3)
          AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value = ?4 COLLATE NOCASE))
          AND (?5 IS NULL OR c.updated_at < ?5 OR (c.updated_at = ?5 AND c.id < ?6))
        ORDER BY c.updated_at DESC, c.id DESC
        LIMIT ?7`,
    )
    .bind(userId, like, filter.status ?? null, filter.tag ?? null, after?.[0] ?? null, after?.[1] ?? null, limit)
    .all<CaseRow & { my_role: CaseRole; evidence_count: number }>();
  return results;
}

/** The case and the user's role in it; null when there is no such case or the user is not a member. */
export async function findCaseForMember(
  db: D1Database,
  caseId: string,
  userId: string,
): Promise<(CaseRow & { my_role: CaseRole; evidence_count: number }) | null> {
  return db
    .prepare(
      `SELECT ${CASE_COLUMNS}, m.role AS my_role,
              (SELECT count(*) FROM evidence e WHERE e.case_id = c.id AND e.status = 'complete' AND e.deleted_at IS NULL) AS evidence_count
         FROM cases c JOIN case_members m ON m.case_id = c.id AND m.user_id = ?
        WHERE c.id = ?`,
    )
    .bind(userId, caseId)
    .first<CaseRow & { my_role: CaseRole; evidence_count: number }>();
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
