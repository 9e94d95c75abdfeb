import { loadRecords, type RecordColumns, type StampedTimestamp, type StoreEnv } from "./records";
/** D1 access for shares, their items and keys, link sessions and receipts (docs/disclosure.md, storage-schema.md). */
import type { ShareLevel, ShareReceiptSummary, ShareSummary } from "../../../shared/api/shares";

export interface ShareRow {
  id: string;
  org_id: string;
  case_id: string;
  scope: "case" | "items";
  include_later: number;
  level: ShareLevel;
  recipient_type: "guest" | "link";
  guest_id: string | null;
  recipient_label: string;
  share_kid: string;
  share_public_jwk: string;
  share_key_wrap: string | null;
  recipient_kid: string | null;
  access_code_hash: string | null;
  code_failures: number;
  locked_at: string | null;
  expires_at: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
  reminded_at: string | null;
}

/** Consecutive wrong access codes that lock a link. */
export const LINK_CODE_ATTEMPTS = 5;

export function shareStatus(row: Pick<ShareRow, "revoked_at" | "expires_at" | "locked_at">, now = new Date().toISOString()): ShareSummary["status"] {
  if (row.revoked_at) return "revoked";
  if (row.expires_at <= now) return "expired";
  if (row.locked_at) return "locked";
  return "active";
}

export async function findShare(db: D1Database, id: string): Promise<ShareRow | null> {
  return db.prepare("SELECT * FROM shares WHERE id = ?").bind(id).first<ShareRow>();
}

export function shareInsert(
  db: D1Database,
  s: {
    id: string; orgId: string; caseId: string; scope: "case" | "items"; includeLater: boolean; level: ShareLevel; recipientType: "guest" | "link"; guestId: string | null;
    recipientLabel: string; shareKid: string; sharePublicJwk: string; shareKeyWrap: string; recipientKid: string; accessCodeHash: string | null; expiresAt: string; createdBy: string; now: string;
  },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO shares (id, org_id, case_id, scope, include_later, level, recipient_type, guest_id, recipient_label, share_kid, share_public_jwk,
                           share_key_wrap, recipient_kid, access_code_hash, expires_at, created_by, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17)`,
    )
    .bind(s.id, s.orgId, s.caseId, s.scope, s.includeLater ? 1 : 0, s.level, s.recipientType, s.guestId, s.recipientLabel, s.shareKid, s.sharePublicJwk,
      s.shareKeyWrap, s.recipientKid, s.accessCodeHash, s.expiresAt, s.createdBy, s.now);
}

export function shareItemInsert(db: D1Database, i: { shareId: string; evidenceId: string; fileKey: string | null; label: string | null }): D1PreparedStatement {
  return db.prepare("INSERT INTO share_items (share_id, evidence_id, file_key, label) VALUES (?, ?, ?, ?)").bind(i.shareId, i.evidenceId, i.fileKey, i.label);
}

/** Every complete item of the case, recorded as the items of a whole-case share (their keys open with the case key). */
export function shareItemsOfCase(db: D1Database, shareId: string, caseId: string): D1PreparedStatement {
  return db
    .prepare("INSERT INTO share_items (share_id, evidence_id) SELECT ?1, id FROM evidence WHERE case_id = ?2 AND status = 'complete'")
    .bind(shareId, caseId);
}

export function shareCaseKeyInsert(db: D1Database, k: { shareId: string; caseKid: string; jwe: string }): D1PreparedStatement {
  return db.prepare("INSERT INTO share_case_keys (share_id, case_kid, jwe) VALUES (?, ?, ?)").bind(k.shareId, k.caseKid, k.jwe);
}

export function shareUpdate(db: D1Database, id: string, changes: { level?: ShareLevel; expiresAt?: string }, now: string): D1PreparedStatement {
  return db
    .prepare("UPDATE shares SET level = coalesce(?2, level), expires_at = coalesce(?3, expires_at), reminded_at = CASE WHEN ?3 IS NULL THEN reminded_at END, updated_at = ?4 WHERE id = ?1 AND revoked_at IS NULL")
    .bind(id, changes.level ?? null, changes.expiresAt ?? null, now);
}

/** Revocation: the share's every wrap is deleted and its link sessions end, in one batch. */
export function shareRevoke(db: D1Database, id: string, by: string, now: string): D1PreparedStatement[] {
  return [
    db.prepare("UPDATE shares SET revoked_at = ?2, revoked_by = ?3, updated_at = ?2, share_key_wrap = NULL WHERE id = ?1 AND revoked_at IS NULL").bind(id, now, by),
    db.prepare("UPDATE share_items SET file_key = NULL, label = NULL WHERE share_id = ?").bind(id),
    db.prepare("DELETE FROM share_case_keys WHERE share_id = ?").bind(id),
    db.prepare("UPDATE share_sessions SET revoked_at = ?2 WHERE share_id = ?1 AND revoked_at IS NULL").bind(id, now),
  ];
}

export function shareCodeReset(db: D1Database, id: string, hash: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE shares SET access_code_hash = ?2, code_failures = 0, locked_at = NULL, updated_at = ?3 WHERE id = ?1").bind(id, hash, now);
}

/** One more wrong code; locks the link at LINK_CODE_ATTEMPTS (for the batch that records it). */
export function shareCodeFailed(db: D1Database, id: string, now: string): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE shares SET code_failures = code_failures + 1,
              locked_at = CASE WHEN code_failures + 1 >= ?2 THEN coalesce(locked_at, ?3) ELSE locked_at END
        WHERE id = ?1`,
    )
    .bind(id, LINK_CODE_ATTEMPTS, now);
}

