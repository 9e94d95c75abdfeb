/**
 * Intake of what arrives through submission links (docs/submissions.md §5): members list and view
 * submitted files; contributors and leads accept one (it becomes evidence members open and verify,
 * with its provenance, and its court package verifies) or reject one (keys deleted, then the object).
 */
import { describe, expect, it } from "vitest";
import type { CaseDetail, EvidenceList, EvidenceSummary, FileKeyRelease, MyCaseKeys } from "../../shared/api/cases";
import type { SignerKey } from "../../shared/api/schemas";
import type { IncomingSubmissions, SubmittedKeyRelease } from "../../shared/api/submission-intake";
import {
  courtPackageStream,
  decryptExpectations,
  decryptMetadata,
  decryptParts,
  decryptLabel,
  decryptSubmissionDetails,
  rewrapFileKey,
  rewrapLabel,
  unwrapCaseKey,
  unwrapFileKey,
  unwrapFileKeyBytes,
  unwrapSubmissionKey,
  verifyCourtPackage,
  verifyManifest,
} from "../../shared/crypto";
import { sendThroughLink, type Fetcher } from "../support/submitter";
import { casePackageStream, planCasePackage } from "../../shared/disclosure/case-package";
import { verifyCasePackage } from "../../shared/disclosure/verify-case-package";
import { auditEvents } from "./audit-helpers";
import { backend, bucket, db } from "./backend";
import { randomBytes, type Person } from "./evidence-helpers";
import { call, expectError } from "./helpers";
import { json, makeLink, submissionCast } from "./submission-helpers";

const fetcher: Fetcher = (path, init = {}) => call(path, { ...(init.method ? { method: init.method } : {}), headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body as string | Uint8Array } : {}) });

async function world() {
  const { lead, contributor, viewer, outsider, caseA } = await submissionCast("2026-0400");
  const { link, key } = await makeLink(lead, caseA, { label: "Public appeal: High Street fire" });
  const photo = randomBytes(3000, 71);
  const video = randomBytes(9000, 72);
  const sent = await sendThroughLink(fetcher, link.id, key.kid, [
    { bytes: photo, fileName: "fire.jpg", mediaType: "image/jpeg" },
    { bytes: video, fileName: "fire.mp4", mediaType: "video/mp4" },
  ], { name: "Sam Witness", contact: "sam@example.net", statement: "I filmed it from the bus stop." });
  return { lead, contributor, viewer, outsider, caseA, link, sent, photo, video };
}

/** The member's browser: the case key this submission was wrapped to, opened with their own key. */
async function caseKeyFor(person: Person, caseId: string, kid: string) {
  const { keys } = await json<MyCaseKeys>(await call(`/api/cases/${caseId}/keys`, { cookie: person.cookie }));
  return unwrapCaseKey(keys.find((k) => k.kid === kid)!.wrap!, person.encryption.privateKey);
}

async function incoming(person: Person, caseId: string) {
  return (await json<IncomingSubmissions>(await call(`/api/cases/${caseId}/submissions`, { cookie: person.cookie }))).submissions;
}

/** Accepting, as the member's browser does it: case key -> submission key; the file key and label re-wrapped to the current case key. */
async function acceptBody(person: Person, caseDetail: CaseDetail, fileId: string) {
  const [submission] = await incoming(person, caseDetail.id);
  const file = submission!.files.find((f) => f.id === fileId)!;
  const caseKey = await caseKeyFor(person, caseDetail.id, submission!.caseKid);
  const submissionKey = await unwrapSubmissionKey(submission!.submissionKeyWrap, caseKey.privateKey);
  return {
    caseKid: caseDetail.caseKey.kid,
    fileKey: await rewrapFileKey(file.fileKey, submissionKey.privateKey, caseDetail.caseKey.publicJwk),
    label: await rewrapLabel(file.label, submissionKey.privateKey, caseDetail.caseKey.publicJwk),
  };
}

async function plaintextOf(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return Buffer.concat(out);
}

