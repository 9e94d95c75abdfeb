/**
 * Retention storage: categories, the organisation's settings, legal holds, items' disposal state
 * and tombstones (migrations/0018_retention.sql, docs/retention.md). Every state change here is a
 * statement guarded in SQL (holds included), for the caller's batch with its audit event.
 */
import { caseStore, type ItemRecord, type RecordColumns, type StoreEnv } from "./records";
import type { Category, DisposalItem, Hold, RetentionRule, Tombstone } from "../../../shared/api/retention";
import { newId } from "../lib/secrets";

export interface CategoryRow {
  id: string;
  org_id: string;
  name: string;
  basis: "case_closed" | "capture" | "indefinite";
  period_count: number | null;
  period_unit: "days" | "years" | null;
  created_at: string;
  updated_at: string;
}

export interface SettingsRow {
  org_id: string;
  default_category_id: string;
  auto_delete_days: number | null;
  bin_days: number;
}

export function ruleOf(row: Pick<CategoryRow, "basis" | "period_count" | "period_unit">): RetentionRule {
  if (row.basis === "indefinite") return { basis: "indefinite" };
  return { basis: row.basis, count: row.period_count ?? 0, unit: row.period_unit ?? "days" };
}

function ruleColumns(rule: RetentionRule): [string, number | null, string | null] {
  return rule.basis === "indefinite" ? ["indefinite", null, null] : [rule.basis, rule.count, rule.unit];
}

