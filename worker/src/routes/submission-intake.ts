/**
 * Intake of what arrives through submission links (docs/submissions.md §5). A case's members list
 * the files waiting, and open one (the key release is the audited view; the ciphertext is read in
 * parts, as evidence is). Contributors and leads accept a file (the browser re-wraps its file key
 * and label from the submission key to the case key: the object and the submitter-signed manifest
 * stay as they are, with the provenance kept beside the evidence) or reject it (its keys deleted
 * first, then its object). The server opens nothing.
 */
import { Hono, type Context } from "hono";
import { CaseIdParam, EvidenceSummary } from "../../../shared/api/cases";
import {
  AcceptSubmittedFileRequest,
  IncomingSubmissions,
  SubmittedFileIdParam,
  SubmittedKeyRelease,
  SubmittedPartParam,
  type IncomingSubmission,
} from "../../../shared/api/submission-intake";
import type { PublicJwk } from "../../../shared/api/schemas";
import { PART_SIZE, TYP } from "../../../shared/crypto";
import { wrapFor } from "../db/cases";
import { findEvidenceSummary } from "../db/evidence";
import { storeRecords } from "../db/records";
import { retentionSettings } from "../db/retention";
import {
  acceptedEvidenceInsert,
  provenanceOf,
  findSubmittedFile,
  pendingSubmittedFiles,
  rejectedPartsDelete,
  submittedFileDecide,
  submitterKeyInsert,
  type SubmittedFileRow,
} from "../db/submission-intake";
import type { AppEnv } from "../env";
import { audit, auditStatementIfChanged, flushAudit, markAudited } from "../lib/audit";
import { requireCaseRole } from "../lib/cases";
import { ApiError } from "../lib/errors";
import { checkWrappedTo } from "../lib/keys";
import { describe } from "../lib/openapi";
import { requireSession } from "../lib/session";
import { signerRegistered } from "../lib/signers";
import { stampManifest } from "../lib/timestamps";
import { validate } from "../lib/validate";
import { partLength, uploadDigests } from "./evidence";

const noSuchFile = () => new ApiError(404, "not_found", "No such submitted file, or you are not a member of its case.");

/** A submitted file of a finished submission, if the signed-in user has at least `minimum` role in its case; the same 404 otherwise. */
async function submittedFileFor(c: Context<AppEnv>, id: string, minimum: "viewer" | "contributor"): Promise<SubmittedFileRow> {
  const row = await findSubmittedFile(c.env.DB, id);
  if (!row || row.org_id !== c.get("user").orgId || row.submission_status !== "sent" || row.status !== "complete") throw noSuchFile();
  try {
    await requireCaseRole(c, row.case_id, minimum);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw noSuchFile();
    throw err;
  }
  return row;
}

/** A decided file answers why it cannot be decided again. */
function alreadyDecided(row: Pick<SubmittedFileRow, "decision">): ApiError {
  return row.decision === "accepted"
    ? new ApiError(409, "already_accepted", "This file was already accepted: it is evidence of the case now.")
    : new ApiError(409, "already_rejected", "This file was rejected and deleted: it cannot be accepted or rejected again.");
}

/** What the audit events of a decision record about the file. */
const fileEvent = async (row: SubmittedFileRow) => ({
  target: { type: "submission_file", id: row.id },
  details: {
    caseId: row.case_id, linkId: row.link_id, label: row.link_label, submissionId: row.submission_id, fileId: row.id,
    byteSize: row.byte_size, ciphertextSize: row.ciphertext_size, signerKid: row.signer_kid, ...(await uploadDigests(row.manifest!)),
  },
});

