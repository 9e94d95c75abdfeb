/**
 * Events a device recorded offline (POST /api/audit/offline-events): accepted only for evidence the
 * user could open then, in the case it is really in, at a believable time; anything else is
 * refused as a whole and only the refusal is recorded.
 */
import { describe, expect, it } from "vitest";
import type { AuditPage } from "../../shared/api/audit";
import type { AuditEvent } from "../../shared/audit/chain";
import { auditEvents } from "./audit-helpers";
import { db } from "./backend";
import { addMember, openCase, randomBytes, uploadEvidence, withKeys, type Person } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation, type TestUser } from "./helpers";

const MINUTE = 60_000;

function offlineView(evidenceId: string, at: string, extra: { id?: string; details?: Record<string, string | number | boolean> } = {}) {
  return { ...(extra.id ? { id: extra.id } : {}), action: "evidence.view", target: { type: "evidence", id: evidenceId }, at, details: extra.details ?? {} };
}

const send = (cookie: string, events: unknown[]) => call("/api/audit/offline-events", { body: { events }, cookie });

/** Opens the evidence as the browser does when it keeps it offline: the audited key release. */
async function releaseKey(person: Person, evidenceId: string): Promise<void> {
  expect((await call(`/api/evidence/${evidenceId}/key`, { cookie: person.cookie })).status).toBe(200);
}

interface World {
  admin: TestUser;
  lead: Person;
  ivy: Person;
  sam: Person;
  caseId: string;
  otherCaseId: string;
  evidenceId: string;
}

/** Case A (led by the admin) holds one item; Ivy is a viewer of it, Sam an investigator outside it; case B is the admin's too. */
async function world(): Promise<World> {
  const admin = await setUpOrganisation();
  const lead = await withKeys(admin);
  const caseA = await openCase(lead, "A-1");
  const caseB = await openCase(lead, "B-1");
  const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" }));
  const sam = await withKeys(await addUser(admin.cookie, { email: "sam@example.org", name: "Sam", role: "investigator" }));
  expect((await addMember(lead, caseA.id, ivy, "viewer")).status).toBe(201);
  const upload = await uploadEvidence(lead, caseA, randomBytes(1000));
  return { admin, lead, ivy, sam, caseId: caseA.id, otherCaseId: caseB.id, evidenceId: upload.evidenceId };
}

/** Events written since `before` (a list of the chain as it was). */
async function newEvents(before: AuditEvent[]): Promise<AuditEvent[]> {
  return (await auditEvents()).slice(before.length);
}

