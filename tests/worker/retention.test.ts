import { describe, expect, it } from "vitest";
import type { RetentionStatus, Tombstone } from "../../shared/api/retention";
import { auditEvents } from "./audit-helpers";
import { backend, bucket, db } from "./backend";
import { addMember, downloadEvidence, listedItemCount, prepareEvidence, storedItem } from "./evidence-helpers";
import { call, expectError } from "./helpers";
import retentionMigration from "../../migrations/0018_retention.sql?raw";
import countMigration from "../../migrations/0035_case_evidence_count.sql?raw";
import type { CreatedShare, LinkSession, ReceivedShare } from "../../shared/api/shares";
import { deriveLinkKey, encryptThumbnail, unwrapShareKeyWithLink } from "../../shared/crypto";
import { json, openItem, share } from "./share-helpers";
import { approve, binIds, closeCase, createCategory, dueIds, person, runJobAt, upload, world } from "./retention-helpers";

async function status(cookie: string, id: string): Promise<RetentionStatus> {
  const response = await call(`/api/retention/evidence/${id}`, { cookie });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as RetentionStatus;
}

async function hold(cookie: string, body: Record<string, unknown>): Promise<Response> {
  return call("/api/retention/holds", { cookie, body });
}

async function holdId(cookie: string, caseId: string): Promise<string> {
  const response = await call(`/api/retention/cases/${caseId}/holds`, { cookie });
  const { holds } = (await response.json()) as { holds: { id: string; liftedAt: string | null }[] };
  return holds.find((h) => h.liftedAt === null)!.id;
}

