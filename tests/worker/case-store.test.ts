/**
 * What grows with evidence lives in each case's CaseStore object, not in D1 (issue 24, item 2;
 * docs/storage-schema.md, "What grows with evidence"), and rows written before that layout move
 * there by the daily job without a moment where an item cannot be read.
 */
import { describe, expect, it } from "vitest";
import type { EvidenceList, EvidenceSummary, EvidenceThumbnails } from "../../shared/api/cases";
import { deriveLinkKey, encryptThumbnail, unwrapShareKeyWithLink } from "../../shared/crypto";
import { toHex } from "../../shared/crypto/encoding";
import { auditEvents } from "./audit-helpers";
import { backend, db } from "./backend";
import { downloadEvidence, filingBody, openCase, prepareEvidence, randomBytes, sendParts, storedItem, uploadCapture, withKeys, type Person } from "./evidence-helpers";
import { call, setUpOrganisation } from "./helpers";
import type { CreatedShare, LinkSession, ReceivedShare, ShareList } from "../../shared/api/shares";
import { json, openItem, share } from "./share-helpers";

const PICTURE = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);

async function sha256Ref(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  return btoa(String.fromCharCode(...digest)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** An item with a thumbnail and two details versions, uploaded through the API. */
async function itemWithEverything(lead: Person, caseDetail: Awaited<ReturnType<typeof openCase>>, seed: number) {
  const prepared = await prepareEvidence(lead, caseDetail, randomBytes(9 * 1024 * 1024, seed), `photo-${seed}.jpg`); // two parts
  const thumbnail = await encryptThumbnail({ mediaType: "image/jpeg", width: 2, height: 2, bytes: PICTURE }, caseDetail.caseKey.publicJwk);
  const started = await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: { ...prepared.body, thumbnail, details: prepared.body.label } });
  expect(started.status, await started.clone().text()).toBe(201);
  for (const response of await sendParts(lead, prepared)) expect(response.status).toBe(204);
  expect((await call(`/api/evidence/${prepared.evidenceId}/complete`, { method: "POST", cookie: lead.cookie })).status).toBe(200);
  const edited = await call(`/api/evidence/${prepared.evidenceId}/details`, { method: "PATCH", cookie: lead.cookie, body: { jwe: thumbnail, baseVersion: 1 } });
  expect(edited.status, await edited.clone().text()).toBe(200);
  return { ...prepared, thumbnail };
}

/** Everything a member reads of a case's items, through the API. */
async function readAll(lead: Person, caseId: string, ids: string[]) {
  const list = ((await (await call(`/api/cases/${caseId}/evidence`, { cookie: lead.cookie })).json()) as EvidenceList).evidence;
  const out = [];
  for (const id of ids) {
    const one = (await (await call(`/api/evidence/${id}`, { cookie: lead.cookie })).json()) as EvidenceSummary;
    const versions = (await (await call(`/api/evidence/${id}/details/versions`, { cookie: lead.cookie })).json()) as { versions: { version: number; jwe: string }[] };
    const key = (await (await call(`/api/evidence/${id}/key`, { cookie: lead.cookie })).json()) as { fileKey: string };
    out.push({ one, versions: versions.versions.map((v) => [v.version, v.jwe]), fileKey: key.fileKey });
  }
  // Lists leave thumbnails out; the app fetches those of the items it shows.
  const shown = list.filter((e) => e.hasThumbnail).map((e) => e.id);
  const thumbnails = shown.length === 0 ? [] : ((await (await call(`/api/cases/${caseId}/thumbnails?ids=${shown.join(",")}`, { cookie: lead.cookie })).json()) as EvidenceThumbnails).thumbnails;
  const thumbnailOf = (id: string) => thumbnails.find((t) => t.id === id)?.thumbnail ?? null;
  return { list: list.map((e) => [e.id, e.manifest, e.label, thumbnailOf(e.id), e.details?.jwe]), items: out };
}

