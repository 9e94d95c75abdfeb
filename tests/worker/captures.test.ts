/** Capture first, file later (docs/evidence-format.md §4.3): the holding place and the filing route. */
import { backend, bucket, db } from "./backend";
import { describe, expect, it } from "vitest";
import type { CaseList, EvidenceList, EvidenceSummary } from "../../shared/api/cases";
import { decryptLabel, unwrapCaseKey, unwrapFileKey, verifyFiling } from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { addMember, downloadEvidence, filingBody, listedItemCount, openCase, randomBytes, storedItem, uploadCapture, withKeys } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";

async function people() {
  const adminSession = await setUpOrganisation();
  const make = async (email: string) => withKeys(await addUser(adminSession.cookie, { email, name: email.split("@")[0]!, role: "investigator" }));
  return { lead: await make("lead@example.org"), other: await make("other@example.org"), viewer: await make("viewer@example.org") };
}

describe("captures", () => {
  it("keeps a capture in the uploader's holding place, then files it into a case by re-wrapping its key only", async () => {
    const { lead, other, viewer } = await people();
    const bytes = randomBytes(3000, 7);
    const capture = await uploadCapture(lead, bytes);

    // Only the uploader sees it; the holding place is not listed as a case.
    const mine = (await (await call(`/api/cases/${capture.placeId}/evidence`, { cookie: lead.cookie })).json()) as EvidenceList;
    expect(mine.evidence.map((e) => e.id)).toEqual([capture.evidenceId]);
    expect(await decryptLabel(mine.evidence[0]!.label!, lead.encryption.privateKey)).toMatchObject({ fileName: "photo.jpg" });
    await expectError(await call(`/api/cases/${capture.placeId}/evidence`, { cookie: other.cookie }), 404);
    await expectError(await call(`/api/evidence/${capture.evidenceId}`, { cookie: other.cookie }), 404);
    expect(((await (await call("/api/cases", { cookie: lead.cookie })).json()) as CaseList).cases).toEqual([]);
    const stored = await storedItem(capture.evidenceId);
    const object = await bucket.get(stored!.r2_key);
    const ciphertext = new Uint8Array(await object!.arrayBuffer());

    const caseDetail = await openCase(lead, "C-1");
    expect((await addMember(lead, caseDetail.id, viewer, "viewer")).status).toBe(201);
    const body = await filingBody(lead, capture, caseDetail);
    const laterFiling = (await filingBody(lead, capture, caseDetail)).filing;

    // Someone else cannot file it (it is not theirs), even into a case they are in; a viewer of the case neither.
    await expectError(await call(`/api/evidence/${capture.evidenceId}/file`, { cookie: other.cookie, body }), 404);
    await expectError(await call(`/api/evidence/${capture.evidenceId}/file`, { cookie: viewer.cookie, body }), 404);
    // The uploader cannot file it into a case they are not a member of.
    const elsewhere = await openCase(other, "C-2");
    await expectError(await call(`/api/evidence/${capture.evidenceId}/file`, { cookie: lead.cookie, body: await filingBody(lead, capture, elsewhere) }), 404);
    // A filing record for another case than the one named is refused.
    await expectError(await call(`/api/evidence/${capture.evidenceId}/file`, { cookie: lead.cookie, body: { ...body, filing: (await filingBody(lead, capture, elsewhere)).filing } }), 400, "invalid_filing");
    expect((await db.prepare("SELECT case_id FROM evidence WHERE id = ?").bind(capture.evidenceId).first<{ case_id: string }>())!.case_id).toBe(capture.placeId);

    expect(await listedItemCount(lead, caseDetail.id)).toBe(0);
    const filed = await call(`/api/evidence/${capture.evidenceId}/file`, { cookie: lead.cookie, body });
    expect(filed.status, await filed.clone().text()).toBe(200);
    expect(await listedItemCount(lead, caseDetail.id)).toBe(1); // the case list counts the filed item
    const item = (await filed.json()) as EvidenceSummary;
    expect(item).toMatchObject({ caseId: caseDetail.id, caseKid: caseDetail.caseKey.kid, manifest: capture.manifest, filing: body.filing });
    // Sent again: the same answer, nothing changes.
    expect((await call(`/api/evidence/${capture.evidenceId}/file`, { cookie: lead.cookie, body })).status).toBe(200);

    // Re-wrapped, not re-encrypted: the same stored object, byte for byte, under the same key.
    const after = await storedItem(capture.evidenceId);
    expect(after!.r2_key).toBe(stored!.r2_key);
    expect(after!.file_key).not.toBe(stored!.file_key);
    // The record moved to the case's object; the holding place's copy, whose file key was wrapped
    // to the uploader's own key, is gone (docs/storage-schema.md).
    expect((await backend.caseRecords(caseDetail.id)).items.map((r) => r.evidenceId)).toEqual([capture.evidenceId]);
    expect((await backend.caseRecords(capture.placeId)).items).toEqual([]);
    expect(new Uint8Array(await (await bucket.get(after!.r2_key))!.arrayBuffer())).toEqual(ciphertext);
    const release = (await (await call(`/api/evidence/${capture.evidenceId}/key`, { cookie: viewer.cookie })).json()) as { fileKey: string; caseKeyWrap: string };
    const caseKey = await unwrapCaseKey(release.caseKeyWrap, viewer.encryption.privateKey);
    await unwrapFileKey(release.fileKey, caseKey.privateKey);
    expect(await downloadEvidence(viewer, capture.evidenceId)).toEqual(bytes);
    await verifyFiling(item.filing!, lead.signing.publicJwk, { evidenceId: capture.evidenceId, manifestJws: capture.manifest, fromCaseId: capture.placeId, caseId: caseDetail.id });

    // Gone from My captures, listed in the case; recorded once.
    expect(((await (await call(`/api/cases/${capture.placeId}/evidence`, { cookie: lead.cookie })).json()) as EvidenceList).evidence).toEqual([]);
    expect(((await (await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: viewer.cookie })).json()) as EvidenceList).evidence.map((e) => e.id)).toEqual([capture.evidenceId]);
    const events = await auditEvents();
    expect(events.filter((e) => e.action === "capture.upload").map((e) => e.target.id)).toEqual([capture.evidenceId]);
    const filings = events.filter((e) => e.action === "evidence.file");
    expect(filings).toHaveLength(1);
    expect(filings[0]).toMatchObject({ actor: { id: lead.id }, target: { type: "evidence", id: capture.evidenceId }, details: { caseId: caseDetail.id, caseKid: caseDetail.caseKey.kid } });
    // A second, different filing of it is refused.
    await expectError(await call(`/api/evidence/${capture.evidenceId}/file`, { cookie: lead.cookie, body: { ...body, filing: laterFiling } }), 409, "already_filed");
  });

  it("refuses a capture whose manifest lacks the captures scope, and a case upload that has it", async () => {
    const { lead } = await people();
    const capture = await uploadCapture(lead, randomBytes(10));
    // The scope is what tells a capture's manifest apart: an item uploaded straight into a case cannot claim it.
    const row = await storedItem(capture.evidenceId);
    expect(JSON.parse(atob(row!.manifest.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")))).toMatchObject({ scope: "captures", caseId: capture.placeId });
    const caseDetail = await openCase(lead, "C-3");
    const started = await call(`/api/cases/${caseDetail.id}/evidence`, {
      cookie: lead.cookie,
      body: { evidenceId: "ab".repeat(16), manifest: capture.manifest, fileKey: { caseKid: caseDetail.caseKey.kid, jwe: "a.b.c.d.e" }, label: "a.b.c.d.e" },
    });
    await expectError(started, 400, "manifest_mismatch");
  });
});