describe("categories, dispositions and clocks", () => {
  it("lists items as due exactly when their rule says, counted from capture or from the case's close", async () => {
    const w = await world();
    const traffic = await createCategory(w.admin, "Traffic", { basis: "case_closed", count: 3, unit: "years" });
    const mistake = await createCategory(w.admin, "Test captures", { basis: "capture", count: 30, unit: "days" });
    const homicide = await createCategory(w.admin, "Homicide", { basis: "indefinite" });
    const a = await upload(w.lead, w.case, traffic.id, 1);
    const b = await upload(w.lead, w.case, mistake.id, 2);
    const c = await upload(w.lead, w.case, homicide.id, 3);
    const d = await upload(w.lead, w.case, undefined, 4); // the organisation's default: General, indefinite

    expect((await status(w.lead.cookie, d.evidenceId)).category?.name).toBe("General");
    expect((await status(w.lead.cookie, a.evidenceId)).dueAt).toBeNull(); // the case is open: no clock yet

    // Closing needs a disposition, and records it.
    await expectError(await call(`/api/cases/${w.case.id}`, { method: "PATCH", cookie: w.lead.cookie, body: { status: "closed" } }), 400);
    await closeCase(w.lead, w.case.id, "decided_in_court");
    const closed = (await (await call(`/api/cases/${w.case.id}`, { cookie: w.lead.cookie })).json()) as { disposition: string; closedAt: string };
    expect(closed.disposition).toBe("decided_in_court");
    const traffic3y = await status(w.lead.cookie, a.evidenceId);
    expect(traffic3y.clockStartsAt).toBe(closed.closedAt);
    expect(Date.parse(traffic3y.dueAt!) - Date.parse(closed.closedAt)).toBeGreaterThan(3 * 365 * 24 * 3600 * 1000);

    await runJobAt(29);
    expect(await dueIds(w.admin)).toEqual([]);
    await runJobAt(31);
    expect(await dueIds(w.admin)).toEqual([b.evidenceId]);
    expect((await status(w.admin.cookie, b.evidenceId)).state).toBe("due");
    await runJobAt(3 * 366);
    expect(await dueIds(w.admin)).toEqual([a.evidenceId, b.evidenceId].sort());
    await runJobAt(100 * 366);
    expect(await dueIds(w.admin)).toEqual([a.evidenceId, b.evidenceId].sort());
    expect((await status(w.admin.cookie, c.evidenceId)).explanation).toMatch(/kept indefinitely/);

    // Run again at the same time: nothing new is listed or recorded (the job is idempotent).
    const before = (await auditEvents()).filter((e) => e.action === "retention.due").length;
    await runJobAt(100 * 366);
    const events = await auditEvents();
    expect(events.filter((e) => e.action === "retention.due")).toHaveLength(before);
    expect(before).toBe(2);
    expect(events.find((e) => e.action === "case.close")?.details).toMatchObject({ disposition: "decided_in_court" });

    // Reopened: the clock counted from the close stops, and the item is no longer due.
    expect((await call(`/api/cases/${w.case.id}`, { method: "PATCH", cookie: w.lead.cookie, body: { status: "open" } })).status).toBe(200);
    await runJobAt(100 * 366);
    expect(await dueIds(w.admin)).toEqual([b.evidenceId]);
    expect((await auditEvents()).filter((e) => e.action === "retention.due_cleared" && e.target.id === a.evidenceId)).toHaveLength(0); // cleared with the reopening itself
  });

  it("changes an item's category only with a reason, by a lead or an administrator, on the record", async () => {
    const w = await world();
    const short = await createCategory(w.admin, "Short", { basis: "capture", count: 1, unit: "days" });
    const item = await upload(w.lead, w.case, short.id);
    await runJobAt(2);
    expect(await dueIds(w.admin)).toEqual([item.evidenceId]);
    const keep = await createCategory(w.admin, "Keep", { basis: "indefinite" });
    await expectError(await call(`/api/retention/evidence/${item.evidenceId}/category`, { method: "PUT", cookie: w.lead.cookie, body: { categoryId: keep.id } }), 400);
    const changed = await call(`/api/retention/evidence/${item.evidenceId}/category`, { method: "PUT", cookie: w.lead.cookie, body: { categoryId: keep.id, reason: "Linked to an open inquiry" } });
    expect(changed.status).toBe(200);
    expect(await dueIds(w.admin)).toEqual([]);
    const event = (await auditEvents()).find((e) => e.action === "retention.category_assign");
    expect(event?.details).toMatchObject({ reason: "Linked to an open inquiry", from: { id: short.id }, to: { id: keep.id } });
    // A rule change is recorded with its reason too.
    const patched = await call(`/api/retention/categories/${short.id}`, { method: "PATCH", cookie: w.admin.cookie, body: { rule: { basis: "capture", count: 2, unit: "years" }, reason: "New policy" } });
    expect(patched.status).toBe(200);
    expect((await auditEvents()).find((e) => e.action === "retention.category_change")?.details).toMatchObject({ reason: "New policy", rule: { to: { count: 2, unit: "years" } } });
    // An unknown category at upload is refused.
    const bad = await call(`/api/cases/${w.case.id}/evidence`, { cookie: w.lead.cookie, body: { ...(await upload(w.lead, w.case)).body, evidenceId: "f".repeat(32), categoryId: "0".repeat(32) } });
    expect([400, 409]).toContain(bad.status);
  });
});

