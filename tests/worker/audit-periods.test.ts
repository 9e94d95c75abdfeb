/**
 * The audit log across periods (docs/audit.md, "How the log grows"): the API tests run with
 * periods of 8 events (AUDIT_PERIOD_BITS = 3, vitest.config.ts and backend-deno.ts), so a few
 * dozen events make several. Sealing moves complete periods from the organisation's AuditLog head
 * to their own AuditPeriod objects (the migration of an existing log too); nothing anyone reads or
 * verifies may change with it.
 */
import { describe, expect, it } from "vitest";
import type { AuditPage } from "../../shared/api/audit";
import type { AuditEvent } from "../../shared/audit/chain";
import { eventLine, verifyExport, type PublicAuditDocument } from "../../shared/audit/export";
import { backend, db, type SealProgress } from "./backend";
import { auditEvents } from "./audit-helpers";
import { openCase, randomBytes, uploadEvidence, withKeys } from "./evidence-helpers";
import { addUser, ADMIN, call, expectError, setUpOrganisation } from "./helpers";

const PERIOD = 8;

async function orgId(): Promise<string> {
  return (await db.prepare("SELECT org_id FROM setup WHERE id = 1").first<{ org_id: string }>())!.org_id;
}

async function lines(path: string, cookie: string): Promise<string[]> {
  const response = await call(path, { cookie });
  expect(response.status).toBe(200);
  return (await response.text()).split("\n").filter((line) => line !== "");
}

/** Every page of a listing (`path` ends with its query), following `next`. */
async function allPages(path: string, cookie: string): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for (let after: number | null = null; ; ) {
    const response = await call(`${path}${after === null ? "" : `&after=${after}`}`, { cookie });
    expect(response.status).toBe(200);
    const page = (await response.json()) as AuditPage;
    out.push(...(page.events as AuditEvent[]));
    if (page.next === null) return out;
    after = page.next;
  }
}

/** Runs sealing until every complete period is sealed and the head's copies deleted. */
async function sealAll(org: string, maxSteps?: number, batchRows?: number): Promise<SealProgress> {
  for (let i = 0; i < 200; i++) {
    const progress = await backend.sealAudit(org, maxSteps, batchRows);
    if (progress.due === 0 && progress.working === null) return progress;
  }
  throw new Error(`sealing did not finish: ${JSON.stringify(await backend.sealAudit(org, maxSteps, batchRows))}`);
}

/** The seqs the head must hold once sealing is done: those of the current, unsealed period. */
function currentPeriod(headSeq: number): number[] {
  const start = Math.floor(headSeq / PERIOD) * PERIOD;
  return Array.from({ length: headSeq - start }, (_, i) => start + i + 1);
}

const seqs = (events: AuditEvent[]) => events.map((e) => e.seq);
const upTo = (events: AuditEvent[], max: number) => events.filter((e) => e.seq <= max);

