import { Hono } from "hono";
import { decodeJwt } from "jose";
import {
  CaseIdParam,
  CompleteUploadRequest,
  CreateEvidenceRequest,
  DetailsVersions,
  EvidenceAccessRequest,
  EvidenceIdParam,
  EvidenceList,
  EvidencePartParam,
  EvidenceSummary,
  EvidenceThumbnails,
  FileCaptureRequest,
  FileKeyRelease,
  ThumbnailsQuery,
  TimestampStatus,
  PartUrls,
  PartUrlsRequest,
  UpdateDetailsRequest,
  UploadState,
} from "../../../shared/api/cases";
import type { PublicJwk } from "../../../shared/api/schemas";
import { capturesScopeId, ciphertextSize, isRedaction, manifestKid, PART_SIZE, partCount, TYP, verifyFiling, verifyManifest, type Manifest } from "../../../shared/crypto";
import { caseKeysForUser, wrapFor } from "../db/cases";
import {
  detailsHistory,
  detailsRowsDelete,
  detailsVersions,
  evidenceRecordReplace,
  evidenceComplete,
  completedPartsDelete,
  capturesPlaceStatements,
  evidenceDelete,
  evidenceFile,
  evidenceInsert,
  evidenceRecordSwap,
  evidenceThumbnails,
  findEvidence,
  findEvidenceSummary,
  listEvidence,
  receivedPartNumbers,
  receivedParts,
  type EvidenceRow,
} from "../db/evidence";
import { caseStore, chainDetails, dropReplacedRecord, itemRecordOf, storeRecords, type StoreEnv } from "../db/records";
import { moveItemNow } from "../lib/record-move";
import { currentUserKeys, findSigningKey } from "../db/keys";
import { findCategory, retentionSettings } from "../db/retention";
import type { AppEnv } from "../env";
import { audit, auditStatement, auditStatementIfChanged, auditStatementIfRecorded, flushAudit, markAudited } from "../lib/audit";
import { requireCaseRole } from "../lib/cases";
import { ApiError } from "../lib/errors";
import { checkWrappedTo } from "../lib/keys";
import { describe } from "../lib/openapi";
import { requireSession } from "../lib/session";
import { PART_URL_LIFETIME_MS, signPart } from "../lib/upload-url";
import { validate } from "../lib/validate";
import { PageQuery } from "../../../shared/api/paging";
import { decodeCursor, pageLimit, toPage } from "../lib/paging";
import { stampManifest, timestampStatus } from "../lib/timestamps";
import { toHex } from "../../../shared/crypto/encoding";

/**
 * What an upload's audit events record to tie the log to the evidence: `manifestSha512`, the
 * SHA-512 (hex) of the manifest compact JWS as ASCII, and `sha512`, the signed SHA-512 of the content.
 */
export async function uploadDigests(manifestJws: string): Promise<{ manifestSha512: string; sha512: string }> {
  const manifestSha512 = toHex(new Uint8Array(await crypto.subtle.digest("SHA-512", new TextEncoder().encode(manifestJws))));
  return { manifestSha512, sha512: (decodeJwt(manifestJws) as unknown as Manifest).sha512 };
}

/** Byte length of ciphertext part `n` of an object of `size` bytes. */
export function partLength(size: number, n: number): number {
  return Math.min(PART_SIZE, size - n * PART_SIZE);
}

const noSuchEvidence = () => new ApiError(404, "not_found", "No such evidence, or you are not a member of its case.");

/** The evidence, if the signed-in user is a member of its case with at least `minimum` role. */
async function evidenceFor(c: Parameters<typeof requireCaseRole>[0], id: string, minimum: "viewer" | "contributor" | "lead"): Promise<EvidenceRow> {
  const row = await findEvidence(c.env, id);
  if (!row) throw noSuchEvidence();
  try {
    await requireCaseRole(c, row.case_id, minimum);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw noSuchEvidence();
    throw err;
  }
  // An upload in progress is visible to its uploader only.
  if (row.status !== "complete" && row.uploader_id !== c.get("user").id) throw noSuchEvidence();
  return row;
}