describe("intake of submitted files", () => {
  it("members see what arrived, with its source, and view it (audited) with case key -> submission key -> file key; outsiders see nothing", async () => {
    const { viewer, outsider, caseA, link, sent, photo } = await world();
    const submissions = await incoming(viewer, caseA.id);
    expect(submissions).toHaveLength(1);
    const [submission] = submissions;
    expect(submission!.link).toMatchObject({ id: link.id, label: "Public appeal: High Street fire" });
    expect(submission!.files.map((f) => f.id)).toEqual(sent.fileIds);
    expect(submission!.signer.kid).toBe(sent.signerKid);

    const caseKey = await caseKeyFor(viewer, caseA.id, submission!.caseKid);
    const submissionKey = await unwrapSubmissionKey(submission!.submissionKeyWrap, caseKey.privateKey);
    expect(await decryptSubmissionDetails(submission!.details!, submissionKey.privateKey)).toMatchObject({ name: "Sam Witness", statement: "I filmed it from the bus stop." });
    expect((await decryptLabel(submission!.files[0]!.label, submissionKey.privateKey)).fileName).toBe("fire.jpg");

    // The view: the key release (audited), then the ciphertext in parts, checked against the submitter's signature.
    const fileId = sent.fileIds[0]!;
    const release = await json<SubmittedKeyRelease>(await call(`/api/submitted-files/${fileId}/key`, { cookie: viewer.cookie }));
    const viewerCaseKey = await unwrapCaseKey(release.caseKeyWrap, viewer.encryption.privateKey);
    const fileKey = await unwrapFileKey(release.fileKey, (await unwrapSubmissionKey(release.submissionKeyWrap, viewerCaseKey.privateKey)).privateKey);
    const part = new Uint8Array(await (await call(`/api/submitted-files/${fileId}/parts/0`, { cookie: viewer.cookie })).arrayBuffer());
    const manifest = await verifyManifest(submission!.files[0]!.manifest, submission!.signer.publicJwk);
    expect((await plaintextOf(decryptParts([part], fileKey, decryptExpectations(manifest)))).equals(Buffer.from(photo))).toBe(true);
    const view = (await auditEvents()).filter((e) => e.action === "submission.view");
    expect(view.map((e) => e.details)).toEqual([expect.objectContaining({ caseId: caseA.id, linkId: link.id, fileId })]);

    // Outsiders, and the signed-out: nothing.
    await expectError(await call(`/api/cases/${caseA.id}/submissions`, { cookie: outsider.cookie }), 404);
    await expectError(await call(`/api/submitted-files/${fileId}/key`, { cookie: outsider.cookie }), 404);
    await expectError(await call(`/api/submitted-files/${fileId}/parts/0`, { cookie: outsider.cookie }), 404);
    await expectError(await call(`/api/submitted-files/${fileId}/accept`, { cookie: outsider.cookie, body: { caseKid: caseA.caseKey.kid, fileKey: "a.b.c.d.e", label: "a.b.c.d.e" } }), 404);
    await expectError(await call(`/api/submitted-files/${fileId}/reject`, { cookie: outsider.cookie, method: "POST" }), 404);
    await expectError(await call(`/api/cases/${caseA.id}/submissions`), 401);
  });

  it("accepting makes evidence members open and verify, signed by the submitter, with its provenance; its court package verifies; accepting twice or rejecting it then is a clear 409", async () => {
    const { lead, contributor, viewer, caseA, link, sent, photo } = await world();
    const fileId = sent.fileIds[0]!;
    const body = await acceptBody(contributor, caseA, fileId);
    // Viewers may look, not decide.
    await expectError(await call(`/api/submitted-files/${fileId}/accept`, { cookie: viewer.cookie, body }), 403);
    await expectError(await call(`/api/submitted-files/${fileId}/reject`, { cookie: viewer.cookie, method: "POST" }), 403);
    // A wrap not to the case key is refused and changes nothing.
    await expectError(await call(`/api/submitted-files/${fileId}/accept`, { cookie: contributor.cookie, body: { ...body, fileKey: (await incoming(lead, caseA.id))[0]!.files[0]!.fileKey } }), 400, "invalid_envelope");

    const item = await json<EvidenceSummary>(await call(`/api/submitted-files/${fileId}/accept`, { cookie: contributor.cookie, body }), 201);
    expect(item).toMatchObject({ id: fileId, caseId: caseA.id, status: "complete", byteSize: photo.length, signerKid: sent.signerKid, uploader: { name: "Cora Contributor" } });
    expect(item.source).toMatchObject({ type: "submission", linkId: link.id, linkLabel: "Public appeal: High Street fire", submissionId: sent.submissionId, signerKid: sent.signerKid, acceptedBy: { name: "Cora Contributor" } });
    expect(item.source!.sentAt).toBe(sent.receipt.sentAt);

    // Gone from intake, and twice is a clear 409 either way.
    expect((await incoming(lead, caseA.id))[0]!.files.map((f) => f.id)).toEqual([sent.fileIds[1]]);
    expect((await expectError(await call(`/api/submitted-files/${fileId}/accept`, { cookie: lead.cookie, body }), 409, "already_accepted")).error.message).toMatch(/evidence of the case/);
    await expectError(await call(`/api/submitted-files/${fileId}/reject`, { cookie: lead.cookie, method: "POST" }), 409, "already_accepted");

    // A viewer opens it as any evidence: listed, released (the audited view), decrypted, and the manifest verifies against the submitter's key.
    const listed = await json<{ evidence: EvidenceSummary[] }>(await call(`/api/cases/${caseA.id}/evidence`, { cookie: viewer.cookie }));
    expect(listed.evidence.map((e) => e.id)).toEqual([fileId]);
    const signer = await json<SignerKey>(await call(`/api/keys/signers/${item.signerKid}`, { cookie: viewer.cookie }));
    expect(signer.owner).toMatchObject({ type: "submitter", id: sent.submissionId });
    expect(signer.owner.name).toContain("Public appeal: High Street fire");
    const manifest = await verifyManifest(item.manifest, signer.publicJwk);
    expect(manifest).toMatchObject({ evidenceId: fileId, caseId: link.id, uploaderId: sent.submissionId });
    const release = await json<FileKeyRelease>(await call(`/api/evidence/${fileId}/key`, { cookie: viewer.cookie }));
    const caseKey = await unwrapCaseKey(release.caseKeyWrap, viewer.encryption.privateKey);
    const fileKey = await unwrapFileKey(release.fileKey, caseKey.privateKey);
    const part = new Uint8Array(await (await call(`/api/evidence/${fileId}/parts/0`, { cookie: viewer.cookie })).arrayBuffer());
    const plain = await plaintextOf(decryptParts([part], fileKey, decryptExpectations(manifest)));
    expect(plain.equals(Buffer.from(photo))).toBe(true);
    expect((await decryptLabel(item.label!, caseKey.privateKey)).fileName).toBe("fire.jpg");
    const submissionKey = await unwrapSubmissionKey(item.source!.submissionKeyWrap, (await caseKeyFor(viewer, caseA.id, item.source!.caseKid)).privateKey);
    expect((await decryptSubmissionDetails(item.source!.details!, submissionKey.privateKey)).contact).toBe("sam@example.net");

    // The court package: the submitter's key is in the organisation's register, so `npm run verify` (verifyCourtPackage) passes.
    const register = await (await call(`/api/audit/signers/${item.signerKid}`, { cookie: viewer.cookie })).text();
    const zip = new Uint8Array(await new Response(courtPackageStream({
      original: [new Uint8Array(plain)], manifestJws: item.manifest, signerPublicJwk: signer.publicJwk, signerRegister: register,
      metadata: await decryptMetadata(manifest.metadata, fileKey), fileKey: await unwrapFileKeyBytes(release.fileKey, caseKey.privateKey),
    })).arrayBuffer());
    const report = await verifyCourtPackage(zip);
    expect(report.failed).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.summary.signer?.holder).toMatch(/submitter \(no account\) of submission/);

    // The case package too: its manifest names the link, and the item's verified audit extract holds the accept that moved it into the case.
    const casePackage = (extract: string) =>
      planCasePackage({
        case: { id: caseA.id, number: caseA.number, title: caseA.title }, exportedAt: new Date().toISOString(), exportedBy: "Lee Lead <lead@example.org>",
        items: [{ manifestJws: item.manifest, signerPublicJwk: signer.publicJwk, signerRegister: register, metadata: manifestMetadata, fileKey: fileKeyBytes, auditExtract: extract }],
        original: () => (async function* () { yield new Uint8Array(plain); })(),
      });
    const manifestMetadata = await decryptMetadata(manifest.metadata, fileKey);
    const fileKeyBytes = await unwrapFileKeyBytes(release.fileKey, caseKey.privateKey);
    const extract = await (await call(`/api/audit/evidence/${fileId}`, { cookie: lead.cookie })).text();
    const caseZip = new Uint8Array(await new Response(casePackageStream(await casePackage(extract))).arrayBuffer());
    const caseReport = await verifyCasePackage(caseZip);
    expect(caseReport.ok, JSON.stringify(caseReport.items.map((i) => i.checks.filter((c) => !c.ok)))).toBe(true);
    expect(caseReport.items[0]!.checks.find((c) => c.name === "case.json entry")!.detail).toMatch(/accepted into case/);
    // Without the accept in the extract, the planner refuses it: it names another case.
    const withoutAccept = extract.split("\n").filter((line) => !line.includes('"submission.accept"')).join("\n");
    await expect(casePackage(withoutAccept)).rejects.toThrow(/belongs to another case/);

    // The submission file row holds no key any more; the evidence keeps the stored object.
    const row = await db.prepare("SELECT file_key, label, decision FROM submission_files WHERE id = ?").bind(fileId).first();
    expect(row).toEqual({ file_key: "", label: "", decision: "accepted" });
    const events = (await auditEvents()).filter((e) => e.action === "submission.accept" || (e.action === "keys.signer_register" && e.target.id === sent.signerKid));
    expect(events.map((e) => e.action)).toEqual(["submission.accept", "keys.signer_register"]);
    expect(events[0]!.details).toMatchObject({ caseId: caseA.id, linkId: link.id, fileId, evidenceId: fileId, byteSize: photo.length, sha512: manifest.sha512 });

    // Accepting the second file of the same submission registers its key no second time.
    await json(await call(`/api/submitted-files/${sent.fileIds[1]}/accept`, { cookie: lead.cookie, body: await acceptBody(lead, caseA, sent.fileIds[1]!) }), 201);
    expect((await auditEvents()).filter((e) => e.action === "keys.signer_register" && e.target.id === sent.signerKid)).toHaveLength(1);
    expect(await incoming(lead, caseA.id)).toEqual([]);
  });

  it("rejecting deletes the keys, then the object: nothing of it can be opened; rejecting twice or accepting it then is a clear 409", async () => {
    const { lead, contributor, caseA, link, sent } = await world();
    const fileId = sent.fileIds[1]!;
    const before = await db.prepare("SELECT r2_key FROM submission_files WHERE id = ?").bind(fileId).first<{ r2_key: string }>();
    expect(await bucket.get(before!.r2_key)).not.toBeNull();
    const body = await acceptBody(lead, caseA, fileId);

    expect((await call(`/api/submitted-files/${fileId}/reject`, { cookie: contributor.cookie, method: "POST" })).status).toBe(204);
    expect(await db.prepare("SELECT file_key, label, decision FROM submission_files WHERE id = ?").bind(fileId).first()).toEqual({ file_key: "", label: "", decision: "rejected" });
    expect((await db.prepare("SELECT count(*) AS n FROM submission_parts WHERE file_id = ?").bind(fileId).first<{ n: number }>())!.n).toBe(0);
    expect(await bucket.get(before!.r2_key)).toBeNull();

    await expectError(await call(`/api/submitted-files/${fileId}/reject`, { cookie: lead.cookie, method: "POST" }), 409, "already_rejected");
    await expectError(await call(`/api/submitted-files/${fileId}/accept`, { cookie: lead.cookie, body }), 409, "already_rejected");
    await expectError(await call(`/api/submitted-files/${fileId}/key`, { cookie: lead.cookie }), 409, "already_rejected");
    await expectError(await call(`/api/submitted-files/${fileId}/parts/0`, { cookie: lead.cookie }), 409, "already_rejected");
    expect((await incoming(lead, caseA.id))[0]!.files.map((f) => f.id)).toEqual([sent.fileIds[0]]);
    expect((await json<{ evidence: EvidenceSummary[] }>(await call(`/api/cases/${caseA.id}/evidence`, { cookie: lead.cookie }))).evidence).toEqual([]);

    // Nothing sent is visible again through the link: the submitter's token reaches no key and no bytes.
    const state = await call(`${sent.base}/files/${fileId}`, { headers: sent.auth });
    expect(JSON.stringify(await state.json())).not.toMatch(/"fileKey"|"label"/);

    const [event] = (await auditEvents()).filter((e) => e.action === "submission.reject");
    expect(event!.details).toMatchObject({ caseId: caseA.id, linkId: link.id, fileId, byteSize: 9000 });
    expect(event!.details.sha512).toMatch(/^[0-9a-f]{128}$/);
  });
  it("keeps a decided file's SHA-512, not its manifest, in D1: the receipt reads the same before and after, for files decided before migration 0038 too", async () => {
    const { lead, contributor, caseA, sent } = await world();
    const [accepted, rejected] = sent.fileIds as [string, string];
    const row = (id: string) => db.prepare("SELECT manifest, sha512 FROM submission_files WHERE id = ?").bind(id).first<{ manifest: string; sha512: string | null }>();
    const finish = async () => json<{ files: { id: string; sha512: string }[] }>(await call(`${sent.base}/finish`, { method: "POST", headers: sent.auth }));
    // Completed: the manifest (for intake) and its digest.
    const waiting = (await row(accepted))!;
    expect(waiting.sha512).toMatch(/^[0-9a-f]{128}$/);
    expect(waiting.manifest).not.toBe("");
    const manifests = { [accepted]: waiting.manifest, [rejected]: (await row(rejected))!.manifest };

    expect((await call(`/api/submitted-files/${accepted}/accept`, { cookie: contributor.cookie, body: await acceptBody(lead, caseA, accepted) })).status).toBe(201);
    expect((await call(`/api/submitted-files/${rejected}/reject`, { cookie: contributor.cookie, method: "POST" })).status).toBe(204);
    for (const id of [accepted, rejected]) expect(await row(id)).toEqual({ manifest: "", sha512: sent.receipt.files.find((f) => f.id === id)!.sha512 });
    // The accepted file's manifest is its evidence's; the receipt, asked again, is the same.
    expect((await json<EvidenceSummary>(await call(`/api/evidence/${accepted}`, { cookie: lead.cookie }))).manifest).toBe(manifests[accepted]);
    expect((await finish()).files).toEqual(sent.receipt.files);

    // As files decided before migration 0038 are: the manifest kept, no digest. The receipt reads
    // the manifest; the daily job keeps the digest and drops the manifest.
    for (const id of [accepted, rejected]) await db.prepare("UPDATE submission_files SET manifest = ?, sha512 = NULL WHERE id = ?").bind(manifests[id], id).run();
    expect((await finish()).files).toEqual(sent.receipt.files);
    await backend.runScheduled(new Date());
    for (const id of [accepted, rejected]) expect(await row(id)).toEqual({ manifest: "", sha512: sent.receipt.files.find((f) => f.id === id)!.sha512 });
    expect((await finish()).files).toEqual(sent.receipt.files);
  });

  it("keeps where an item came from in its record, not in D1; an item accepted before migration 0037 keeps its source while the daily job moves it there", async () => {
    const { contributor, caseA, sent } = await world();
    const fileId = sent.fileIds[0]!;
    const accepted = await json<EvidenceSummary>(await call(`/api/submitted-files/${fileId}/accept`, { cookie: contributor.cookie, body: await acceptBody(contributor, caseA, fileId) }), 201);
    const read = async () => json<EvidenceSummary>(await call(`/api/evidence/${fileId}`, { cookie: contributor.cookie }));
    const listed = async () => (await json<EvidenceList>(await call(`/api/cases/${caseA.id}/evidence`, { cookie: contributor.cookie }))).evidence.find((e) => e.id === fileId)!.source;
    const before = await read();
    expect(before.source).toEqual(accepted.source);
    expect(await listed()).toEqual(accepted.source);
    expect(await db.prepare("SELECT count(*) AS n FROM evidence_provenance").first("n")).toBe(0);
    const recordOf = async () => (await backend.caseRecords(caseA.id)).items.find((r) => r.evidenceId === fileId)!.body;
    const record = (await recordOf()) as Record<string, unknown> & { provenance: Record<string, string | null> };
    expect(record.provenance).toMatchObject({ link_id: accepted.source!.linkId, submission_id: sent.submissionId, signer_kid: sent.signerKid, submission_key_wrap: accepted.source!.submissionKeyWrap });

    // As an installation from before has it: the record's fields in the row, its provenance in evidence_provenance.
    const { provenance: p, ...fields } = record as Record<string, string | null> & { provenance: Record<string, string | null> };
    await db
      .prepare("UPDATE evidence SET r2_key = ?, signer_kid = ?, manifest = ?, file_key = ?, label = ?, record_ref = NULL WHERE id = ?")
      .bind(fields.r2_key, fields.signer_kid, fields.manifest, fields.file_key, fields.label, fileId)
      .run();
    await db
      .prepare(
        `INSERT INTO evidence_provenance (evidence_id, link_id, link_label, submission_id, signer_kid, submission_key_wrap, case_kid, details, sent_at, ip, user_agent, accepted_by, accepted_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(fileId, p.link_id, p.link_label, p.submission_id, p.signer_kid, p.submission_key_wrap, p.case_kid, p.details, p.sent_at, p.ip, p.user_agent, p.accepted_by, p.accepted_at)
      .run();
    await backend.dropCaseRecords(caseA.id);
    expect(await read()).toEqual(before);
    expect(await listed()).toEqual(accepted.source);

    // The daily job moves the record, then its provenance into it; every read answers the same.
    await backend.runScheduled(new Date());
    expect(await db.prepare("SELECT count(*) AS n FROM evidence_provenance").first("n")).toBe(0);
    expect(await recordOf()).toEqual(record);
    expect((await backend.caseRecords(caseA.id)).items.filter((r) => r.evidenceId === fileId)).toHaveLength(1);
    expect(await read()).toEqual(before);
    expect(await listed()).toEqual(accepted.source);
  });
});