describe("audit log across periods", () => {
  it("seals complete periods into their own objects with every export, proof, extract, listing and check unchanged", async () => {
    const admin = await setUpOrganisation();
    const lead = await withKeys(admin);
    const caseDetail = await openCase(lead, "P-1");
    const { evidenceId } = await uploadEvidence(lead, caseDetail, randomBytes(300));
    expect((await call(`/api/evidence/${evidenceId}/key`, { cookie: admin.cookie })).status).toBe(200);
    for (let i = 0; i < 12; i++) await addUser(admin.cookie, { email: `p${i}@example.org`, name: `P${i}`, role: "investigator" });
    await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: "not the password" } });
    const org = await orgId();

    // Before: what readers hold (some periods may already be sealed by the alarm; that changes nothing either).
    const kept = (await (await call("/.well-known/custody/audit.json")).json()) as PublicAuditDocument;
    const fullBefore = await lines("/api/audit/export?format=jsonl", admin.cookie);
    const extractBefore = await lines(`/api/audit/evidence/${evidenceId}`, lead.cookie);
    const treeSize = exportTreeSize(fullBefore);
    expect(treeSize).toBeGreaterThan(5 * PERIOD);
    const ascBefore = await allPages("/api/audit/events?limit=7&order=asc", admin.cookie);
    const descBefore = await allPages("/api/audit/events?limit=5&order=desc", admin.cookie);
    const invitesBefore = await allPages("/api/audit/events?limit=3&action=user.invite", admin.cookie);
    const mineBefore = await allPages(`/api/audit/events?limit=4&order=desc&actorId=${admin.session.user.id}`, admin.cookie);
    const itemBefore = await allPages(`/api/audit/events?limit=2&evidenceId=${evidenceId}`, admin.cookie);
    const targetBefore = await allPages(`/api/audit/events?limit=2&targetType=user&targetId=${admin.session.user.id}`, admin.cookie);
    expect(targetBefore.length).toBeGreaterThan(1);
    const historyBefore = await allPages(`/api/cases/${caseDetail.id}/history?limit=3`, lead.cookie);
    const window = { from: ascBefore[10]!.at, to: ascBefore[30]!.at };
    const windowBefore = await allPages(`/api/audit/events?limit=4&from=${window.from}&to=${window.to}`, admin.cookie);

    const progress = await sealAll(org);
    expect(progress.sealed).toBe(Math.floor(progress.headSeq / PERIOD));
    expect(progress.sealed).toBeGreaterThanOrEqual(5);
    // The head keeps only the current period's rows; every event is still there, once, in order.
    expect(await backend.auditHeadSeqs(org)).toEqual(currentPeriod(progress.headSeq));
    const everything = await auditEvents();
    expect(seqs(everything)).toEqual(Array.from({ length: everything.length }, (_, i) => i + 1));
    everything.slice(1).forEach((event, i) => expect(event.prevHash).toBe(everything[i]!.hash));

    // The same tree size gives byte for byte the same event lines, proofs included.
    const eventLinesBefore = fullBefore.filter((l) => l.startsWith('{"type":"event"'));
    const page = await backend.auditExportPage(org, {}, 0, 5000, treeSize);
    expect(page.map(({ event, inclusion }) => eventLine(event, inclusion))).toEqual(eventLinesBefore);
    const itemPage = await backend.auditExportPage(org, { evidenceId }, 0, 5000, exportTreeSize(extractBefore));
    expect(itemPage.map(({ event, inclusion }) => eventLine(event, inclusion))).toEqual(extractBefore.filter((l) => l.startsWith('{"type":"event"')));

    // A full export after sealing verifies, extends the kept public document, and repeats the earlier events.
    const fullAfter = await lines("/api/audit/export?format=jsonl", admin.cookie);
    expect(await verifyExport(fullAfter, { kept: { jws: kept.checkpoint, signingKeys: kept.signingKeys } })).toMatchObject({ ok: true, kind: "full", kept: { treeSize: kept.treeSize } });
    const withoutProof = (line: string) => {
      const { inclusion: _inclusion, ...event } = JSON.parse(line) as { inclusion: string[] };
      return event;
    };
    expect(fullAfter.slice(1, treeSize + 1).map(withoutProof)).toEqual(eventLinesBefore.map(withoutProof));
    const extractAfter = await lines(`/api/audit/evidence/${evidenceId}`, lead.cookie);
    expect(await verifyExport(extractAfter)).toMatchObject({ ok: true, kind: "filtered" });
    expect(extractAfter.filter((l) => l.startsWith('{"type":"event"')).length).toBeGreaterThan(extractBefore.filter((l) => l.startsWith('{"type":"event"')).length);

    // Listings, with cursors both ways and filters, give what they gave (plus what was recorded since).
    const last = ascBefore.at(-1)!.seq;
    expect(seqs(upTo(await allPages("/api/audit/events?limit=7&order=asc", admin.cookie), last))).toEqual(seqs(ascBefore));
    expect(seqs(upTo(await allPages("/api/audit/events?limit=5&order=desc", admin.cookie), descBefore[0]!.seq))).toEqual(seqs(descBefore));
    expect(await allPages("/api/audit/events?limit=3&action=user.invite", admin.cookie)).toEqual(invitesBefore);
    expect(upTo(await allPages(`/api/audit/events?limit=4&order=desc&actorId=${admin.session.user.id}`, admin.cookie), mineBefore[0]!.seq)).toEqual(mineBefore);
    expect(upTo(await allPages(`/api/audit/events?limit=2&evidenceId=${evidenceId}`, admin.cookie), itemBefore.at(-1)!.seq)).toEqual(itemBefore);
    expect(await allPages(`/api/audit/events?limit=4&from=${window.from}&to=${window.to}`, admin.cookie)).toEqual(windowBefore);
    expect(upTo(await allPages(`/api/audit/events?limit=2&targetType=user&targetId=${admin.session.user.id}`, admin.cookie), targetBefore.at(-1)!.seq)).toEqual(targetBefore);
    expect(ascBefore.filter((e) => e.at >= window.from && e.at <= window.to)).toEqual(windowBefore);

    // The case history still reads from the start, and follows from its newest event.
    const history = await allPages(`/api/cases/${caseDetail.id}/history?limit=3`, lead.cookie);
    expect(upTo(history, historyBefore.at(-1)!.seq)).toEqual(historyBefore);
    const follow = (await (await call(`/api/cases/${caseDetail.id}/history?after=${historyBefore.at(-1)!.seq}`, { cookie: lead.cookie })).json()) as AuditPage;
    expect(seqs(follow.events as AuditEvent[])).toEqual(seqs(history.filter((e) => e.seq > historyBefore.at(-1)!.seq)));

    // The key release now lies in a sealed period: an offline view after it is accepted, one before it refused.
    const release = everything.find((e) => e.action === "evidence.view" && e.target.id === evidenceId && !e.recordedOffline)!;
    expect(release.seq).toBeLessThanOrEqual(progress.sealed * PERIOD);
    const after = new Date(Date.parse(release.at) + 1).toISOString();
    const before = new Date(Date.parse(release.at) - 60_000).toISOString();
    expect((await call("/api/audit/offline-events", { body: { events: [{ action: "evidence.view", target: { type: "evidence", id: evidenceId }, at: after }] }, cookie: admin.cookie })).status).toBe(202);
    await expectError(await call("/api/audit/offline-events", { body: { events: [{ action: "evidence.view", target: { type: "evidence", id: evidenceId }, at: before }] }, cookie: admin.cookie }), 403, "offline_event_refused");
  });

  it("ends in the same state when sealing stops part way and resumes, with writes in between neither lost nor reordered", async () => {
    const admin = await setUpOrganisation();
    const invite = (i: number) => call("/api/users", { body: { email: `w${i}@example.org`, name: `W${i}`, role: "investigator" }, cookie: admin.cookie });
    for (let i = 0; i < 20; i++) expect((await invite(i)).status).toBe(201);
    const org = await orgId();
    const before = await auditEvents();

    // A few steps of 3 rows: a period part copied, as when the object is stopped mid-way.
    await backend.sealAudit(org, 2, 3);
    expect(seqs(upTo(await auditEvents(), before.length))).toEqual(seqs(before));
    // Writes while sealing: between steps and alongside them.
    for (let i = 20; i < 23; i++) expect((await invite(i)).status).toBe(201);
    const [, ...answers] = await Promise.all([backend.sealAudit(org, 5, 3), ...Array.from({ length: 6 }, (_, i) => invite(23 + i))]);
    for (const answer of answers) expect(answer.status).toBe(201);
    await backend.sealAudit(org, 1, 2);
    const progress = await sealAll(org, 3, 5);

    const events = await auditEvents();
    expect(seqs(events)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    events.slice(1).forEach((event, i) => expect(event.prevHash).toBe(events[i]!.hash));
    expect(events.slice(0, before.length)).toEqual(before);
    const invited = events.filter((e) => e.action === "user.invite").map((e) => (e.details as { email?: string }).email ?? e.target.id);
    expect(invited).toHaveLength(29);
    expect(new Set(invited).size).toBe(29);
    expect(await backend.auditHeadSeqs(org)).toEqual(currentPeriod(progress.headSeq));
    expect(progress.sealed).toBe(Math.floor(progress.headSeq / PERIOD));
    expect(await verifyExport(await lines("/api/audit/export?format=jsonl", admin.cookie))).toMatchObject({ ok: true, kind: "full" });
  });
});

/** The tree size an export's proofs are against: its final checkpoint's. */
function exportTreeSize(exported: string[]): number {
  const final = JSON.parse(exported.at(-1)!) as { jws: string };
  const payload = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(final.jws.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0)))) as { treeSize: number };
  return payload.treeSize;
}