export function toCategory(row: CategoryRow, defaultId: string): Category {
  return { id: row.id, name: row.name, rule: ruleOf(row), isDefault: row.id === defaultId, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** An SQL condition: the item `alias` (an evidence row) is under a legal hold, of itself or of its case. */
export function heldSql(alias: string): string {
  return `EXISTS (SELECT 1 FROM legal_holds h WHERE h.lifted_at IS NULL AND h.case_id = ${alias}.case_id AND (h.evidence_id IS NULL OR h.evidence_id = ${alias}.id))`;
}

// ---- settings and categories --------------------------------------------------------------------

/**
 * The organisation's retention settings. Migration 0018 made them for the organisations there
 * were, and setup makes them for a new one (`retentionDefaults`); should they be missing all the
 * same, they are made here: one category, "General", kept indefinitely (what Custody always did).
 */
export async function retentionSettings(db: D1Database, orgId: string): Promise<SettingsRow> {
  const existing = await db.prepare("SELECT * FROM retention_settings WHERE org_id = ?").bind(orgId).first<SettingsRow>();
  if (existing) return existing;
  const now = new Date().toISOString();
  await db.batch([
    db
      .prepare("INSERT OR IGNORE INTO retention_categories (id, org_id, name, basis, created_at, updated_at) VALUES (?, ?, 'General', 'indefinite', ?, ?)")
      .bind(newId(), orgId, now, now),
    db
      .prepare(
        `INSERT OR IGNORE INTO retention_settings (org_id, default_category_id, updated_at)
         SELECT ?1, id, ?2 FROM retention_categories WHERE org_id = ?1 AND name = 'General'`,
      )
      .bind(orgId, now),
  ]);
  return (await db.prepare("SELECT * FROM retention_settings WHERE org_id = ?").bind(orgId).first<SettingsRow>())!;
}

/** A new organisation's retention defaults, for its setup batch: "General", kept indefinitely, as the default category. */
export function retentionDefaults(db: D1Database, orgId: string, now: string): D1PreparedStatement[] {
  const id = newId();
  return [
    db.prepare("INSERT INTO retention_categories (id, org_id, name, basis, created_at, updated_at) VALUES (?, ?, 'General', 'indefinite', ?, ?)").bind(id, orgId, now, now),
    db.prepare("INSERT INTO retention_settings (org_id, default_category_id, updated_at) VALUES (?, ?, ?)").bind(orgId, id, now),
  ];
}

export function settingsUpdate(
  db: D1Database,
  orgId: string,
  s: { defaultCategoryId: string; autoDeleteAfterDays: number | null; binDays: number },
  by: string,
  now: string,
): D1PreparedStatement {
  return db
    .prepare("UPDATE retention_settings SET default_category_id = ?, auto_delete_days = ?, bin_days = ?, updated_by = ?, updated_at = ? WHERE org_id = ?")
    .bind(s.defaultCategoryId, s.autoDeleteAfterDays, s.binDays, by, now, orgId);
}

export async function listCategories(db: D1Database, orgId: string): Promise<CategoryRow[]> {
  const { results } = await db.prepare("SELECT * FROM retention_categories WHERE org_id = ? ORDER BY name").bind(orgId).all<CategoryRow>();
  return results;
}

export async function findCategory(db: D1Database, orgId: string, id: string): Promise<CategoryRow | null> {
  return db.prepare("SELECT * FROM retention_categories WHERE id = ? AND org_id = ?").bind(id, orgId).first<CategoryRow>();
}

export async function categoryNameTaken(db: D1Database, orgId: string, name: string, except = ""): Promise<boolean> {
  return (await db.prepare("SELECT 1 AS x FROM retention_categories WHERE org_id = ? AND name = ? AND id <> ?").bind(orgId, name, except).first()) !== null;
}

export function categoryInsert(db: D1Database, c: { id: string; orgId: string; name: string; rule: RetentionRule; by: string; now: string }): D1PreparedStatement {
  const [basis, count, unit] = ruleColumns(c.rule);
  return db
    .prepare("INSERT INTO retention_categories (id, org_id, name, basis, period_count, period_unit, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(c.id, c.orgId, c.name, basis, count, unit, c.by, c.now, c.now);
}

export function categoryUpdate(db: D1Database, id: string, c: { name: string; rule: RetentionRule; now: string }): D1PreparedStatement {
  const [basis, count, unit] = ruleColumns(c.rule);
  return db
    .prepare("UPDATE retention_categories SET name = ?, basis = ?, period_count = ?, period_unit = ?, updated_at = ? WHERE id = ?")
    .bind(c.name, basis, count, unit, c.now, id);
}

/**
 * A category's rule changed: its items are no longer listed as due (the daily job, or "Check
 * now", lists again those the new rule makes due), so nothing is approved under the old rule.
 */
export function dueClearForCategory(db: D1Database, categoryId: string, orgId: string): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE evidence SET due_at = NULL WHERE due_at IS NOT NULL AND deleted_at IS NULL
          AND coalesce(category_id, (SELECT default_category_id FROM retention_settings WHERE org_id = ?2)) = ?1
          AND case_id IN (SELECT id FROM cases WHERE org_id = ?2)`,
    )
    .bind(categoryId, orgId);
}

/** The case reopened: none of its items stays listed as due. */
export function evidenceDueClearForCase(db: D1Database, caseId: string): D1PreparedStatement {
  return db.prepare("UPDATE evidence SET due_at = NULL WHERE case_id = ? AND deleted_at IS NULL").bind(caseId);
}

export function evidenceCategoryUpdate(db: D1Database, evidenceId: string, categoryId: string): D1PreparedStatement {
  return db.prepare("UPDATE evidence SET category_id = ?, due_at = NULL WHERE id = ? AND deleted_at IS NULL").bind(categoryId, evidenceId);
}

// ---- legal holds --------------------------------------------------------------------------------

interface HoldRow {
  id: string;
  case_id: string;
  case_number: string;
  evidence_id: string | null;
  reason: string;
  set_by: string;
  set_by_name: string;
  set_at: string;
  lifted_by: string | null;
  lifted_by_name: string | null;
  lifted_at: string | null;
  lift_reason: string | null;
}

const HOLD_SQL = `
  SELECT h.id, h.case_id, c.number AS case_number, h.evidence_id, h.reason, h.set_by, s.name AS set_by_name, h.set_at,
         h.lifted_by, l.name AS lifted_by_name, h.lifted_at, h.lift_reason
    FROM legal_holds h JOIN cases c ON c.id = h.case_id JOIN users s ON s.id = h.set_by LEFT JOIN users l ON l.id = h.lifted_by`;

function toHold(r: HoldRow): Hold {
  return {
    id: r.id,
    caseId: r.case_id,
    caseNumber: r.case_number,
    evidenceId: r.evidence_id,
    reason: r.reason,
    setBy: { id: r.set_by, name: r.set_by_name },
    setAt: r.set_at,
    liftedBy: r.lifted_by ? { id: r.lifted_by, name: r.lifted_by_name ?? "" } : null,
    liftedAt: r.lifted_at,
    liftReason: r.lift_reason,
  };
}

/** The organisation's holds, active first, newest first. */
export async function listHolds(db: D1Database, orgId: string): Promise<Hold[]> {
  const { results } = await db.prepare(`${HOLD_SQL} WHERE h.org_id = ? ORDER BY h.lifted_at IS NOT NULL, h.set_at DESC LIMIT 1000`).bind(orgId).all<HoldRow>();
  return results.map(toHold);
}

/** Holds on the case or any of its items (or, with `evidenceId`, those that cover that item), active first. */
export async function holdsFor(db: D1Database, caseId: string, evidenceId?: string): Promise<Hold[]> {
  const { results } = await db
    .prepare(`${HOLD_SQL} WHERE h.case_id = ?1 AND (?2 IS NULL OR h.evidence_id IS NULL OR h.evidence_id = ?2) ORDER BY h.lifted_at IS NOT NULL, h.set_at DESC`)
    .bind(caseId, evidenceId ?? null)
    .all<HoldRow>();
  return results.map(toHold);
}

export async function findHold(db: D1Database, orgId: string, id: string): Promise<Hold | null> {
  const row = await db.prepare(`${HOLD_SQL} WHERE h.id = ? AND h.org_id = ?`).bind(id, orgId).first<HoldRow>();
  return row ? toHold(row) : null;
}

export function holdInsert(db: D1Database, h: { id: string; orgId: string; caseId: string; evidenceId: string | null; reason: string; by: string; now: string }): D1PreparedStatement {
  return db
    .prepare("INSERT INTO legal_holds (id, org_id, case_id, evidence_id, reason, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
    .bind(h.id, h.orgId, h.caseId, h.evidenceId, h.reason, h.by, h.now);
}

/** Lifts an active hold (changes nothing if it was lifted already). */
export function holdLift(db: D1Database, id: string, l: { by: string; reason: string; now: string }): D1PreparedStatement {
  return db.prepare("UPDATE legal_holds SET lifted_by = ?, lifted_at = ?, lift_reason = ? WHERE id = ? AND lifted_at IS NULL").bind(l.by, l.now, l.reason, id);
}

// ---- items in disposal --------------------------------------------------------------------------

export interface DisposalRow {
  id: string;
  case_id: string;
  org_id: string;
  status: "uploading" | "complete";
  byte_size: number;
  created_at: string;
  uploader_id: string;
  uploader_name: string;
  r2_key: string;
  upload_id: string | null;
  due_at: string | null;
  deletion_requested_by: string | null;
  requester_name: string | null;
  deletion_requested_at: string | null;
  deletion_reason: string | null;
  deleted_at: string | null;
  deleted_by: string | null;
  deleter_name: string | null;
  purge_after: string | null;
  purge_started_at: string | null;
  case_number: string;
  case_title: string;
  case_status: "open" | "closed";
  disposition: string | null;
  closed_at: string | null;
  category_id: string;
  category_name: string;
  basis: CategoryRow["basis"];
  period_count: number | null;
  period_unit: CategoryRow["period_unit"];
  held: number;
}

const DISPOSAL_SQL = `
  SELECT e.id, e.case_id, c.org_id, e.status, e.byte_size, e.created_at, e.uploader_id, u.name AS uploader_name, e.r2_key, e.upload_id,
         e.due_at, e.deletion_requested_by, rq.name AS requester_name, e.deletion_requested_at, e.deletion_reason,
         e.deleted_at, e.deleted_by, dl.name AS deleter_name, e.purge_after, e.purge_started_at,
         c.number AS case_number, c.title AS case_title, c.status AS case_status, c.disposition, c.closed_at,
         k.id AS category_id, k.name AS category_name, k.basis, k.period_count, k.period_unit,
         ${heldSql("e")} AS held
    FROM evidence e JOIN cases c ON c.id = e.case_id JOIN users u ON u.id = e.uploader_id
    JOIN retention_settings s ON s.org_id = c.org_id
    JOIN retention_categories k ON k.id = coalesce(e.category_id, s.default_category_id)
    LEFT JOIN users rq ON rq.id = e.deletion_requested_by
    LEFT JOIN users dl ON dl.id = e.deleted_by`;

export async function findDisposalRow(db: D1Database, orgId: string, evidenceId: string): Promise<DisposalRow | null> {
  return db.prepare(`${DISPOSAL_SQL} WHERE e.id = ? AND c.org_id = ?`).bind(evidenceId, orgId).first<DisposalRow>();
}

/** The "Due for deletion" report: items listed as past retention or asked to be deleted, not yet deleted. */
export async function listDue(db: D1Database, orgId: string): Promise<DisposalRow[]> {
  const { results } = await db
    .prepare(
      `${DISPOSAL_SQL} WHERE c.org_id = ? AND e.status = 'complete' AND e.deleted_at IS NULL AND (e.due_at IS NOT NULL OR e.deletion_requested_at IS NOT NULL)
        ORDER BY coalesce(e.due_at, e.deletion_requested_at), e.id LIMIT 1000`,
    )
    .bind(orgId)
    .all<DisposalRow>();
  return results;
}

/** The recycle bin: deleted items, soonest purged first (those being purged included). */
export async function listBin(db: D1Database, orgId: string): Promise<DisposalRow[]> {
  const { results } = await db
    .prepare(`${DISPOSAL_SQL} WHERE c.org_id = ? AND e.deleted_at IS NOT NULL ORDER BY e.purge_after, e.id LIMIT 1000`)
    .bind(orgId)
    .all<DisposalRow>();
  return results;
}

/** Items of the organisation whose rule can make them due (not kept indefinitely, clock started), not deleted. */
export async function listClocked(db: D1Database, orgId: string): Promise<DisposalRow[]> {
  const { results } = await db
    .prepare(
      `${DISPOSAL_SQL} WHERE c.org_id = ? AND e.status = 'complete' AND e.deleted_at IS NULL
          AND (e.due_at IS NOT NULL OR k.basis = 'capture' OR (k.basis = 'case_closed' AND c.closed_at IS NOT NULL))`,
    )
    .bind(orgId)
    .all<DisposalRow>();
  return results;
}

/** Items automatic deletion takes: listed as due at least `days` before `now`, not held. */
export async function listAutoDeletable(db: D1Database, orgId: string, listedBefore: string): Promise<DisposalRow[]> {
  const { results } = await db
    .prepare(`${DISPOSAL_SQL} WHERE c.org_id = ? AND e.deleted_at IS NULL AND e.due_at IS NOT NULL AND e.due_at <= ? AND NOT ${heldSql("e")}`)
    .bind(orgId, listedBefore)
    .all<DisposalRow>();
  return results;
}

/**
 * The item's signed manifest and its stored object's key (read only where needed: the lists above leave it out, it can be tens
 * of kilobytes), from its record in the case's object or (a row from before migration 0036) its
 * own column; null if the item is gone, or shredded (its record then is too).
 */
export async function manifestOf(env: StoreEnv, evidenceId: string): Promise<{ manifest: string; r2_key: string } | null> {
  const row = await env.DB.prepare("SELECT id, case_id, record_ref, manifest, r2_key FROM evidence WHERE id = ?")
    .bind(evidenceId)
    .first<Pick<RecordColumns, "id" | "case_id" | "record_ref" | "manifest" | "r2_key">>();
  if (!row) return null;
  if (row.record_ref === null) return row.manifest ? { manifest: row.manifest, r2_key: row.r2_key } : null;
  const body = (await caseStore(env, row.case_id).get([{ evidenceId, ref: row.record_ref }], [])).items[row.record_ref];
  if (body === undefined) return null;
  const record = JSON.parse(body) as ItemRecord;
  return { manifest: record.manifest, r2_key: record.r2_key };
}

/** The manifest SHA-512 a shredded item's tombstone recorded (a purge that a crash cut short goes on with it). */
export async function tombstoneDigest(db: D1Database, evidenceId: string): Promise<string | null> {
  return (await db.prepare("SELECT manifest_sha512 FROM evidence_tombstones WHERE evidence_id = ?").bind(evidenceId).first<{ manifest_sha512: string }>())?.manifest_sha512 ?? null;
}

/** Items to purge at `now`: out of the bin's time and not held, or already shredded (a purge to finish, whatever else). */
export async function listPurgeable(db: D1Database, orgId: string, now: string): Promise<DisposalRow[]> {
  const { results } = await db
    .prepare(
      `${DISPOSAL_SQL} WHERE c.org_id = ? AND e.deleted_at IS NOT NULL
          AND (e.purge_started_at IS NOT NULL OR (e.purge_after <= ? AND NOT ${heldSql("e")}))
        ORDER BY e.purge_after, e.id`,
    )
    .bind(orgId, now)
    .all<DisposalRow>();
  return results;
}

export function dueMark(db: D1Database, evidenceId: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE evidence SET due_at = ? WHERE id = ? AND due_at IS NULL AND deleted_at IS NULL").bind(now, evidenceId);
}

export function dueClear(db: D1Database, evidenceId: string): D1PreparedStatement {
  return db.prepare("UPDATE evidence SET due_at = NULL WHERE id = ? AND deleted_at IS NULL").bind(evidenceId);
}

export function deletionRequestSet(db: D1Database, evidenceId: string, r: { by: string; reason: string; now: string }): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE evidence SET deletion_requested_by = ?, deletion_requested_at = ?, deletion_reason = ?
        WHERE id = ? AND status = 'complete' AND deleted_at IS NULL AND NOT ${heldSql("evidence")}`,
    )
    .bind(r.by, r.now, r.reason, evidenceId);
}

/** An administrator declines an uploader's request: the item stays, off the report (unless due by retention). */
export function deletionRequestClear(db: D1Database, evidenceId: string): D1PreparedStatement {
  return db
    .prepare("UPDATE evidence SET deletion_requested_by = NULL, deletion_requested_at = NULL, deletion_reason = NULL WHERE id = ? AND deleted_at IS NULL AND deletion_requested_at IS NOT NULL")
    .bind(evidenceId);
}

/**
 * Moves an item to the recycle bin, if it is due or asked for, not deleted and not held (checked
 * here, in the same statement: a hold placed a moment before wins). `by` null: automatic deletion.
 */
export function binInsert(db: D1Database, evidenceId: string, d: { by: string | null; now: string; purgeAfter: string; retentionOnly?: boolean }): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE evidence SET deleted_at = ?1, deleted_by = ?2, purge_after = ?3
        WHERE id = ?4 AND status = 'complete' AND deleted_at IS NULL
          AND (due_at IS NOT NULL OR (?5 = 0 AND deletion_requested_at IS NOT NULL))
          AND NOT ${heldSql("evidence")}`,
    )
    .bind(d.now, d.by, d.purgeAfter, evidenceId, d.retentionOnly ? 1 : 0);
}

/** Takes an item out of the bin, if its purge has not begun; it is no longer listed as due or asked for. */
export function binRestore(db: D1Database, evidenceId: string): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE evidence SET deleted_at = NULL, deleted_by = NULL, purge_after = NULL, due_at = NULL,
              deletion_requested_by = NULL, deletion_requested_at = NULL, deletion_reason = NULL
        WHERE id = ? AND deleted_at IS NOT NULL AND purge_started_at IS NULL`,
    )
    .bind(evidenceId);
}