describe("legal holds", () => {
  it("block deletion at every step: request, approval, automatic deletion, purge", async () => {
    const w = await world();
    const short = await createCategory(w.admin, "Short", { basis: "capture", count: 1, unit: "days" });
    const item = await upload(w.lead, w.case, short.id, 1);
    const other = await upload(w.lead, w.case, short.id, 2);

    // The lead holds the case: nothing in it can be asked for, approved or automatically deleted.
    expect((await hold(w.lead.cookie, { caseId: w.case.id, reason: "Appeal pending" })).status).toBe(201);
    await expectError(await call(`/api/retention/evidence/${item.evidenceId}/deletion-request`, { cookie: w.lead.cookie, body: { reason: "Uploaded by mistake" } }), 409, "held");
    await runJobAt(2);
    expect(await dueIds(w.admin)).toEqual([item.evidenceId, other.evidenceId].sort()); // past retention, listed, but held
    expect((await approve(w.admin, [item.evidenceId])).refused).toEqual([expect.objectContaining({ evidenceId: item.evidenceId, code: "held" })]);
    const settings = await call("/api/retention/settings", { method: "PUT", cookie: w.admin.cookie, body: { autoDeleteAfterDays: 1 } });
    expect(settings.status).toBe(200);
    await runJobAt(30);
    expect(await binIds(w.admin)).toEqual([]);
    expect((await status(w.lead.cookie, item.evidenceId)).explanation).toMatch(/legal hold/);

    // Only an administrator lifts it.
    const caseHold = await holdId(w.lead.cookie, w.case.id);
    await expectError(await call(`/api/retention/holds/${caseHold}/lift`, { cookie: w.lead.cookie, body: { reason: "Appeal dismissed" } }), 403);
    expect((await call(`/api/retention/holds/${caseHold}/lift`, { cookie: w.admin.cookie, body: { reason: "Appeal dismissed" } })).status).toBe(200);

    // An item hold still protects that one item; the other is deleted automatically.
    expect((await hold(w.lead.cookie, { caseId: w.case.id, evidenceId: item.evidenceId, reason: "Exhibit 4" })).status).toBe(201);
    await runJobAt(30);
    expect(await binIds(w.admin)).toEqual([other.evidenceId]);

    // A hold placed on an item in the bin stops its purge.
    expect((await hold(w.admin.cookie, { caseId: w.case.id, evidenceId: other.evidenceId, reason: "Disclosure request" })).status).toBe(201);
    await runJobAt(60);
    expect(await binIds(w.admin)).toEqual([other.evidenceId]);
    const events = await auditEvents();
    expect(events.filter((e) => e.action === "retention.shred")).toHaveLength(0);
    expect(events.filter((e) => e.action === "retention.hold")).toHaveLength(3);
    expect(events.filter((e) => e.action === "retention.hold_lift")).toHaveLength(1);
    expect(events.find((e) => e.action === "retention.hold_lift")?.details).toMatchObject({ reason: "Appeal dismissed" });

    // Lifted: purged at the next run.
    const binHold = (await (await call(`/api/retention/holds`, { cookie: w.admin.cookie })).json()) as { holds: { id: string; evidenceId: string | null; liftedAt: string | null }[] };
    const onOther = binHold.holds.find((h) => h.evidenceId === other.evidenceId && h.liftedAt === null)!;
    expect((await call(`/api/retention/holds/${onOther.id}/lift`, { cookie: w.admin.cookie, body: { reason: "Disclosed" } })).status).toBe(200);
    await expectError(await call(`/api/retention/holds/${onOther.id}/lift`, { cookie: w.admin.cookie, body: { reason: "Again" } }), 409, "hold_lifted");
    await runJobAt(60);
    expect(await binIds(w.admin)).toEqual([]);
    expect((await status(w.admin.cookie, other.evidenceId)).state).toBe("purged");
    expect((await status(w.admin.cookie, item.evidenceId)).state).toBe("due");
  });
});

