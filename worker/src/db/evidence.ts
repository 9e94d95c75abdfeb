import type { EvidenceSummary } from "../../../shared/api/cases";
import type { SortKey } from "../lib/paging";
import { loadDetailsChain, loadListedRecords, loadRecords, loadThumbnails, readSettled, withItemRecords, type DetailsPointer, type DetailsRecord, type DetailsVersion, type StampedTimestamp, type StoreEnv } from "./records";

export interface EvidenceRow {
  id: string;
  case_id: string;
  status: "uploading" | "complete";
  byte_size: number;
  part_count: number;
  ciphertext_size: number;
  manifest: string;
  signer_kid: string;
  case_kid: string;
  file_key: string;
  r2_key: string;
  label: string | null;
  /** The thumbnail JWE (custody-thumbnail+jwe to the case key `case_kid`); null for other types and older items. */
  thumbnail: string | null;
  upload_id: string | null;
  uploader_id: string;
  /** The video request a site's agent delivers this item for; null for an investigator's own upload. */
  request_id: string | null;
  category_id: string | null;
  /** The filing record of a capture filed into this case (docs/evidence-format.md §6.2); null otherwise. */
  filing: string | null;
  /** Its manifest's timestamp once stamped, from its record (absent from rows that name none). */
  timestamp?: StampedTimestamp | null;
  /** Its latest details version, from its record (absent: none, or still in D1 rows). */
  details?: DetailsPointer | null;
  /** The item's record in its case's object (SHA-256, base64url); null for a row from before migration 0036, which holds the fields itself. */
  record_ref: string | null;
  created_at: string;
  completed_at: string | null;
}

interface SummaryRow extends EvidenceRow {
  /** Whether the item has a thumbnail (lists leave the thumbnail itself out: `evidenceThumbnails`). */
  has_thumbnail?: boolean;
  uploader_name: string;
  parts_received: number;
  details_version: number | null;
  details_jwe: string | null;
  details_by: string | null;
  details_at: string | null;
  details_case_kid: string | null;
  details_case_jwe: string | null;
  details_ref: string | null;
  /** Accepted from a submission link (evidence_provenance), else null. */
  src_link_id: string | null;
  src_link_label: string | null;
  src_submission_id: string | null;
  src_signer_kid: string | null;
  src_case_kid: string | null;
  src_key_wrap: string | null;
  src_details: string | null;
  src_sent_at: string | null;
  src_ip: string | null;
  src_accepted_by: string | null;
  src_accepted_by_name: string | null;
  src_accepted_at: string | null;
}

/** Evidence in the recycle bin (or being purged) is gone for every route but retention's own (docs/retention.md). */
const SUMMARY_SQL = `
  SELECT e.*, u.name AS uploader_name,
         CASE WHEN e.status = 'complete' THEN e.part_count ELSE (SELECT count(*) FROM evidence_parts p WHERE p.evidence_id = e.id) END AS parts_received,
         d.version AS details_version, d.jwe AS details_jwe, d.edited_by AS details_by, d.edited_at AS details_at,
         d.case_kid AS details_case_kid, d.case_jwe AS details_case_jwe, d.ref AS details_ref,
         p.link_id AS src_link_id, p.link_label AS src_link_label, p.submission_id AS src_submission_id, p.signer_kid AS src_signer_kid,
         p.case_kid AS src_case_kid, p.submission_key_wrap AS src_key_wrap, p.details AS src_details, p.sent_at AS src_sent_at, p.ip AS src_ip,
         p.accepted_by AS src_accepted_by, pu.name AS src_accepted_by_name, p.accepted_at AS src_accepted_at
    FROM evidence e JOIN users u ON u.id = e.uploader_id
    LEFT JOIN evidence_details d ON d.evidence_id = e.id
         AND d.version = (SELECT max(version) FROM evidence_details WHERE evidence_id = e.id)
    LEFT JOIN evidence_provenance p ON p.evidence_id = e.id
    LEFT JOIN users pu ON pu.id = p.accepted_by`;