// ---- purge --------------------------------------------------------------------------------------

/**
 * Purge, step 1 (crypto-shredding): the wrapped file key, the label and the thumbnail are overwritten,
 * the item's record unnamed (its object key, which the rest of the purge needs, kept in the row)
 * and `purge_started_at` set, if the item is in the bin past its time
 * and not held. The record itself, in the case's object, is deleted right after (`purgeItem`),
 * before anything else of the purge: from then on nothing can open the item, as the file key
 * existed nowhere else.
 */
export function shredStatement(db: D1Database, evidenceId: string, now: string, r2Key: string): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE evidence SET file_key = '', label = NULL, thumbnail = NULL, record_ref = NULL, r2_key = ?3, purge_started_at = ?1
        WHERE id = ?2 AND deleted_at IS NOT NULL AND purge_after <= ?1 AND purge_started_at IS NULL AND NOT ${heldSql("evidence")}`,
    )
    .bind(now, evidenceId, r2Key);
}

/** Details are under the file key: gone with it, once the item is shredded. */
export function shreddedDetailsDelete(db: D1Database, evidenceId: string): D1PreparedStatement {
  return db
    .prepare("DELETE FROM evidence_details WHERE evidence_id = ?1 AND EXISTS (SELECT 1 FROM evidence WHERE id = ?1 AND purge_started_at IS NOT NULL)")
    .bind(evidenceId);
}

/** Shares hold the file key and label re-wrapped to a share key (docs/disclosure.md): destroyed with the item's own. */
export function shreddedShareWrapsDelete(db: D1Database, evidenceId: string): D1PreparedStatement {
  return db
    .prepare("UPDATE share_items SET file_key = NULL, label = NULL WHERE evidence_id = ?1 AND EXISTS (SELECT 1 FROM evidence WHERE id = ?1 AND purge_started_at IS NOT NULL)")
    .bind(evidenceId);
}

/** The tombstone, written with the shredding (only if the item is shredded; once). */
export function tombstoneInsert(
  db: D1Database,
  t: { evidenceId: string; manifestSha512: string; categoryName: string; rule: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR IGNORE INTO evidence_tombstones (evidence_id, org_id, case_id, manifest_sha512, byte_size, uploader_id, received_at, category_id, category_name, rule,
                                                  reason, requested_by, request_reason, approved_by, deleted_at, shredded_at)
       SELECT e.id, c.org_id, e.case_id, ?2, e.byte_size, e.uploader_id, e.created_at, coalesce(e.category_id, s.default_category_id), ?3, ?4,
              CASE WHEN e.due_at IS NULL AND e.deletion_requested_at IS NOT NULL THEN 'request' ELSE 'retention' END,
              e.deletion_requested_by, e.deletion_reason, e.deleted_by, e.deleted_at, e.purge_started_at
         FROM evidence e JOIN cases c ON c.id = e.case_id JOIN retention_settings s ON s.org_id = c.org_id
        WHERE e.id = ?1 AND e.purge_started_at IS NOT NULL`,
    )
    .bind(t.evidenceId, t.manifestSha512, t.categoryName, t.rule);
}

