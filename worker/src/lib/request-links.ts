/**
 * Video requests answered through a submission link (docs/submissions.md §7, issue 17 item 4):
 * a link bound to one request of its case. Kept apart from routes/submissions.ts, which calls in
 * at three places: making the link (the request must be this case's and still answerable), the
 * public answer (the cameras, range and reason the request asks for), and finishing a
 * submission (the request becomes delivered by upload, and its files carry the request's id).
 */
import type { Context } from "hono";
import type { PublicRequestDetails } from "../../../shared/api/submissions";
import type { RequestStatus } from "../../../shared/api/video";
import { findRequest } from "../db/video";
import type { AppEnv } from "../env";
import { auditStatementIfChanged, type ConditionalEvent } from "./audit";
import { ApiError } from "./errors";

/** The states a request can be delivered by upload from: not decided by the site, not being or already sent by its agent. */
export const UPLOADABLE_STATUSES: readonly RequestStatus[] = ["requested", "exporting", "held", "unavailable", "expired"];
const UPLOADABLE_SQL = `(${UPLOADABLE_STATUSES.map((s) => `'${s}'`).join(", ")})`;

/** The request a new link is to answer: of this case and organisation, and still answerable. */
export async function checkLinkRequest(c: Context<AppEnv>, caseId: string, requestId: string): Promise<{ id: string; siteId: string }> {
  const request = await findRequest(c.env.DB, requestId);
  if (!request || request.case_id !== caseId || request.org_id !== c.get("user").orgId) {
    throw new ApiError(404, "not_found", "No such video request in this case.");
  }
  if (!UPLOADABLE_STATUSES.includes(request.status)) {
    throw new ApiError(409, "request_closed", `This video request is ${request.status}: it cannot be answered by upload any more.`);
  }
  return { id: request.id, siteId: request.site_id };
}

/** What a request's link shows its holder: the cameras' names, the range and the reason. Nothing else of the case. */
export async function publicRequestDetails(db: D1Database, requestId: string | null): Promise<PublicRequestDetails | null> {
  if (!requestId) return null;
  const request = await findRequest(db, requestId);
  if (!request) return null;
  const { results } = await db
    .prepare(
      `SELECT m.name FROM video_clips k JOIN cameras m ON m.id = k.camera_id
        WHERE k.request_id = ? GROUP BY m.id ORDER BY min(k.seq)`,
    )
    .bind(requestId)
    .all<{ name: string }>();
  return { cameras: results.map((r) => r.name), start: request.start_at, end: request.end_at, reason: request.reason };
}

/**
 * For the batch that finishes a submission through a request's link: its files carry the
 * request's id, and the request, if still answerable, becomes delivered by upload, with its
 * event written only if it did (`video.request_delivered_by_upload`).
 */
export function deliveredByUploadStatements(
  c: Context<AppEnv>,
  link: { id: string; org_id: string; case_id: string; label: string; request_id: string | null },
  submissionId: string,
  files: { id: string; byteSize: number }[],
  now: string,
): { statements: D1PreparedStatement[]; event: ConditionalEvent } | null {
  if (!link.request_id) return null;
  const db = c.env.DB;
  const event = auditStatementIfChanged(c, link.org_id, {
    action: "video.request_delivered_by_upload",
    actor: { type: "anonymous", id: null, label: `submission link: ${link.label}` },
    target: { type: "video_request", id: link.request_id },
    details: { requestId: link.request_id, caseId: link.case_id, linkId: link.id, submissionId, files: files.length, fileIds: files.map((f) => f.id), bytes: files.reduce((sum, f) => sum + f.byteSize, 0) },
  });
  return {
    statements: [
      db.prepare("UPDATE submission_files SET request_id = ? WHERE submission_id = ?").bind(link.request_id, submissionId),
      db
        .prepare(`UPDATE video_requests SET status = 'delivered', delivered_by = 'upload', delivered_at = ?2, updated_at = ?2 WHERE id = ?1 AND status IN ${UPLOADABLE_SQL}`)
        .bind(link.request_id, now),
      event.statement,
    ],
    event,
  };
}