export function toEvidenceSummary(row: SummaryRow): EvidenceSummary {
  return {
    id: row.id,
    caseId: row.case_id,
    status: row.status,
    byteSize: row.byte_size,
    partCount: row.part_count,
    partsReceived: row.parts_received,
    manifest: row.manifest,
    signerKid: row.signer_kid,
    caseKid: row.case_kid,
    label: row.label,
    hasThumbnail: row.has_thumbnail ?? row.thumbnail !== null,
    details:
      row.details_version !== null
        ? {
            version: row.details_version,
            jwe: row.details_jwe!,
            editedBy: row.details_by!,
            editedAt: row.details_at!,
            caseCopy: row.details_case_kid && row.details_case_jwe ? { caseKid: row.details_case_kid, jwe: row.details_case_jwe } : null,
          }
        : null,
    uploader: { id: row.uploader_id, name: row.uploader_name },
    ...(row.filing ? { filing: row.filing } : {}),
    createdAt: row.created_at,
    completedAt: row.completed_at,
    source:
      row.src_link_id !== null
        ? {
            type: "submission", linkId: row.src_link_id, linkLabel: row.src_link_label!, submissionId: row.src_submission_id!, signerKid: row.src_signer_kid!,
            caseKid: row.src_case_kid!, submissionKeyWrap: row.src_key_wrap!, details: row.src_details, sentAt: row.src_sent_at!, ip: row.src_ip,
            acceptedBy: { id: row.src_accepted_by!, name: row.src_accepted_by_name! }, acceptedAt: row.src_accepted_at!,
          }
        : null,
  };
}

/** Fills in the item (but its thumbnail) and latest-details records of summary rows (one call per case object). */
async function withRecords(env: StoreEnv, rows: SummaryRow[]): Promise<SummaryRow[]> {
  const { items, details } = await loadListedRecords(env, rows.map((r) => ({ caseId: r.case_id, evidenceId: r.id, itemRef: r.record_ref, detailsRef: r.details_ref })));
  const filled = rows.map((r): SummaryRow => {
    const item = r.record_ref ? items.get(r.record_ref)! : null;
    // The latest details: a D1 row's (from before the details left D1), or the one the record names.
    const detailsRef = r.details_ref ?? item?.details?.ref ?? null;
    const d = detailsRef ? details.get(detailsRef) : undefined;
    if (detailsRef && !d) throw new Error(`case store: details record ${detailsRef} of item ${r.id} is missing from case ${r.case_id}`);
    const p = item?.provenance;
    return {
      ...r,
      ...(item ?? {}),
      ...(d ? { details_jwe: d.jwe, details_case_kid: d.case_kid, details_case_jwe: d.case_jwe } : {}),
      ...(d && d.version !== undefined ? { details_version: d.version, details_by: d.edited_by!, details_at: d.edited_at! } : {}),
      // Where an item accepted from a submission link came from: in its record since migration 0037 (before, the row's join found it).
      ...(p
        ? {
            src_link_id: p.link_id, src_link_label: p.link_label, src_submission_id: p.submission_id, src_signer_kid: p.signer_kid, src_case_kid: p.case_kid,
            src_key_wrap: p.submission_key_wrap, src_details: p.details, src_sent_at: p.sent_at, src_ip: p.ip, src_accepted_by: p.accepted_by, src_accepted_at: p.accepted_at,
          }
        : {}),
    };
  });
  const unnamed = [...new Set(filled.flatMap((r) => (r.src_accepted_by !== null && r.src_accepted_by_name === null ? [r.src_accepted_by] : [])))];
  if (unnamed.length === 0) return filled;
  const { results } = await env.DB.prepare("SELECT id, name FROM users WHERE id IN (SELECT value FROM json_each(?))").bind(JSON.stringify(unnamed)).all<{ id: string; name: string }>();
  const names = new Map(results.map((u) => [u.id, u.name]));
  return filled.map((r) => (r.src_accepted_by !== null && r.src_accepted_by_name === null ? { ...r, src_accepted_by_name: names.get(r.src_accepted_by) ?? null } : r));
}

/** The case's evidence (and `userId`'s own uploads in progress), newest first: at most `limit`, after the item `after` names (created_at, id). */
export async function listEvidence(env: StoreEnv, caseId: string, userId: string, after: SortKey | null, limit: number): Promise<EvidenceSummary[]> {
  return readSettled(async () => {
    const { results } = await env.DB
      .prepare(
        `${SUMMARY_SQL} WHERE e.case_id = ?1 AND e.deleted_at IS NULL AND (e.status = 'complete' OR e.uploader_id = ?2)
            AND (?3 IS NULL OR e.created_at < ?3 OR (e.created_at = ?3 AND e.id < ?4))
          ORDER BY e.created_at DESC, e.id DESC LIMIT ?5`,
      )
      .bind(caseId, userId, after?.[0] ?? null, after?.[1] ?? null, limit)
      .all<SummaryRow>();
    return (await withRecords(env, results)).map(toEvidenceSummary);
  });
}