/**
 * Purge, step 3 (after the stored object is deleted): every row left of the item, in an order
 * that keeps foreign keys whole; the evidence row last but one, then the tombstone's purged_at.
 * Only for a shredded item.
 */
export function purgeRows(db: D1Database, evidenceId: string): D1PreparedStatement[] {
  const shredded = "EXISTS (SELECT 1 FROM evidence WHERE id = ?1 AND purge_started_at IS NOT NULL)";
  return [
    db.prepare(`DELETE FROM evidence_parts WHERE evidence_id = ?1 AND ${shredded}`).bind(evidenceId),
    db.prepare(`DELETE FROM evidence_details WHERE evidence_id = ?1 AND ${shredded}`).bind(evidenceId),
    db.prepare(`DELETE FROM timestamps WHERE subject_type = 'manifest' AND subject_id = ?1 AND ${shredded}`).bind(evidenceId),
    db.prepare(`DELETE FROM share_items WHERE evidence_id = ?1 AND ${shredded}`).bind(evidenceId),
    // Accepted from a submission link: the submitter's details and the submission key wrap that opens them.
    db.prepare(`DELETE FROM evidence_provenance WHERE evidence_id = ?1 AND ${shredded}`).bind(evidenceId),
    db.prepare("DELETE FROM evidence WHERE id = ?1 AND purge_started_at IS NOT NULL").bind(evidenceId),
  ];
}

