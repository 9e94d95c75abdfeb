/**
 * Uploads that start at once (issue 18): the upload starts with the plaintext's size only, parts
 * are sent as they are encrypted to URLs bound to each part's SHA-512, and the signed manifest
 * comes with the completion, where the server checks it against every stored part.
 */
import { describe, expect, it } from "vitest";
import type { EvidenceSummary, PartUrls } from "../../shared/api/cases";
import { sha512Hex } from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { backend, db } from "./backend";
import { downloadEvidence, openCase, prepareEvidence, randomBytes, storedItem, withKeys, type Person } from "./evidence-helpers";
import { call, setUpOrganisation } from "./helpers";

const PART_PLAIN = 8 * 1_048_576;

/** Starts an upload of `bytes` without its manifest, as the browser does when it starts encrypting. */
async function startedWithoutManifest(bytes: Uint8Array) {
  const lead = await withKeys(await setUpOrganisation());
  const caseDetail = await openCase(lead, "S-1");
  const upload = await prepareEvidence(lead, caseDetail, bytes);
  const { manifest, ...rest } = upload.body;
  const started = await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: { ...rest, byteSize: bytes.length } });
  expect(started.status, await started.clone().text()).toBe(201);
  expect(await started.json()).toEqual({ status: "uploading", partCount: upload.parts.length, received: [] });
  return { lead, upload, manifest: manifest as string, caseDetail, rest };
}

async function put(lead: Person, evidenceId: string, part: number, bytes: Uint8Array, sha512?: string): Promise<Response> {
  const answer = await call(`/api/evidence/${evidenceId}/part-urls`, { cookie: lead.cookie, body: { parts: [part], sha512: [sha512 ?? (await sha512Hex(bytes))] } });
  expect(answer.status, await answer.clone().text()).toBe(200);
  const { urls } = (await answer.json()) as PartUrls;
  return call(urls[0]!.url, { method: "PUT", body: bytes, headers: { "Content-Type": "application/octet-stream" } });
}

const complete = (lead: Person, evidenceId: string, manifest?: string) =>
  call(`/api/evidence/${evidenceId}/complete`, { cookie: lead.cookie, body: manifest === undefined ? {} : { manifest } });

