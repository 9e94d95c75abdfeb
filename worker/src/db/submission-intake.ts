/** D1 access for the intake of submitted files (docs/submissions.md §5, storage-schema.md). */
import { decodeJwt } from "jose";
import type { Manifest } from "../../../shared/crypto";
import type { ProvenanceRecord } from "./records";

export interface SubmittedFileRow {
  id: string;
  submission_id: string;
  link_id: string;
  byte_size: number;
  part_count: number;
  ciphertext_size: number;
  file_key: string;
  label: string;
  r2_key: string;
  manifest: string | null;
  status: "uploading" | "complete";
  decision: "accepted" | "rejected" | null;
  completed_at: string | null;
  // Of its submission and link:
  case_id: string;
  org_id: string;
  submission_status: "sending" | "sent";
  signer_kid: string;
  signer_public_jwk: string;
  details: string | null;
  ip: string | null;
  user_agent: string | null;
  submission_created_at: string;
  sent_at: string | null;
  link_label: string;
  audience: "person" | "public";
  submission_key_wrap: string | null;
  submission_kid: string;
  link_case_kid: string;
}

const FILE_SQL = `
  SELECT f.id, f.submission_id, f.link_id, f.byte_size, f.part_count, f.ciphertext_size, f.file_key, f.label, f.r2_key, f.manifest,
         f.status, f.decision, f.completed_at,
         s.case_id, s.org_id, s.status AS submission_status, s.signer_kid, s.signer_public_jwk, s.details, s.ip, s.user_agent,
         s.created_at AS submission_created_at, s.sent_at,
         l.label AS link_label, l.audience, l.submission_key_wrap, l.submission_kid, l.case_kid AS link_case_kid
    FROM submission_files f JOIN submissions s ON s.id = f.submission_id JOIN submission_links l ON l.id = f.link_id`;

/** A submitted file with its submission and link. */
export function findSubmittedFile(db: D1Database, id: string): Promise<SubmittedFileRow | null> {
  return db.prepare(`${FILE_SQL} WHERE f.id = ?`).bind(id).first<SubmittedFileRow>();
}

/** The case's files waiting for intake: complete, in a finished submission, neither accepted nor rejected; oldest first. */
export async function pendingSubmittedFiles(db: D1Database, caseId: string): Promise<SubmittedFileRow[]> {
  const { results } = await db
    .prepare(`${FILE_SQL} WHERE s.case_id = ? AND s.status = 'sent' AND f.status = 'complete' AND f.decision IS NULL ORDER BY s.sent_at, s.id, f.created_at, f.id`)
    .bind(caseId)
    .all<SubmittedFileRow>();
  return results;
}

/**
 * Marks a file decided (only one still waiting); accepting or rejecting both take its wrapped
 * keys off it, and its manifest (an accepted file's is in its evidence record; the decision's
 * event records its digests): the row keeps the file's SHA-512, `sha512`, for the receipt.
 */
export function submittedFileDecide(db: D1Database, file: Pick<SubmittedFileRow, "id" | "manifest">, decision: "accepted" | "rejected", by: string, now: string): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE submission_files SET decision = ?1, decided_by = ?2, decided_at = ?3, file_key = '', label = '', manifest = '', sha512 = coalesce(sha512, ?4)
        WHERE id = ?5 AND status = 'complete' AND decision IS NULL`,
    )
    .bind(decision, by, now, manifestSha512(file.manifest!), file.id);
}

/** The file's SHA-512 (hex) a signed manifest states. */
export const manifestSha512 = (jws: string): string => (decodeJwt(jws) as unknown as Manifest).sha512;

/** `EXISTS` the event `eventId` was written earlier in this batch: the witness of the decision. */
const witnessed = "EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?)";

/**
 * The accepted file as evidence of its case: its stored object, and its record (the
 * submitter-signed manifest, its key and label re-wrapped to the case key, where it came from) stored in the case's
 * object beforehand (`storeRecords`). Its part rows are not carried over: a finished item keeps
 * none (the manifest lists every part's SHA-512).
 */
export function acceptedEvidenceInsert(
  db: D1Database,
  e: { file: SubmittedFileRow; caseKid: string; recordRef: string; uploaderId: string; categoryId: string | null; now: string; witness: string },
): D1PreparedStatement[] {
  const { file } = e;
  return [
    db
      .prepare(
        `INSERT INTO evidence (id, case_id, status, byte_size, part_count, ciphertext_size, manifest, signer_kid, case_kid, file_key,
                               r2_key, upload_id, uploader_id, created_at, completed_at, category_id, record_ref)
         SELECT ?, ?, 'complete', ?, ?, ?, '', '', ?, '', '', NULL, ?, ?, ?, ?, ? WHERE ${witnessed}`,
      )
      .bind(file.id, file.case_id, file.byte_size, file.part_count, file.ciphertext_size, e.caseKid,
        e.uploaderId, e.now, e.now, e.categoryId, e.recordRef, e.witness),
    db.prepare(`DELETE FROM submission_parts WHERE file_id = ? AND ${witnessed}`).bind(file.id, e.witness),
  ];
}

/** Where the accepted file came from, for its record (held there since migration 0038, no longer in `evidence_provenance`). */
export function provenanceOf(file: SubmittedFileRow, acceptedBy: string, now: string): ProvenanceRecord {
  return {
    link_id: file.link_id, link_label: file.link_label, submission_id: file.submission_id, signer_kid: file.signer_kid, submission_key_wrap: file.submission_key_wrap!,
    case_kid: file.link_case_kid, details: file.details, sent_at: file.sent_at!, ip: file.ip, user_agent: file.user_agent, accepted_by: acceptedBy, accepted_at: now,
  };
}

/** The submitter's key, recorded once (changes nothing if one of its files was accepted before): the register event follows it, if changed. */
export function submitterKeyInsert(db: D1Database, file: SubmittedFileRow, now: string, witness: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO submitter_keys (kid, org_id, submission_id, link_id, link_label, public_jwk, valid_from, registered_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE ${witnessed} ON CONFLICT (kid) DO NOTHING`,
    )
    .bind(file.signer_kid, file.org_id, file.submission_id, file.link_id, file.link_label, file.signer_public_jwk, file.submission_created_at, now, witness);
}

/** A rejected file's record of its stored parts, once its keys are gone. */
export function rejectedPartsDelete(db: D1Database, fileId: string, witness: string): D1PreparedStatement {
  return db.prepare(`DELETE FROM submission_parts WHERE file_id = ? AND ${witnessed}`).bind(fileId, witness);
}

export interface SubmitterKeyRow {
  kid: string;
  org_id: string;
  submission_id: string;
  link_id: string;
  link_label: string;
  public_jwk: string;
  valid_from: string;
  registered_at: string;
}

export function findSubmitterKey(db: D1Database, kid: string): Promise<SubmitterKeyRow | null> {
  return db.prepare("SELECT * FROM submitter_keys WHERE kid = ?").bind(kid).first<SubmitterKeyRow>();
}