export function tombstonePurged(db: D1Database, evidenceId: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE evidence_tombstones SET purged_at = ? WHERE evidence_id = ? AND purged_at IS NULL").bind(now, evidenceId);
}

interface TombstoneRow {
  evidence_id: string;
  case_id: string;
  case_number: string;
  manifest_sha512: string;
  byte_size: number;
  uploader_id: string;
  received_at: string;
  category_id: string | null;
  category_name: string;
  rule: string;
  reason: "retention" | "request";
  requested_by: string | null;
  request_reason: string | null;
  approved_by: string | null;
  approver_name: string | null;
  deleted_at: string;
  shredded_at: string;
  purged_at: string | null;
}

const TOMBSTONE_SQL = `
  SELECT t.*, c.number AS case_number, a.name AS approver_name
    FROM evidence_tombstones t JOIN cases c ON c.id = t.case_id LEFT JOIN users a ON a.id = t.approved_by`;

function toTombstone(r: TombstoneRow): Tombstone {
  return {
    evidenceId: r.evidence_id,
    caseId: r.case_id,
    caseNumber: r.case_number,
    manifestSha512: r.manifest_sha512,
    byteSize: r.byte_size,
    uploaderId: r.uploader_id,
    receivedAt: r.received_at,
    category: { id: r.category_id, name: r.category_name, rule: r.rule },
    reason: r.reason,
    requestedBy: r.requested_by,
    requestReason: r.request_reason,
    approvedBy: r.approved_by ? { id: r.approved_by, name: r.approver_name ?? "" } : null,
    deletedAt: r.deleted_at,
    shreddedAt: r.shredded_at,
    purgedAt: r.purged_at,
  };
}