export function shareCodeSucceeded(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare("UPDATE shares SET code_failures = 0 WHERE id = ?").bind(id);
}

export function shareSessionInsert(db: D1Database, s: { tokenHash: string; shareId: string; now: string; expiresAt: string; ip: string | null }): D1PreparedStatement {
  return db.prepare("INSERT INTO share_sessions (token_hash, share_id, created_at, expires_at, ip) VALUES (?, ?, ?, ?, ?)").bind(s.tokenHash, s.shareId, s.now, s.expiresAt, s.ip);
}

export async function findShareSession(db: D1Database, tokenHash: string): Promise<{ share_id: string; expires_at: string; revoked_at: string | null } | null> {
  return db.prepare("SELECT share_id, expires_at, revoked_at FROM share_sessions WHERE token_hash = ?").bind(tokenHash).first();
}

export async function sharesOfCase(db: D1Database, caseId: string): Promise<(ShareRow & { creator_name: string; guest_email: string | null; item_count: number })[]> {
  const { results } = await db
    .prepare(
      `SELECT s.*, c.name AS creator_name, g.email AS guest_email, (SELECT count(*) FROM share_items i WHERE i.share_id = s.id) AS item_count
         FROM shares s JOIN users c ON c.id = s.created_by LEFT JOIN users g ON g.id = s.guest_id
        WHERE s.case_id = ? ORDER BY s.created_at DESC`,
    )
    .bind(caseId)
    .all<ShareRow & { creator_name: string; guest_email: string | null; item_count: number }>();
  return results;
}

export async function receiptsOf(db: D1Database, shareId: string): Promise<ShareReceiptSummary[]> {
  const { results } = await db
    .prepare("SELECT id, recipient_name, signer_kid, item_count, received_at, recorded_at FROM share_receipts WHERE share_id = ? ORDER BY recorded_at")
    .bind(shareId)
    .all<{ id: string; recipient_name: string; signer_kid: string; item_count: number; received_at: string; recorded_at: string }>();
  return results.map((r) => ({ id: r.id, recipientName: r.recipient_name, signerKid: r.signer_kid, itemCount: r.item_count, receivedAt: r.received_at, recordedAt: r.recorded_at }));
}

export async function findReceipt(db: D1Database, shareId: string, id: string): Promise<{ id: string; jws: string } | null> {
  return db.prepare("SELECT id, jws FROM share_receipts WHERE share_id = ? AND id = ?").bind(shareId, id).first();
}

