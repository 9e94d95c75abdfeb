/**
 * Derived items (clips, issue 19 item 5): a manifest's `derivedFrom` must name a finished item of
 * the same case by its exact SHA-512, on both upload paths (manifest at the start, or at the
 * completion); otherwise the request is refused with a clear 400 and nothing changes.
 */
import { describe, expect, it } from "vitest";
import type { EvidenceSummary, UploadState } from "../../shared/api/cases";
import { decodeJwt } from "jose";
import { sha512Hex, type DerivedFrom, type Manifest } from "../../shared/crypto";
import { openCase, prepareEvidence, randomBytes, sendParts, uploadEvidence, withKeys } from "./evidence-helpers";
import { auditEvents } from "./audit-helpers";
import { call, expectError, setUpOrganisation } from "./helpers";

const clip = (evidenceId: string, sha512: string): DerivedFrom => ({ evidenceId, sha512, operations: [{ type: "clip", from: 1, to: 3 }] });

async function world() {
  const lead = await withKeys(await setUpOrganisation());
  const caseDetail = await openCase(lead, "D-1");
  const originalBytes = randomBytes(4000, 7);
  const original = await uploadEvidence(lead, caseDetail, originalBytes);
  return { lead, caseDetail, original, sha512: await sha512Hex(originalBytes) };
}

describe("derived items (derivedFrom)", () => {
  it("accepts a clip that names its original by id and SHA-512, and keeps derivedFrom in the signed manifest", async () => {
    const { lead, caseDetail, original, sha512 } = await world();
    const derived = await prepareEvidence(lead, caseDetail, randomBytes(1500, 8), "clip 1s-3s.mp4", clip(original.evidenceId, sha512));
    const started = await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: derived.body });
    expect(started.status, await started.clone().text()).toBe(201);
    for (const response of await sendParts(lead, derived)) expect(response.status).toBe(204);
    const done = await call(`/api/evidence/${derived.evidenceId}/complete`, { method: "POST", cookie: lead.cookie });
    expect(done.status, await done.clone().text()).toBe(200);
    const summary = (await done.json()) as EvidenceSummary;
    expect((decodeJwt(summary.manifest) as unknown as Manifest).derivedFrom).toEqual(clip(original.evidenceId, sha512));
  });

  it("records evidence.redacted, naming the source, with the completion of a redacted copy (not of a clip)", async () => {
    const { lead, caseDetail, original, sha512 } = await world();
    const derivedFrom: DerivedFrom = {
      evidenceId: original.evidenceId,
      sha512,
      operations: [
        { type: "redact", shape: "ellipse", effect: "blur", from: 1, to: 2, keys: [{ t: 1, x: 0.1, y: 0.1, w: 0.2, h: 0.3 }] },
        { type: "audio", effect: "mute", from: 1, to: 1.5 },
      ],
    };
    const copy = await prepareEvidence(lead, caseDetail, randomBytes(1500, 13), "Redacted copy of a.mp4", derivedFrom);
    expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: copy.body })).status).toBe(201);
    for (const response of await sendParts(lead, copy)) expect(response.status).toBe(204);
    // Completed twice (a retry): one event.
    for (let i = 0; i < 2; i++) expect((await call(`/api/evidence/${copy.evidenceId}/complete`, { method: "POST", cookie: lead.cookie })).status).toBe(200);
    const clipped = await prepareEvidence(lead, caseDetail, randomBytes(1500, 14), "clip.mp4", clip(original.evidenceId, sha512));
    expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: clipped.body })).status).toBe(201);
    await sendParts(lead, clipped);
    expect((await call(`/api/evidence/${clipped.evidenceId}/complete`, { method: "POST", cookie: lead.cookie })).status).toBe(200);

    const events = await auditEvents();
    const redacted = events.filter((e) => e.action === "evidence.redacted");
    expect(redacted).toHaveLength(1);
    expect(redacted[0]).toMatchObject({
      target: { type: "evidence", id: copy.evidenceId },
      outcome: "success",
      details: { caseId: caseDetail.id, evidenceId: copy.evidenceId, sourceEvidenceId: original.evidenceId, sourceSha512: sha512, operations: 2 },
    });
    // In the same transaction as the completion: right after it in the chain.
    const completed = events.findIndex((e) => e.action === "evidence.upload_complete" && e.target?.id === copy.evidenceId);
    expect(events[completed + 1]).toBe(redacted[0]);
  });

  it("refuses a wrong SHA-512, an original of another case, one still uploading, or none; nothing is created", async () => {
    const { lead, caseDetail, original, sha512 } = await world();
    const other = await openCase(lead, "D-2");
    const otherItem = await uploadEvidence(lead, other, randomBytes(3000, 9));
    const pending = await prepareEvidence(lead, caseDetail, randomBytes(2000, 10));
    expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: pending.body })).status).toBe(201);

    const cases: DerivedFrom[] = [
      clip(original.evidenceId, "0".repeat(128)),
      clip(otherItem.evidenceId, sha512),
      clip(pending.evidenceId, sha512),
      clip("f".repeat(32), sha512),
    ];
    for (const derivedFrom of cases) {
      const derived = await prepareEvidence(lead, caseDetail, randomBytes(1500, 11), "clip.mp4", derivedFrom);
      const error = await expectError(await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: derived.body }), 400, "invalid_derivation");
      expect(error.error.message).toMatch(/^The (item this is derived from|SHA-512 given for the original)/);
      expect((await call(`/api/evidence/${derived.evidenceId}`, { cookie: lead.cookie })).status).toBe(404);
    }
  });

  it("checks derivedFrom when the manifest comes with the completion: a wrong one leaves the upload unfinished", async () => {
    const { lead, caseDetail, original } = await world();
    const bytes = randomBytes(1500, 12);
    const wrong = await prepareEvidence(lead, caseDetail, bytes, "clip.mp4", clip(original.evidenceId, "1".repeat(128)));
    const { manifest, ...rest } = wrong.body;
    expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: { ...rest, byteSize: bytes.length } })).status).toBe(201);
    const hashes = await Promise.all(wrong.parts.map((p) => sha512Hex(p)));
    const urls = (await (await call(`/api/evidence/${wrong.evidenceId}/part-urls`, { cookie: lead.cookie, body: { parts: [0], sha512: hashes } })).json()) as { urls: { url: string }[] };
    expect((await call(urls.urls[0]!.url, { method: "PUT", body: wrong.parts[0]!, headers: { "Content-Type": "application/octet-stream" } })).status).toBe(204);
    await expectError(await call(`/api/evidence/${wrong.evidenceId}/complete`, { cookie: lead.cookie, body: { manifest } }), 400, "invalid_derivation");
    const state = (await (await call(`/api/evidence/${wrong.evidenceId}/upload`, { cookie: lead.cookie })).json()) as UploadState;
    expect(state.status).toBe("uploading");
  });
});
