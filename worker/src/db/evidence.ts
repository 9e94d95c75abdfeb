import type { EvidenceSummary } from "../../../shared/api/cases";
import type { SortKey } from "../lib/paging";

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
  created_at: string;
  completed_at: string | null;
}

interface SummaryRow extends EvidenceRow {
  uploader_name: string;
  parts_received: number;
  details_version: number | null;
  details_jwe: string | null;
  details_by: string | null;
  details_at: string | null;
}

/** Evidence in the recycle bin (or being purged) is gone for every route but retention's own (docs/retention.md). */
const SUMMARY_SQL = `
  SELECT e.*, u.name AS uploader_name,
         (SELECT count(*) FROM evidence_parts p WHERE p.evidence_id = e.id) AS parts_received,
         d.version AS details_version, d.jwe AS details_jwe, d.edited_by AS details_by, d.edited_at AS details_at
    FROM evidence e JOIN users u ON u.id = e.uploader_id
    LEFT JOIN evidence_details d ON d.evidence_id = e.id
         AND d.version = (SELECT max(version) FROM evidence_details WHERE evidence_id = e.id)`;

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
    thumbnail: row.thumbnail,
    details:
      row.details_version !== null
        ? { version: row.details_version, jwe: row.details_jwe!, editedBy: row.details_by!, editedAt: row.details_at! }
        : null,
    uploader: { id: row.uploader_id, name: row.uploader_name },
    createdAt: row.created_at,
    completedAt: row.completed_at,
  };
}

/** Evidence of a case: complete items, plus the viewer's own uploads still in progress. */
/** The case's evidence (and `userId`'s own uploads in progress), newest first: at most `limit`, after the item `after` names (created_at, id). */
export async function listEvidence(db: D1Database, caseId: string, userId: string, after: SortKey | null, limit: number): Promise<EvidenceSummary[]> {
  const { results } = await db
    .prepare(
      `${SUMMARY_SQL} WHERE e.case_id = ?1 AND e.deleted_at IS NULL AND (e.status = 'complete' OR e.uploader_id = ?2)
          AND (?3 IS NULL OR e.created_at < ?3 OR (e.created_at = ?3 AND e.id < ?4))
        ORDER BY e.created_at DESC, e.id DESC LIMIT ?5`,
    )
    .bind(caseId, userId, after?.[0] ?? null, after?.[1] ?? null, limit)
    .all<SummaryRow>();
  return results.map(toEvidenceSummary);
}

export async function findEvidenceSummary(db: D1Database, id: string): Promise<EvidenceSummary | null> {
  const row = await db.prepare(`${SUMMARY_SQL} WHERE e.id = ? AND e.deleted_at IS NULL`).bind(id).first<SummaryRow>();
  return row ? toEvidenceSummary(row) : null;
}

export async function findEvidence(db: D1Database, id: string): Promise<EvidenceRow | null> {
  return db.prepare("SELECT * FROM evidence WHERE id = ? AND deleted_at IS NULL").bind(id).first<EvidenceRow>();
}

export function evidenceInsert(
  db: D1Database,
  e: {
    id: string; caseId: string; byteSize: number; partCount: number; ciphertextSize: number; manifest: string; signerKid: string;
    caseKid: string; fileKey: string; label: string; r2Key: string; uploadId: string; uploaderId: string; now: string;
    /** The thumbnail JWE, when the device made one. */
    thumbnail?: string | null;
    /** The retention category; null: the organisation's default (retention_settings). */
    categoryId?: string | null;
  },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO evidence (id, case_id, status, byte_size, part_count, ciphertext_size, manifest, signer_kid, case_kid, file_key,
                             label, r2_key, upload_id, uploader_id, created_at, category_id, thumbnail)
       VALUES (?, ?, 'uploading', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(e.id, e.caseId, e.byteSize, e.partCount, e.ciphertextSize, e.manifest, e.signerKid, e.caseKid, e.fileKey, e.label, e.r2Key, e.uploadId, e.uploaderId, e.now, e.categoryId ?? null, e.thumbnail ?? null);
}

/** Records a stored part; changes nothing if the part was recorded before (so only the first records an event). */
export function partInsert(
  db: D1Database,
  p: { evidenceId: string; part: number; byteLength: number; sha512: string; etag: string; now: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO evidence_parts (evidence_id, part_number, byte_length, sha512, etag, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)
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

export async function receivedParts(db: D1Database, evidenceId: string): Promise<{ part_number: number; etag: string; sha512: string }[]> {
  const { results } = await db
    .prepare("SELECT part_number, etag, sha512 FROM evidence_parts WHERE evidence_id = ? ORDER BY part_number")
    .bind(evidenceId)
    .all<{ part_number: number; etag: string; sha512: string }>();
  return results;
}

/** Records the manifest of an upload started without one (sent and checked at its completion). */
export function evidenceManifestSet(db: D1Database, id: string, manifest: string, signerKid: string): D1PreparedStatement {
  return db.prepare("UPDATE evidence SET manifest = ?, signer_kid = ? WHERE id = ? AND status = 'uploading' AND manifest = ''").bind(manifest, signerKid, id);
}

export function evidenceComplete(db: D1Database, id: string, now: string): D1PreparedStatement {
  return db
    .prepare("UPDATE evidence SET status = 'complete', completed_at = ?, upload_id = NULL WHERE id = ? AND status = 'uploading'")
    .bind(now, id);
}

export function evidenceDelete(db: D1Database, id: string): D1PreparedStatement[] {
  return [
    db.prepare("DELETE FROM evidence_parts WHERE evidence_id = ?").bind(id),
    db.prepare("DELETE FROM evidence_details WHERE evidence_id = ?").bind(id),
    db.prepare("DELETE FROM evidence WHERE id = ? AND status = 'uploading'").bind(id),
  ];
}

export function detailsInsert(
  db: D1Database,
  d: { evidenceId: string; version: number; jwe: string; editedBy: string; now: string },
): D1PreparedStatement {
  return db
    .prepare("INSERT INTO evidence_details (evidence_id, version, jwe, edited_by, edited_at) VALUES (?, ?, ?, ?, ?)")
    .bind(d.evidenceId, d.version, d.jwe, d.editedBy, d.now);
}

export async function detailsVersions(
  db: D1Database,
  evidenceId: string,
): Promise<{ version: number; jwe: string; edited_by: string; name: string; edited_at: string }[]> {
  const { results } = await db
    .prepare(
      `SELECT d.version, d.jwe, d.edited_by, u.name, d.edited_at FROM evidence_details d JOIN users u ON u.id = d.edited_by
        WHERE d.evidence_id = ? ORDER BY d.version`,
    )
    .bind(evidenceId)
    .all<{ version: number; jwe: string; edited_by: string; name: string; edited_at: string }>();
  return results;
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
