/**
 * The daily job's clean-up of submissions left unfinished (docs/submissions.md §5.1): a submission
 * still `sending` whose link has closed (expired or revoked: nothing more can be sent through it),
 * or that began more than ABANDON_DAYS ago, is abandoned. Its rows (the wrapped file keys and
 * labels with them) go in one transaction with a `submission.abandoned` event, guarded so that a
 * submission finished meanwhile is left alone; then its stored objects and unfinished uploads.
 * Nothing of it was ever shown to the case's members (intake lists only finished submissions).
 */
import { flushAudit, systemAuditStatement } from "./audit";

/** A submission not finished this many days after it began is abandoned, even while its link is open. */
export const ABANDON_DAYS = 30;

interface AbandonedRow {
  id: string;
  org_id: string;
  link_id: string;
  case_id: string;
}

interface AbandonedFile {
  id: string;
  r2_key: string;
  upload_id: string | null;
  status: "uploading" | "complete";
  byte_size: number;
}

export async function runSubmissionCleanup(env: Env, now: Date): Promise<{ abandoned: number }> {
  const at = now.toISOString();
  const stale = new Date(now.getTime() - ABANDON_DAYS * 86_400_000).toISOString();
  const { results } = await env.DB.prepare(
    `SELECT s.id, s.org_id, s.link_id, s.case_id FROM submissions s JOIN submission_links l ON l.id = s.link_id
      WHERE s.status = 'sending' AND (l.revoked_at IS NOT NULL OR l.expires_at <= ?1 OR s.created_at <= ?2)
      ORDER BY s.created_at LIMIT 500`,
  ).bind(at, stale).all<AbandonedRow>();
  let abandoned = 0;
  const orgs = new Set<string>();
  for (const row of results) {
    try {
      if (await abandon(env, row)) abandoned++;
      orgs.add(row.org_id);
    } catch (err) {
      console.error(`submission clean-up: ${row.id} left for the next run`, err);
    }
  }
  for (const orgId of orgs) await flushAudit(env, orgId);
  return { abandoned };
}

async function abandon(env: Env, row: AbandonedRow): Promise<boolean> {
  const { results: files } = await env.DB.prepare("SELECT id, r2_key, upload_id, status, byte_size FROM submission_files WHERE submission_id = ?").bind(row.id).all<AbandonedFile>();
  const unfinished = "SELECT id FROM submissions WHERE id = ?1 AND status = 'sending'";
  const [, , gone] = await env.DB.batch([
    env.DB.prepare(`DELETE FROM submission_parts WHERE file_id IN (SELECT id FROM submission_files WHERE submission_id IN (${unfinished}))`).bind(row.id),
    env.DB.prepare(`DELETE FROM submission_files WHERE submission_id IN (${unfinished})`).bind(row.id),
    env.DB.prepare("DELETE FROM submissions WHERE id = ?1 AND status = 'sending'").bind(row.id),
    systemAuditStatement(
      env.DB,
      row.org_id,
      {
        action: "submission.abandoned",
        target: { type: "submission", id: row.id },
        details: { caseId: row.case_id, linkId: row.link_id, submissionId: row.id, files: files.length, bytes: files.reduce((sum, f) => sum + f.byte_size, 0) },
      },
      { onlyIfChanged: true },
    ),
  ]);
  if ((gone?.meta.changes ?? 0) !== 1) return false; // finished meanwhile: left as it is
  // The keys are gone with the rows: what is stored can no longer be opened; now it goes too.
  for (const file of files) {
    try {
      if (file.status === "uploading" && file.upload_id) await env.EVIDENCE.resumeMultipartUpload(file.r2_key, file.upload_id).abort();
      else await env.EVIDENCE.delete(file.r2_key);
    } catch (err) {
      console.error(`submission clean-up: the stored object ${file.r2_key} could not be deleted`, err);
    }
  }
  return true;
}
