/**
 * Submission links (docs/submissions.md). Member side, for a case's contributors and leads: make a
 * link (the browser made its submission key pair and wrapped the private half to the case key),
 * list, revoke. Public side (/api/submit/:id): what the link asks for and its public key, and
 * nothing of the case. The server checks the shape of the wrap it stores and can open none.
 */
import { Hono, type Context } from "hono";
import { CaseIdParam } from "../../../shared/api/cases";
import {
  CreatedSubmissionLink,
  CreateSubmissionLinkRequest,
  PublicSubmissionLink,
  SubmissionFileState as SubmissionFileStateSchema,
  SUBMISSION_MAX_DAYS,
  SUBMIT_PER_ADDRESS,
  SUBMIT_PER_LINK,
  SUBMIT_WINDOW_MS,
  SubmissionLinkIdParam,
  SubmissionLinkList,
  AddSubmissionFileRequest,
  CompleteSubmissionFileRequest,
  SentSubmission,
  StartedSubmission,
  StartSubmissionRequest,
  SubmissionFileParam,
  SubmissionParam,
  SubmissionPartParam,
  type SubmissionFileState,
  type SubmissionLinkSummary,
} from "../../../shared/api/submissions";
import { ciphertextSize, partCount, TYP, verifyManifest, type Manifest } from "../../../shared/crypto";
import type { PublicJwk } from "../../../shared/api/schemas";
import { partLength, uploadDigests } from "./evidence";
import { readExactly } from "./uploads";
import { manifestSha512 } from "../db/submission-intake";
import { getOrganisationById } from "../db/organisations";
import {
  findSubmissionLink,
  submissionLinkInsert,
  submissionLinkRevoke,
  submissionLinksOfCase,
  submissionLinkStatus,
  type SubmissionLinkRow,
} from "../db/submissions";
import type { AppEnv } from "../env";
import { audit, auditStatement, auditStatementIfChanged, flushAudit, markAudited } from "../lib/audit";
import { requireCaseRole } from "../lib/cases";
import { ApiError } from "../lib/errors";
import { checkPublicKey, checkWrappedTo } from "../lib/keys";
import { sendMail } from "../lib/mail";
import { describe } from "../lib/openapi";
import { publicOrigin } from "../lib/public-url";
import { clientIp, userAgent } from "../lib/request";
import { newToken, tokenHash, toHex } from "../lib/secrets";
import { attemptRelease, reserveAttempt } from "../db/identity";
import { requireSession } from "../lib/session";
import { validate } from "../lib/validate";
// Video requests answered through a link (docs/submissions.md §7): kept in their own module.
import { checkLinkRequest, deliveredByUploadStatements, publicRequestDetails } from "../lib/request-links";
import { notifySite } from "../lib/video";

const DAY_MS = 24 * 60 * 60 * 1000;


/**
 * Counts a request to the public side against its address (before the link is even looked up, so
 * guessing links is throttled too) and, once known, its link; refuses with 429 and a plain message
 * past either limit, audited as `submission.throttled`. Uses the sign-in throttle's window table.
 */
async function throttle(c: Context<AppEnv>, link: SubmissionLinkRow | null): Promise<number> {
  const now = Date.now();
  const since = new Date(now - SUBMIT_WINDOW_MS).toISOString();
  const at = new Date(now).toISOString();
  const address = clientIp(c) ?? "unknown";
  const [key, limit, scope] = link ? [`submit_link:${link.id}`, SUBMIT_PER_LINK, "link"] : [`submit_ip:${address}`, SUBMIT_PER_ADDRESS, "address"];
  const reserved = await reserveAttempt(c.env.DB, key, at, since, limit);
  if (reserved !== null) return reserved;
  if (link) {
    await audit(c, { action: "submission.throttled", orgId: link.org_id, outcome: "denied", actor: { type: "anonymous", id: null, label: `submission link: ${link.label}` }, ...linkEvent(link, { scope, limit, windowMinutes: SUBMIT_WINDOW_MS / 60_000 }) });
  }
  c.header("Retry-After", String(Math.ceil(SUBMIT_WINDOW_MS / 1000)));
  throw new ApiError(429, "too_many_requests", scope === "link"
    ? "This link is very busy right now. Please wait ten minutes and try again."
    : "Too many tries from your connection. Please wait ten minutes and try again.");
}