describe("the case's object", () => {
  it("holds each item's record and details, named from D1 by their SHA-256; D1 keeps the small row and no part rows once complete", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const caseDetail = await openCase(lead, "2026-2401");
    const item = await itemWithEverything(lead, caseDetail, 1);

    const row = (await db.prepare("SELECT * FROM evidence WHERE id = ?").bind(item.evidenceId).first<Record<string, unknown>>())!;
    expect(row).toMatchObject({ status: "complete", r2_key: "", signer_kid: "", manifest: "", file_key: "", label: null, thumbnail: null, filing: null });
    expect(await db.prepare("SELECT count(*) AS n FROM evidence_parts WHERE evidence_id = ?").bind(item.evidenceId).first("n")).toBe(0);
    // The details versions are no D1 rows either: a chain of records in the object, the latest named by the item's record.
    expect(await db.prepare("SELECT count(*) AS n FROM evidence_details").first("n")).toBe(0);

    const records = await backend.caseRecords(caseDetail.id);
    expect(records.items).toHaveLength(1);
    const record = records.items[0]!;
    expect(record).toMatchObject({ evidenceId: item.evidenceId, ref: row.record_ref, body: { r2_key: `evidence/${caseDetail.id}/${item.evidenceId}`, signer_kid: lead.signing.kid, manifest: item.manifest, file_key: (item.body.fileKey as { jwe: string }).jwe, label: item.body.label, thumbnail: item.thumbnail, filing: null } });
    expect(await sha256Ref(JSON.stringify(record.body))).toBe(record.ref);
    expect(records.details).toHaveLength(2);
    const version = (n: number) => records.details.find((d) => d.body.version === n)!;
    expect(version(1).body).toMatchObject({ jwe: item.body.label, case_kid: null, case_jwe: null, edited_by: lead.id, prev: null });
    expect(version(2).body).toMatchObject({ jwe: item.thumbnail, edited_by: lead.id, prev: version(1).ref });
    expect(record.body.details).toEqual({ version: 2, ref: version(2).ref });
    for (const d of records.details) expect(await sha256Ref(JSON.stringify(d.body))).toBe(d.ref);

    // Read back whole through every route, and the file opens.
    const read = await readAll(lead, caseDetail.id, [item.evidenceId]);
    expect(read.list).toEqual([[item.evidenceId, item.manifest, item.body.label, item.thumbnail, item.thumbnail]]);
    expect(read.items[0]!.versions).toEqual([[1, item.body.label], [2, item.thumbnail]]);
    expect(read.items[0]!.one).toMatchObject({ partsReceived: 2, partCount: 2 });
    const sha = async (bytes: Uint8Array) => toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
    expect(await sha(await downloadEvidence(lead, item.evidenceId))).toBe(await sha(randomBytes(9 * 1024 * 1024, 1)));
  });

  it("keeps nothing of a cancelled upload", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const caseDetail = await openCase(lead, "2026-2402");
    const prepared = await prepareEvidence(lead, caseDetail, randomBytes(3000, 2));
    expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: { ...prepared.body, details: prepared.body.label } })).status).toBe(201);
    expect((await backend.caseRecords(caseDetail.id)).items).toHaveLength(1);
    expect((await call(`/api/evidence/${prepared.evidenceId}`, { method: "DELETE", cookie: lead.cookie })).status).toBe(204);
    expect(await backend.caseRecords(caseDetail.id)).toEqual({ items: [], details: [] });
  });
});

