import type { ShareItem } from "../durable/case-store";
import { caseStore, loadListedRecords, readSettled, type DetailsRecord, type RecordColumns, type StampedTimestamp, type StoreEnv } from "./records";
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
  /** 1: its items are in the case's object (migration 0037); 0: a share from before, its items still in D1's share_items. */
  items_in_store: number;
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
                           share_key_wrap, recipient_kid, access_code_hash, expires_at, created_by, created_at, updated_at, items_in_store)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17, 1)`,
    )
    .bind(s.id, s.orgId, s.caseId, s.scope, s.includeLater ? 1 : 0, s.level, s.recipientType, s.guestId, s.recipientLabel, s.shareKid, s.sharePublicJwk,
      s.shareKeyWrap, s.recipientKid, s.accessCodeHash, s.expiresAt, s.createdBy, s.now);
}

/**
 * Records a share's items in its case's object, before the D1 transaction that inserts the share
 * row commits them: the chosen items with their wraps, or for a whole-case share every complete
 * item of the case as it stands (their keys open with the case key).
 */
export async function storeShareItems(env: StoreEnv, share: { id: string; caseId: string; shareKid: string }, chosen: ShareItem[] | "whole case"): Promise<number> {
  const items =
    chosen === "whole case"
      ? (await env.DB.prepare("SELECT id FROM evidence WHERE case_id = ? AND status = 'complete'").bind(share.caseId).all<{ id: string }>()).results.map((r) => ({
          evidenceId: r.id, fileKey: null, label: null,
        }))
      : chosen;
  await caseStore(env, share.caseId).putShareItems(share.id, share.shareKid, items);
  return items.length;
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
    // A share from before migration 0037 has its wraps here; a later one's go after this batch (`dropShareWraps`).
    db.prepare("UPDATE share_items SET file_key = NULL, label = NULL WHERE share_id = ?").bind(id),
    db.prepare("DELETE FROM share_case_keys WHERE share_id = ?").bind(id),
    db.prepare("UPDATE share_sessions SET revoked_at = ?2 WHERE share_id = ?1 AND revoked_at IS NULL").bind(id, now),
  ];
}

/** After the revocation's batch: the wraps the share's items hold in its case's object are deleted. */
export async function dropShareWraps(env: StoreEnv, share: Pick<ShareRow, "id" | "case_id">): Promise<void> {
  await caseStore(env, share.case_id).revokeShare(share.id);
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

export async function sharesOfCase(env: StoreEnv, caseId: string): Promise<(ShareRow & { creator_name: string; guest_email: string | null; item_count: number })[]> {
  const { results } = await env.DB
    .prepare(
      `SELECT s.*, c.name AS creator_name, g.email AS guest_email,
              CASE WHEN s.items_in_store = 0 THEN (SELECT count(*) FROM share_items i WHERE i.share_id = s.id) END AS item_count
         FROM shares s JOIN users c ON c.id = s.created_by LEFT JOIN users g ON g.id = s.guest_id
        WHERE s.case_id = ? ORDER BY s.created_at DESC`,
    )
    .bind(caseId)
    .all<ShareRow & { creator_name: string; guest_email: string | null; item_count: number | null }>();
  const stored = results.filter((r) => r.items_in_store === 1).map((r) => ({ shareId: r.id, shareKid: r.share_kid }));
  const counts: Record<string, number> = stored.length > 0 ? await caseStore(env, caseId).shareItemCounts(stored) : {};
  return results.map((r) => ({ ...r, item_count: r.item_count ?? counts[r.id] ?? 0 }));
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
         e.label, e.thumbnail, e.filing,
         d.jwe AS details, d.ref AS details_ref,
         u.name AS uploader, e.created_at, e.r2_key
    FROM evidence e JOIN users u ON u.id = e.uploader_id LEFT JOIN user_keys k ON k.kid = e.signer_kid
    LEFT JOIN evidence_details d ON d.evidence_id = e.id AND d.version = (SELECT max(version) FROM evidence_details WHERE evidence_id = e.id)`;

type ItemQueryRow = Omit<SharedItemRow, "evidence_label" | "timestamp"> & RecordColumns & { details_ref: string | null };

/** The query's rows as a share sees them: each item's record and latest details filled in from the case's object. */
async function toSharedItems(env: StoreEnv, rows: ItemQueryRow[]): Promise<SharedItemRow[]> {
  // Without thumbnails (a share's recipient is shown none): most of a record's bytes, on every item of a whole-case share.
  const { items, details } = await loadListedRecords(env, rows.map((r) => ({ caseId: r.case_id, evidenceId: r.id, itemRef: r.record_ref, detailsRef: r.details_ref })));
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
      details: latestDetails(details, details_ref ?? record?.details?.ref ?? null, r.details, r.id),
    };
  });
}

/** An item's latest details (the record a D1 row or the item's record names; else the row's own). */
function latestDetails(details: Map<string, DetailsRecord>, ref: string | null, own: string | null, evidenceId: string): string | null {
  if (ref === null) return own;
  const d = details.get(ref);
  if (!d) throw new Error(`case store: details record ${ref} of item ${evidenceId} is missing`);
  return d.jwe;
}