function checkExpiry(expiresAt: string): string {
  const at = Date.parse(expiresAt);
  const now = Date.now();
  if (at <= now) throw new ApiError(400, "invalid_expiry", "The expiry must be in the future.");
  if (at > now + SUBMISSION_MAX_DAYS * DAY_MS) throw new ApiError(400, "invalid_expiry", "A submission link can stay open for at most a year.");
  return new Date(at).toISOString();
}

/** The link to give: the fragment names the submission key, which the submitter's browser checks. */
export const submissionUrl = (env: Env, row: Pick<SubmissionLinkRow, "id" | "submission_kid">) => `${publicOrigin(env)}/submit/${row.id}#${row.submission_kid}`;

function toSummary(env: Env, row: SubmissionLinkRow & { creator_name: string }): SubmissionLinkSummary {
  return {
    id: row.id, caseId: row.case_id, audience: row.audience, label: row.label, email: row.recipient_email, instructions: row.instructions,
    maxFiles: row.max_files, maxBytes: row.max_bytes, submissionKid: row.submission_kid, status: submissionLinkStatus(row),
    expiresAt: row.expires_at, createdAt: row.created_at, createdBy: { id: row.created_by, name: row.creator_name }, revokedAt: row.revoked_at,
    url: submissionUrl(env, row),
    requestId: row.request_id,
  };
}

async function summaryOf(c: Context<AppEnv>, caseId: string, id: string): Promise<SubmissionLinkSummary> {
  const row = (await submissionLinksOfCase(c.env.DB, caseId)).find((l) => l.id === id);
  if (!row) throw new Error(`submission link ${id} vanished`);
  return toSummary(c.env, row);
}

const linkEvent = (row: Pick<SubmissionLinkRow, "id" | "case_id" | "label" | "audience">, details: Record<string, unknown> = {}) => ({
  target: { type: "submission_link", id: row.id },
  details: { caseId: row.case_id, linkId: row.id, label: row.label, audience: row.audience, ...details },
});