export async function findTombstone(db: D1Database, orgId: string, evidenceId: string): Promise<Tombstone | null> {
  const row = await db.prepare(`${TOMBSTONE_SQL} WHERE t.evidence_id = ? AND t.org_id = ?`).bind(evidenceId, orgId).first<TombstoneRow>();
  return row ? toTombstone(row) : null;
}

export async function listTombstones(db: D1Database, orgId: string): Promise<Tombstone[]> {
  const { results } = await db.prepare(`${TOMBSTONE_SQL} WHERE t.org_id = ? ORDER BY t.shredded_at DESC LIMIT 1000`).bind(orgId).all<TombstoneRow>();
  return results.map(toTombstone);
}

export function toDisposalItem(r: DisposalRow, dueAt: string | null): DisposalItem {
  return {
    evidenceId: r.id,
    caseId: r.case_id,
    caseNumber: r.case_number,
    caseTitle: r.case_title,
    caseStatus: r.case_status,
    disposition: r.disposition,
    uploader: { id: r.uploader_id, name: r.uploader_name },
    byteSize: r.byte_size,
    receivedAt: r.created_at,
    category: { id: r.category_id, name: r.category_name, rule: ruleOf(r) },
    dueAt,
    listedAt: r.due_at,
    request: r.deletion_requested_at ? { by: { id: r.deletion_requested_by!, name: r.requester_name ?? "" }, at: r.deletion_requested_at, reason: r.deletion_reason ?? "" } : null,
    held: r.held === 1,
    deletedAt: r.deleted_at,
    deletedBy: r.deleted_by ? { id: r.deleted_by, name: r.deleter_name ?? "" } : null,
    purgeAfter: r.purge_after,
    purging: r.purge_started_at !== null,
  };
}

/** Which of `ids` `userId` can still open: existing, not deleted, in a case they are a member of. */
export async function visibleTo(db: D1Database, userId: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { results } = await db
    .prepare(
      `SELECT e.id FROM evidence e JOIN case_members m ON m.case_id = e.case_id AND m.user_id = ?1
        WHERE e.deleted_at IS NULL AND e.id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(userId, JSON.stringify(ids))
    .all<{ id: string }>();
  return new Set(results.map((r) => r.id));
}