describe("the recycle bin", () => {
  it("keeps deleted items out of sight for the set period, restores them, then purges", async () => {
    const w = await world();
    const short = await createCategory(w.admin, "Short", { basis: "case_closed", count: 0, unit: "days" });
    const item = await upload(w.lead, w.case, short.id, 1);
    // The case list's count (kept on the case by triggers, migration 0035) follows every step below.
    await upload(w.lead, w.case, undefined, 2);
    const unfinished = await prepareEvidence(w.lead, w.case, new Uint8Array(100));
    expect((await call(`/api/cases/${w.case.id}/evidence`, { cookie: w.lead.cookie, body: unfinished.body })).status).toBe(201); // started, never completed: not counted
    expect(await listedItemCount(w.lead, w.case.id)).toBe(2);
    await expectError(await call("/api/retention/settings", { method: "PUT", cookie: w.admin.cookie, body: { binDays: 0 } }), 400);
    await expectError(await call("/api/retention/settings", { method: "PUT", cookie: w.admin.cookie, body: { binDays: 366 } }), 400);
    expect((await approve(w.admin, [item.evidenceId])).refused).toEqual([expect.objectContaining({ code: "not_due" })]);
    await closeCase(w.lead, w.case.id);
    await runJobAt(1);
    expect((await approve(w.admin, [item.evidenceId])).deleted).toEqual([item.evidenceId]);
    expect(await binIds(w.admin)).toEqual([item.evidenceId]);
    expect(await listedItemCount(w.lead, w.case.id)).toBe(1);

    // In the bin: gone for the case's members.
    await expectError(await call(`/api/evidence/${item.evidenceId}/key`, { cookie: w.lead.cookie }), 404);
    const listed = (await (await call(`/api/cases/${w.case.id}/evidence`, { cookie: w.lead.cookie })).json()) as { evidence: { id: string }[] };
    expect(listed.evidence.map((e) => e.id)).not.toContain(item.evidenceId);
    const gone = await call("/api/retention/gone", { cookie: w.lead.cookie, body: { evidenceIds: [item.evidenceId] } });
    expect(await gone.json()).toEqual({ gone: [item.evidenceId] });

    // Restored: back, whole.
    expect((await call(`/api/retention/bin/${item.evidenceId}/restore`, { cookie: w.admin.cookie, body: { reason: "Approved by mistake" } })).status).toBe(200);
    expect(await downloadEvidence(w.lead, item.evidenceId)).toHaveLength(5000);
    expect(await listedItemCount(w.lead, w.case.id)).toBe(2);
    await expectError(await call(`/api/retention/bin/${item.evidenceId}/restore`, { cookie: w.admin.cookie, body: { reason: "Kept after all" } }), 409, "not_in_bin");

    // Deleted again (default 7 days in the bin): kept at 6 days, purged after 7.
    await runJobAt(1);
    expect((await approve(w.admin, [item.evidenceId])).deleted).toEqual([item.evidenceId]);
    await runJobAt(6);
    expect(await binIds(w.admin)).toEqual([item.evidenceId]);
    await runJobAt(7.1);
    expect(await binIds(w.admin)).toEqual([]);
    expect(await listedItemCount(w.lead, w.case.id)).toBe(1); // purged: its row deleted, the count unchanged
    await expectError(await call(`/api/retention/bin/${item.evidenceId}/restore`, { cookie: w.admin.cookie, body: { reason: "Kept after all" } }), 404);
    const events = (await auditEvents()).filter((e) => e.target.id === item.evidenceId).map((e) => e.action);
    expect(events.filter((a) => a.startsWith("retention."))).toEqual(["retention.due", "retention.delete", "retention.restore", "retention.due", "retention.delete", "retention.shred", "retention.purge"]);
  });

  it("takes an uploader's request to delete their own mistake through the same approval", async () => {
    const w = await world();
    const colleague = await person(w.admin, "cole@example.org", "Cole Contributor");
    expect((await addMember(w.lead, w.case.id, colleague, "contributor")).status).toBe(201);
    const item = await upload(colleague, w.case, undefined, 9);
    await expectError(await call(`/api/retention/evidence/${item.evidenceId}/deletion-request`, { cookie: w.lead.cookie, body: { reason: "Not mine" } }), 403);
    const asked = await call(`/api/retention/evidence/${item.evidenceId}/deletion-request`, { cookie: colleague.cookie, body: { reason: "Photo of my own desk" } });
    expect(asked.status).toBe(200);
    expect(await dueIds(w.admin)).toEqual([item.evidenceId]);
    // Declined (administrators only, with a reason): kept, off the report; asked again, back on it.
    await expectError(await call(`/api/retention/evidence/${item.evidenceId}/decline`, { cookie: w.lead.cookie, body: { reason: "Keep it" } }), 403);
    expect((await call(`/api/retention/evidence/${item.evidenceId}/decline`, { cookie: w.admin.cookie, body: { reason: "Shows the suspect's reflection" } })).status).toBe(200);
    await expectError(await call(`/api/retention/evidence/${item.evidenceId}/decline`, { cookie: w.admin.cookie, body: { reason: "Again" } }), 409, "no_request");
    expect(await dueIds(w.admin)).toEqual([]);
    expect((await auditEvents()).find((e) => e.action === "retention.deletion_declined")?.details).toMatchObject({ reason: "Shows the suspect's reflection", requestReason: "Photo of my own desk" });
    expect((await call(`/api/retention/evidence/${item.evidenceId}/deletion-request`, { cookie: colleague.cookie, body: { reason: "Photo of my own desk" } })).status).toBe(200);
    expect(await dueIds(w.admin)).toEqual([item.evidenceId]);
    expect((await approve(w.admin, [item.evidenceId])).deleted).toEqual([item.evidenceId]);
    await runJobAt(8);
    const tombstone = (await status(w.admin.cookie, item.evidenceId)).tombstone!;
    expect(tombstone).toMatchObject({ reason: "request", requestedBy: colleague.id, requestReason: "Photo of my own desk", approvedBy: { id: w.admin.id } });
  });
});