describe("uploads that start before their manifest", () => {
  it("stores parts sent as they are encrypted, then completes with the manifest, which is recorded and opens as usual", async () => {
    const bytes = randomBytes(PART_PLAIN + 5000); // two parts
    const { lead, upload, manifest } = await startedWithoutManifest(bytes);
    // Part URLs need each part's hash until the manifest exists.
    expect((await call(`/api/evidence/${upload.evidenceId}/part-urls`, { cookie: lead.cookie, body: { parts: [0] } })).status).toBe(400);
    // The second part first: they are sent as the pool finishes them.
    expect((await put(lead, upload.evidenceId, 1, upload.parts[1]!)).status).toBe(204);
    expect((await put(lead, upload.evidenceId, 0, upload.parts[0]!)).status).toBe(204);
    // Without the manifest, no completion.
    expect((await complete(lead, upload.evidenceId)).status).toBe(400);
    const done = await complete(lead, upload.evidenceId, manifest);
    expect(done.status, await done.clone().text()).toBe(200);
    const summary = (await done.json()) as EvidenceSummary;
    expect(summary).toMatchObject({ status: "complete", manifest, signerKid: lead.signing.kid, byteSize: bytes.length, partCount: 2 });
    expect(await downloadEvidence(lead, upload.evidenceId)).toEqual(bytes);
    // The record the completion made (with the manifest) replaced the one the start made: only it is kept.
    const stored = (await storedItem(upload.evidenceId))!;
    expect((await backend.caseRecords(stored.case_id)).items.map((r) => r.ref)).toEqual([stored.record_ref]);
    const events = (await auditEvents()).filter((e) => e.target.id === upload.evidenceId);
    expect(events.find((e) => e.action === "evidence.upload_start")?.details).toMatchObject({ manifest: "at completion", byteSize: bytes.length });
    expect(events.find((e) => e.action === "evidence.upload_complete")?.details).toMatchObject({ signerKid: lead.signing.kid, sha512: expect.stringMatching(/^[0-9a-f]{128}$/) });
    // Completing again with the same manifest answers the same; with another, it is refused.
    expect((await complete(lead, upload.evidenceId, manifest)).status).toBe(200);
  });

  it("refuses a completion whose manifest disagrees with a stored part, and changes nothing", async () => {
    const bytes = randomBytes(PART_PLAIN + 100);
    const { lead, upload, manifest, caseDetail } = await startedWithoutManifest(bytes);
    // Part 1 is stored as the bytes of another encryption (its URL bound to their own hash): the server accepts it as sent.
    const other = await prepareEvidence(lead, caseDetail, randomBytes(PART_PLAIN + 100));
    expect((await put(lead, upload.evidenceId, 0, upload.parts[0]!)).status).toBe(204);
    expect((await put(lead, upload.evidenceId, 1, other.parts[1]!)).status).toBe(204);
    const refused = await complete(lead, upload.evidenceId, manifest);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: "manifest_mismatch", message: expect.stringContaining("Part 1") } });
    expect(await storedItem(upload.evidenceId)).toMatchObject({ status: "uploading", manifest: "", signer_kid: "" });
    expect((await auditEvents()).filter((e) => e.action === "evidence.upload_complete" && e.target.id === upload.evidenceId)).toHaveLength(0);
  });

  it("refuses a part whose bytes are not the hash its URL is bound to, and a manifest for another size or signer", async () => {
    const bytes = randomBytes(3000);
    const { lead, upload, manifest, caseDetail, rest } = await startedWithoutManifest(bytes);
    const bad = await put(lead, upload.evidenceId, 0, upload.parts[0]!, "0".repeat(128));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "digest_mismatch" } });
    expect((await db.prepare("SELECT count(*) AS n FROM evidence_parts WHERE evidence_id = ?").bind(upload.evidenceId).first<{ n: number }>())!.n).toBe(0);
    // A URL's hash cannot be swapped: the signature covers it.
    const { urls } = (await (await call(`/api/evidence/${upload.evidenceId}/part-urls`, { cookie: lead.cookie, body: { parts: [0], sha512: ["0".repeat(128)] } })).json()) as PartUrls;
    const swapped = urls[0]!.url.replace(/h=[0-9a-f]+/, `h=${await sha512Hex(upload.parts[0]!)}`);
    expect((await call(swapped, { method: "PUT", body: upload.parts[0]!, headers: { "Content-Type": "application/octet-stream" } })).status).toBe(403);

    expect((await put(lead, upload.evidenceId, 0, upload.parts[0]!)).status).toBe(204);
    // A manifest of another file (another size) by the same person is refused.
    const another = await prepareEvidence(lead, caseDetail, randomBytes(4000));
    expect((await complete(lead, upload.evidenceId, another.manifest)).status).toBe(400); // names another evidence id
    // Starting again with the same body is idempotent; with another size it is a conflict.
    expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: { ...rest, byteSize: bytes.length } })).status).toBe(200);
    expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: { ...rest, byteSize: bytes.length + 1 } })).status).toBe(409);
    // Both a manifest and a size, or neither: a 400.
    expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: { ...rest, manifest, byteSize: bytes.length } })).status).toBe(400);
    expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: rest })).status).toBe(400);
    expect((await complete(lead, upload.evidenceId, manifest)).status).toBe(200);
  });

  it("completes while its details are edited at the same moment: both are kept, whichever commits first", async () => {
    const bytes = randomBytes(5000, 7);
    const { lead, upload, manifest, caseDetail } = await startedWithoutManifest(bytes);
    expect((await put(lead, upload.evidenceId, 0, upload.parts[0]!)).status).toBe(204);
    const details = (n: number) =>
      call(`/api/evidence/${upload.evidenceId}/details`, { method: "PATCH", cookie: lead.cookie, body: { jwe: upload.body.label, baseVersion: n } });
    // Each swaps the item's record; the one that finds it changed is made again on the new record.
    const [done, edited] = await Promise.all([complete(lead, upload.evidenceId, manifest), details(0)]);
    expect(done.status, await done.clone().text()).toBe(200);
    expect(edited.status, await edited.clone().text()).toBe(200);
    const summary = (await (await call(`/api/evidence/${upload.evidenceId}`, { cookie: lead.cookie })).json()) as EvidenceSummary;
    expect(summary).toMatchObject({ status: "complete", manifest, details: { version: 1, jwe: upload.body.label } });
    expect(await downloadEvidence(lead, upload.evidenceId)).toEqual(bytes);
    // Two edits on the same version: one commits, the other is told, and the history holds the one.
    const [a, b] = await Promise.all([details(1), details(1)]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const versions = (await (await call(`/api/evidence/${upload.evidenceId}/details/versions`, { cookie: lead.cookie })).json()) as { versions: { version: number }[] };
    expect(versions.versions.map((v) => v.version)).toEqual([1, 2]);
    const events = (await auditEvents()).filter((e) => e.target.id === upload.evidenceId);
    expect(events.filter((e) => e.action === "evidence.upload_complete")).toHaveLength(1);
    expect(events.filter((e) => e.action === "evidence.details_edit").map((e) => e.details.version)).toEqual([1, 2]);
    // The record D1 names is in the object, with the manifest and the latest version.
    const stored = (await storedItem(upload.evidenceId))!;
    const named = (await backend.caseRecords(caseDetail.id)).items.find((r) => r.ref === stored.record_ref)!;
    expect(named.body).toMatchObject({ manifest, details: { version: 2 } });
  });
});