type ShareScope = Pick<ShareRow, "id" | "case_id" | "scope" | "include_later" | "share_kid" | "items_in_store">;

/**
 * Which items of its case a share holds: every one (a whole-case share that includes later
 * items), or those it lists, with its wraps of them; from the case's object, or from D1 for a
 * share made before migration 0037 and not yet moved.
 */
async function shareMembers(env: StoreEnv, share: ShareScope, evidenceId?: string): Promise<Map<string, ShareItem> | "all"> {
  if (share.scope === "case" && share.include_later === 1) return "all";
  const listed =
    share.items_in_store === 1
      ? await caseStore(env, share.case_id).shareItems(share.id, share.share_kid, evidenceId)
      : (
          await env.DB.prepare(`SELECT evidence_id, file_key, label FROM share_items WHERE share_id = ?1 AND (?2 IS NULL OR evidence_id = ?2)`)
            .bind(share.id, evidenceId ?? null)
            .all<{ evidence_id: string; file_key: string | null; label: string | null }>()
        ).results.map((r) => ({ evidenceId: r.evidence_id, fileKey: r.file_key, label: r.label }));
  return new Map(listed.map((i) => [i.evidenceId, i]));
}

/** Ids bound per query, as a JSON array (`json_each`): well under D1's limit on a bound value. */
const IDS_PER_QUERY = 500;

/** Runs `sql` (whose `?2` is a JSON array of ids) for the ids in slices, and concatenates the rows. */
async function rowsOfIds<T>(db: D1Database, sql: string, caseId: string, ids: string[]): Promise<T[]> {
  const out: T[] = [];
  for (let at = 0; at < ids.length; at += IDS_PER_QUERY) {
    out.push(...(await db.prepare(sql).bind(caseId, JSON.stringify(ids.slice(at, at + IDS_PER_QUERY))).all<T>()).results);
  }
  return out;
}

/** What a share opens of an item: complete evidence of the share's own case, none in the recycle bin (docs/retention.md). */
const OPENED = "e.case_id = ?1 AND e.status = 'complete' AND e.deleted_at IS NULL";
/** The same for items named by id (`+` keeps SQLite from scanning the case's items by its index rather than looking each id up). */
const OPENED_BY_ID = "+e.case_id = ?1 AND e.status = 'complete' AND e.deleted_at IS NULL";

/**
 * The items a share opens: its listed items, and for a whole-case share that includes later items,
 * every complete item of the case; oldest first.
 */
export async function sharedItems(env: StoreEnv, share: ShareScope): Promise<SharedItemRow[]> {
  const members = await shareMembers(env, share);
  return readSettled(async () => {
    const rows =
      members === "all"
        ? (await env.DB.prepare(`${ITEM_SELECT} WHERE ${OPENED} ORDER BY e.created_at, e.id`).bind(share.case_id).all<ItemQueryRow>()).results
        : (await rowsOfIds<ItemQueryRow>(env.DB, `${ITEM_SELECT} WHERE ${OPENED_BY_ID} AND e.id IN (SELECT value FROM json_each(?2))`, share.case_id, [...members.keys()])).sort(
            (a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
          );
    return toSharedItems(env, withWraps(rows, members));
  });
}

/** How many items a share opens now (as `sharedItems`, without reading their records). */
export async function sharedItemCount(env: StoreEnv, share: ShareScope): Promise<number> {
  const members = await shareMembers(env, share);
  if (members === "all") return (await env.DB.prepare(`SELECT count(*) AS n FROM evidence e WHERE ${OPENED}`).bind(share.case_id).first<{ n: number }>())?.n ?? 0;
  const counts = await rowsOfIds<{ n: number }>(env.DB, `SELECT count(*) AS n FROM evidence e WHERE ${OPENED_BY_ID} AND e.id IN (SELECT value FROM json_each(?2))`, share.case_id, [...members.keys()]);
  return counts.reduce((sum, c) => sum + c.n, 0);
}

export async function sharedItem(env: StoreEnv, share: ShareScope, evidenceId: string): Promise<SharedItemRow | null> {
  const members = await shareMembers(env, share, evidenceId);
  if (members !== "all" && !members.has(evidenceId)) return null;
  return readSettled(async () => {
    const row = await env.DB.prepare(`${ITEM_SELECT} WHERE ${OPENED_BY_ID} AND e.id = ?2`).bind(share.case_id, evidenceId).first<ItemQueryRow>();
    return row ? (await toSharedItems(env, withWraps([row], members)))[0]! : null;
  });
}

/** The share's wraps of each item (none for a whole-case share's). */
function withWraps(rows: ItemQueryRow[], members: Map<string, ShareItem> | "all"): ItemQueryRow[] {
  return rows.map((r) => {
    const member = members === "all" ? undefined : members.get(r.id);
    return { ...r, share_file_key: member?.fileKey ?? null, share_label: member?.label ?? null };
  });
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
