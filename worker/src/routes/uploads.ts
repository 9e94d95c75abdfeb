import { Hono } from "hono";
import { EvidencePartParam, UploadQuery } from "../../../shared/api/cases";
import { findEvidence, partEtagUpdate, partInsert, partRecorded } from "../db/evidence";
import { findUserById } from "../db/users";
import { deliveringSiteOf } from "../db/video";
import { auditStatementIfChanged, flushAudit, markAudited } from "../lib/audit";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { toHex } from "../lib/secrets";
import { partSignatureIsValid } from "../lib/upload-url";
import { validate } from "../lib/validate";
import { partLength } from "./evidence";
import { decodeJwt } from "jose";
import type { Manifest } from "../../../shared/crypto";

/** Reads a request body of exactly `length` bytes; refuses a longer or shorter one without buffering more than that. */
export async function readExactly(body: ReadableStream<Uint8Array> | null, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let offset = 0;
  if (body) {
    const reader = body.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        // The body broke off before its Content-Length (the client stopped sending): a short part.
        throw new ApiError(400, "wrong_length", `This part must be exactly ${length} bytes; the body ended after ${offset}.`);
      }
      if (chunk.done) break;
      if (offset + chunk.value.length > length) {
        await reader.cancel().catch(() => undefined);
        throw new ApiError(400, "wrong_length", `This part must be exactly ${length} bytes; more arrived.`);
      }
      out.set(chunk.value, offset);
      offset += chunk.value.length;
    }
  }
  if (offset !== length) throw new ApiError(400, "wrong_length", `This part must be exactly ${length} bytes; ${offset} arrived.`);
  return out;
}

/**
 * The signed part upload. No session: the URL's signature is the authority, and it binds the
 * evidence, the part, its length and its SHA-512. The part is checked in full before it is
 * stored: a wrong length or digest is refused and nothing is written.
 */
export const uploads = new Hono<AppEnv>().put(
  "/:id/:part",
  describe({
    summary: "Upload one ciphertext part to a signed URL from part-urls (no session needed). Checked for length and SHA-512 before it is stored.",
    access: "public",
    responses: { 204: { description: "Stored." }, 403: { description: "The signature is wrong or expired." } },
  }),
  validate("param", EvidencePartParam),
  validate("query", UploadQuery),
  async (c) => {
    const { id, part } = c.req.valid("param");
    const { exp, sig, h } = c.req.valid("query");
    if (exp < Date.now()) throw new ApiError(403, "url_expired", "This upload URL has expired. Ask for a new one; the upload resumes where it stopped.");
    const row = await findEvidence(c.env, id);
    if (!row || row.status !== "uploading" || part >= row.part_count) throw new ApiError(403, "bad_signature", "This upload URL is not valid.");
    const byteLength = partLength(row.ciphertext_size, part);
    // The part's SHA-512: from the signed manifest, or (an upload started before its manifest) the
    // one its URL was signed for, which the manifest must list at completion.
    const sha512 = row.manifest === "" ? h : (decodeJwt(row.manifest) as unknown as Manifest).parts[part];
    if (!sha512) throw new ApiError(403, "bad_signature", "This upload URL is not valid.");
    if (!(await partSignatureIsValid(c.env.DB, { evidenceId: id, part, byteLength, sha512, exp }, sig))) {
      throw new ApiError(403, "bad_signature", "This upload URL is not valid.");
    }
    // A part already stored (its answer was lost, or it was sent twice) is not stored or recorded again.
    if (await partRecorded(c.env.DB, id, part)) {
      await c.req.raw.body?.cancel().catch(() => undefined);
      return c.body(null, 204);
    }
    const declared = c.req.header("Content-Length");
    if (declared !== undefined && Number(declared) !== byteLength) {
      throw new ApiError(400, "wrong_length", `This part must be exactly ${byteLength} bytes; the request says ${declared}.`);
    }
    const bytes = await readExactly(c.req.raw.body, byteLength);
    const digest = toHex(await crypto.subtle.digest("SHA-512", bytes));
    if (digest !== sha512) throw new ApiError(400, "digest_mismatch", `Part ${part} does not match the SHA-512 its URL is bound to; nothing was stored. Retry the part.`);
    const uploaded = await c.env.EVIDENCE.resumeMultipartUpload(row.r2_key, row.upload_id!).uploadPart(part + 1, bytes);
    const uploader = await findUserById(c.env.DB, row.uploader_id);
    // The signed URL acts for whoever it was issued to: the uploader, or the site agent delivering a requested video.
    const deliveringSite = row.request_id === null ? null : await deliveringSiteOf(c.env.DB, id);
    // Only the request that records the part first writes its event. One sent at the same moment
    // (past the check above) records nothing but the etag of its own copy, which R2 most likely
    // keeps (its upload came before its batch); see docs/audit.md, "Limits".
    const event = auditStatementIfChanged(c, uploader!.org_id, {
      action: "evidence.part_upload",
      actor: deliveringSite ? { type: "agent", id: deliveringSite.id, label: deliveringSite.name } : { type: "user", id: row.uploader_id, label: uploader!.email },
      target: { type: "evidence", id },
      details: { caseId: row.case_id, evidenceId: id, part, byteLength },
    });
    const recorded = { evidenceId: id, part, byteLength, sha512, etag: uploaded.etag, now: new Date().toISOString() };
    const results = await c.env.DB.batch([partInsert(c.env.DB, recorded), event.statement, partEtagUpdate(c.env.DB, recorded)]);
    if (markAudited(c, results[1])) await flushAudit(c.env, uploader!.org_id);
    return c.body(null, 204);
  },
);