/** Evidence routes under a case: list and create. */
export const caseEvidence = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/:id/evidence",
    describe({
      summary: "The case's evidence (and your own uploads in progress), newest first, a page at a time.",
      access: "session",
      responses: { 200: { description: "A page of evidence.", schema: EvidenceList } },
    }),
    validate("param", CaseIdParam),
    validate("query", PageQuery),
    async (c) => {
      const { id } = c.req.valid("param");
      const { cursor, limit: asked } = c.req.valid("query");
      await requireCaseRole(c, id, "viewer");
      const limit = pageLimit(asked);
      const rows = await listEvidence(c.env, id, c.get("user").id, decodeCursor(cursor, ["s", "s"]), limit + 1);
      const page = toPage(rows, limit, (item) => [item.createdAt, item.id]);
      return c.json({ evidence: page.items, nextCursor: page.nextCursor } satisfies EvidenceList, 200);
    },
  )
  .get(
    "/:id/thumbnails",
    describe({
      summary: "The thumbnails of items of the case's list, as their devices encrypted them to the case key: lists leave them out, and the app fetches those of the items it shows.",
      access: "session",
      responses: { 200: { description: "The thumbnails of the items asked for that have one.", schema: EvidenceThumbnails } },
    }),
    validate("param", CaseIdParam),
    validate("query", ThumbnailsQuery),
    async (c) => {
      const { id } = c.req.valid("param");
      const { ids } = c.req.valid("query");
      await requireCaseRole(c, id, "viewer");
      const thumbnails = await evidenceThumbnails(c.env, id, c.get("user").id, [...new Set(ids)]);
      return c.json({ thumbnails } satisfies EvidenceThumbnails, 200);
    },
  )
  .post(
    "/:id/evidence",
    describe({
      summary: "Start an upload: the signed manifest (checked against your signing key), or only the plaintext's size to send parts as they are encrypted (the manifest then comes with the completion); the wrapped file key and encrypted details. Idempotent for a retried request.",
      access: "session",
      responses: { 201: { description: "Upload started.", schema: UploadState }, 200: { description: "Already started (same manifest): where it stands.", schema: UploadState }, 409: { description: "This evidence id is taken." } },
    }),
    validate("param", CaseIdParam),
    validate("json", CreateEvidenceRequest),
    async (c) => {
      const { id: caseId } = c.req.valid("param");
      const body = c.req.valid("json");
      const me = c.get("user");
      // A capture goes to the uploader's own holding place (docs/evidence-format.md §6.2), made
      // with this upload if it is the first; anything else to a case the uploader contributes to.
      const capturing = caseId === (await capturesScopeId(me.id));
      const myKey = capturing ? (await currentUserKeys(c.env.DB, me.id)).encryption : null;
      if (capturing && !myKey) throw new ApiError(409, "no_keys", "Set up your keys before capturing.");
      const found = capturing ? null : await requireCaseRole(c, caseId, "contributor");
      const existing = await findEvidence(c.env, body.evidenceId);
      if (existing) {
        const same = body.manifest !== undefined
          ? existing.manifest === body.manifest
          : existing.manifest === "" && existing.byte_size === body.byteSize && existing.file_key === body.fileKey.jwe;
        if (existing.uploader_id === me.id && existing.case_id === caseId && same) {
          const received = await receivedPartNumbers(c.env.DB, existing);
          return c.json({ status: existing.status, partCount: existing.part_count, received } satisfies UploadState, 200);
        }
        throw new ApiError(409, "evidence_exists", "This evidence id is already in use.");
      }
      if (found && found.status !== "open") throw new ApiError(409, "case_closed", "This case is closed. Reopen it to add evidence.");

      // With a manifest: checked now. Without (parts sent as they are encrypted): only the size is
      // fixed now; the manifest is checked at completion against it and every stored part.
      const manifest = body.manifest === undefined ? undefined : await verifyUploaderManifest(c.env, body.manifest, me);
      if (manifest && (manifest.evidenceId !== body.evidenceId || manifest.caseId !== caseId || manifest.uploaderId !== me.id)) {
        throw new ApiError(400, "manifest_mismatch", "The manifest names another evidence item, case or uploader.");
      }
      if (manifest && (manifest.scope === "captures") !== capturing) throw wrongScope(capturing);
      const byteSize = manifest?.byteSize ?? body.byteSize!;
      const parts = manifest?.parts.length ?? partCount(byteSize);
      const current = myKey ?? (await caseKeysForUser(c.env.DB, caseId, me.id)).find((k) => k.retired_at === null);
      if (!current || body.fileKey.caseKid !== current.kid) {
        if (capturing) throw new ApiError(409, "case_key_changed", "Your encryption key has changed. Reload the app and capture again.");
        throw new ApiError(409, "case_key_changed", "The case key has changed (a member was removed). Refresh the case and try again: the file is re-wrapped, not re-encrypted.");
      }
      checkWrappedTo(body.fileKey.jwe, TYP.fileKey, current.kid, "fileKey");
      checkWrappedTo(body.label, TYP.label, current.kid, "label");
      if (body.thumbnail !== undefined) checkWrappedTo(body.thumbnail, TYP.thumbnail, current.kid, "thumbnail");
      // Every item has a retention category: the one chosen, or the organisation's default.
      const categoryId = body.categoryId ?? (await retentionSettings(c.env.DB, me.orgId)).default_category_id;
      if (body.categoryId && !(await findCategory(c.env.DB, me.orgId, body.categoryId))) throw new ApiError(400, "no_such_category", "No such evidence category. Choose one of the organisation's categories.");
      const now = new Date().toISOString();
      const r2Key = `evidence/${caseId}/${body.evidenceId}`;
      // The record first, in the case's object; the batch below commits it (docs/storage-schema.md).
      const details = body.details ? await chainDetails([{ version: 1, jwe: body.details, case_kid: null, case_jwe: null, edited_by: me.id, edited_at: now }]) : [];
      const stored = await storeRecords(
        c.env,
        caseId,
        [{
          evidenceId: body.evidenceId,
          record: {
            r2_key: r2Key, signer_kid: manifest?.signerKid ?? "", manifest: body.manifest ?? "", file_key: body.fileKey.jwe, label: body.label, thumbnail: body.thumbnail ?? null, filing: null,
            ...(details[0] ? { details: { version: 1, ref: details[0].ref } } : {}),
          },
        }],
        details.map((d) => ({ evidenceId: body.evidenceId, record: d.record })),
      );
      const upload = await c.env.EVIDENCE.createMultipartUpload(r2Key, { httpMetadata: { contentType: "application/octet-stream" } });
      try {
        await c.env.DB.batch([
          ...(capturing ? capturesPlaceStatements(c.env.DB, { id: caseId, orgId: me.orgId, userId: me.id, encryptionKid: myKey!.kid, encryptionJwk: JSON.stringify(myKey!.publicJwk), now }) : []),
          evidenceInsert(c.env.DB, {
            id: body.evidenceId, caseId, byteSize, partCount: parts, ciphertextSize: ciphertextSize(byteSize),
            caseKid: current.kid, recordRef: stored.items[0]!, uploadId: upload.uploadId, uploaderId: me.id, now, categoryId,
          }),
          auditStatement(c, me.orgId, {
            action: capturing ? "capture.upload" : "evidence.upload_start",
            target: { type: "evidence", id: body.evidenceId },
            details: {
              caseId, evidenceId: body.evidenceId, byteSize, parts, categoryId,
              ...(manifest ? { signerKid: manifest.signerKid, ...(await uploadDigests(body.manifest!)) } : { manifest: "at completion" }),
            },
          }),
        ]);
      } catch (err) {
        await upload.abort().catch(() => undefined);
        if (/UNIQUE constraint failed/i.test(String(err))) throw new ApiError(409, "evidence_exists", "This evidence id is already in use.");
        throw err;
      }
      await flushAudit(c.env, me.orgId);
      return c.json({ status: "uploading", partCount: parts, received: [] } satisfies UploadState, 201);
    },
  );

