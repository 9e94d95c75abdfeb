/** Supervisor oversight (issue 19, item 8): case keys wrapped to supervisors, who open cases without being members. */
import { db } from "./backend";
import { describe, expect, it } from "vitest";
import type { CaseDetail, CaseList, MyCaseKeys } from "../../shared/api/cases";
import type { PublicKeyInfo, User } from "../../shared/api/schemas";
import { generateCaseKeyPair, rewrapCaseKey, wrapCaseKey } from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { addMember, downloadEvidence, openCase, randomBytes, removeMember, uploadEvidence, withKeys, type Person } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";

async function people() {
  const adminSession = await setUpOrganisation();
  const make = async (email: string) => withKeys(await addUser(adminSession.cookie, { email, name: email.split("@")[0]!, role: "investigator" }));
  return { adminCookie: adminSession.cookie, lead: await make("lead@example.org"), supervisor: await make("sam@example.org"), outsider: await make("outsider@example.org") };
}

async function setSupervisor(adminCookie: string, userId: string, supervisor: boolean): Promise<User> {
  const response = await call(`/api/users/${userId}/supervisor`, { method: "PUT", cookie: adminCookie, body: { supervisor } });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as User;
}

const caseNumbers = async (who: Person) => ((await (await call("/api/cases", { cookie: who.cookie })).json()) as CaseList).cases.map((c) => [c.number, c.myRole, c.oversight]);
const wrapsOf = async (userId: string) => (await db.prepare("SELECT count(*) AS n FROM case_key_wraps WHERE recipient_user = ?").bind(userId).first<number>("n")) ?? 0;

describe("supervisor oversight", () => {
  it("refuses a new case without a wrap to each supervisor; the supervisor opens and decrypts it without being a member, others cannot", async () => {
    const { adminCookie, lead, supervisor, outsider } = await people();
    const noKeys = await addUser(adminCookie, { email: "newbie@example.org", name: "Newbie", role: "investigator" });
    await expectError(await call(`/api/users/${noKeys.session.user.id}/supervisor`, { method: "PUT", cookie: adminCookie, body: { supervisor: true } }), 409, "member_without_keys");
    expect((await setSupervisor(adminCookie, supervisor.id, true)).supervisor).toBe(true);

    // The lead's browser wraps to itself and the recovery key only: refused, nothing stored.
    const caseKey = await generateCaseKeyPair();
    const recovery = (await (await call("/api/keys/recovery", { cookie: lead.cookie })).json()) as PublicKeyInfo;
    const withoutSupervisor = {
      number: "S-1",
      title: "No oversight",
      caseKey: caseKey.publicJwk,
      wraps: [
        { recipientKid: lead.encryption.kid, jwe: await wrapCaseKey(caseKey.privateJwk, lead.encryption.publicJwk) },
        { recipientKid: recovery.kid, jwe: await wrapCaseKey(caseKey.privateJwk, recovery.publicJwk) },
      ],
    };
    await expectError(await call("/api/cases", { cookie: lead.cookie, body: withoutSupervisor }), 400, "wraps_mismatch");
    expect(await caseNumbers(lead)).toEqual([]);

    const opened = await openCase(lead, "S-1", { title: "Overseen" });
    expect(opened.overseers.map((o) => o.userId)).toEqual([supervisor.id]);
    expect(opened.members.map((m) => m.userId)).toEqual([lead.id]);
    const bytes = randomBytes(3000, 7);
    const { evidenceId } = await uploadEvidence(lead, opened, bytes);

    expect(await caseNumbers(supervisor)).toEqual([["S-1", "viewer", true]]);
    expect(await downloadEvidence(supervisor, evidenceId)).toEqual(bytes);
    // Oversight reads; it does not change the case.
    await expectError(await call(`/api/cases/${opened.id}`, { method: "PATCH", cookie: supervisor.cookie, body: { title: "Mine now" } }), 403);

    expect(await caseNumbers(outsider)).toEqual([]);
    await expectError(await call(`/api/cases/${opened.id}/keys`, { cookie: outsider.cookie }), 404);
    await expectError(await call(`/api/evidence/${evidenceId}/key`, { cookie: outsider.cookie }), 404);

    const added = (await auditEvents()).filter((e) => e.action === "case.oversight_add");
    expect(added.map((e) => [e.target.id, (e.details as { caseId: string }).caseId])).toEqual([[supervisor.id, opened.id]]);
  });

  it("a lead gives an older case to supervisors; a member's removal rotates the key to them too; taking the role away removes their wraps", async () => {
    const { adminCookie, lead, supervisor, outsider } = await people();
    const older = await openCase(lead, "S-2");
    const first = await uploadEvidence(lead, older, randomBytes(2000, 3));
    await setSupervisor(adminCookie, supervisor.id, true);
    await expectError(await call(`/api/cases/${older.id}`, { cookie: supervisor.cookie }), 404);

    // "Give supervisors access": every key of the case re-wrapped in the lead's browser.
    const { keys } = (await (await call(`/api/cases/${older.id}/keys`, { cookie: lead.cookie })).json()) as MyCaseKeys;
    const wraps = await Promise.all(
      keys.map(async (key) => ({ caseKid: key.kid, recipientKid: supervisor.encryption.kid, jwe: await rewrapCaseKey(key.wrap!, lead.encryption.privateKey, supervisor.encryption.publicJwk) })),
    );
    const toOutsider = [{ ...wraps[0]!, recipientKid: outsider.encryption.kid, jwe: await rewrapCaseKey(keys[0]!.wrap!, lead.encryption.privateKey, outsider.encryption.publicJwk) }];
    await expectError(await call(`/api/cases/${older.id}/oversight`, { cookie: lead.cookie, body: { wraps: toOutsider } }), 400, "wraps_mismatch");
    await expectError(await call(`/api/cases/${older.id}/oversight`, { cookie: outsider.cookie, body: { wraps } }), 404);
    const given = await call(`/api/cases/${older.id}/oversight`, { cookie: lead.cookie, body: { wraps } });
    expect(given.status, await given.clone().text()).toBe(201);
    expect(((await given.json()) as CaseDetail).overseers.map((o) => o.name)).toEqual(["sam"]);
    expect(await downloadEvidence(supervisor, first.evidenceId)).toEqual(randomBytes(2000, 3));

    // Removing a member rotates the case key: the new key must reach the overseeing supervisor too.
    expect((await addMember(lead, older.id, outsider, "viewer")).status).toBe(201);
    await expectError(await removeMember(lead, older.id, outsider, [lead]), 400, "wraps_mismatch");
    expect((await removeMember(lead, older.id, outsider, [lead, supervisor])).status).toBe(200);
    const rotated = (await (await call(`/api/cases/${older.id}`, { cookie: lead.cookie })).json()) as CaseDetail;
    const second = await uploadEvidence(lead, rotated, randomBytes(1500, 4));
    expect(await downloadEvidence(supervisor, second.evidenceId)).toEqual(randomBytes(1500, 4));

    expect(await wrapsOf(supervisor.id)).toBe(2);
    expect((await setSupervisor(adminCookie, supervisor.id, false)).supervisor).toBe(false);
    expect(await wrapsOf(supervisor.id)).toBe(0);
    await expectError(await call(`/api/cases/${older.id}`, { cookie: supervisor.cookie }), 404);
    await expectError(await call(`/api/evidence/${first.evidenceId}/key`, { cookie: supervisor.cookie }), 404);
    expect(await caseNumbers(supervisor)).toEqual([]);
    const actions = (await auditEvents()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["user.supervisor_add", "case.oversight_remove", "user.supervisor_remove"]));
  });
});