/** Does `haystack` contain `needle`? */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe("purge", () => {
  it("leaves no byte of the item in any table or object: only the tombstone and the audit trail", async () => {
    const w = await world();
    const short = await createCategory(w.admin, "Short", { basis: "capture", count: 1, unit: "days" });
    // Its thumbnail (sent with the upload, as the app does) goes too.
    const thumbnail = await encryptThumbnail({ mediaType: "image/jpeg", width: 2, height: 2, bytes: new Uint8Array([0xff, 0xd8, 1, 2, 0xff, 0xd9]) }, w.case.caseKey.publicJwk);
    const item = await upload(w.lead, w.case, short.id, 7, 9 * 1024 * 1024, { thumbnail }); // two parts
    const kept = await upload(w.lead, w.case, undefined, 8);
    const details = await call(`/api/evidence/${item.evidenceId}/details`, { method: "PATCH", cookie: w.lead.cookie, body: { jwe: item.body.label, baseVersion: 0 } });
    expect(details.status).toBe(200);
    const row = (await storedItem(item.evidenceId))!;
    expect(row.thumbnail).toBe(thumbnail);
    const secrets = [row.manifest, row.file_key, row.label!, row.thumbnail!, String(item.body.label), row.manifest.split(".")[2]!].map((s) => new TextEncoder().encode(s));
    for (const part of item.parts) secrets.push(part.subarray(1000, 1064), part.subarray(part.length - 64));
    // Something derived from the item, stored under its key as a folder, goes with it.
    const derived = crypto.getRandomValues(new Uint8Array(256));
    await bucket.put(`${row.r2_key}/derived-1`, derived);
    secrets.push(derived.subarray(0, 64));

    await runJobAt(2);
    expect((await approve(w.admin, [item.evidenceId])).deleted).toEqual([item.evidenceId]);
    await runJobAt(10);

    // Every table's rows and every object, scanned.
    const tables = (await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_%' ESCAPE '\\'").all<{ name: string }>()).results;
    const stored: Uint8Array[] = [];
    for (const { name } of tables) stored.push(new TextEncoder().encode(JSON.stringify((await db.prepare(`SELECT * FROM "${name}"`).all()).results)));
    // And the case's object, where the item's record and details were (docs/storage-schema.md).
    const records = await backend.caseRecords(w.case.id);
    stored.push(new TextEncoder().encode(JSON.stringify(records)));
    expect([...records.items, ...records.details].some((r) => r.evidenceId === item.evidenceId)).toBe(false);
    expect(records.items.some((r) => r.evidenceId === kept.evidenceId)).toBe(true);
    let cursor: string | undefined;
    const keys: string[] = [];
    do {
      const page = await bucket.list({ cursor });
      for (const object of page.objects) {
        keys.push(object.key);
        stored.push(new Uint8Array(await (await bucket.get(object.key))!.arrayBuffer()));
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    expect(keys.some((k) => k.includes(item.evidenceId))).toBe(false);
    expect(keys.some((k) => k.includes(kept.evidenceId))).toBe(true);
    for (const [n, secret] of secrets.entries()) expect(stored.some((bytes) => contains(bytes, secret)), `secret ${n}`).toBe(false);
    for (const table of ["evidence", "evidence_parts", "evidence_details", "timestamps"]) {
      const json = JSON.stringify((await db.prepare(`SELECT * FROM "${table}"`).all()).results);
      expect(json.includes(item.evidenceId), table).toBe(false);
    }
    expect(await downloadEvidence(w.lead, kept.evidenceId)).toHaveLength(5000);

    // The tombstone: the manifest's SHA-512 as the upload events recorded it, the category, who approved and when.
    const tombstones = (await (await call("/api/retention/tombstones", { cookie: w.admin.cookie })).json()) as { tombstones: Tombstone[] };
    expect(tombstones.tombstones).toHaveLength(1);
    const events = await auditEvents();
    const started = events.find((e) => e.action === "evidence.upload_start" && e.target.id === item.evidenceId)!;
    expect(tombstones.tombstones[0]).toMatchObject({
      evidenceId: item.evidenceId,
      manifestSha512: (started.details as { manifestSha512: string }).manifestSha512,
      category: { id: short.id, name: "Short" },
      approvedBy: { id: w.admin.id },
      reason: "retention",
    });
    expect(tombstones.tombstones[0]!.purgedAt).not.toBeNull();
    expect(events.filter((e) => e.action === "retention.shred" && e.target.id === item.evidenceId)).toHaveLength(1);
    expect(events.filter((e) => e.action === "retention.purge" && e.target.id === item.evidenceId)).toHaveLength(1);
    // The audit trail keeps the item's history.
    expect(events.filter((e) => e.target.id === item.evidenceId).length).toBeGreaterThan(5);

    // Idempotent: run again, nothing more happens.
    await runJobAt(10);
    expect((await auditEvents()).filter((e) => e.action.startsWith("retention.")).length).toBe(events.filter((e) => e.action.startsWith("retention.")).length);
  });

  it("destroys the wraps a share holds with the item's own: in the bin the share serves it no more, after the purge no wrap or row of it is left", async () => {
    const w = await world();
    const short = await createCategory(w.admin, "Short", { basis: "capture", count: 1, unit: "days" });
    const item = await upload(w.lead, w.case, short.id, 9);
    const kept = await upload(w.lead, w.case, undefined, 10);
    const made = await share(w.lead, w.case.id, { type: "link", label: "Defence" }, { items: [item.evidenceId, kept.evidenceId], level: "download" });
    const { accessCode } = await json<CreatedShare>(made.response, 201);
    const { token } = await json<LinkSession>(await call(`/api/shared/links/${made.id}/open`, { body: { accessCode } }));
    const link = { headers: { Authorization: `Bearer ${token}` } };
    const shared = async () => (await json<ReceivedShare>(await call(`/api/shared/${made.id}`, link))).items.map((i) => i.id).sort();
    expect(await shared()).toEqual([item.evidenceId, kept.evidenceId].sort());
    const wrap = made.body.items.find((i) => i.evidenceId === item.evidenceId)!;

    await runJobAt(2);
    expect((await approve(w.admin, [item.evidenceId])).deleted).toEqual([item.evidenceId]);
    // In the bin: the share lists it no more and releases no key of it.
    expect(await shared()).toEqual([kept.evidenceId]);
    await expectError(await call(`/api/shared/${made.id}/items/${item.evidenceId}/key`, link), 404);

    await runJobAt(10);
    const rows = JSON.stringify([(await db.prepare("SELECT * FROM share_items").all()).results, await backend.caseShareItems(w.case.id)]);
    expect(rows.includes(item.evidenceId)).toBe(false);
    expect(rows.includes(wrap.fileKey)).toBe(false);
    expect(rows.includes(wrap.label)).toBe(false);
    // The other item still opens through the share.
    const view = await json<ReceivedShare>(await call(`/api/shared/${made.id}`, link));
    const shareKey = await unwrapShareKeyWithLink(view.shareKeyWrap, await deriveLinkKey(made.secret!, made.id));
    expect(await openItem(link, made.id, kept.evidenceId, shareKey)).toHaveLength(5000);
  });

  it("finishes a purge cut short after the key was shredded, whatever holds came after", async () => {
    const w = await world();
    const short = await createCategory(w.admin, "Short", { basis: "capture", count: 1, unit: "days" });
    const item = await upload(w.lead, w.case, short.id, 3);
    await runJobAt(2);
    await approve(w.admin, [item.evidenceId]);
    // The state a crash right after step 1 leaves: shredded (key gone, tombstone written), the object and rows still there.
    const at = new Date(Date.now() + 10 * 24 * 3600 * 1000).toISOString();
    await db.batch([
      db.prepare("UPDATE evidence SET file_key = '', label = NULL, purge_started_at = ? WHERE id = ?").bind(at, item.evidenceId),
    ]);
    expect((await hold(w.lead.cookie, { caseId: w.case.id, reason: "Late hold" })).status).toBe(201);
    expect((await binIds(w.admin))).toEqual([item.evidenceId]);
    expect((await status(w.admin.cookie, item.evidenceId)).state).toBe("purging");
    await expectError(await call(`/api/retention/bin/${item.evidenceId}/restore`, { cookie: w.admin.cookie, body: { reason: "Kept after all" } }), 409, "purging");
    await runJobAt(10);
    expect(await binIds(w.admin)).toEqual([]);
    expect((await bucket.list()).objects).toEqual([]);
    expect((await db.prepare("SELECT count(*) AS n FROM evidence_parts").first<{ n: number }>())!.n).toBe(0);
  });
});

describe("authorisation", () => {
  it("lets each action only to whom it belongs, and tells nobody of a case they are not in", async () => {
    const w = await world();
    const viewer = await person(w.admin, "vi@example.org", "Vi Viewer");
    const outsider = await person(w.admin, "oz@example.org", "Oz Outsider");
    expect((await addMember(w.lead, w.case.id, viewer, "viewer")).status).toBe(201);
    const item = await upload(w.lead, w.case, undefined, 1);
    const { categories } = (await (await call("/api/retention/categories", { cookie: viewer.cookie })).json()) as { categories: { id: string; isDefault: boolean }[] };
    const general = categories.find((c) => c.isDefault)!.id;

    // Administrators only.
    for (const [path, method, body] of [
      ["/api/retention/categories", "POST", { name: "X", rule: { basis: "indefinite" } }],
      [`/api/retention/categories/${general}`, "PATCH", { name: "Y", reason: "Because" }],
      ["/api/retention/settings", "GET", undefined],
      ["/api/retention/settings", "PUT", { binDays: 9 }],
      ["/api/retention/due", "GET", undefined],
      ["/api/retention/approve", "POST", { evidenceIds: [item.evidenceId] }],
      ["/api/retention/bin", "GET", undefined],
      [`/api/retention/bin/${item.evidenceId}/restore`, "POST", {}],
      ["/api/retention/tombstones", "GET", undefined],
      ["/api/retention/holds", "GET", undefined],
      ["/api/retention/run", "POST", undefined],
    ] as const) {
      await expectError(await call(path, { method, cookie: w.lead.cookie, body }), 403);
    }
    // Holds: a viewer cannot place one; an outsider does not learn the case exists; the lead can.
    await expectError(await hold(viewer.cookie, { caseId: w.case.id, reason: "Because" }), 403);
    await expectError(await hold(outsider.cookie, { caseId: w.case.id, reason: "Because" }), 404);
    expect((await hold(w.lead.cookie, { caseId: w.case.id, evidenceId: item.evidenceId, reason: "Exhibit" })).status).toBe(201);
    await expectError(await call(`/api/retention/cases/${w.case.id}/holds`, { cookie: outsider.cookie }), 404);
    expect((await call(`/api/retention/cases/${w.case.id}/holds`, { cookie: viewer.cookie })).status).toBe(200);
    // Status: members and administrators.
    await expectError(await call(`/api/retention/evidence/${item.evidenceId}`, { cookie: outsider.cookie }), 404);
    expect((await status(viewer.cookie, item.evidenceId)).holds).toHaveLength(1);
    expect((await status(w.admin.cookie, item.evidenceId)).state).toBe("kept");
    // Category change: leads and administrators, not viewers.
    const keep = await createCategory(w.admin, "Keep", { basis: "indefinite" });
    await expectError(await call(`/api/retention/evidence/${item.evidenceId}/category`, { method: "PUT", cookie: viewer.cookie, body: { categoryId: keep.id, reason: "Because" } }), 403);
    await expectError(await call(`/api/retention/evidence/${item.evidenceId}/category`, { method: "PUT", cookie: outsider.cookie, body: { categoryId: keep.id, reason: "Because" } }), 404);
    expect((await call(`/api/retention/evidence/${item.evidenceId}/category`, { method: "PUT", cookie: w.admin.cookie, body: { categoryId: keep.id, reason: "Policy" } })).status).toBe(200);
    // Deletion requests: only the uploader.
    await expectError(await call(`/api/retention/evidence/${item.evidenceId}/deletion-request`, { cookie: viewer.cookie, body: { reason: "Because" } }), 403);
    await expectError(await call(`/api/retention/evidence/${item.evidenceId}/deletion-request`, { cookie: outsider.cookie, body: { reason: "Because" } }), 404);
    // Gone: an outsider's device would drop what it may not see.
    expect(await (await call("/api/retention/gone", { cookie: outsider.cookie, body: { evidenceIds: [item.evidenceId] } })).json()).toEqual({ gone: [item.evidenceId] });
    expect(await (await call("/api/retention/gone", { cookie: viewer.cookie, body: { evidenceIds: [item.evidenceId] } })).json()).toEqual({ gone: [] });
    // The refusals are on the record.
    const denied = (await auditEvents()).filter((e) => e.outcome === "denied");
    expect(denied.length).toBeGreaterThanOrEqual(13);
  });
});

describe("migration 0018 on an existing installation", () => {
  it("counts each case's existing items for the case list, leaving out items in the bin and unfinished uploads", async () => {
    const w = await world();
    await upload(w.lead, w.case, undefined, 1);
    await upload(w.lead, w.case, undefined, 2);
    const binned = await upload(w.lead, w.case, undefined, 3);
    await db.prepare("UPDATE evidence SET deleted_at = ? WHERE id = ?").bind(new Date().toISOString(), binned.evidenceId).run();
    // As the data was before the migration: no count kept.
    await db.prepare("UPDATE cases SET evidence_count = 0").run();
    expect(await listedItemCount(w.lead, w.case.id)).toBe(0);
    const statements = countMigration.replace(/^--.*$/gm, "").split(/;\s*$/m).map((q) => q.trim()).filter((q) => /^UPDATE\b/.test(q));
    expect(statements).toHaveLength(1);
    for (const statement of statements) await db.prepare(statement).run();
    expect(await listedItemCount(w.lead, w.case.id)).toBe(2);
  });

  it("puts every organisation's existing evidence in a category kept indefinitely, and marks cases closed before it", async () => {
    const w = await world();
    const item = await upload(w.lead, w.case, undefined, 1);
    await closeCase(w.lead, w.case.id);
    // As the data was before the migration: no categories, no settings, no dispositions.
    await db.batch([
      db.prepare("UPDATE evidence SET category_id = NULL"),
      db.prepare("DELETE FROM retention_settings"),
      db.prepare("DELETE FROM retention_categories"),
      db.prepare("UPDATE cases SET disposition = NULL, closed_at = NULL"),
    ]);
    const statements = retentionMigration.replace(/^--.*$/gm, "").split(/;\s*$/m).map((q) => q.trim()).filter((q) => /^(INSERT|UPDATE)\b/.test(q));
    expect(statements).toHaveLength(4);
    for (const statement of statements) await db.prepare(statement).run();

    const categories = (await db.prepare("SELECT id, name, basis FROM retention_categories").all<{ id: string; name: string; basis: string }>()).results;
    expect(categories).toEqual([{ id: expect.any(String), name: "General", basis: "indefinite" }]);
    const settings = await db.prepare("SELECT default_category_id, bin_days, auto_delete_days FROM retention_settings").first();
    expect(settings).toEqual({ default_category_id: categories[0]!.id, bin_days: 7, auto_delete_days: null });
    expect(await db.prepare("SELECT category_id FROM evidence WHERE id = ?").bind(item.evidenceId).first()).toEqual({ category_id: categories[0]!.id });
    const closed = await db.prepare("SELECT disposition, closed_at, updated_at FROM cases WHERE id = ?").bind(w.case.id).first<{ disposition: string; closed_at: string; updated_at: string }>();
    expect(closed).toMatchObject({ disposition: "not_recorded", closed_at: closed!.updated_at });
    await runJobAt(100 * 366);
    expect(await dueIds(w.admin)).toEqual([]);
    expect((await status(w.lead.cookie, item.evidenceId)).explanation).toMatch(/General, is kept indefinitely/);
  });
});