/** Member routes under a case: list and create. */
export const caseSubmissionLinks = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/:id/submission-links",
    describe({ summary: "The case's submission links (contributors and leads): who each is for, limits, expiry and state.", access: "session", responses: { 200: { description: "Links.", schema: SubmissionLinkList } } }),
    validate("param", CaseIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      await requireCaseRole(c, id, "contributor");
      const rows = await submissionLinksOfCase(c.env.DB, id);
      return c.json({ links: rows.map((row) => toSummary(c.env, row)) } satisfies SubmissionLinkList, 200);
    },
  )
  .post(
    "/:id/submission-links",
    describe({
      summary:
        "Make a submission link (contributors and leads): for one person or the public, with instructions, an expiry and limits. The browser made the submission key pair and wrapped its private half to the case's current key; the server checks the shape and opens nothing. Emailed to a person's address where mail is set up.",
      access: "session",
      responses: { 201: { description: "Made.", schema: CreatedSubmissionLink }, 409: { description: "The case is closed, or its key changed." } },
    }),
    validate("param", CaseIdParam),
    validate("json", CreateSubmissionLinkRequest),
    async (c) => {
      const { id: caseId } = c.req.valid("param");
      const body = c.req.valid("json");
      const me = c.get("user");
      const found = await requireCaseRole(c, caseId, "contributor");
      if (found.status !== "open") throw new ApiError(409, "case_closed", "This case is closed. Reopen it to collect evidence.");
      const expiresAt = checkExpiry(body.expiresAt);
      const key = await checkPublicKey(body.submissionKey, "enc", "submissionKey");
      const current = await c.env.DB.prepare("SELECT kid FROM case_keys WHERE case_id = ? AND retired_at IS NULL").bind(caseId).first<{ kid: string }>();
      if (!current || current.kid !== body.caseKid) {
        throw new ApiError(409, "case_key_changed", "The case key has changed (a member was removed). Refresh the case and try again.");
      }
      checkWrappedTo(body.submissionKeyWrap, TYP.submissionKey, current.kid, "submissionKeyWrap");
      // A video request's link (docs/submissions.md §7): the request must be this case's and still answerable.
      const request = body.requestId ? await checkLinkRequest(c, caseId, body.requestId) : null;
      const id = newToken();
      const now = new Date().toISOString();
      const email = body.audience === "person" ? (body.email ?? null) : null;
      const row = { id, case_id: caseId, label: body.label, audience: body.audience, submission_kid: key.kid };
      await c.env.DB.batch([
        submissionLinkInsert(c.env.DB, {
          id, orgId: me.orgId, caseId, audience: body.audience, label: body.label, email, instructions: body.instructions, maxFiles: body.maxFiles, maxBytes: body.maxBytes,
          submissionKid: key.kid, submissionPublicJwk: JSON.stringify(key.publicJwk), submissionKeyWrap: body.submissionKeyWrap, caseKid: current.kid, expiresAt, createdBy: me.id, now,
          requestId: request?.id ?? null,
        }),
        auditStatement(c, me.orgId, {
          action: "submission.link_create",
          ...linkEvent(row, { caseNumber: found.number, expiresAt, maxFiles: body.maxFiles, maxBytes: body.maxBytes, email, submissionKid: key.kid, ...(request ? { requestId: request.id, siteId: request.siteId } : {}) }),
        }),
      ]);
      await flushAudit(c.env, me.orgId);
      let emailed = false;
      if (email) {
        const org = await getOrganisationById(c.env.DB, me.orgId);
        const outcome = await sendMail(c.env, me.orgId, {
          to: email,
          subject: `${org?.name ?? "An investigation"} asks you to send evidence`,
          text:
            `${me.name} (${org?.name ?? "Custody"}) asks you to send evidence:\n\n${body.instructions}\n\n` +
            `Send it here, from your phone or computer, until ${expiresAt}:\n${submissionUrl(c.env, row)}\n\n` +
            `Your files are encrypted in your browser before they leave your device. No account is needed.\n`,
        });
        emailed = outcome.sent;
        await audit(c, { action: "submission.link_email", orgId: me.orgId, outcome: outcome.sent ? "success" : "failed", ...linkEvent(row, { email, ...(outcome.sent ? {} : { reason: outcome.reason }) }) });
      }
      return c.json({ link: await summaryOf(c, caseId, id), emailed } satisfies CreatedSubmissionLink, 201);
    },
  );

const noSuchLink = () => new ApiError(404, "not_found", "No such submission link, or you cannot manage it.");

/** Member routes on one link. */
export const submissionLinks = new Hono<AppEnv>()
  .use(requireSession)
  .post(
    "/:id/revoke",
    describe({ summary: "Revoke a submission link (contributors and leads of its case): it accepts nothing from now on.", access: "session", responses: { 200: { description: "Revoked (or already).", schema: SubmissionLinkList.shape.links.element } } }),
    validate("param", SubmissionLinkIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      const me = c.get("user");
      const link = await findSubmissionLink(c.env.DB, id);
      if (!link || link.org_id !== me.orgId) throw noSuchLink();
      try {
        await requireCaseRole(c, link.case_id, "contributor");
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) throw noSuchLink();
        throw err;
      }
      if (!link.revoked_at) {
        await c.env.DB.batch([
          submissionLinkRevoke(c.env.DB, id, me.id, new Date().toISOString()),
          auditStatement(c, me.orgId, { action: "submission.link_revoke", ...linkEvent(link) }),
        ]);
        await flushAudit(c.env, me.orgId);
      }
      return c.json(await summaryOf(c, link.case_id, id), 200);
    },
  );