const wrongScope = (capturing: boolean) =>
  new ApiError(400, "manifest_mismatch", capturing ? "A capture's manifest must be signed with the captures scope." : "Only a capture's manifest has the captures scope.");

/** The manifest, verified against the signer's registered key, which must be the uploader's own current key. */
async function verifyUploaderManifest(env: StoreEnv, jws: string, me: { id: string; orgId: string }): Promise<Manifest> {
  let kid: string;
  try {
    kid = manifestKid(jws);
  } catch {
    throw new ApiError(400, "invalid_manifest", "The manifest is not a signed Custody manifest.");
  }
  const signer = await findSigningKey(env.DB, kid);
  if (!signer || signer.user_id !== me.id || signer.retired_at !== null) {
    throw new ApiError(400, "invalid_manifest", "The manifest must be signed with your current signing key.");
  }
  let manifest: Manifest;
  try {
    manifest = await verifyManifest(jws, JSON.parse(signer.public_jwk) as PublicJwk);
  } catch {
    throw new ApiError(400, "invalid_manifest", "The manifest's signature or content is not valid.");
  }
  if (manifest.derivedFrom) await checkDerivedFrom(env, manifest);
  return manifest;
}

/**
 * A derived item (a clip) must name an original that is a finished item of the same case, by its
 * exact SHA-512 (docs/evidence-format.md §6.2): the link then proves which recording it came from.
 */
async function checkDerivedFrom(env: StoreEnv, manifest: Manifest): Promise<void> {
  const from = manifest.derivedFrom!;
  const original = from.evidenceId === manifest.evidenceId ? null : await findEvidence(env, from.evidenceId);
  if (!original || original.case_id !== manifest.caseId || original.status !== "complete" || original.manifest === "") {
    throw new ApiError(400, "invalid_derivation", "The item this is derived from is not a finished item of the same case.");
  }
  const sha512 = (decodeJwt(original.manifest) as unknown as Manifest).sha512;
  if (sha512 !== from.sha512) throw new ApiError(400, "invalid_derivation", "The SHA-512 given for the original item does not match it.");
}

/**
 * The manifest sent with the completion of an upload started without one: signed by the
 * uploader's current key, naming this item, case and uploader, with the planned size and part
 * count, and listing exactly the SHA-512 each stored part was checked against. Throws (409
 * naming the first part that disagrees) otherwise.
 */
async function checkDeferredManifest(env: StoreEnv, row: EvidenceRow, jws: string, parts: { part_number: number; sha512: string }[], me: { id: string; orgId: string }): Promise<Manifest> {
  const manifest = await verifyUploaderManifest(env, jws, me);
  if (manifest.evidenceId !== row.id || manifest.caseId !== row.case_id || manifest.uploaderId !== me.id) {
    throw new ApiError(400, "manifest_mismatch", "The manifest names another evidence item, case or uploader.");
  }
  if ((manifest.scope === "captures") !== (row.case_id === (await capturesScopeId(me.id)))) throw wrongScope(manifest.scope !== "captures");
  if (manifest.byteSize !== row.byte_size || manifest.parts.length !== row.part_count) {
    throw new ApiError(409, "manifest_mismatch", `The manifest says ${manifest.byteSize} bytes in ${manifest.parts.length} parts; this upload was started for ${row.byte_size} bytes in ${row.part_count}.`);
  }
  for (const stored of parts) {
    if (manifest.parts[stored.part_number] !== stored.sha512) {
      throw new ApiError(409, "manifest_mismatch", `Part ${stored.part_number} stored on the server does not match its SHA-512 in the manifest; nothing was completed. Cancel this upload and add the file again.`);
    }
  }
  return manifest;
}

