/** D1 access for submission links (docs/submissions.md, storage-schema.md). */
import type { SubmissionLinkSummary } from "../../../shared/api/submissions";

export interface SubmissionLinkRow {
  id: string;
  org_id: string;
  case_id: string;
  audience: "person" | "public";
  label: string;
  recipient_email: string | null;
  instructions: string;
  max_files: number;
  max_bytes: number;
  submission_kid: string;
  submission_public_jwk: string;
  submission_key_wrap: string | null;
  case_kid: string;
  expires_at: string;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
  /** The video request the link answers (migration 0024), if any. */
  request_id: string | null;
}

export function submissionLinkStatus(row: Pick<SubmissionLinkRow, "revoked_at" | "expires_at">, now = new Date().toISOString()): SubmissionLinkSummary["status"] {
  if (row.revoked_at) return "revoked";
  if (row.expires_at <= now) return "expired";
  return "open";
}

export function findSubmissionLink(db: D1Database, id: string): Promise<SubmissionLinkRow | null> {
  return db.prepare("SELECT * FROM submission_links WHERE id = ?").bind(id).first<SubmissionLinkRow>();
}

export async function submissionLinksOfCase(db: D1Database, caseId: string): Promise<(SubmissionLinkRow & { creator_name: string })[]> {
  const { results } = await db
    .prepare("SELECT l.*, u.name AS creator_name FROM submission_links l JOIN users u ON u.id = l.created_by WHERE l.case_id = ? ORDER BY l.created_at DESC, l.id")
    .bind(caseId)
    .all<SubmissionLinkRow & { creator_name: string }>();
  return results;
}

export function submissionLinkInsert(
  db: D1Database,
  link: {
    id: string; orgId: string; caseId: string; audience: "person" | "public"; label: string; email: string | null; instructions: string;
    maxFiles: number; maxBytes: number; submissionKid: string; submissionPublicJwk: string; submissionKeyWrap: string; caseKid: string;
    expiresAt: string; createdBy: string; now: string; requestId?: string | null;
  },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO submission_links (id, org_id, case_id, audience, label, recipient_email, instructions, max_files, max_bytes, submission_kid,
         submission_public_jwk, submission_key_wrap, case_kid, expires_at, created_by, created_at, request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      link.id, link.orgId, link.caseId, link.audience, link.label, link.email, link.instructions, link.maxFiles, link.maxBytes, link.submissionKid,
      link.submissionPublicJwk, link.submissionKeyWrap, link.caseKid, link.expiresAt, link.createdBy, link.now, link.requestId ?? null,
    );
}

/** Revoke a link: it answers nothing from now on. (The wrapped key stays while submissions wait for intake.) */
export function submissionLinkRevoke(db: D1Database, id: string, by: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE submission_links SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL").bind(now, by, id);
}