/** Under a case: what waits for intake. */
export const caseSubmissions = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/:id/submissions",
    describe({
      summary: "Files sent through the case's submission links and waiting for intake (members; viewers may look): each submission's source, encrypted details, signer and files, with the wraps to open them (case key -> submission key -> file key).",
      access: "session",
      responses: { 200: { description: "Waiting submissions, oldest first.", schema: IncomingSubmissions } },
    }),
    validate("param", CaseIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      await requireCaseRole(c, id, "viewer");
      const submissions = new Map<string, IncomingSubmission>();
      for (const row of await pendingSubmittedFiles(c.env.DB, id)) {
        if (!row.submission_key_wrap) continue; // no key left to open it with
        let entry = submissions.get(row.submission_id);
        if (!entry) {
          entry = {
            id: row.submission_id, link: { id: row.link_id, label: row.link_label, audience: row.audience }, caseKid: row.link_case_kid,
            submissionKid: row.submission_kid, submissionKeyWrap: row.submission_key_wrap, details: row.details,
            signer: { kid: row.signer_kid, publicJwk: JSON.parse(row.signer_public_jwk) as PublicJwk }, sentAt: row.sent_at!, ip: row.ip, files: [],
          };
          submissions.set(row.submission_id, entry);
        }
        entry.files.push({ id: row.id, byteSize: row.byte_size, partCount: row.part_count, fileKey: row.file_key, label: row.label, manifest: row.manifest!, completedAt: row.completed_at! });
      }
      return c.json({ submissions: [...submissions.values()] } satisfies IncomingSubmissions, 200);
    },
  );