export function receiptInsert(
  db: D1Database,
  r: { id: string; shareId: string; jws: string; signerKid: string; recipientName: string; itemCount: number; receivedAt: string; now: string },
): D1PreparedStatement {
  return db
    .prepare("INSERT INTO share_receipts (id, share_id, jws, signer_kid, recipient_name, item_count, received_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(r.id, r.shareId, r.jws, r.signerKid, r.recipientName, r.itemCount, r.receivedAt, r.now);
}

/** An item of a share as the recipient sees it: the evidence row, and the share's wraps of it (if any). */
export interface SharedItemRow {
  id: string;
  byte_size: number;
  part_count: number;
  ciphertext_size: number;
  manifest: string;
  signer_kid: string;
  signer_jwk: string | null;
  case_kid: string;
  file_key: string;
  evidence_label: string | null;
  share_file_key: string | null;
  share_label: string | null;
  details: string | null;
  uploader: string;
  created_at: string;
  r2_key: string;
  /** Its manifest's timestamp, once stamped (held in the item's record). */
  timestamp: StampedTimestamp | null;
}

const ITEM_SELECT = `SELECT e.id, e.case_id, e.record_ref, e.byte_size, e.part_count, e.ciphertext_size, e.manifest, e.signer_kid, k.public_jwk AS signer_jwk, e.case_kid, e.file_key,
         e.label, e.thumbnail, e.filing, i.file_key AS share_file_key, i.label AS share_label,
         d.jwe AS details, d.ref AS details_ref,
         u.name AS uploader, e.created_at, e.r2_key
    FROM evidence e JOIN users u ON u.id = e.uploader_id LEFT JOIN user_keys k ON k.kid = e.signer_kid
    LEFT JOIN evidence_details d ON d.evidence_id = e.id AND d.version = (SELECT max(version) FROM evidence_details WHERE evidence_id = e.id)`;

type ItemQueryRow = Omit<SharedItemRow, "evidence_label" | "timestamp"> & RecordColumns & { details_ref: string | null };

/** The query's rows as a share sees them: each item's record and latest details filled in from the case's object. */
async function toSharedItems(env: StoreEnv, rows: ItemQueryRow[]): Promise<SharedItemRow[]> {
  const { items, details } = await loadRecords(env, rows.map((r) => ({ caseId: r.case_id, evidenceId: r.id, itemRef: r.record_ref, detailsRef: r.details_ref })));
  // The signers' public keys, for the records that name their signer (the row's join found none).
  const kids = [...new Set(rows.flatMap((r) => (r.record_ref ? [items.get(r.record_ref)!.signer_kid] : [])))];
  const signers = new Map<string, string>();
  for (let at = 0; at < kids.length; at += 90) {
    const slice = kids.slice(at, at + 90);
    const { results } = await env.DB.prepare(`SELECT kid, public_jwk FROM user_keys WHERE kid IN (${slice.map(() => "?").join(", ")})`).bind(...slice).all<{ kid: string; public_jwk: string }>();
    for (const k of results) signers.set(k.kid, k.public_jwk);
  }
  return rows.map(({ case_id: _case, record_ref, details_ref, label, thumbnail: _thumbnail, filing: _filing, ...r }) => {
    const record = record_ref ? items.get(record_ref)! : null;
    return {
      ...r,
      r2_key: record?.r2_key ?? r.r2_key,
      signer_kid: record?.signer_kid ?? r.signer_kid,
      signer_jwk: record ? (signers.get(record.signer_kid) ?? null) : r.signer_jwk,
      manifest: record?.manifest ?? r.manifest,
      file_key: record?.file_key ?? r.file_key,
      evidence_label: record ? record.label : label,
      timestamp: record?.timestamp ?? null,
      details: details_ref ? details.get(details_ref)!.jwe : r.details,
    };
  });
}

/**
 * The items a share opens: its recorded items, and for a whole-case share that includes later items,
 * every complete item of the case. Only complete evidence of the share's own case, and none in the
 * recycle bin (docs/retention.md).
 */
export async function sharedItems(env: StoreEnv, share: Pick<ShareRow, "id" | "case_id" | "scope" | "include_later">): Promise<SharedItemRow[]> {
  const later = share.scope === "case" && share.include_later === 1;
  const { results } = await env.DB
    .prepare(
      `${ITEM_SELECT} LEFT JOIN share_items i ON i.share_id = ?1 AND i.evidence_id = e.id
        WHERE e.case_id = ?2 AND e.status = 'complete' AND e.deleted_at IS NULL AND (i.share_id IS NOT NULL OR ?3 = 1)
        ORDER BY e.created_at, e.id`,
    )
    .bind(share.id, share.case_id, later ? 1 : 0)
    .all<ItemQueryRow>();
  return toSharedItems(env, results);
}

/** How many items a share opens now (as `sharedItems`, counted in D1 alone). */
export async function sharedItemCount(db: D1Database, share: Pick<ShareRow, "id" | "case_id" | "scope" | "include_later">): Promise<number> {
  const later = share.scope === "case" && share.include_later === 1;
  const row = await db
    .prepare(
      `SELECT count(*) AS n FROM evidence e LEFT JOIN share_items i ON i.share_id = ?1 AND i.evidence_id = e.id
        WHERE e.case_id = ?2 AND e.status = 'complete' AND e.deleted_at IS NULL AND (i.share_id IS NOT NULL OR ?3 = 1)`,
    )
    .bind(share.id, share.case_id, later ? 1 : 0)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

export async function sharedItem(env: StoreEnv, share: Pick<ShareRow, "id" | "case_id" | "scope" | "include_later">, evidenceId: string): Promise<SharedItemRow | null> {
  const later = share.scope === "case" && share.include_later === 1;
  const row = await env.DB
    .prepare(
      `${ITEM_SELECT} LEFT JOIN share_items i ON i.share_id = ?1 AND i.evidence_id = e.id
        WHERE e.id = ?4 AND e.case_id = ?2 AND e.status = 'complete' AND e.deleted_at IS NULL AND (i.share_id IS NOT NULL OR ?3 = 1)`,
    )
    .bind(share.id, share.case_id, later ? 1 : 0, evidenceId)
    .first<ItemQueryRow>();
  return row ? (await toSharedItems(env, [row]))[0]! : null;
}

/** A whole-case share's missing case keys: keys of its case it holds no wrap of. */
export async function missingCaseKeys(db: D1Database, share: Pick<ShareRow, "id" | "case_id" | "scope">): Promise<string[]> {
  if (share.scope !== "case") return [];
  const { results } = await db
    .prepare("SELECT kid FROM case_keys k WHERE k.case_id = ?1 AND NOT EXISTS (SELECT 1 FROM share_case_keys s WHERE s.share_id = ?2 AND s.case_kid = k.kid) ORDER BY k.created_at")
    .bind(share.case_id, share.id)
    .all<{ kid: string }>();
  return results.map((r) => r.kid);
}

export async function shareCaseKeys(db: D1Database, shareId: string): Promise<{ caseKid: string; jwe: string }[]> {
  const { results } = await db.prepare("SELECT case_kid, jwe FROM share_case_keys WHERE share_id = ?").bind(shareId).all<{ case_kid: string; jwe: string }>();
  return results.map((r) => ({ caseKid: r.case_kid, jwe: r.jwe }));
}

/** Active shares made to a guest, newest first, with the case and the sharer. */
export async function sharesForGuest(db: D1Database, guestId: string, now: string) {
  const { results } = await db
    .prepare(
      `SELECT s.*, c.number AS case_number, c.title AS case_title, u.name AS creator_name, o.name AS org_name
         FROM shares s JOIN cases c ON c.id = s.case_id JOIN users u ON u.id = s.created_by JOIN organisations o ON o.id = s.org_id
        WHERE s.guest_id = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2 ORDER BY s.created_at DESC`,
    )
    .bind(guestId, now)
    .all<ShareRow & { case_number: string; case_title: string; creator_name: string; org_name: string }>();
  return results;
}

export async function shareContext(db: D1Database, share: ShareRow) {
  return db
    .prepare(
      `SELECT c.number AS case_number, c.title AS case_title, u.name AS creator_name, o.name AS org_name
         FROM cases c, users u, organisations o WHERE c.id = ?1 AND u.id = ?2 AND o.id = ?3`,
    )
    .bind(share.case_id, share.created_by, share.org_id)
    .first<{ case_number: string; case_title: string; creator_name: string; org_name: string }>();
}

/** Guests of the organisation, with their current encryption key (if they have made their keys). */
export async function listGuests(db: D1Database, orgId: string) {
  const { results } = await db
    .prepare(
      `SELECT u.id, u.name, u.email, u.status, k.kid, k.public_jwk
         FROM users u LEFT JOIN user_keys k ON k.user_id = u.id AND k.use = 'enc' AND k.retired_at IS NULL
        WHERE u.org_id = ? AND u.guest = 1 ORDER BY u.name, u.email`,
    )
    .bind(orgId)
    .all<{ id: string; name: string; email: string; status: "active" | "invited" | "disabled"; kid: string | null; public_jwk: string | null }>();
  return results;
}

export function guestInsert(db: D1Database, g: { id: string; orgId: string; email: string; name: string; now: string }): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO users (id, org_id, email, name, role, status, password_hash, created_at, updated_at, guest)
       VALUES (?1, ?2, ?3, ?4, 'site_operator', 'invited', NULL, ?5, ?5, 1)`,
    )
    .bind(g.id, g.orgId, g.email, g.name, g.now);
}

/** Open shares of `orgId` ending between `now` and `until` whose reminder has not gone, with the guest's and sharer's addresses and the case number. */
export async function sharesToRemind(db: D1Database, orgId: string, now: string, until: string) {
  const { results } = await db
    .prepare(
      `SELECT s.id, s.case_id, s.recipient_type, s.recipient_label, s.expires_at, c.number AS case_number,
              g.email AS guest_email, g.name AS guest_name, u.email AS sharer_email, u.name AS sharer_name
         FROM shares s JOIN cases c ON c.id = s.case_id JOIN users u ON u.id = s.created_by LEFT JOIN users g ON g.id = s.guest_id
        WHERE s.org_id = ?1 AND s.revoked_at IS NULL AND s.reminded_at IS NULL AND s.expires_at > ?2 AND s.expires_at <= ?3
        ORDER BY s.expires_at LIMIT 200`,
    )
    .bind(orgId, now, until)
    .all<{ id: string; case_id: string; recipient_type: "guest" | "link"; recipient_label: string; expires_at: string; case_number: string; guest_email: string | null; guest_name: string | null; sharer_email: string; sharer_name: string }>();
  return results;
}

/** Marks a share's reminder as sent, once: false when another run got there first. */
export function shareReminded(db: D1Database, id: string, at: string): D1PreparedStatement {
  return db.prepare("UPDATE shares SET reminded_at = ?2 WHERE id = ?1 AND reminded_at IS NULL").bind(id, at);
}