describe("offline events", () => {
  it("accepts a view of evidence the user opened before going offline, in the case the evidence is really in", async () => {
    const { ivy, caseId, otherCaseId, evidenceId, admin } = await world();
    await releaseKey(ivy, evidenceId);
    const viewedAt = new Date(Date.now() + 1000).toISOString();
    // The device names another case: the server records the evidence's own.
    const sent = await send(ivy.cookie, [offlineView(evidenceId, viewedAt, { id: "1".repeat(32), details: { caseId: otherCaseId, segment: 0 } })]);
    expect(sent.status, await sent.clone().text()).toBe(202);
    expect(await sent.json()).toEqual({ accepted: 1, duplicates: 0 });
    const view = (await auditEvents()).find((e) => e.action === "evidence.view" && e.recordedOffline) as AuditEvent;
    expect(view).toMatchObject({ actor: { id: ivy.id }, target: { id: evidenceId }, recordedOffline: { at: viewedAt }, details: { caseId, evidenceId, segment: 0 } });
    // It shows in case A's history, not in case B's.
    const history = async (id: string) => ((await (await call(`/api/audit/events?caseId=${id}&action=evidence.view`, { cookie: admin.cookie })).json()) as AuditPage).events;
    expect((await history(caseId)).some((e) => e.recordedOffline)).toBe(true);
    expect((await history(otherCaseId)).some((e) => e.recordedOffline)).toBe(false);
  });

  it("refuses a view from a non-member, a site operator, or of evidence that does not exist, recording only the refusal", async () => {
    const { admin, sam, evidenceId, caseId } = await world();
    const operator = await addUser(admin.cookie, { email: "olga@example.org", name: "Olga", role: "site_operator" });
    const at = new Date(Date.now() - MINUTE).toISOString();
    for (const [cookie, id] of [[sam.cookie, evidenceId], [operator.cookie, evidenceId], [sam.cookie, "f".repeat(32)]] as const) {
      const before = await auditEvents();
      const refused = await expectError(await send(cookie, [offlineView(id, at, { details: { caseId } })]), 403, "offline_event_refused");
      expect(refused.error.message).toMatch(/could not open/);
      const written = await newEvents(before);
      expect(written.map((e) => [e.action, e.outcome])).toEqual([["audit.offline_refused", "denied"]]);
      expect(written[0]!.details).not.toHaveProperty("caseId");
    }
    expect((await auditEvents()).filter((e) => e.action === "evidence.view" && e.recordedOffline)).toEqual([]);
  });

  it("refuses a view by a member who never had the key released, or dated before the release", async () => {
    const { ivy, evidenceId } = await world();
    const before = await auditEvents();
    await expectError(await send(ivy.cookie, [offlineView(evidenceId, new Date(Date.now() - MINUTE).toISOString())]), 403, "offline_event_refused");
    expect((await newEvents(before)).map((e) => e.action)).toEqual(["audit.offline_refused"]);

    const beforeRelease = new Date(Date.now() - 1000).toISOString();
    await releaseKey(ivy, evidenceId);
    const after = await auditEvents();
    await expectError(await send(ivy.cookie, [offlineView(evidenceId, beforeRelease)]), 403, "offline_event_refused");
    expect((await newEvents(after)).map((e) => e.action)).toEqual(["audit.offline_refused"]);
    // A time after the release is accepted.
    expect((await send(ivy.cookie, [offlineView(evidenceId, new Date(Date.now() + 1000).toISOString())])).status).toBe(202);
  });

  it("refuses a device time more than 5 minutes ahead of the server, recording the refusal", async () => {
    const { ivy, evidenceId } = await world();
    await releaseKey(ivy, evidenceId);
    const before = await auditEvents();
    await expectError(await send(ivy.cookie, [offlineView(evidenceId, new Date(Date.now() + 6 * MINUTE).toISOString())]), 400, "future_time");
    expect((await newEvents(before)).map((e) => [e.action, e.details.reason])).toEqual([["audit.offline_refused", "future_time"]]);
    // Within 5 minutes ahead (a device clock a little fast) is accepted.
    expect((await send(ivy.cookie, [offlineView(evidenceId, new Date(Date.now() + 4 * MINUTE).toISOString())])).status).toBe(202);
  });

  it("takes a batch all or nothing: one bad event refuses the whole batch, and no receipt is kept", async () => {
    const { ivy, lead, evidenceId } = await world();
    await releaseKey(ivy, evidenceId);
    const good = offlineView(evidenceId, new Date(Date.now() + 1000).toISOString(), { id: "a".repeat(32) });
    const bad = offlineView("f".repeat(32), new Date(Date.now() + 1000).toISOString(), { id: "b".repeat(32) });
    const before = await auditEvents();
    const refused = await expectError(await send(ivy.cookie, [good, bad]), 403, "offline_event_refused");
    expect(refused.error.message).toMatch(/^Event 2 /);
    expect((await newEvents(before)).map((e) => e.action)).toEqual(["audit.offline_refused"]);
    expect(await db.prepare("SELECT count(*) AS n FROM offline_event_receipts").first("n")).toBe(0);
    // The good one alone goes through, once.
    expect(await (await send(ivy.cookie, [good])).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await (await send(ivy.cookie, [good])).json()).toEqual({ accepted: 0, duplicates: 1 });
    // Another user cannot piggyback on Ivy's release.
    await expectError(await send(lead.cookie, [offlineView(evidenceId, new Date(Date.now() + 1000).toISOString())]), 403, "offline_event_refused");
  });
});