/**
 * The thumbnails of the case's items among `ids` that `userId` sees in its list (complete, or an
 * upload of their own; not in the recycle bin), for the items that have one.
 */
export async function evidenceThumbnails(env: StoreEnv, caseId: string, userId: string, ids: string[]): Promise<{ id: string; thumbnail: string }[]> {
  return readSettled(async () => {
    const { results } = await env.DB
      .prepare(
        // Looked up by id (CROSS JOIN keeps json_each first), not by scanning the case's items.
        `SELECT e.id, e.case_id, e.record_ref, e.thumbnail FROM json_each(?3) j CROSS JOIN evidence e ON e.id = j.value
          WHERE e.case_id = ?1 AND e.deleted_at IS NULL AND e.purge_started_at IS NULL AND (e.status = 'complete' OR e.uploader_id = ?2)`,
      )
      .bind(caseId, userId, JSON.stringify(ids))
      .all<{ id: string; case_id: string; record_ref: string | null; thumbnail: string | null }>();
    const stored = await loadThumbnails(env, results.map((r) => ({ caseId: r.case_id, evidenceId: r.id, itemRef: r.record_ref })));
    return results.flatMap((r) => {
      const thumbnail = r.record_ref ? stored.get(r.record_ref)! : r.thumbnail;
      return thumbnail ? [{ id: r.id, thumbnail }] : [];
    });
  });
}

export async function findEvidenceSummary(env: StoreEnv, id: string): Promise<EvidenceSummary | null> {
  return readSettled(async () => {
    const row = await env.DB.prepare(`${SUMMARY_SQL} WHERE e.id = ? AND e.deleted_at IS NULL`).bind(id).first<SummaryRow>();
    return row ? toEvidenceSummary((await withRecords(env, [row]))[0]!) : null;
  });
}

/** The item's whole row (its record filled in), unless it is in the recycle bin or gone. */
export async function findEvidence(env: StoreEnv, id: string): Promise<EvidenceRow | null> {
  return readSettled(async () => {
    const row = await env.DB.prepare("SELECT * FROM evidence WHERE id = ? AND deleted_at IS NULL").bind(id).first<EvidenceRow>();
    return row ? (await withItemRecords(env, [row]))[0]! : null;
  });
}

export function evidenceInsert(
  db: D1Database,
  e: {
    id: string; caseId: string; byteSize: number; partCount: number; ciphertextSize: number;
    caseKid: string; uploadId: string; uploaderId: string; now: string;
    /** The item's record (object key, signer, manifest, file key, label, thumbnail), stored in the case's object (`storeRecords`). */
    recordRef: string;
    /** The retention category; null: the organisation's default (retention_settings). */
    categoryId?: string | null;
  },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO evidence (id, case_id, status, byte_size, part_count, ciphertext_size, manifest, signer_kid, case_kid, file_key,
                             r2_key, upload_id, uploader_id, created_at, category_id, record_ref)
       VALUES (?, ?, 'uploading', ?, ?, ?, '', '', ?, '', '', ?, ?, ?, ?, ?)`,
    )
    .bind(e.id, e.caseId, e.byteSize, e.partCount, e.ciphertextSize, e.caseKid, e.uploadId, e.uploaderId, e.now, e.categoryId ?? null, e.recordRef);
}

/** Records a stored part of an upload in progress; changes nothing if the part was recorded before (so only the first records an event) or the upload has finished. */
export function partInsert(
  db: D1Database,
  p: { evidenceId: string; part: number; byteLength: number; sha512: string; etag: string; now: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO evidence_parts (evidence_id, part_number, byte_length, sha512, etag, uploaded_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM evidence WHERE id = ?1 AND status = 'uploading')
       ON CONFLICT (evidence_id, part_number) DO NOTHING`,
    )
    .bind(p.evidenceId, p.part, p.byteLength, p.sha512, p.etag, p.now);
}

/**
 * The etag of the copy just stored, for a part two requests stored at the same moment: R2 keeps
 * the later upload of a part number, and this request's upload came before its batch.
 */
export function partEtagUpdate(db: D1Database, p: { evidenceId: string; part: number; etag: string }): D1PreparedStatement {
  return db.prepare("UPDATE evidence_parts SET etag = ? WHERE evidence_id = ? AND part_number = ? AND etag <> ?").bind(p.etag, p.evidenceId, p.part, p.etag);
}

/** Has this part been stored and recorded already? */
export async function partRecorded(db: D1Database, evidenceId: string, part: number): Promise<boolean> {
  return (await db.prepare("SELECT 1 AS ok FROM evidence_parts WHERE evidence_id = ? AND part_number = ?").bind(evidenceId, part).first<{ ok: number }>()) !== null;
}

