/**
 * The case package through a share (docs/disclosure.md §2): at level export, a guest or a link
 * recipient reads each item's audit extract and signer register through the share's routes, each
 * read recorded as a share export; below export the server refuses them (and records the refusal),
 * and nothing outside the share is reachable.
 */
import { describe, expect, it } from "vitest";
import type { CreatedShare, LinkSession } from "../../shared/api/shares";
import { auditEvents } from "./audit-helpers";
import { openCase, randomBytes, uploadEvidence, withKeys } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";
import { inviteGuest, json, share } from "./share-helpers";

const lines = (text: string) => text.trim().split("\n").map((line) => JSON.parse(line) as { action?: string; details?: { evidenceId?: string } });

describe("case package through a share", () => {
  it("export level: the audit extract and signer register come through the share, recorded as share exports; view level: refused", async () => {
    const adminSession = await setUpOrganisation();
    const lead = await withKeys(await addUser(adminSession.cookie, { email: "lead@example.org", name: "Lee Lead", role: "investigator" }));
    const caseA = await openCase(lead, "2026-0400", { title: "Quay" });
    const one = await uploadEvidence(lead, caseA, randomBytes(1500, 31));
    const other = await uploadEvidence(lead, caseA, randomBytes(800, 32));
    const guest = await inviteGuest(lead, caseA.id, "prosecutor@cps.example", "Pat Prosecutor");

    const exportShare = await share(lead, caseA.id, { type: "guest", guestId: guest.id }, { items: [one.evidenceId], level: "export" });
    expect(exportShare.response.status).toBe(201);
    const extract = await call(`/api/shared/${exportShare.id}/items/${one.evidenceId}/audit`, { cookie: guest.cookie });
    expect(extract.status, await extract.clone().text()).toBe(200);
    expect(extract.headers.get("Content-Type")).toContain("application/x-ndjson");
    const events = lines(await extract.text()).filter((l) => l.action);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.details?.evidenceId === one.evidenceId)).toBe(true);
    // The read itself is in the extract, as a share export.
    expect(events.some((e) => e.action === "share.export")).toBe(true);
    expect((await call(`/api/shared/${exportShare.id}/items/${one.evidenceId}/signer-register`, { cookie: guest.cookie })).status).toBe(200);
    // Only the share's items: another item of the same case is not reachable through it.
    await expectError(await call(`/api/shared/${exportShare.id}/items/${other.evidenceId}/audit`, { cookie: guest.cookie }), 404);
    // Not someone else's share.
    const stranger = await inviteGuest(lead, caseA.id, "someone@else.example", "Sam Stranger");
    expect([403, 404]).toContain((await call(`/api/shared/${exportShare.id}/items/${one.evidenceId}/audit`, { cookie: stranger.cookie })).status);

    // A link at view level: the package routes are refused, and the refusal is recorded.
    const viewLink = await share(lead, caseA.id, { type: "link", label: "Defence counsel" }, { items: [one.evidenceId], level: "view" });
    const { accessCode } = await json<CreatedShare>(viewLink.response, 201);
    const { token } = await json<LinkSession>(await call(`/api/shared/links/${viewLink.id}/open`, { body: { accessCode } }));
    const bearer = { headers: { Authorization: `Bearer ${token}` } };
    await expectError(await call(`/api/shared/${viewLink.id}/items/${one.evidenceId}/audit`, bearer), 403, "share_level");
    await expectError(await call(`/api/shared/${viewLink.id}/items/${one.evidenceId}/signer-register`, bearer), 403, "share_level");
    await expectError(await call(`/api/shared/${viewLink.id}/items/${one.evidenceId}/access`, { ...bearer, body: { action: "export" } }), 403, "share_level");
    // Without the link session, nothing.
    expect((await call(`/api/shared/${viewLink.id}/items/${one.evidenceId}/audit`)).status).toBe(401);

    // A link at export level gets it too.
    const exportLink = await share(lead, caseA.id, { type: "link", label: "Court clerk" }, { items: [one.evidenceId], level: "export" });
    const code = (await json<CreatedShare>(exportLink.response, 201)).accessCode!;
    const linkToken = (await json<LinkSession>(await call(`/api/shared/links/${exportLink.id}/open`, { body: { accessCode: code } }))).token;
    expect((await call(`/api/shared/${exportLink.id}/items/${one.evidenceId}/audit`, { headers: { Authorization: `Bearer ${linkToken}` } })).status).toBe(200);

    const trail = (await auditEvents()).filter((e) => e.action === "share.export" && e.details.part === "audit_extract");
    expect(trail.filter((e) => e.outcome === "success").map((e) => e.target.id).sort()).toEqual([exportShare.id, exportLink.id].sort());
    expect(trail.filter((e) => e.outcome === "denied").map((e) => e.target.id)).toEqual([viewLink.id]);
  });
});