describe("moving rows written before the case objects (migration 0036)", () => {
  it("moves every older item's record and details out of D1 by the daily job, every read answering the same before, during and after", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const caseDetail = await openCase(lead, "2026-2403");
    const items = [await itemWithEverything(lead, caseDetail, 3), await itemWithEverything(lead, caseDetail, 4)];
    const ids = items.map((i) => i.evidenceId);
    const current = await readAll(lead, caseDetail.id, ids);
    const eventsBefore = await auditEvents();

    // The state an installation from before 0036 has: the fields in D1's own columns, and the details
    // versions D1 rows, with their contents (the first item's) or naming a record of the object
    // (the second's: versions saved between 0036 and the details' chains).
    const records = await backend.caseRecords(caseDetail.id);
    for (const r of records.items) {
      const b = r.body as { r2_key: string; signer_kid: string; manifest: string; file_key: string; label: string; thumbnail: string; filing: null };
      await db
        .prepare("UPDATE evidence SET r2_key = ?, signer_kid = ?, manifest = ?, file_key = ?, label = ?, thumbnail = ?, filing = ?, record_ref = NULL WHERE id = ?")
        .bind(b.r2_key, b.signer_kid, b.manifest, b.file_key, b.label, b.thumbnail, b.filing, r.evidenceId)
        .run();
    }
    for (const r of records.details) {
      const b = r.body as { version: number; jwe: string; case_kid: string | null; case_jwe: string | null; edited_by: string; edited_at: string };
      const inRow = r.evidenceId === ids[0];
      await db
        .prepare("INSERT INTO evidence_details (evidence_id, version, jwe, case_kid, case_jwe, edited_by, edited_at, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(r.evidenceId, b.version, inRow ? b.jwe : "", inRow ? b.case_kid : null, inRow ? b.case_jwe : null, b.edited_by, b.edited_at, inRow ? null : r.ref)
        .run();
    }
    expect(await readAll(lead, caseDetail.id, ids)).toEqual(current);

    // The daily job moves every record and details version, and every read answers the same.
    await backend.runScheduled(new Date());
    const moved = (await db.prepare("SELECT count(*) AS n FROM evidence WHERE case_id = ? AND record_ref IS NOT NULL").bind(caseDetail.id).first<number>("n"))!;
    expect(moved).toBe(2);
    expect(await db.prepare("SELECT count(*) AS n FROM evidence_details").first("n")).toBe(0);
    // Each item's record names the latest of a chain of two; nothing else is left in the object.
    const after = await backend.caseRecords(caseDetail.id);
    expect(after.items.map((r) => (r.body.details as { version: number }).version)).toEqual([2, 2]);
    expect(after.details).toHaveLength(4);
    for (const id of ids) expect(await storedItem(id)).toMatchObject({ manifest: items[ids.indexOf(id)]!.manifest, thumbnail: items[ids.indexOf(id)]!.thumbnail });
    const row = (await db.prepare("SELECT r2_key, signer_kid, manifest, file_key, label, thumbnail FROM evidence WHERE id = ?").bind(ids[0]).first())!;
    expect(row).toEqual({ r2_key: "", signer_kid: "", manifest: "", file_key: "", label: null, thumbnail: null });
    expect(await readAll(lead, caseDetail.id, ids)).toEqual(current);

    // The audit trail is not touched by the move: the same events (the reads above add views), the chain whole.
    const eventsAfter = await auditEvents();
    expect(eventsAfter.slice(0, eventsBefore.length)).toEqual(eventsBefore);
    // Run again: nothing left to move, nothing changes.
    await backend.runScheduled(new Date());
    expect((await backend.caseRecords(caseDetail.id)).items).toHaveLength(2);
  });

  it("chains a details edit onto versions still in D1 rows, moving the item first", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const caseDetail = await openCase(lead, "2026-2408");
    const item = await itemWithEverything(lead, caseDetail, 8);
    const before = await readAll(lead, caseDetail.id, [item.evidenceId]);
    const records = await backend.caseRecords(caseDetail.id);
    const b = records.items[0]!.body as { r2_key: string; signer_kid: string; manifest: string; file_key: string; label: string; thumbnail: string };
    await db
      .prepare("UPDATE evidence SET r2_key = ?, signer_kid = ?, manifest = ?, file_key = ?, label = ?, thumbnail = ?, record_ref = NULL WHERE id = ?")
      .bind(b.r2_key, b.signer_kid, b.manifest, b.file_key, b.label, b.thumbnail, item.evidenceId)
      .run();
    for (const r of records.details) {
      const d = r.body as { version: number; jwe: string; edited_by: string; edited_at: string };
      await db.prepare("INSERT INTO evidence_details (evidence_id, version, jwe, edited_by, edited_at) VALUES (?, ?, ?, ?, ?)").bind(item.evidenceId, d.version, d.jwe, d.edited_by, d.edited_at).run();
    }
    await backend.dropCaseRecords(caseDetail.id);
    expect(await readAll(lead, caseDetail.id, [item.evidenceId])).toEqual(before);

    // An edit on an old base is refused and changes nothing; one on the latest chains on.
    const stale = await call(`/api/evidence/${item.evidenceId}/details`, { method: "PATCH", cookie: lead.cookie, body: { jwe: item.body.label, baseVersion: 1 } });
    expect(stale.status).toBe(409);
    const edited = await call(`/api/evidence/${item.evidenceId}/details`, { method: "PATCH", cookie: lead.cookie, body: { jwe: item.body.label, baseVersion: 2 } });
    expect(edited.status, await edited.clone().text()).toBe(200);
    expect(((await edited.json()) as EvidenceSummary).details).toMatchObject({ version: 3, jwe: item.body.label, editedBy: lead.id });
    const read = await readAll(lead, caseDetail.id, [item.evidenceId]);
    expect(read.items[0]!.versions).toEqual([[1, item.body.label], [2, item.thumbnail], [3, item.body.label]]);
    expect(await db.prepare("SELECT count(*) AS n FROM evidence_details").first("n")).toBe(0);
    const after = await backend.caseRecords(caseDetail.id);
    expect(after.items).toHaveLength(1);
    expect(after.details.map((d) => d.body.version).sort()).toEqual([1, 2, 3]);
  });

  it("leaves a capture in its holding place for its filing, which moves it", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const caseDetail = await openCase(lead, "2026-2404");
    const capture = await uploadCapture(lead, randomBytes(4000, 6));
    const record = (await backend.caseRecords(capture.placeId)).items[0]!;
    const b = record.body as { r2_key: string; signer_kid: string; manifest: string; file_key: string; label: string };
    await db.prepare("UPDATE evidence SET r2_key = ?, signer_kid = ?, manifest = ?, file_key = ?, label = ?, record_ref = NULL WHERE id = ?").bind(b.r2_key, b.signer_kid, b.manifest, b.file_key, b.label, capture.evidenceId).run();
    await backend.dropCaseRecords(capture.placeId);

    await backend.runScheduled(new Date());
    expect(await db.prepare("SELECT record_ref FROM evidence WHERE id = ?").bind(capture.evidenceId).first("record_ref")).toBeNull();
    const mine = ((await (await call(`/api/cases/${capture.placeId}/evidence`, { cookie: lead.cookie })).json()) as EvidenceList).evidence;
    expect(mine.map((e) => [e.id, e.manifest, e.label])).toEqual([[capture.evidenceId, b.manifest, b.label]]);

    const filed = await call(`/api/evidence/${capture.evidenceId}/file`, { cookie: lead.cookie, body: await filingBody(lead, capture, caseDetail) });
    expect(filed.status, await filed.clone().text()).toBe(200);
    expect(await storedItem(capture.evidenceId)).toMatchObject({ case_id: caseDetail.id, manifest: b.manifest });
    expect((await db.prepare("SELECT record_ref, manifest, file_key FROM evidence WHERE id = ?").bind(capture.evidenceId).first())).toMatchObject({ manifest: "", file_key: "" });
    expect(await backend.caseRecords(capture.placeId)).toEqual({ items: [], details: [] });
    expect(await downloadEvidence(lead, capture.evidenceId)).toEqual(randomBytes(4000, 6));
  });
});