/** The parts the server holds: every part of a finished item (its part rows go at completion), else those recorded. */
export async function receivedPartNumbers(db: D1Database, row: Pick<EvidenceRow, "id" | "status" | "part_count">): Promise<number[]> {
  if (row.status === "complete") return Array.from({ length: row.part_count }, (_, n) => n);
  return (await receivedParts(db, row.id)).map((p) => p.part_number);
}

export async function receivedParts(db: D1Database, evidenceId: string): Promise<{ part_number: number; etag: string; sha512: string }[]> {
  const { results } = await db
    .prepare("SELECT part_number, etag, sha512 FROM evidence_parts WHERE evidence_id = ? ORDER BY part_number")
    .bind(evidenceId)
    .all<{ part_number: number; etag: string; sha512: string }>();
  return results;
}

/**
 * The record of an upload in progress replaced (the manifest or the thumbnail sent with its
 * completion): only if the row still names `fromRef` (a completion sent at the same moment that
 * won leaves this one changing nothing). A row from before 0036 (`fromRef` null) has its own
 * fields cleared as it moves to the record.
 */
export function evidenceRecordSwap(db: D1Database, p: { id: string; fromRef: string | null; toRef: string }): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE evidence SET record_ref = ?, signer_kid = '', r2_key = '', manifest = '', file_key = '', label = NULL, thumbnail = NULL, filing = NULL
        WHERE id = ? AND status = 'uploading' AND record_ref IS ?`,
    )
    .bind(p.toRef, p.id, p.fromRef);
}

/**
 * Names a new record for an item (a details edit) by compare-and-set on the one it replaces:
 * changes nothing if the record changed meanwhile, or the item went to the recycle bin.
 */
export function evidenceRecordReplace(db: D1Database, p: { id: string; caseId: string; fromRef: string; toRef: string }): D1PreparedStatement {
  return db
    .prepare("UPDATE evidence SET record_ref = ?1 WHERE id = ?2 AND case_id = ?3 AND record_ref = ?4 AND deleted_at IS NULL AND purge_started_at IS NULL")
    .bind(p.toRef, p.id, p.caseId, p.fromRef);
}

/** An item's D1 details rows deleted (saved before the details left D1; its record's chain holds them now), only if the audit event `eventId` was written earlier in the same batch. */
export function detailsRowsDelete(db: D1Database, evidenceId: string, eventId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM evidence_details WHERE evidence_id = ? AND EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?)").bind(evidenceId, eventId);
}

/** Completes an upload; with `recordRef`, only if the row names that record (the one the completion's batch swapped in). */
export function evidenceComplete(db: D1Database, id: string, now: string, recordRef: string | null = null): D1PreparedStatement {
  return db
    .prepare("UPDATE evidence SET status = 'complete', completed_at = ?1, upload_id = NULL WHERE id = ?2 AND status = 'uploading' AND (?3 IS NULL OR record_ref = ?3)")
    .bind(now, id, recordRef);
}

/**
 * A finished upload's part rows deleted (last in its completion's batch): they are upload state,
 * held only while it uploads; the signed manifest lists every part's SHA-512.
 */
export function completedPartsDelete(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare("DELETE FROM evidence_parts WHERE evidence_id = ?1 AND EXISTS (SELECT 1 FROM evidence WHERE id = ?1 AND status = 'complete')").bind(id);
}

export function evidenceDelete(db: D1Database, id: string): D1PreparedStatement[] {
  return [
    db.prepare("DELETE FROM evidence_parts WHERE evidence_id = ?").bind(id),
    db.prepare("DELETE FROM evidence_details WHERE evidence_id = ?").bind(id),
    db.prepare("DELETE FROM evidence WHERE id = ? AND status = 'uploading'").bind(id),
  ];
}

/**
 * Every details version of an item of case `caseId`, oldest first: the chain its record names, or
 * (versions saved before the details left D1, until the daily job moves them) its D1 rows.
 */
export async function detailsHistory(env: StoreEnv, caseId: string, item: { id: string; details?: DetailsPointer | null }): Promise<(DetailsVersion & { ref?: string | null })[]> {
  if (item.details) return loadDetailsChain(env, caseId, item.id, item.details.ref);
  const { results } = await env.DB
    .prepare("SELECT version, jwe, ref, case_kid, case_jwe, edited_by, edited_at FROM evidence_details WHERE evidence_id = ? ORDER BY version")
    .bind(item.id)
    .all<DetailsVersion & { ref: string | null }>();
  const { details } = await loadRecords(env, results.map((r) => ({ caseId, evidenceId: item.id, detailsRef: r.ref })));
  // A row from after migration 0036 names its contents' record (`ref`, kept for whoever moves it into a chain).
  return results.map((r) => (r.ref ? { ...r, ...pickDetails(details.get(r.ref)!) } : r));
}

const pickDetails = (d: DetailsRecord) => ({ jwe: d.jwe, case_kid: d.case_kid, case_jwe: d.case_jwe });

/** Every details version of an item, oldest first, with its editor's name. */
export async function detailsVersions(
  env: StoreEnv,
  caseId: string,
  item: { id: string; details?: DetailsPointer | null },
): Promise<(DetailsVersion & { name: string })[]> {
  const versions = await detailsHistory(env, caseId, item);
  const editors = [...new Set(versions.map((v) => v.edited_by))];
  const { results } = await env.DB.prepare("SELECT id, name FROM users WHERE id IN (SELECT value FROM json_each(?))").bind(JSON.stringify(editors)).all<{ id: string; name: string }>();
  const names = new Map(results.map((u) => [u.id, u.name]));
  return versions.map((v) => ({ ...v, name: names.get(v.edited_by) ?? "" }));
}

/** Whether the item still has details versions in D1 rows (saved before the details left D1). */
export async function hasDetailsRows(db: D1Database, evidenceId: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 AS x FROM evidence_details WHERE evidence_id = ? LIMIT 1").bind(evidenceId).first("x")) !== null;
}

/** A server-side secret, made (32 random bytes, base64url) and stored on first use. */
export async function serverSecret(db: D1Database, name: string): Promise<string> {
  const existing = await db.prepare("SELECT value FROM server_secrets WHERE name = ?").bind(name).first<{ value: string }>();
  if (existing) return existing.value;
  let binary = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(32))) binary += String.fromCharCode(byte);
  const value = btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  await db.prepare("INSERT OR IGNORE INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)").bind(name, value, new Date().toISOString()).run();
  const row = await db.prepare("SELECT value FROM server_secrets WHERE name = ?").bind(name).first<{ value: string }>();
  return row!.value;
}

/**
 * Files a capture into a case: the item moves from the holding place `fromCaseId` with its file
 * key and label re-wrapped to the case key; the stored object and the manifest stay as they are.
 * Changes nothing if the item has left the holding place already (a filing sent twice).
 */
export function evidenceFile(
  db: D1Database,
  f: { id: string; fromCaseId: string; fromRef: string | null; caseId: string; caseKid: string; recordRef: string; categoryId: string | null },
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE evidence SET case_id = ?, case_kid = ?, record_ref = ?, category_id = ?, signer_kid = '', r2_key = '', manifest = '', file_key = '', label = NULL, thumbnail = NULL, filing = NULL
        WHERE id = ? AND case_id = ? AND record_ref IS ? AND status = 'complete' AND deleted_at IS NULL`,
    )
    .bind(f.caseId, f.caseKid, f.recordRef, f.categoryId, f.id, f.fromCaseId, f.fromRef);
}

