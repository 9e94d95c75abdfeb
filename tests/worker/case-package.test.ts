/**
 * Case package on the server's side (the package itself is built in the browser): recording
 * the export (leads only, items of the case only, all or nothing) and an item's audit extract,
 * a verifiable filtered export that shows the export it was fetched for.
 */
import { describe, expect, it } from "vitest";
import type { AuditPage } from "../../shared/api/audit";
import { verifyExport } from "../../shared/audit/export";
import { addMember, openCase, randomBytes, uploadEvidence, withKeys, type Person } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";

async function people() {
  const adminSession = await setUpOrganisation();
  const make = async (email: string) => withKeys(await addUser(adminSession.cookie, { email, name: email.split("@")[0]!, role: "investigator" }));
  return { lead: await make("lead@example.org"), viewer: await make("viewer@example.org"), outsider: await make("outsider@example.org") };
}

async function history(lead: Person, caseId: string) {
  return ((await (await call(`/api/cases/${caseId}/history?limit=1000`, { cookie: lead.cookie })).json()) as AuditPage).events;
}

describe("case package", () => {
  it("a lead records the export and reads each item's audit extract, which verifies and shows the export", async () => {
    const { lead, viewer, outsider } = await people();
    const kase = await openCase(lead, "2026-0100");
    expect((await addMember(lead, kase.id, viewer, "viewer")).status).toBe(201);
    const photo = await uploadEvidence(lead, kase, randomBytes(50_000, 3));
    const video = await uploadEvidence(lead, kase, randomBytes(120_000, 4));
    const other = await openCase(lead, "2026-0101");
    const stranger = await uploadEvidence(lead, other, randomBytes(10_000, 5));

    const record = (who: Person, caseId: string, evidenceIds: string[]) => call(`/api/cases/${caseId}/package`, { cookie: who.cookie, body: { evidenceIds } });
    // Refused, and nothing recorded: another case's item, a viewer, an outsider, the same item twice.
    await expectError(await record(lead, kase.id, [photo.evidenceId, stranger.evidenceId]), 404, "not_found");
    await expectError(await record(viewer, kase.id, [photo.evidenceId]), 403, "case_role");
    await expectError(await record(outsider, kase.id, [photo.evidenceId]), 404, "not_found");
    await expectError(await record(lead, kase.id, [photo.evidenceId, photo.evidenceId]), 400);
    expect((await history(lead, kase.id)).filter((e) => e.action === "case.package_export" || e.action === "evidence.export")).toEqual([]);

    expect((await record(lead, kase.id, [photo.evidenceId, video.evidenceId])).status).toBe(204);
    const events = await history(lead, kase.id);
    expect(events.filter((e) => e.action === "case.package_export").map((e) => e.details)).toEqual([{ caseId: kase.id, evidenceIds: [photo.evidenceId, video.evidenceId], items: 2 }]);
    expect(events.filter((e) => e.action === "evidence.export").map((e) => e.target.id)).toEqual([photo.evidenceId, video.evidenceId]);

    const extract = await call(`/api/audit/evidence/${video.evidenceId}`, { cookie: lead.cookie });
    expect(extract.status).toBe(200);
    expect(extract.headers.get("Content-Type")).toContain("application/x-ndjson");
    const lines = (await extract.text()).trimEnd().split("\n");
    const report = await verifyExport(lines, { keepEvents: true });
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ ok: true, kind: "filtered", filter: { evidenceId: video.evidenceId } });
    const actions = report.verifiedEvents!.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["evidence.upload_start", "evidence.upload_complete", "evidence.export", "audit.read"]));
    expect(report.verifiedEvents!.every((e) => (e.details as { evidenceId?: string }).evidenceId === video.evidenceId || e.target.id === video.evidenceId)).toBe(true);

    // The extract is the case's history: leads only.
    await expectError(await call(`/api/audit/evidence/${video.evidenceId}`, { cookie: viewer.cookie }), 403, "case_role");
    await expectError(await call(`/api/audit/evidence/${video.evidenceId}`, { cookie: outsider.cookie }), 404, "not_found");
    await expectError(await call(`/api/audit/evidence/${"f".repeat(32)}`, { cookie: lead.cookie }), 404, "not_found");
    await expectError(await call(`/api/audit/evidence/not-an-id`, { cookie: lead.cookie }), 400);
    expect((await history(lead, kase.id)).some((e) => e.action === "access.denied" && e.target.id === video.evidenceId)).toBe(true);
  });
});