/** What a link says to anyone who holds it; a link that is unknown, expired or revoked is one clear message. */
export const submit = new Hono<AppEnv>()
.get(
  "/:id",
  describe({
    summary: "Open a submission link (public): its instructions, limits, expiry and submission public key. Nothing of the case, and nothing sent through it.",
    access: "public",
    responses: { 200: { description: "The link.", schema: PublicSubmissionLink }, 404: { description: "No such link, or it has expired or been revoked." }, 429: { description: "Too many requests from this address, or to this link, in ten minutes." } },
  }),
  validate("param", SubmissionLinkIdParam),
  async (c) => {
    const { id } = c.req.valid("param");
    await throttle(c, null);
    const link = await findSubmissionLink(c.env.DB, id);
    if (link) await throttle(c, link);
    if (!link) throw new ApiError(404, "link_unavailable", "This link does not work. Check that you copied all of it, or ask whoever sent it for a new one.");
    const status = submissionLinkStatus(link);
    const actor = { type: "anonymous" as const, id: null, label: `submission link: ${link.label}` };
    if (status !== "open") {
      await audit(c, { action: "submission.link_open", orgId: link.org_id, actor, outcome: "denied", ...linkEvent(link, { reason: status }) });
      throw new ApiError(404, "link_unavailable", status === "expired"
        ? "This link has expired, so it cannot take files any more. Ask whoever sent it for a new one."
        : "This link has been closed by the investigators, so it cannot take files any more. Ask whoever sent it for a new one.");
    }
    await audit(c, { action: "submission.link_open", orgId: link.org_id, actor, ...linkEvent(link) });
    const org = await getOrganisationById(c.env.DB, link.org_id);
    return c.json({
      id: link.id, organisation: org?.name ?? "", instructions: link.instructions, maxFiles: link.max_files, maxBytes: link.max_bytes,
      expiresAt: link.expires_at, submissionKey: JSON.parse(link.submission_public_jwk),
      // A video request's link: what the request asks for, nothing else of the case (§7).
      request: await publicRequestDetails(c.env.DB, link.request_id),
    } satisfies PublicSubmissionLink, 200);
  },
  )
  .post(
    "/:id/submissions",
    describe({
      summary: "Start sending through a link (public): the submitter's signing key (made in their browser) and optional details encrypted to the submission key. Answers a bearer token for this submission's files.",
      access: "public",
      responses: { 201: { description: "Started.", schema: StartedSubmission }, 404: { description: "No such link, or it has expired or been revoked." }, 429: { description: "Too many requests." } },
    }),
    // The body first: a malformed body is named as such whatever the path holds.
    validate("json", StartSubmissionRequest),
    validate("param", SubmissionLinkIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const link = await openLink(c, id);
      const signer = await checkPublicKey(body.signerKey, "sig", "signerKey");
      if (body.details) checkWrappedTo(body.details, TYP.submissionDetails, link.submission_kid, "details");
      const token = newToken();
      const now = new Date().toISOString();
      try {
        await c.env.DB.batch([
          c.env.DB.prepare(
            `INSERT INTO submissions (id, link_id, org_id, case_id, token_hash, signer_kid, signer_public_jwk, details, status, ip, user_agent, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sending', ?, ?, ?)`,
          ).bind(body.submissionId, link.id, link.org_id, link.case_id, await tokenHash(token), signer.kid, JSON.stringify(signer.publicJwk), body.details ?? null, clientIp(c), userAgent(c), now),
          auditStatement(c, link.org_id, { action: "submission.start", actor: anonymous(link), ...linkEvent(link, { submissionId: body.submissionId, signerKid: signer.kid, details: body.details !== undefined }) }),
        ]);
      } catch (err) {
        if (/UNIQUE constraint failed/i.test(String(err))) throw new ApiError(409, "submission_exists", "This submission was already started. Reload the page to go on with it.");
        // Nothing was started (its event could not be written, say): the request counts against no window.
        await c.env.DB.batch(link.attempts.map((id) => attemptRelease(c.env.DB, id))).catch((release: unknown) => console.error("throttle: a submission start could not be given back", release));
        throw err;
      }
      await flushAudit(c.env, link.org_id);
      return c.json({ token } satisfies StartedSubmission, 201);
    },
  )
  .post(
    "/:id/submissions/:submission/files",
    describe({
      summary: "Add a file to a submission (its bearer token): size, file key and label wrapped to the submission key. Refused past the link's file and byte limits, counted over everything sent through it. Idempotent for a retried request.",
      access: "public",
      responses: { 201: { description: "Started.", schema: SubmissionFileStateSchema }, 200: { description: "Already started: where it stands.", schema: SubmissionFileStateSchema }, 413: { description: "Past the link's limits." } },
    }),
    // The body first: a malformed body is named as such whatever the path holds.
    validate("json", AddSubmissionFileRequest),
    validate("param", SubmissionParam),
    async (c) => {
      const { id, submission: submissionId } = c.req.valid("param");
      const body = c.req.valid("json");
      const { link, submission } = await submissionFor(c, id, submissionId);
      const existing = await c.env.DB.prepare("SELECT * FROM submission_files WHERE id = ?").bind(body.fileId).first<SubmissionFileRow>();
      if (existing) {
        if (existing.submission_id !== submission.id || existing.byte_size !== body.byteSize || existing.file_key !== body.fileKey) throw new ApiError(409, "file_exists", "This file id is already in use.");
        return c.json(await fileState(c.env.DB, existing), 200);
      }
      if (submission.status !== "sending") throw new ApiError(409, "submission_sent", "This submission is finished. Open the link again to send more.");
      checkWrappedTo(body.fileKey, TYP.fileKey, link.submission_kid, "fileKey");
      checkWrappedTo(body.label, TYP.label, link.submission_kid, "label");
      const parts = partCount(body.byteSize);
      const r2Key = `submissions/${link.id}/${body.fileId}`;
      const upload = await c.env.EVIDENCE.createMultipartUpload(r2Key, { httpMetadata: { contentType: "application/octet-stream" } });
      const now = new Date().toISOString();
      // One statement checks the link's limits and reserves the file's place: a flood cannot pass them.
      const reserve = c.env.DB.prepare(
        `INSERT INTO submission_files (id, submission_id, link_id, byte_size, part_count, ciphertext_size, file_key, label, r2_key, upload_id, status, created_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'uploading', ?11
          WHERE (SELECT count(*) FROM submission_files WHERE link_id = ?3) < ?12
            AND (SELECT coalesce(sum(byte_size), 0) FROM submission_files WHERE link_id = ?3) + ?4 <= ?13`,
      ).bind(body.fileId, submission.id, link.id, body.byteSize, parts, ciphertextSize(body.byteSize), body.fileKey, body.label, r2Key, upload.uploadId, now, link.max_files, link.max_bytes);
      const added = auditStatementIfChanged(c, link.org_id, { action: "submission.file_add", actor: anonymous(link), ...linkEvent(link, { submissionId, fileId: body.fileId, byteSize: body.byteSize, partCount: parts }) });
      let inserted: D1Result, event: D1Result;
      try {
        [inserted, event] = (await c.env.DB.batch([reserve, added.statement])) as [D1Result, D1Result];
      } catch (err) {
        await upload.abort().catch(() => undefined);
        throw err;
      }
      markAudited(c, event);
      await flushAudit(c.env, link.org_id);
      if (inserted.meta.changes !== 1) {
        await upload.abort().catch(() => undefined);
        await audit(c, { action: "submission.file_refused", orgId: link.org_id, actor: anonymous(link), outcome: "denied", ...linkEvent(link, { submissionId, byteSize: body.byteSize, reason: "limit" }) });
        throw new ApiError(413, "link_full", "This link cannot take this file: it has reached the number of files or the total size it allows. Ask whoever sent it for another link.");
      }
      return c.json({ status: "uploading", partCount: parts, received: [] } satisfies SubmissionFileState, 201);
    },
  )
  .get(
    "/:id/submissions/:submission/files/:file",
    describe({ summary: "Where a file of this submission stands (its bearer token): the parts the server has, to resume.", access: "public", responses: { 200: { description: "State.", schema: SubmissionFileStateSchema } } }),
    validate("param", SubmissionFileParam),
    async (c) => {
      const { id, submission, file } = c.req.valid("param");
      const found = await fileFor(c, id, submission, file);
      return c.json(await fileState(c.env.DB, found.file), 200);
    },
  )
  .put(
    "/:id/submissions/:submission/files/:file/parts/:part",
    describe({ summary: "Upload one ciphertext part of a submitted file (its bearer token): exactly the part's length; its SHA-512 is kept and checked against the signed manifest at completion.", access: "public", responses: { 204: { description: "Stored." } } }),
    validate("param", SubmissionPartParam),
    async (c) => {
      const { id, submission, file, part } = c.req.valid("param");
      const { link, file: row } = await fileFor(c, id, submission, file);
      if (row.status !== "uploading" || part >= row.part_count) throw new ApiError(400, "no_such_part", "This file has no such part to send.");
      const byteLength = partLength(row.ciphertext_size, part);
      const declared = c.req.header("Content-Length");
      if (declared !== undefined && Number(declared) !== byteLength) throw new ApiError(400, "wrong_length", `This part must be exactly ${byteLength} bytes; the request says ${declared}.`);
      const bytes = await readExactly(c.req.raw.body, byteLength);
      const sha512 = toHex(await crypto.subtle.digest("SHA-512", bytes));
      const uploaded = await c.env.EVIDENCE.resumeMultipartUpload(row.r2_key, row.upload_id!).uploadPart(part + 1, bytes);
      await c.env.DB.batch([
        c.env.DB.prepare(
          `INSERT INTO submission_parts (file_id, part_number, byte_length, sha512, etag) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (file_id, part_number) DO UPDATE SET sha512 = excluded.sha512, etag = excluded.etag`,
        ).bind(row.id, part, byteLength, sha512, uploaded.etag),
        auditStatement(c, link.org_id, { action: "submission.part_upload", actor: anonymous(link), ...linkEvent(link, { submissionId: submission, fileId: row.id, part, byteLength, ciphertextSha512: sha512 }) }),
      ]);
      await flushAudit(c.env, link.org_id);
      return c.body(null, 204);
    },
  )
  .post(
    "/:id/submissions/:submission/files/:file/complete",
    describe({
      summary: "Complete a submitted file (its bearer token) with its manifest, signed by the submission's key: it must name this file, link and submission, its size, and every stored part's SHA-512.",
      access: "public",
      responses: { 200: { description: "Complete.", schema: SubmissionFileStateSchema } },
    }),
    // The body first: a malformed body is named as such whatever the path holds.
    validate("json", CompleteSubmissionFileRequest),
    validate("param", SubmissionFileParam),
    async (c) => {
      const { id, submission: submissionId, file } = c.req.valid("param");
      const { manifest: jws } = c.req.valid("json");
      const { link, submission, file: row } = await fileFor(c, id, submissionId, file);
      if (row.status === "complete") {
        if (row.manifest !== jws) throw new ApiError(409, "file_complete", "This file is already complete.");
        return c.json(await fileState(c.env.DB, row), 200);
      }
      let manifest: Manifest;
      try {
        manifest = await verifyManifest(jws, JSON.parse(submission.signer_public_jwk) as PublicJwk);
      } catch {
        throw new ApiError(400, "invalid_manifest", "The manifest must be signed with this submission's key.");
      }
      if (manifest.evidenceId !== row.id || manifest.caseId !== link.id || manifest.uploaderId !== submission.id || manifest.byteSize !== row.byte_size) {
        throw new ApiError(400, "manifest_mismatch", "The manifest names another file, link or submission, or another size.");
      }
      const parts = (await c.env.DB.prepare("SELECT part_number, sha512, etag FROM submission_parts WHERE file_id = ? ORDER BY part_number").bind(row.id).all<{ part_number: number; sha512: string; etag: string }>()).results;
      if (parts.length !== row.part_count) throw new ApiError(409, "parts_missing", `${row.part_count - parts.length} parts of this file have not arrived yet. Send them, then complete.`);
      if (parts.some((p, n) => manifest.parts[n] !== p.sha512)) throw new ApiError(400, "digest_mismatch", "A stored part does not match the manifest. Send that part again.");
      await c.env.EVIDENCE.resumeMultipartUpload(row.r2_key, row.upload_id!).complete(parts.map((p) => ({ partNumber: p.part_number + 1, etag: p.etag })));
      const now = new Date().toISOString();
      await c.env.DB.batch([
        c.env.DB.prepare("UPDATE submission_files SET status = 'complete', manifest = ?, sha512 = ?, upload_id = NULL, completed_at = ? WHERE id = ? AND status = 'uploading'").bind(jws, manifest.sha512, now, row.id),
        auditStatement(c, link.org_id, {
          action: "submission.file",
          actor: anonymous(link),
          ...linkEvent(link, { submissionId, fileId: row.id, byteSize: row.byte_size, ciphertextSize: row.ciphertext_size, partSha512: manifest.parts, signerKid: submission.signer_kid, ...(await uploadDigests(jws)) }),
        }),
      ]);
      await flushAudit(c.env, link.org_id);
      return c.json({ status: "complete", partCount: row.part_count, received: parts.map((p) => p.part_number) } satisfies SubmissionFileState, 200);
    },
  )
  .post(
    "/:id/submissions/:submission/finish",
    describe({
      summary: "Finish a submission (its bearer token): every file it added must be complete. Nothing sent can be read back through the link; the answer lists what was received, for the receipt.",
      access: "public",
      responses: { 200: { description: "Sent.", schema: SentSubmission } },
    }),
    validate("param", SubmissionParam),
    async (c) => {
      const { id, submission: submissionId } = c.req.valid("param");
      const { link, submission } = await submissionFor(c, id, submissionId);
      const files = (await c.env.DB.prepare("SELECT * FROM submission_files WHERE submission_id = ? ORDER BY created_at, id").bind(submission.id).all<SubmissionFileRow>()).results;
      if (files.length === 0) throw new ApiError(400, "nothing_sent", "Add at least one file before sending.");
      if (files.some((f) => f.status !== "complete")) throw new ApiError(409, "files_incomplete", "Some files have not finished uploading. Wait for them, then send.");
      // Each file's SHA-512 as its manifest states it (a decided file keeps only the digest; one completed before migration 0038, only the manifest).
      const received = files.map((f) => ({ id: f.id, byteSize: f.byte_size, sha512: f.sha512 ?? manifestSha512(f.manifest!) }));
      let sentAt = submission.sent_at;
      if (submission.status !== "sent") {
        sentAt = new Date().toISOString();
        // A video request's link (§7): the files carry the request's id and the request becomes delivered by upload.
        const byUpload = deliveredByUploadStatements(c, link, submissionId, received, sentAt);
        const results = await c.env.DB.batch([
          c.env.DB.prepare("UPDATE submissions SET status = 'sent', sent_at = ? WHERE id = ?").bind(sentAt, submission.id),
          auditStatement(c, link.org_id, { action: "submission.sent", actor: anonymous(link), ...linkEvent(link, { submissionId, files: received.length, bytes: received.reduce((sum, f) => sum + f.byteSize, 0), ...(link.request_id ? { requestId: link.request_id } : {}) }) }),
          ...(byUpload?.statements ?? []),
        ]);
        const delivered = byUpload ? markAudited(c, results.at(-1)!) : false;
        await flushAudit(c.env, link.org_id);
        if (delivered) {
          // The site's agent deletes any copy it holds of the request, as after a delivery.
          const site = await c.env.DB.prepare("SELECT site_id FROM video_requests WHERE id = ?").bind(link.request_id).first<{ site_id: string }>();
          if (site) await notifySite(c.env, site.site_id, { type: "work", requestId: link.request_id! });
        }
      }
      return c.json({ files: received, sentAt: sentAt! } satisfies SentSubmission, 200);
    },
  );