/** Routes on one submitted file. */
export const submittedFiles = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/:id/key",
    describe({
      summary: "Release the keys to open a submitted file waiting for intake (case key wrapped to you, submission key wrapped to the case key, file key wrapped to the submission key). This is the audited view.",
      access: "session",
      responses: { 200: { description: "The wrapped keys.", schema: SubmittedKeyRelease } },
    }),
    validate("param", SubmittedFileIdParam),
    async (c) => {
      const row = await submittedFileFor(c, c.req.valid("param").id, "viewer");
      if (row.decision) throw alreadyDecided(row);
      const caseKeyWrap = await wrapFor(c.env.DB, row.link_case_kid, c.get("user").id);
      if (!caseKeyWrap || !row.submission_key_wrap) throw new ApiError(409, "no_key_for_you", "You hold no wrap of the case key this submission was sent to. Ask a lead of the case to add you again.");
      // Recorded before anything is released: if the event cannot be written, nothing is.
      await audit(c, { action: "submission.view", target: { type: "submission_file", id: row.id }, details: { caseId: row.case_id, linkId: row.link_id, submissionId: row.submission_id, fileId: row.id } });
      return c.json({ caseKid: row.link_case_kid, caseKeyWrap, submissionKeyWrap: row.submission_key_wrap, fileKey: row.file_key } satisfies SubmittedKeyRelease, 200);
    },
  )
  .get(
    "/:id/parts/:part",
    describe({ summary: "Ciphertext part `part` of a submitted file waiting for intake (8 MiB + 128 B, the last shorter).", access: "session", responses: { 200: { description: "application/octet-stream ciphertext." } } }),
    validate("param", SubmittedPartParam),
    async (c) => {
      const { id, part } = c.req.valid("param");
      const row = await submittedFileFor(c, id, "viewer");
      if (row.decision) throw alreadyDecided(row);
      if (part >= row.part_count) throw new ApiError(404, "no_such_part", `Part ${part} does not exist.`);
      const length = partLength(row.ciphertext_size, part);
      const object = await c.env.EVIDENCE.get(row.r2_key, { range: { offset: part * PART_SIZE, length } });
      if (!object) throw new Error(`submitted file ${row.id}: object missing from storage`);
      return new Response(object.body, { status: 200, headers: { "Content-Type": "application/octet-stream", "Content-Length": String(length), "Cache-Control": "private, no-store" } });
    },
  )
  .post(
    "/:id/accept",
    describe({
      summary:
        "Accept a submitted file as evidence of its case (contributors and leads): the browser re-wrapped its file key and label to the case's current key; the stored object and the submitter-signed manifest become the evidence's, with its provenance (link, submission, the submitter's encrypted details and signing key, time and address of sending).",
      access: "session",
      responses: { 201: { description: "Accepted: the new evidence.", schema: EvidenceSummary }, 409: { description: "Already accepted or rejected, or the case key changed." } },
    }),
    validate("param", SubmittedFileIdParam),
    validate("json", AcceptSubmittedFileRequest),
    async (c) => {
      const me = c.get("user");
      const body = c.req.valid("json");
      const row = await submittedFileFor(c, c.req.valid("param").id, "contributor");
      if (row.decision) throw alreadyDecided(row);
      if (!row.submission_key_wrap) throw new ApiError(409, "no_submission_key", "This link's key is gone, so the file cannot be opened or accepted.");
      const found = await requireCaseRole(c, row.case_id, "contributor");
      if (found.status !== "open") throw new ApiError(409, "case_closed", "This case is closed. Reopen it to add evidence.");
      const current = await c.env.DB.prepare("SELECT kid FROM case_keys WHERE case_id = ? AND retired_at IS NULL").bind(row.case_id).first<{ kid: string }>();
      if (!current || current.kid !== body.caseKid) throw new ApiError(409, "case_key_changed", "The case key has changed (a member was removed). Refresh the case and try again.");
      checkWrappedTo(body.fileKey, TYP.fileKey, current.kid, "fileKey");
      checkWrappedTo(body.label, TYP.label, current.kid, "label");
      const now = new Date().toISOString();
      const categoryId = (await retentionSettings(c.env.DB, me.orgId)).default_category_id;
      const event = await fileEvent(row);
      const accepted = auditStatementIfChanged(c, me.orgId, { action: "submission.accept", ...event, details: { ...event.details, evidenceId: row.id } });
      const registered = auditStatementIfChanged(
        c,
        me.orgId,
        signerRegistered({ type: "submitter", id: row.submission_id, name: `Submitter through “${row.link_label}”`, linkId: row.link_id }, { kid: row.signer_kid, publicJwk: JSON.parse(row.signer_public_jwk) as PublicJwk }, row.submission_created_at, null),
      );
      // The item's record first, in the case's object; the batch below commits it.
      const stored = await storeRecords(c.env, row.case_id, [{ evidenceId: row.id, record: { r2_key: row.r2_key, signer_kid: row.signer_kid, manifest: row.manifest!, file_key: body.fileKey, label: body.label, thumbnail: null, filing: null, provenance: provenanceOf(row, me.id, now) } }]);
      let results: D1Result[];
      try {
        results = await c.env.DB.batch([
          submittedFileDecide(c.env.DB, row, "accepted", me.id, now),
          accepted.statement,
          ...acceptedEvidenceInsert(c.env.DB, { file: row, caseKid: current.kid, recordRef: stored.items[0]!, uploaderId: me.id, categoryId, now, witness: accepted.eventId }),
          submitterKeyInsert(c.env.DB, row, now, accepted.eventId),
          registered.statement,
        ]);
      } catch (err) {
        if (/UNIQUE constraint failed: evidence\.id/i.test(String(err))) throw new ApiError(409, "evidence_exists", "An evidence item with this file's id already exists.");
        throw err;
      }
      if (!markAudited(c, results[1])) throw alreadyDecided((await findSubmittedFile(c.env.DB, row.id)) ?? { decision: "rejected" });
      markAudited(c, results.at(-1));
      await flushAudit(c.env, me.orgId);
      await stampManifest(c.env, me.orgId, row.id, row.manifest!);
      return c.json((await findEvidenceSummary(c.env, row.id))!, 201);
    },
  )
  .post(
    "/:id/reject",
    describe({
      summary: "Reject a submitted file (contributors and leads): its wrapped file key and label are deleted first, then its stored object. Nothing of it can be opened afterwards.",
      access: "session",
      responses: { 204: { description: "Rejected and deleted." }, 409: { description: "Already accepted or rejected." } },
    }),
    validate("param", SubmittedFileIdParam),
    async (c) => {
      const me = c.get("user");
      const row = await submittedFileFor(c, c.req.valid("param").id, "contributor");
      if (row.decision) throw alreadyDecided(row);
      const rejected = auditStatementIfChanged(c, me.orgId, { action: "submission.reject", ...(await fileEvent(row)) });
      // Keys first (crypto-shredding), in the same transaction as the event; then the bytes.
      const results = await c.env.DB.batch([
        submittedFileDecide(c.env.DB, row, "rejected", me.id, new Date().toISOString()),
        rejected.statement,
        rejectedPartsDelete(c.env.DB, row.id, rejected.eventId),
      ]);
      if (!markAudited(c, results[1])) throw alreadyDecided((await findSubmittedFile(c.env.DB, row.id)) ?? { decision: "rejected" });
      await flushAudit(c.env, me.orgId);
      await c.env.EVIDENCE.delete(row.r2_key);
      return c.body(null, 204);
    },
  );