/**
 * The user's holding place for captures (created on the first capture, in the same batch as its
 * upload): a `cases` row of kind 'captures' with the user as its only member, and the user's
 * current encryption key as its only current key (a newer encryption key retires the older one).
 */
export function capturesPlaceStatements(
  db: D1Database,
  p: { id: string; orgId: string; userId: string; encryptionKid: string; encryptionJwk: string; now: string },
): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT OR IGNORE INTO cases (id, org_id, number, title, description, tags, status, created_by, created_at, updated_at, kind)
         VALUES (?, ?, ?, 'My captures', '', '[]', 'open', ?, ?, ?, 'captures')`,
      )
      .bind(p.id, p.orgId, `captures:${p.userId}`, p.userId, p.now, p.now),
    db
      .prepare("INSERT OR IGNORE INTO case_members (case_id, user_id, role, added_by, added_at) VALUES (?, ?, 'contributor', ?, ?)")
      .bind(p.id, p.userId, p.userId, p.now),
    db.prepare("UPDATE case_keys SET retired_at = ? WHERE case_id = ? AND retired_at IS NULL AND kid <> ?").bind(p.now, p.id, p.encryptionKid),
    db
      .prepare("INSERT OR IGNORE INTO case_keys (kid, case_id, public_jwk, created_at, retired_at) VALUES (?, ?, ?, ?, NULL)")
      .bind(p.encryptionKid, p.id, p.encryptionJwk, p.now),
  ];
}