interface SubmissionRow {
  id: string;
  link_id: string;
  token_hash: string;
  signer_kid: string;
  signer_public_jwk: string;
  status: "sending" | "sent";
  sent_at: string | null;
}
interface SubmissionFileRow {
  id: string;
  submission_id: string;
  link_id: string;
  byte_size: number;
  part_count: number;
  ciphertext_size: number;
  file_key: string;
  label: string;
  r2_key: string;
  upload_id: string | null;
  manifest: string | null;
  /** The file's SHA-512 (hex), from its manifest at completion (null: completed before migration 0038). */
  sha512: string | null;
  status: "uploading" | "complete";
}

const anonymous = (link: SubmissionLinkRow) => ({ type: "anonymous" as const, id: null, label: `submission link: ${link.label}` });

/**
 * The link, open, otherwise the public refusal. Throttled (§4 of docs/submissions.md) where no
 * token is needed (starting a submission); the routes of a started submission need its bearer
 * token and are bounded by the link's caps instead, so a large file's many parts are not counted.
 */
async function openLink(c: Context<AppEnv>, id: string, throttled = true): Promise<SubmissionLinkRow & { attempts: number[] }> {
  const attempts: number[] = [];
  if (throttled) attempts.push(await throttle(c, null));
  const found = await findSubmissionLink(c.env.DB, id);
  if (found && throttled) attempts.push(await throttle(c, found));
  const link = found && { ...found, attempts };
  if (!link) throw new ApiError(404, "link_unavailable", "This link does not work. Check that you copied all of it, or ask whoever sent it for a new one.");
  const status = submissionLinkStatus(link);
  if (status !== "open") {
    throw new ApiError(404, "link_unavailable", status === "expired"
      ? "This link has expired, so it cannot take files any more. Ask whoever sent it for a new one."
      : "This link has been closed by the investigators, so it cannot take files any more. Ask whoever sent it for a new one.");
  }
  return link;
}