describe("moving shares made before the case objects (migration 0037)", () => {
  it("moves a share's items and wraps out of D1 by the daily job; the recipient and the sharer see the same before and after, a revoked share keeps no wrap", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const caseDetail = await openCase(lead, "2026-2405");
    const items = [await itemWithEverything(lead, caseDetail, 7), await itemWithEverything(lead, caseDetail, 8)];
    const ids = items.map((i) => i.evidenceId);
    const chosen = await share(lead, caseDetail.id, { type: "link", label: "Defence" }, { items: [ids[0]!], level: "download" });
    const whole = await share(lead, caseDetail.id, { type: "link", label: "Court" }, { level: "view" });
    const revoked = await share(lead, caseDetail.id, { type: "link", label: "Withdrawn" }, { items: ids, level: "view" });
    const links: { made: typeof chosen; auth: { headers: Record<string, string> } }[] = [];
    for (const made of [chosen, whole]) {
      const { accessCode } = await json<CreatedShare>(made.response, 201);
      const { token } = await json<LinkSession>(await call(`/api/shared/links/${made.id}/open`, { body: { accessCode } }));
      links.push({ made, auth: { headers: { Authorization: `Bearer ${token}` } } });
    }
    expect((await json<CreatedShare>(revoked.response, 201)).share.itemCount).toBe(2);
    expect((await call(`/api/shares/${revoked.id}/revoke`, { method: "POST", cookie: lead.cookie })).status).toBe(200);
    const seen = async () => ({
      shares: (await json<ShareList>(await call(`/api/cases/${caseDetail.id}/shares`, { cookie: lead.cookie }))).shares.map((s) => [s.id, s.itemCount, s.status]),
      received: await Promise.all(links.map(async (l) => (await json<ReceivedShare>(await call(`/api/shared/${l.made.id}`, l.auth))).items.map((i) => [i.id, i.manifest]))),
    });
    const before = await seen();
    expect(before.received.map((r) => r.length)).toEqual([1, 2]);

    // The state an installation from before 0037 has: the share items in D1 (a revoked share's without wraps), the object holding none.
    const stored = await backend.caseShareItems(caseDetail.id);
    expect(stored).toHaveLength(5);
    for (const i of stored) {
      await db.prepare("INSERT INTO share_items (share_id, evidence_id, file_key, label) VALUES (?, ?, ?, ?)").bind(i.shareId, i.evidenceId, i.fileKey, i.label).run();
    }
    await db.prepare("UPDATE shares SET items_in_store = 0 WHERE case_id = ?").bind(caseDetail.id).run();
    await backend.dropCaseShareItems(caseDetail.id);
    expect(await seen()).toEqual(before);
    await backend.runScheduled(new Date());
    expect(await db.prepare("SELECT count(*) AS n FROM shares WHERE case_id = ? AND items_in_store = 0").bind(caseDetail.id).first("n")).toBe(0);
    expect(await db.prepare("SELECT count(*) AS n FROM share_items").first("n")).toBe(0);
    const moved = await backend.caseShareItems(caseDetail.id);
    expect(moved).toEqual(stored);
    expect(moved.filter((i) => i.shareId === revoked.id && (i.fileKey !== null || i.label !== null))).toEqual([]);
    expect(await seen()).toEqual(before);
    expect(await openItem(links[0]!.auth, chosen.id, ids[0]!, await linkShareKey(chosen, links[0]!.auth))).toEqual(randomBytes(9 * 1024 * 1024, 7));
  });

  it("reads a share not yet moved from D1, as before", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const caseDetail = await openCase(lead, "2026-2406");
    const item = await itemWithEverything(lead, caseDetail, 9);
    const chosen = await share(lead, caseDetail.id, { type: "link", label: "Defence" }, { items: [item.evidenceId], level: "download" });
    const { accessCode } = await json<CreatedShare>(chosen.response, 201);
    const { token } = await json<LinkSession>(await call(`/api/shared/links/${chosen.id}/open`, { body: { accessCode } }));
    const auth = { headers: { Authorization: `Bearer ${token}` } };
    const [stored] = await backend.caseShareItems(caseDetail.id);
    await db.prepare("INSERT INTO share_items (share_id, evidence_id, file_key, label) VALUES (?, ?, ?, ?)").bind(stored!.shareId, stored!.evidenceId, stored!.fileKey, stored!.label).run();
    await db.prepare("UPDATE shares SET items_in_store = 0 WHERE id = ?").bind(chosen.id).run();
    await backend.dropCaseShareItems(caseDetail.id);
    expect((await json<ShareList>(await call(`/api/cases/${caseDetail.id}/shares`, { cookie: lead.cookie }))).shares[0]!.itemCount).toBe(1);
    expect(await openItem(auth, chosen.id, item.evidenceId, await linkShareKey(chosen, auth))).toEqual(randomBytes(9 * 1024 * 1024, 9));
  });
});

/** The share key, as the recipient's browser opens it with the link's secret. */
async function linkShareKey(made: { id: string; secret: string | null }, auth: { headers: Record<string, string> }) {
  const view = await json<ReceivedShare>(await call(`/api/shared/${made.id}`, auth));
  return unwrapShareKeyWithLink(view.shareKeyWrap, await deriveLinkKey(made.secret!, made.id));
}