/**
 * Completes the multipart upload: the parts become the stored object. If an earlier completion
 * got that far and the server stopped before recording it, the upload is gone and the object is
 * already there, whole (nothing else writes this key): it is taken as it is, and the evidence can
 * still be finished.
 */
async function joinParts(bucket: R2Bucket, row: EvidenceRow, parts: { part_number: number; etag: string }[]): Promise<void> {
  try {
    await bucket.resumeMultipartUpload(row.r2_key, row.upload_id!).complete(parts.map((p) => ({ partNumber: p.part_number + 1, etag: p.etag })));
  } catch (err) {
    const stored = await bucket.head(row.r2_key);
    if (stored?.size === row.ciphertext_size) return;
    throw err;
  }
}

/** Routes on one evidence item. */
export const evidence = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/:id",
    describe({ summary: "One evidence item: manifest, encrypted details, upload state.", access: "session", responses: { 200: { description: "The item.", schema: EvidenceSummary } } }),
    validate("param", EvidenceIdParam),
    async (c) => {
      const row = await evidenceFor(c, c.req.valid("param").id, "viewer");
      return c.json((await findEvidenceSummary(c.env, row.id))!, 200);
    },
  )
  .get(
    "/:id/timestamp",
    describe({
      summary: "The item's trusted timestamp (RFC 3161) over its manifest signature: unconfigured, pending (retried now if due), stamped (with the token) or failed.",
      access: "session",
      responses: { 200: { description: "The timestamp's state.", schema: TimestampStatus } },
    }),
    validate("param", EvidenceIdParam),
    async (c) => {
      const row = await evidenceFor(c, c.req.valid("param").id, "viewer");
      if (row.status !== "complete") return c.json({ state: "pending", attempts: 0, lastError: null, nextAttemptAt: null } satisfies TimestampStatus, 200);
      return c.json(await timestampStatus(c.env, { type: "manifest", id: row.id }, row.timestamp ?? null), 200);
    },
  )
  .get(
    "/:id/upload",
    describe({ summary: "Which parts of your upload the server has, to resume at the first missing one.", access: "session", responses: { 200: { description: "Upload state.", schema: UploadState } } }),
    validate("param", EvidenceIdParam),
    async (c) => {
      const row = await evidenceFor(c, c.req.valid("param").id, "viewer");
      const received = await receivedPartNumbers(c.env.DB, row);
      return c.json({ status: row.status, partCount: row.part_count, received } satisfies UploadState, 200);
    },
  )
  .post(
    "/:id/part-urls",
    describe({
      summary: "Signed upload URLs for parts of your upload, each bound to the part's length and its SHA-512 (from the manifest, or given here when the upload started without one).",
      access: "session",
      mutates: false, // it only signs URLs; each part stored through one is recorded
      responses: { 200: { description: "URLs.", schema: PartUrls } },
    }),
    validate("param", EvidenceIdParam),
    validate("json", PartUrlsRequest),
    async (c) => {
      const row = await evidenceFor(c, c.req.valid("param").id, "contributor");
      if (row.uploader_id !== c.get("user").id || row.status !== "uploading") throw new ApiError(409, "not_uploading", "This upload is finished or not yours.");
      // Verified when the upload started; here only its part hashes are read. Without a manifest
      // yet, each URL is bound to the hash given here, and the completion's manifest must agree.
      const deferred = row.manifest === "";
      const manifest = deferred ? undefined : (decodeJwt(row.manifest) as unknown as Manifest);
      const { parts, sha512: given } = c.req.valid("json");
      if (deferred && !given) throw new ApiError(400, "part_hashes_required", "This upload has no manifest yet: give each part's SHA-512 (sha512, in the order of parts).");
      const exp = Date.now() + PART_URL_LIFETIME_MS;
      const urls = [];
      const seen = new Set<number>();
      for (const [i, part] of parts.entries()) {
        if (part >= row.part_count) throw new ApiError(400, "no_such_part", `Part ${part} does not exist: this upload has ${row.part_count} parts (0 to ${row.part_count - 1}).`);
        if (seen.has(part)) continue;
        seen.add(part);
        const byteLength = partLength(row.ciphertext_size, part);
        const sha512 = manifest ? manifest.parts[part]! : given![i]!;
        if (manifest && given && given[i] !== sha512) throw new ApiError(400, "digest_mismatch", `Part ${part}'s SHA-512 is not the one in the signed manifest.`);
        const sig = await signPart(c.env.DB, { evidenceId: row.id, part, byteLength, sha512, exp });
        urls.push({ part, url: `/api/uploads/${row.id}/${part}?exp=${exp}&sig=${sig}${deferred ? `&h=${sha512}` : ""}`, byteLength, sha512 });
      }
      return c.json({ urls, expiresAt: new Date(exp).toISOString() } satisfies PartUrls, 200);
    },
  )
  .post(
    "/:id/complete",
    describe({
      summary: "Finish an upload once every part is in: the parts are joined into the stored object and the evidence becomes visible to the case. An upload started without its manifest sends it here: it is checked against your signing key, the planned size and every stored part's SHA-512, and refused (nothing changes) if any disagrees.",
      access: "session",
      responses: { 200: { description: "Complete.", schema: EvidenceSummary }, 409: { description: "Parts are missing, or the manifest disagrees with a stored part." } },
    }),
    validate("param", EvidenceIdParam),
    // The body is optional (apps from before streamed uploads send none), but one that is sent must be JSON.
    async (c, next) => {
      const type = c.req.header("Content-Type");
      if (type !== undefined && !/^application\/json\b/i.test(type)) throw new ApiError(400, "unsupported_media_type", "Send the completion's body as application/json.");
      await next();
    },
    validate("json", CompleteUploadRequest),
    async (c) => {
      const me = c.get("user");
      let row = await evidenceFor(c, c.req.valid("param").id, "contributor");
      if (row.uploader_id !== me.id) throw new ApiError(403, "forbidden", "Only the uploader can finish this upload.");
      const { manifest: sentManifest, thumbnail } = c.req.valid("json");
      // A thumbnail made after the upload started (its first part is not held back for it): to the case key the file key is wrapped to.
      if (thumbnail !== undefined) checkWrappedTo(thumbnail, TYP.thumbnail, row.case_kid, "thumbnail");
      const otherThumbnail = thumbnail !== undefined && row.thumbnail !== null && row.thumbnail !== thumbnail;
      if (row.status === "complete") {
        if (sentManifest !== undefined && sentManifest !== row.manifest) throw new ApiError(409, "manifest_mismatch", "This upload was completed with another manifest.");
        if (otherThumbnail) throw new ApiError(409, "thumbnail_mismatch", "This upload was completed with another thumbnail.");
        return c.json((await findEvidenceSummary(c.env, row.id))!, 200);
      }
      if (otherThumbnail) throw new ApiError(409, "thumbnail_mismatch", "This upload was started with another thumbnail.");
      const parts = await receivedParts(c.env.DB, row.id);
      const missing = Array.from({ length: row.part_count }, (_, n) => n).filter((n) => !parts.some((p) => p.part_number === n));
      if (missing.length > 0) throw new ApiError(409, "parts_missing", `Parts ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? "…" : ""} have not arrived yet.`);
      const deferred = row.manifest === "";
      if (deferred) {
        if (sentManifest === undefined) throw new ApiError(400, "manifest_required", "This upload was started without its manifest: send the signed manifest with the completion.");
        await checkDeferredManifest(c.env, row, sentManifest, parts, me);
        row = { ...row, manifest: sentManifest, signer_kid: manifestKid(sentManifest) };
      } else if (sentManifest !== undefined && sentManifest !== row.manifest) {
        throw new ApiError(409, "manifest_mismatch", "This upload was started with another manifest.");
      }
      try {
        await joinParts(c.env.EVIDENCE, row, parts);
      } catch (err) {
        // A completion running beside this one may have joined the parts and recorded it first.
        if ((await findEvidence(c.env, row.id))?.status === "complete") return c.json((await findEvidenceSummary(c.env, row.id))!, 200);
        throw err;
      }
      const digests = await uploadDigests(row.manifest);
      const derivedFrom = (decodeJwt(row.manifest) as unknown as Manifest).derivedFrom;
      for (let attempt = 1; ; attempt++) {
        // One state transition: only the completion that moves the item out of 'uploading' records
        // it. Any other (completions sent at once) finds it complete and answers the same.
        const completed = auditStatementIfChanged(c, me.orgId, {
          action: "evidence.upload_complete",
          target: { type: "evidence", id: row.id },
          details: { caseId: row.case_id, evidenceId: row.id, byteSize: row.byte_size, signerKid: row.signer_kid, ...digests },
        });
        // A redacted copy also says so, naming its source: recorded with the completion or not at all.
        const redacted = derivedFrom && isRedaction(derivedFrom)
          ? [auditStatementIfRecorded(c, me.orgId, {
            action: "evidence.redacted",
            target: { type: "evidence", id: row.id },
            details: { caseId: row.case_id, evidenceId: row.id, sourceEvidenceId: derivedFrom.evidenceId, sourceSha512: derivedFrom.sha512, operations: derivedFrom.operations.length },
          }, completed.eventId)]
          : [];
        // The manifest or thumbnail sent now makes a new record (stored first, committed by the batch).
        const newThumbnail = thumbnail !== undefined && row.thumbnail === null;
        const newRef = deferred || newThumbnail
          ? (await storeRecords(c.env, row.case_id, [{ evidenceId: row.id, record: { ...itemRecordOf(row), ...(newThumbnail ? { thumbnail } : {}) } }])).items[0]!
          : null;
        const swap = newRef ? [evidenceRecordSwap(c.env.DB, { id: row.id, fromRef: row.record_ref, toRef: newRef })] : [];
        // With a new record, the item completes only if the swap did (the completion names the new record).
        const statements = [...swap, evidenceComplete(c.env.DB, row.id, new Date().toISOString(), newRef), completed.statement];
        const results = await c.env.DB.batch([...statements, ...redacted, completedPartsDelete(c.env.DB, row.id)]);
        if (newRef && (results[0]!.meta.changes ?? 0) > 0) await dropReplacedRecord(c.env, row.case_id, row.id, row.record_ref, newRef);
        if (markAudited(c, results[statements.length - 1]!)) {
          await flushAudit(c.env, me.orgId);
          // After the state change, by the completion that made it: the TSA is asked once now; if it
          // fails the item reads "awaiting timestamp" and is retried.
          await stampManifest(c.env, me.orgId, row.id, row.manifest);
          break;
        }
        // Its record changed meanwhile (its details edited while it completed): nothing was
        // committed; complete it again on the record as it is now.
        const fresh = newRef && attempt < 3 ? await findEvidence(c.env, row.id) : null;
        if (fresh?.status !== "uploading") break;
        row = deferred ? { ...fresh, manifest: row.manifest, signer_kid: row.signer_kid } : fresh;
      }
      return c.json((await findEvidenceSummary(c.env, row.id))!, 200);
    },
  )
  .delete(
    "/:id",
    describe({ summary: "Cancel your upload in progress: its parts are discarded. Complete evidence is deleted only through retention (docs/retention.md).", access: "session", responses: { 204: { description: "Cancelled." }, 409: { description: "Complete evidence is kept unmodified." } } }),
    validate("param", EvidenceIdParam),
    async (c) => {
      const me = c.get("user");
      const row = await evidenceFor(c, c.req.valid("param").id, "contributor");
      if (row.status === "complete") throw new ApiError(409, "evidence_kept", "Evidence is kept unmodified once uploaded; it cannot be deleted.");
      if (row.uploader_id !== me.id) throw new ApiError(403, "forbidden", "Only the uploader can cancel this upload.");
      await c.env.EVIDENCE.resumeMultipartUpload(row.r2_key, row.upload_id!).abort().catch(() => undefined);
      await c.env.DB.batch([
        ...evidenceDelete(c.env.DB, row.id),
        auditStatement(c, me.orgId, { action: "evidence.upload_cancel", target: { type: "evidence", id: row.id }, details: { caseId: row.case_id, evidenceId: row.id } }),
      ]);
      await caseStore(c.env, row.case_id).forget(row.id);
      await flushAudit(c.env, me.orgId);
      return c.body(null, 204);
    },
  )
  .get(
    "/:id/key",
    describe({
      summary: "Release the keys to open this evidence (the file key wrapped to the case key, and the case key wrapped to you; for one of your captures not yet filed, the file key wrapped to you and an empty caseKeyWrap). This is the audited view.",
      access: "session",
      responses: { 200: { description: "The wrapped keys.", schema: FileKeyRelease } },
    }),
    validate("param", EvidenceIdParam),
    async (c) => {
      const me = c.get("user");
      const row = await evidenceFor(c, c.req.valid("param").id, "viewer");
      // A capture in the holding place has its file key wrapped to the uploader's own key: no case key between ("").
      const capture = row.case_id === (await capturesScopeId(me.id)) && row.case_kid === (await currentUserKeys(c.env.DB, me.id)).encryption?.kid;
      const caseKeyWrap = capture ? "" : await wrapFor(c.env.DB, row.case_kid, me.id);
      if (caseKeyWrap === null) throw new ApiError(409, "no_key_for_you", "You hold no wrap of this evidence's case key. Ask a lead of the case to add you again.");
      // Recorded before anything is released: if the event cannot be written, nothing is.
      await audit(c, { action: "evidence.view", target: { type: "evidence", id: row.id }, details: { caseId: row.case_id, evidenceId: row.id } });
      return c.json({ caseKid: row.case_kid, fileKey: row.file_key, caseKeyWrap } satisfies FileKeyRelease, 200);
    },
  )
  .get(
    "/:id/parts/:part",
    describe({ summary: "Ciphertext part `part` of complete evidence (8 MiB + 128 B, the last shorter).", access: "session", responses: { 200: { description: "application/octet-stream ciphertext." } } }),
    validate("param", EvidencePartParam),
    async (c) => {
      const { id, part } = c.req.valid("param");
      const row = await evidenceFor(c, id, "viewer");
      if (row.status !== "complete") throw new ApiError(409, "not_complete", "This evidence is still uploading.");
      if (part >= row.part_count) throw new ApiError(404, "no_such_part", `Part ${part} does not exist.`);
      const object = await c.env.EVIDENCE.get(row.r2_key, { range: { offset: part * PART_SIZE, length: partLength(row.ciphertext_size, part) } });
      if (!object) throw new Error(`evidence ${row.id}: object missing from storage`);
      return new Response(object.body, {
        status: 200,
        headers: { "Content-Type": "application/octet-stream", "Content-Length": String(partLength(row.ciphertext_size, part)), "Cache-Control": "private, max-age=31536000, immutable" },
      });
    },
  )
  .post(
    "/:id/access",
    describe({ summary: "Record that you downloaded the original or exported a court package (done in your browser).", access: "session", responses: { 204: { description: "Recorded." } } }),
    validate("param", EvidenceIdParam),
    validate("json", EvidenceAccessRequest),
    async (c) => {
      const row = await evidenceFor(c, c.req.valid("param").id, "viewer");
      const { action } = c.req.valid("json");
      await audit(c, { action: `evidence.${action}`, target: { type: "evidence", id: row.id }, details: { caseId: row.case_id, evidenceId: row.id } });
      return c.body(null, 204);
    },
  )
  .patch(
    "/:id/details",
    describe({ summary: "Edit the evidence's details (a new version, encrypted under the file key; older versions are kept).", access: "session", responses: { 200: { description: "The new version.", schema: EvidenceSummary }, 409: { description: "Someone else edited it first." } } }),
    validate("param", EvidenceIdParam),
    validate("json", UpdateDetailsRequest),
    async (c) => {
      const me = c.get("user");
      const row = await evidenceFor(c, c.req.valid("param").id, "contributor");
      const { jwe, baseVersion, caseCopy } = c.req.valid("json");
      if (caseCopy) {
        // A copy members read with the case key: it must be to one of this case's keys.
        if (!(await caseKeysForUser(c.env.DB, row.case_id, me.id)).some((k) => k.kid === caseCopy.caseKid)) {
          throw new ApiError(400, "invalid_envelope", "caseCopy is not to one of this case's keys.");
        }
        checkWrappedTo(caseCopy.jwe, TYP.details, caseCopy.caseKid, "caseCopy");
      }
      const stale = () => new ApiError(409, "stale_edit", "Someone changed these details after you opened them. Reload to see their version, then edit again.");
      // Versions saved before the details left D1 chain on as records first (the daily job would move them anyway).
      // A record that names a chain has no such rows left: most edits skip the look.
      let item = !row.details && (await moveItemNow(c.env, row.id)) ? (await findEvidence(c.env, row.id)) ?? row : row;
      for (let attempt = 1; ; attempt++) {
        const latest = item.details ?? null;
        if (baseVersion !== (latest?.version ?? 0)) throw stale();
        const now = new Date().toISOString();
        const [version] = await chainDetails(
          [{ version: baseVersion + 1, jwe, case_kid: caseCopy?.caseKid ?? null, case_jwe: caseCopy?.jwe ?? null, edited_by: me.id, edited_at: now }],
          latest?.ref ?? null,
        );
        // The new version and the item's record naming it go to the case's object; the swap of the
        // record's reference (by compare-and-set, with its audit event) commits them.
        const stored = await storeRecords(
          c.env,
          item.case_id,
          [{ evidenceId: item.id, record: { ...itemRecordOf(item), details: { version: baseVersion + 1, ref: version!.ref } } }],
          [{ evidenceId: item.id, record: version!.record }],
        );
        const edited = auditStatementIfChanged(c, me.orgId, {
          action: "evidence.details_edit", target: { type: "evidence", id: item.id }, details: { caseId: item.case_id, evidenceId: item.id, version: baseVersion + 1 },
        });
        const results = await c.env.DB.batch([evidenceRecordReplace(c.env.DB, { id: item.id, caseId: item.case_id, fromRef: item.record_ref!, toRef: stored.items[0]! }), edited.statement]);
        if (markAudited(c, results[1]!)) {
          await dropReplacedRecord(c.env, item.case_id, item.id, item.record_ref, stored.items[0]!);
          break;
        }
        // The record changed meanwhile: another edit (stale), or something else of the item (its
        // timestamp stamped, its upload completed): edit again on the record as it is now.
        const fresh = attempt < 3 ? await findEvidence(c.env, item.id) : null;
        if (!fresh || fresh.case_id !== item.case_id) throw stale();
        item = fresh;
      }
      await flushAudit(c.env, me.orgId);
      return c.json((await findEvidenceSummary(c.env, row.id))!, 200);
    },
  )
  .post(
    "/:id/file",
    describe({
      summary: "File one of your captures into a case: its file key and label, re-wrapped in your browser to the case key, replace the ones wrapped to you; the stored ciphertext and the signed manifest are kept, and your signed filing record binds the move (docs/evidence-format.md §6.2).",
      access: "session",
      responses: { 200: { description: "Filed: the item, now in the case.", schema: EvidenceSummary }, 409: { description: "Not a finished capture of yours, the case is closed, or its key has changed." } },
    }),
    validate("param", EvidenceIdParam),
    validate("json", FileCaptureRequest),
    async (c) => {
      const me = c.get("user");
      const body = c.req.valid("json");
      const fromCaseId = await capturesScopeId(me.id);
      const row = await findEvidence(c.env, c.req.valid("param").id);
      // Only the uploader's own captures, in their holding place: anyone else's item is "no such".
      if (!row || row.uploader_id !== me.id || (row.case_id !== fromCaseId && row.filing === null)) throw noSuchEvidence();
      if (row.case_id !== fromCaseId) {
        if (row.case_id === body.caseId && row.filing === body.filing) return c.json((await findEvidenceSummary(c.env, row.id))!, 200);
        throw new ApiError(409, "already_filed", "This capture has been filed into a case already.");
      }
      if (row.status !== "complete") throw new ApiError(409, "not_complete", "This capture is still uploading. File it once its upload has finished.");
      const target = await requireCaseRole(c, body.caseId, "contributor");
      if (target.kind === "captures") throw new ApiError(400, "not_a_case", "Choose a case to file the capture into.");
      if (target.status !== "open") throw new ApiError(409, "case_closed", "This case is closed. Reopen it to add evidence.");
      const current = (await caseKeysForUser(c.env.DB, body.caseId, me.id)).find((k) => k.retired_at === null);
      if (!current || body.fileKey.caseKid !== current.kid) {
        throw new ApiError(409, "case_key_changed", "The case key has changed (a member was removed). Refresh the case and file the capture again.");
      }
      checkWrappedTo(body.fileKey.jwe, TYP.fileKey, current.kid, "fileKey");
      checkWrappedTo(body.label, TYP.label, current.kid, "label");
      if (body.detailsCaseCopy) {
        if (!body.details) throw new ApiError(400, "invalid_envelope", "detailsCaseCopy comes with details: it is their members' copy.");
        if (body.detailsCaseCopy.caseKid !== current.kid) throw new ApiError(400, "invalid_envelope", "detailsCaseCopy is not to the case's current key.");
        checkWrappedTo(body.detailsCaseCopy.jwe, TYP.details, current.kid, "detailsCaseCopy");
      }
      if (body.categoryId && !(await findCategory(c.env.DB, me.orgId, body.categoryId))) throw new ApiError(400, "no_such_category", "No such evidence category. Choose one of the organisation's categories.");
      let filingKid: string;
      try {
        filingKid = manifestKid(body.filing);
      } catch {
        throw new ApiError(400, "invalid_filing", "The filing record is not a signed Custody filing record.");
      }
      const signer = await findSigningKey(c.env.DB, filingKid);
      if (!signer || signer.user_id !== me.id || signer.retired_at !== null) throw new ApiError(400, "invalid_filing", "The filing record must be signed with your current signing key.");
      // The same key as the capture's manifest, so a reader checks both against one signer.
      if (filingKid !== row.signer_kid) throw new ApiError(409, "signing_key_changed", "Your signing key has changed since this capture was signed, so it cannot be filed with a matching signature. Ask an administrator to recover it, or capture it again.");
      try {
        await verifyFiling(body.filing, JSON.parse(signer.public_jwk) as PublicJwk, { evidenceId: row.id, manifestJws: row.manifest, fromCaseId, caseId: body.caseId });
      } catch {
        throw new ApiError(400, "invalid_filing", "The filing record's signature or content is not valid for this capture and case.");
      }
      const now = new Date().toISOString();
      // The item's new record and its details versions (the one sent now chained on) go to the
      // case's object first; the batch commits the move; then the holding place's copies (the file
      // key wrapped to the uploader's own key among them) are deleted.
      const earlier = await detailsHistory(c.env, fromCaseId, row);
      const latest = earlier.at(-1)?.version ?? 0;
      const chain = await chainDetails([
        ...earlier,
        ...(body.details ? [{ version: latest + 1, jwe: body.details, case_kid: body.detailsCaseCopy?.caseKid ?? null, case_jwe: body.detailsCaseCopy?.jwe ?? null, edited_by: me.id, edited_at: now }] : []),
      ]);
      const newest = chain.at(-1);
      const stored = await storeRecords(
        c.env,
        body.caseId,
        [{
          evidenceId: row.id,
          record: { ...itemRecordOf(row), file_key: body.fileKey.jwe, label: body.label, filing: body.filing, details: newest ? { version: newest.record.version!, ref: newest.ref } : null },
        }],
        chain.map((d) => ({ evidenceId: row.id, record: d.record })),
      );
      const moved = auditStatementIfChanged(c, me.orgId, {
        action: "evidence.file",
        target: { type: "evidence", id: row.id },
        details: { caseId: body.caseId, evidenceId: row.id, caseKid: current.kid, ...(body.details ? { detailsVersion: latest + 1 } : {}), ...(await uploadDigests(row.manifest)) },
      });
      const results = await c.env.DB.batch([
        evidenceFile(c.env.DB, { id: row.id, fromCaseId, fromRef: row.record_ref, caseId: body.caseId, caseKid: current.kid, recordRef: stored.items[0]!, categoryId: body.categoryId ?? row.category_id }),
        moved.statement,
        // Versions saved before the details left D1 are in the chain now (a filing sent at the same moment moves none).
        detailsRowsDelete(c.env.DB, row.id, moved.eventId),
      ]);
      if (!markAudited(c, results[1]!)) {
        // Filed by a request sent at the same moment: answer as that one did, or refuse.
        const after = await findEvidence(c.env, row.id);
        if (after?.case_id === body.caseId && after.filing === body.filing) return c.json((await findEvidenceSummary(c.env, row.id))!, 200);
        throw new ApiError(409, "already_filed", "This capture has been filed into a case already.");
      }
      await caseStore(c.env, fromCaseId).forget(row.id);
      await flushAudit(c.env, me.orgId);
      return c.json((await findEvidenceSummary(c.env, row.id))!, 200);
    },
  )
  .get(
    "/:id/details/versions",
    describe({ summary: "Every version of the evidence's details, oldest first.", access: "session", responses: { 200: { description: "Versions.", schema: DetailsVersions } } }),
    validate("param", EvidenceIdParam),
    async (c) => {
      const row = await evidenceFor(c, c.req.valid("param").id, "viewer");
      const versions = (await detailsVersions(c.env, row.case_id, row)).map((v) => ({ version: v.version, jwe: v.jwe, editedBy: { id: v.edited_by, name: v.name }, editedAt: v.edited_at }));
      return c.json({ versions }, 200);
    },
  );