/** The submission this request's bearer token opens, on its open link; the same 404 for anything else. */
async function submissionFor(c: Context<AppEnv>, linkId: string, submissionId: string): Promise<{ link: SubmissionLinkRow; submission: SubmissionRow }> {
  const link = await openLink(c, linkId, false);
  const token = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(c.req.header("Authorization") ?? "")?.[1];
  const submission = await c.env.DB.prepare("SELECT * FROM submissions WHERE id = ? AND link_id = ?").bind(submissionId, link.id).first<SubmissionRow>();
  if (!token || !submission || submission.token_hash !== (await tokenHash(token))) {
    throw new ApiError(404, "submission_unavailable", "This upload cannot be found from this page. Open the link again and add your files.");
  }
  return { link, submission };
}

async function fileFor(c: Context<AppEnv>, linkId: string, submissionId: string, fileId: string) {
  const found = await submissionFor(c, linkId, submissionId);
  const file = await c.env.DB.prepare("SELECT * FROM submission_files WHERE id = ? AND submission_id = ?").bind(fileId, submissionId).first<SubmissionFileRow>();
  if (!file) throw new ApiError(404, "submission_unavailable", "This file cannot be found in this upload. Add it again.");
  return { ...found, file };
}

async function fileState(db: D1Database, row: SubmissionFileRow): Promise<SubmissionFileState> {
  const { results } = await db.prepare("SELECT part_number FROM submission_parts WHERE file_id = ? ORDER BY part_number").bind(row.id).all<{ part_number: number }>();
  return { status: row.status, partCount: row.part_count, received: results.map((p) => p.part_number) };
}
