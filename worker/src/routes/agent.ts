import { Hono, type Context } from "hono";
import { stampManifest } from "../lib/timestamps";
import { uploadDigests } from "./evidence";
import { decodeJwt, type JWK } from "jose";
import { AgentAuthError, bodyHash, verifyAgentRequest, AGENT_CLOCK_WINDOW_MS } from "../../../shared/agent/signature";
import { PartUrls, PartUrlsRequest, UploadState } from "../../../shared/api/cases";
import {
  AgentSite,
  AgentWork,
  ClipEvidenceRequest,
  ClipHeldRequest,
  ClipIdParam,
  ClipUnavailableRequest,
  ClipUpload,
  EnrolRequest,
  LiveQuery,
  SyncCamerasRequest,
  SyncCamerasResult,
  VideoRequestIdParam,
  type AgentWork as AgentWorkType,
} from "../../../shared/api/video";
import { ciphertextSize, manifestKid, TYP, verifyManifest, type Manifest } from "../../../shared/crypto";
import { currentCaseKey } from "../db/cases";
import { completedPartsDelete, evidenceComplete, evidenceInsert, findEvidence, findEvidenceSummary, receivedPartNumbers, receivedParts } from "../db/evidence";
import { storeRecords } from "../db/records";
import {
  apiStatus,
  agentKeysReplace,
  agentWork,
  cameraRemove,
  cameraUpsert,
  clipDeliveredStatements,
  clipDoneStatement,
  clipExportingStatements,
  currentAgentKey,
  enrolmentUse,
  evidenceLinkStatements,
  findAgentSigningKey,
  findClip,
  findRequest,
  findSite,
  purgedStatements,
  requestExportDoneStatement,
  siteCameras,
  toAgentClip,
} from "../db/video";
import type { AppEnv } from "../env";
import { agentSignature, rawBody, requireAgent } from "../lib/agent-auth";
import { auditStatement, auditStatementIfChanged, auditStatementIfRecorded, flushAudit, markAudited } from "../lib/audit";
import { signerRegistered, signerRetired } from "../lib/signers";
import { ApiError } from "../lib/errors";
import { checkPublicKey, checkWrappedTo } from "../lib/keys";
import { describe } from "../lib/openapi";
import { newId, tokenHash } from "../lib/secrets";
import { PART_URL_LIFETIME_MS, signPart } from "../lib/upload-url";
import { validate } from "../lib/validate";
import { notifySite, scheduleExpiry, siteLive } from "../lib/video";
import { partLength } from "./evidence";

const DAY_MS = 24 * 60 * 60 * 1000;

const noSuchClip = () => new ApiError(404, "not_found", "No such clip at this site.");

/** The clip, if it belongs to the calling agent's site. */
async function agentClip(c: Context<AppEnv>, id: string) {
  const clip = await findClip(c.env.DB, id);
  if (!clip || clip.site_id !== c.get("agent").siteId) throw noSuchClip();
  return clip;
}

/**
 * After a clip's export ended (held or unavailable): once no clip of the request is left to
 * export, the request becomes held (awaiting a decision) or unavailable, recorded with its event.
 * Idempotent: with clips left, or when already done, it changes nothing.
 */
async function finishExport(c: Context<AppEnv>, requestId: string): Promise<void> {
  const agent = c.get("agent");
  const request = await findRequest(c.env.DB, requestId);
  if (!request || (request.status !== "requested" && request.status !== "exporting")) return;
  const { results: clips } = await c.env.DB.prepare("SELECT status FROM video_clips WHERE request_id = ?").bind(requestId).all<{ status: string }>();
  if (clips.some((k) => k.status === "pending" || k.status === "exporting")) return;
  const held = clips.some((k) => k.status === "held");
  const site = (await findSite(c.env.DB, agent.siteId))!;
  const now = new Date().toISOString();
  const expiresAt = new Date(Date.now() + site.hold_days * DAY_MS).toISOString();
  const event = auditStatementIfChanged(c, agent.orgId, {
    action: held ? "video.request_held" : "video.request_unavailable",
    target: { type: "video_request", id: requestId },
    details: { requestId, caseId: request.case_id, siteId: agent.siteId, ...(held ? { expiresAt } : {}) },
  });
  const results = await c.env.DB.batch([requestExportDoneStatement(c.env.DB, requestId, now, expiresAt), event.statement]);
  if (markAudited(c, results[1]) && held) await scheduleExpiry(c.env, agent.siteId, expiresAt);
}

/** The manifest, verified against this site's current agent signing key. */
async function verifyAgentManifest(db: D1Database, jws: string, siteId: string): Promise<Manifest> {
  let kid: string;
  try {
    kid = manifestKid(jws);
  } catch {
    throw new ApiError(400, "invalid_manifest", "The manifest is not a signed Custody manifest.");
  }
  const key = await findAgentSigningKey(db, kid);
  if (!key || key.site_id !== siteId || key.retired_at !== null) throw new ApiError(400, "invalid_manifest", "The manifest must be signed with this agent's current key.");
  try {
    return await verifyManifest(jws, JSON.parse(key.public_jwk) as JWK);
  } catch {
    throw new ApiError(400, "invalid_manifest", "The manifest's signature or content is not valid.");
  }
}

/**
 * The site agent's API (docs/agent.md). Every route but enrolment takes a request signed with
 * the agent's key (`requireAgent`); bodies are validated first, then the signature over them.
 */
export const agent = new Hono<AppEnv>()
  .use(rawBody)
  .post(
    "/enrol",
    describe({
      summary: "Enrol a site's agent once with the configuration file's one-time token: registers its new signing and encryption keys (the request is signed with the new signing key).",
      access: "public",
      responses: { 201: { description: "Enrolled.", schema: AgentSite }, 401: { description: "Wrong, used or expired token, or a bad signature." } },
    }),
    validate("json", EnrolRequest),
    async (c) => {
      const body = c.req.valid("json");
      const invalid = () => new ApiError(401, "invalid_enrolment", "This enrolment token is wrong, used or expired. Download a new configuration file for the site (Admin → Sites).");
      const site = await findSite(c.env.DB, body.siteId);
      if (!site) throw invalid();
      const signing = await checkPublicKey(body.signingKey, "sig", "signingKey");
      const encryption = await checkPublicKey(body.encryptionKey, "enc", "encryptionKey");
      const jws = agentSignature(c.req.raw);
      if (!jws) throw new ApiError(401, "agent_unauthenticated", "Sign the enrolment request with the new signing key.");
      try {
        const claims = await verifyAgentRequest(jws, signing.publicJwk as JWK, { method: "POST", url: new URL(c.req.url), bodyHash: await bodyHash(new Uint8Array(await c.req.arrayBuffer())) });
        if (!(await siteLive(c.env, site.id).useNonce(claims.n, claims.t + AGENT_CLOCK_WINDOW_MS + 60_000))) throw new AgentAuthError("This signed request was already used (a replay).");
      } catch (err) {
        throw new ApiError(401, "agent_unauthenticated", err instanceof AgentAuthError ? err.message : "The request signature is not valid.");
      }
      c.set("agent", { siteId: site.id, siteName: site.name, orgId: site.org_id });
      const now = new Date().toISOString();
      const event = auditStatementIfChanged(c, site.org_id, {
        action: "site.agent_enrol",
        target: { type: "site", id: site.id },
        details: { siteId: site.id, signingKid: signing.kid, encryptionKid: encryption.kid, reenrolment: site.enrolled_at !== null },
      });
      const previous = await currentAgentKey(c.env.DB, site.id, "sig");
      const holder = { type: "site" as const, id: site.id, name: site.name };
      const register = [
        auditStatementIfRecorded(c, site.org_id, signerRegistered(holder, { kid: signing.kid, publicJwk: signing.publicJwk }, now, previous?.kid ?? null), event.eventId),
        ...(previous ? [auditStatementIfRecorded(c, site.org_id, signerRetired(holder, previous.kid, now, signing.kid), event.eventId)] : []),
      ];
      const results = await c.env.DB.batch([
        enrolmentUse(c.env.DB, { siteId: site.id, tokenHash: await tokenHash(body.token), now }),
        event.statement,
        ...register,
        ...agentKeysReplace(c.env.DB, { siteId: site.id, now, witnessId: event.eventId, signing: { kid: signing.kid, jwk: signing.publicJwk }, encryption: { kid: encryption.kid, jwk: encryption.publicJwk } }),
      ]);
      if (!markAudited(c, results[1])) throw invalid();
      await flushAudit(c.env, site.org_id);
      return c.json({ id: site.id, name: site.name, holdDays: site.hold_days, signingKid: signing.kid, encryptionKid: encryption.kid } satisfies AgentSite, 201);
    },
  )
  .get(
    "/site",
    describe({ summary: "The agent's own site and registered keys (a signed health check).", access: "agent", responses: { 200: { description: "The site.", schema: AgentSite } } }),
    requireAgent,
    async (c) => {
      const { siteId } = c.get("agent");
      const site = (await findSite(c.env.DB, siteId))!;
      const [sig, enc] = await Promise.all([currentAgentKey(c.env.DB, siteId, "sig"), currentAgentKey(c.env.DB, siteId, "enc")]);
      return c.json({ id: site.id, name: site.name, holdDays: site.hold_days, signingKid: sig!.kid, encryptionKid: enc!.kid } satisfies AgentSite, 200);
    },
  )
  .put(
    "/cameras",
    describe({ summary: "Sync the site's camera list into the registry: new cameras added, changed ones updated, unlisted ones taken out of service.", access: "agent", responses: { 200: { description: "What changed.", schema: SyncCamerasResult } } }),
    validate("json", SyncCamerasRequest),
    requireAgent,
    async (c) => {
      const agent = c.get("agent");
      const { cameras: listed } = c.req.valid("json");
      const existing = await siteCameras(c.env.DB, agent.siteId);
      const now = new Date().toISOString();
      const byArchive = new Map(existing.map((cam) => [cam.archive_id, cam]));
      const statements: D1PreparedStatement[] = [];
      let added = 0;
      let updated = 0;
      for (const cam of listed) {
        const old = byArchive.get(cam.archiveId);
        const fields = { name: cam.name, latitude: cam.latitude, longitude: cam.longitude, direction: cam.direction, recorderId: cam.recorderId };
        if (!old) added++;
        else if (old.removed_at !== null || old.name !== fields.name || old.latitude !== fields.latitude || old.longitude !== fields.longitude || old.direction !== fields.direction || old.recorder_id !== fields.recorderId) updated++;
        else continue;
        statements.push(cameraUpsert(c.env.DB, { id: old?.id ?? newId(), siteId: agent.siteId, archiveId: cam.archiveId, ...fields, now }));
      }
      const listedIds = new Set(listed.map((cam) => cam.archiveId));
      const gone = existing.filter((cam) => cam.removed_at === null && !listedIds.has(cam.archive_id));
      for (const cam of gone) statements.push(cameraRemove(c.env.DB, cam.id, now));
      const result = { added, updated, removed: gone.length };
      if (statements.length > 0) {
        await c.env.DB.batch([...statements, auditStatement(c, agent.orgId, { action: "camera.sync", target: { type: "site", id: agent.siteId }, details: { siteId: agent.siteId, ...result } })]);
        await flushAudit(c.env, agent.orgId);
      }
      return c.json(result, 200);
    },
  )
  .get(
    "/work",
    describe({
      summary: "The site's requests with something left to do: clips to export, decisions to carry out (approved: the case and its key; denied or expired: delete), held copies to delete after delivery.",
      access: "agent",
      responses: { 200: { description: "Work, oldest first.", schema: AgentWork } },
    }),
    requireAgent,
    async (c) => {
      const { siteId } = c.get("agent");
      const requests: AgentWorkType["requests"] = [];
      for (const r of await agentWork(c.env.DB, siteId)) {
        // The case and its key only once approved: until then the site learns nothing of the case.
        const caseKey = r.status === "approved" ? await currentCaseKey(c.env.DB, r.case_id) : null;
        requests.push({
          id: r.id,
          status: apiStatus(r),
          start: r.start_at,
          end: r.end_at,
          purged: r.purged_at !== null,
          clips: r.clips.map(toAgentClip),
          delivery: caseKey ? { caseId: r.case_id, caseKey } : null,
        });
      }
      return c.json({ requests } satisfies AgentWorkType, 200);
    },
  )
  .post(
    "/clips/:id/exporting",
    describe({ summary: "The agent starts (or, after a restart, restarts) exporting a clip.", access: "agent", responses: { 204: { description: "Recorded." }, 409: { description: "The request was decided or expired meanwhile: delete anything exported." } } }),
    validate("param", ClipIdParam),
    requireAgent,
    async (c) => {
      const agent = c.get("agent");
      const clip = await agentClip(c, c.req.valid("param").id);
      const [clipUpdate, requestUpdate] = clipExportingStatements(c.env.DB, clip.id, clip.request_id, new Date().toISOString());
      const event = auditStatementIfChanged(c, agent.orgId, {
        action: "video.export_start",
        target: { type: "video_clip", id: clip.id },
        details: { requestId: clip.request_id, clipId: clip.id, caseId: clip.case_id, siteId: agent.siteId, restart: clip.status === "exporting" },
      });
      const results = await c.env.DB.batch([clipUpdate!, event.statement, requestUpdate!]);
      if (!markAudited(c, results[1])) throw new ApiError(409, "request_closed", `This clip is ${clip.status} and its request ${clip.request_status}: nothing to export.`);
      await flushAudit(c.env, agent.orgId);
      return c.body(null, 204);
    },
  )
  .post(
    "/clips/:id/held",
    describe({ summary: "The clip is exported and encrypted into the site's holding area (under a key wrapped to the site's own key).", access: "agent", responses: { 204: { description: "Recorded." }, 409: { description: "The request was decided or expired meanwhile: delete the held copy." } } }),
    validate("param", ClipIdParam),
    validate("json", ClipHeldRequest),
    requireAgent,
    async (c) => {
      const agent = c.get("agent");
      const clip = await agentClip(c, c.req.valid("param").id);
      const body = c.req.valid("json");
      if (clip.status === "held" && clip.byte_size === body.byteSize) {
        // A repeated report (the agent restarted before it heard the answer): finish the request if needed.
        await finishExport(c, clip.request_id);
        return c.body(null, 204);
      }
      const now = new Date().toISOString();
      const event = auditStatementIfChanged(c, agent.orgId, {
        action: "video.clip_held",
        target: { type: "video_clip", id: clip.id },
        details: { requestId: clip.request_id, clipId: clip.id, caseId: clip.case_id, siteId: agent.siteId, byteSize: body.byteSize, footageStart: body.footageStart, footageEnd: body.footageEnd, durationMs: body.durationMs },
      });
      const results = await c.env.DB.batch([clipDoneStatement(c.env.DB, clip.id, clip.request_id, { status: "held", ...body, now }), event.statement]);
      if (!markAudited(c, results[1])) throw new ApiError(409, "request_closed", `This clip's request is ${clip.request_status}: delete the held copy.`);
      await finishExport(c, clip.request_id);
      await flushAudit(c.env, agent.orgId);
      await notifySite(c.env, agent.siteId);
      return c.body(null, 204);
    },
  )
  .post(
    "/clips/:id/unavailable",
    describe({ summary: "The archive has no footage for the clip's range.", access: "agent", responses: { 204: { description: "Recorded." }, 409: { description: "The request was decided or expired meanwhile." } } }),
    validate("param", ClipIdParam),
    validate("json", ClipUnavailableRequest),
    requireAgent,
    async (c) => {
      const agent = c.get("agent");
      const clip = await agentClip(c, c.req.valid("param").id);
      const { reason } = c.req.valid("json");
      if (clip.status === "unavailable") {
        await finishExport(c, clip.request_id);
        return c.body(null, 204);
      }
      const event = auditStatementIfChanged(c, agent.orgId, {
        action: "video.clip_unavailable",
        target: { type: "video_clip", id: clip.id },
        details: { requestId: clip.request_id, clipId: clip.id, caseId: clip.case_id, siteId: agent.siteId, reason },
      });
      const results = await c.env.DB.batch([clipDoneStatement(c.env.DB, clip.id, clip.request_id, { status: "unavailable", reason, now: new Date().toISOString() }), event.statement]);
      if (!markAudited(c, results[1])) throw new ApiError(409, "request_closed", `This clip's request is ${clip.request_status}.`);
      await finishExport(c, clip.request_id);
      await flushAudit(c.env, agent.orgId);
      return c.body(null, 204);
    },
  )
  .post(
    "/clips/:id/evidence",
    describe({
      summary: "Start delivering an approved clip into its case: the manifest signed by the agent (request id, camera metadata), the file key re-wrapped to the case key, the label. Idempotent for a retried delivery.",
      access: "agent",
      responses: { 201: { description: "Upload started.", schema: ClipUpload }, 200: { description: "Already started: where it stands.", schema: ClipUpload }, 409: { description: "Not approved, or the case key changed." } },
    }),
    validate("param", ClipIdParam),
    validate("json", ClipEvidenceRequest),
    requireAgent,
    async (c) => {
      const agent = c.get("agent");
      const clip = await agentClip(c, c.req.valid("param").id);
      const body = c.req.valid("json");
      const request = (await findRequest(c.env.DB, clip.request_id))!;
      if (clip.evidence_id) {
        const existing = await findEvidence(c.env, clip.evidence_id);
        if (existing && existing.id === body.evidenceId && existing.manifest === body.manifest) {
          const received = await receivedPartNumbers(c.env.DB, existing);
          return c.json({ evidenceId: existing.id, partCount: existing.part_count, received } satisfies ClipUpload, 200);
        }
        throw new ApiError(409, "delivery_started", "This clip's delivery started with another manifest; resume that one.");
      }
      if (request.status !== "approved" || clip.status !== "held") throw new ApiError(409, "not_approved", `This clip is ${clip.status} and its request ${request.status}: only a held clip of an approved request is delivered.`);
      const manifest = await verifyAgentManifest(c.env.DB, body.manifest, agent.siteId);
      if (manifest.evidenceId !== body.evidenceId || manifest.caseId !== request.case_id || manifest.uploaderId !== agent.siteId || manifest.requestId !== request.id) {
        throw new ApiError(400, "manifest_mismatch", "The manifest names another evidence item, case, uploader or request.");
      }
      if (manifest.byteSize !== clip.byte_size) throw new ApiError(400, "manifest_mismatch", `The manifest's size (${manifest.byteSize}) is not the held clip's (${clip.byte_size}).`);
      const caseKey = await currentCaseKey(c.env.DB, request.case_id);
      if (!caseKey || body.fileKey.caseKid !== caseKey.kid) throw new ApiError(409, "case_key_changed", "The case key has changed: fetch the work again and re-wrap the file key to the current case key.");
      checkWrappedTo(body.fileKey.jwe, TYP.fileKey, caseKey.kid, "fileKey");
      checkWrappedTo(body.label, TYP.label, caseKey.kid, "label");
      const r2Key = `evidence/${request.case_id}/${body.evidenceId}`;
      // The record first, in the case's object; the batch below commits it (docs/storage-schema.md).
      const stored = await storeRecords(c.env, request.case_id, [{ evidenceId: body.evidenceId, record: { r2_key: r2Key, signer_kid: manifest.signerKid, manifest: body.manifest, file_key: body.fileKey.jwe, label: body.label, thumbnail: null, filing: null } }]);
      const upload = await c.env.EVIDENCE.createMultipartUpload(r2Key, { httpMetadata: { contentType: "application/octet-stream" } });
      const now = new Date().toISOString();
      try {
        const [, , linked] = await c.env.DB.batch([
          evidenceInsert(c.env.DB, {
            id: body.evidenceId, caseId: request.case_id, byteSize: manifest.byteSize, partCount: manifest.parts.length, ciphertextSize: ciphertextSize(manifest.byteSize),
            caseKid: caseKey.kid, recordRef: stored.items[0]!, uploadId: upload.uploadId,
            // The evidence answers the investigator's request; the agent's signature says where it came from.
            uploaderId: request.requested_by, now,
          }),
          ...evidenceLinkStatements(c.env.DB, { evidenceId: body.evidenceId, requestId: request.id, clipId: clip.id }),
          auditStatement(c, agent.orgId, {
            action: "video.delivery_start",
            target: { type: "evidence", id: body.evidenceId },
            details: { requestId: request.id, clipId: clip.id, caseId: request.case_id, evidenceId: body.evidenceId, siteId: agent.siteId, byteSize: manifest.byteSize, signerKid: manifest.signerKid },
          }),
        ]);
        if ((linked?.meta.changes ?? 0) === 0) throw new Error("clip no longer held");
      } catch (err) {
        await upload.abort().catch(() => undefined);
        if (/UNIQUE constraint failed|no longer held/i.test(String(err))) throw new ApiError(409, "delivery_started", "This clip's delivery has started already, or the evidence id is taken.");
        throw err;
      }
      await flushAudit(c.env, agent.orgId);
      return c.json({ evidenceId: body.evidenceId, partCount: manifest.parts.length, received: [] } satisfies ClipUpload, 201);
    },
  )
  .post(
    "/clips/:id/part-urls",
    describe({ summary: "Signed upload URLs for parts of a clip being delivered (as for a browser upload).", access: "agent", mutates: false, responses: { 200: { description: "URLs.", schema: PartUrls } } }),
    validate("param", ClipIdParam),
    validate("json", PartUrlsRequest),
    requireAgent,
    async (c) => {
      const clip = await agentClip(c, c.req.valid("param").id);
      const row = clip.evidence_id ? await findEvidence(c.env, clip.evidence_id) : null;
      if (!row || row.status !== "uploading") throw new ApiError(409, "not_uploading", "This clip's delivery is not in progress.");
      // Verified when the delivery started; here only its part hashes are read.
      const manifest = decodeJwt(row.manifest) as unknown as Manifest;
      const exp = Date.now() + PART_URL_LIFETIME_MS;
      const urls = [];
      for (const part of new Set(c.req.valid("json").parts)) {
        if (part >= row.part_count) throw new ApiError(400, "no_such_part", `Part ${part} does not exist: this upload has ${row.part_count} parts.`);
        const byteLength = partLength(row.ciphertext_size, part);
        const sha512 = manifest.parts[part]!;
        urls.push({ part, url: `/api/uploads/${row.id}/${part}?exp=${exp}&sig=${await signPart(c.env.DB, { evidenceId: row.id, part, byteLength, sha512, exp })}`, byteLength, sha512 });
      }
      return c.json({ urls, expiresAt: new Date(exp).toISOString() } satisfies PartUrls, 200);
    },
  )
  .post(
    "/clips/:id/delivered",
    describe({
      summary: "Finish a clip's delivery once every part is in: the evidence becomes visible in the case; the request is delivered once all its clips are.",
      access: "agent",
      responses: { 200: { description: "Complete.", schema: UploadState }, 409: { description: "Parts are missing." } },
    }),
    validate("param", ClipIdParam),
    requireAgent,
    async (c) => {
      const agent = c.get("agent");
      const clip = await agentClip(c, c.req.valid("param").id);
      const row = clip.evidence_id ? await findEvidence(c.env, clip.evidence_id) : null;
      if (!row) throw new ApiError(409, "not_uploading", "This clip's delivery has not started.");
      if (row.status !== "complete") {
        const parts = await receivedParts(c.env.DB, row.id);
        const missing = Array.from({ length: row.part_count }, (_, n) => n).filter((n) => !parts.some((p) => p.part_number === n));
        if (missing.length > 0) throw new ApiError(409, "parts_missing", `Parts ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? "…" : ""} have not arrived yet.`);
        try {
          await c.env.EVIDENCE.resumeMultipartUpload(row.r2_key, row.upload_id!).complete(parts.map((p) => ({ partNumber: p.part_number + 1, etag: p.etag })));
        } catch (err) {
          // Completed by an earlier attempt whose answer was lost: the object is there.
          if (!(await c.env.EVIDENCE.head(row.r2_key))) throw err;
        }
      }
      const now = new Date().toISOString();
      const event = auditStatementIfChanged(c, agent.orgId, {
        action: "video.clip_delivered",
        target: { type: "evidence", id: row.id },
        details: { requestId: clip.request_id, clipId: clip.id, caseId: row.case_id, evidenceId: row.id, siteId: agent.siteId, byteSize: row.byte_size, ...(await uploadDigests(row.manifest)) },
      });
      const [clipUpdate, requestUpdate] = clipDeliveredStatements(c.env.DB, clip.id, clip.request_id, now);
      const requestEvent = auditStatementIfChanged(c, agent.orgId, {
        action: "video.request_delivered",
        target: { type: "video_request", id: clip.request_id },
        details: { requestId: clip.request_id, caseId: row.case_id, siteId: agent.siteId },
      });
      const results = await c.env.DB.batch([evidenceComplete(c.env.DB, row.id, now), clipUpdate!, event.statement, requestUpdate!, requestEvent.statement, completedPartsDelete(c.env.DB, row.id)]);
      markAudited(c, results[2]);
      markAudited(c, results[4]);
      await flushAudit(c.env, agent.orgId);
      await stampManifest(c.env, agent.orgId, row.id, row.manifest);
      const summary = (await findEvidenceSummary(c.env, row.id))!;
      return c.json({ status: summary.status, partCount: summary.partCount, received: Array.from({ length: summary.partCount }, (_, n) => n) } satisfies UploadState, 200);
    },
  )
  .post(
    "/requests/:id/purged",
    describe({ summary: "The agent deleted its held copy and key of a closed request (delivered, denied, unavailable or expired).", access: "agent", responses: { 204: { description: "Recorded." }, 409: { description: "The request is still open." } } }),
    validate("param", VideoRequestIdParam),
    requireAgent,
    async (c) => {
      const agent = c.get("agent");
      const request = await findRequest(c.env.DB, c.req.valid("param").id);
      if (!request || request.site_id !== agent.siteId) throw new ApiError(404, "not_found", "No such request at this site.");
      if (request.purged_at !== null) return c.body(null, 204);
      const [requestUpdate, clipsUpdate] = purgedStatements(c.env.DB, request.id, new Date().toISOString());
      const event = auditStatementIfChanged(c, agent.orgId, {
        action: "video.held_deleted",
        target: { type: "video_request", id: request.id },
        details: { requestId: request.id, caseId: request.case_id, siteId: agent.siteId, status: request.status },
      });
      const results = await c.env.DB.batch([requestUpdate!, event.statement, clipsUpdate!]);
      if (!markAudited(c, results[1])) throw new ApiError(409, "request_open", `This request is ${request.status}: its held copy is kept until a decision.`);
      await flushAudit(c.env, agent.orgId);
      return c.body(null, 204);
    },
  )
  .get(
    "/live",
    describe({ summary: "The agent's live connection (WebSocket upgrade, signed with the `auth` parameter): a message whenever the site has new work.", access: "agent", responses: { 101: { description: "Switching protocols." }, 426: { description: "Not a WebSocket upgrade." } } }),
    validate("query", LiveQuery),
    requireAgent,
    async (c) => {
      if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new ApiError(426, "upgrade_required", "Open this as a WebSocket.");
      const { siteId } = c.get("agent");
      const headers = new Headers(c.req.raw.headers);
      headers.set("X-Custody-Site", siteId);
      return siteLive(c.env, siteId).fetch(new Request(c.req.raw.url, { headers }));
    },
  );
