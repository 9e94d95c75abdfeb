/** Evidence thumbnails (docs/evidence-format.md §5.2): stored as the device encrypted them, to the case key; lists say which items have one, and members fetch them apart. */
import { describe, expect, it } from "vitest";
import type { EvidenceList, EvidenceThumbnails } from "../../shared/api/cases";
import { decryptThumbnail, encryptLabel, toBase64url, encryptThumbnail, generateCaseKeyPair, unwrapCaseKey } from "../../shared/crypto";
import { db } from "./backend";
import { addMember, openCase, prepareEvidence, randomBytes, sendParts, storedItem, withKeys, type Person } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";

/** A recognisable stand-in for a JPEG: a thumbnail stored in the clear would show this text. */
const PICTURE = new TextEncoder().encode("\xff\xd8 PLAINTEXT-THUMBNAIL-MARKER of the harbour fire \xff\xd9");

describe("evidence thumbnails", () => {
  it("are stored only as ciphertext to the case key, listed with the item and opened by a member", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const found = await openCase(lead, "2026-0510");
    const prepared = await prepareEvidence(lead, found, randomBytes(5000), "harbour.jpg");
    const thumbnail = await encryptThumbnail({ mediaType: "image/jpeg", width: 240, height: 160, bytes: PICTURE }, found.caseKey.publicJwk);
    const started = await call(`/api/cases/${found.id}/evidence`, { cookie: lead.cookie, body: { ...prepared.body, thumbnail } });
    expect(started.status, await started.clone().text()).toBe(201);
    for (const response of await sendParts(lead, prepared)) expect(response.status).toBe(204);
    expect((await call(`/api/evidence/${prepared.evidenceId}/complete`, { method: "POST", cookie: lead.cookie })).status).toBe(200);

    const row = (await storedItem(prepared.evidenceId)) as { thumbnail: string } | null;
    expect(row!.thumbnail).toBe(thumbnail);
    // The server holds a JWE to the case key, whose ciphertext shows neither the picture nor its base64url.
    expect(JSON.parse(atobUrl(row!.thumbnail.split(".")[0]!))).toMatchObject({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: "custody-thumbnail+jwe", kid: found.caseKey.kid });
    const ciphertext = atobUrl(row!.thumbnail.split(".")[3]!);
    for (const shown of ["PLAINTEXT-THUMBNAIL-MARKER", toBase64url(PICTURE).slice(4, 40)]) {
      expect(ciphertext).not.toContain(shown);
      expect(row!.thumbnail).not.toContain(shown);
    }

    // The list says it has one but leaves it out (most of an item's bytes); the app fetches it apart.
    const list = (await (await call(`/api/cases/${found.id}/evidence`, { cookie: lead.cookie })).json()) as EvidenceList;
    const listed = list.evidence.find((e) => e.id === prepared.evidenceId)!;
    expect(listed.hasThumbnail).toBe(true);
    expect(JSON.stringify(list)).not.toContain(thumbnail.slice(-40));
    expect(await thumbnailsOf(lead, found.id, [prepared.evidenceId])).toEqual({ [prepared.evidenceId]: thumbnail });
    const keys = (await (await call(`/api/cases/${found.id}/keys`, { cookie: lead.cookie })).json()) as { keys: { kid: string; wrap: string }[] };
    const caseKey = await unwrapCaseKey(keys.keys.find((k) => k.kid === listed.caseKid)!.wrap, lead.encryption.privateKey);
    const opened = await decryptThumbnail(thumbnail, caseKey.privateKey);
    expect(opened).toMatchObject({ mediaType: "image/jpeg", width: 240, height: 160 });
    expect(new TextDecoder().decode(opened.bytes)).toContain("PLAINTEXT-THUMBNAIL-MARKER");

    // An item sent without one (a PDF, or uploaded before thumbnails) lists with none: the app shows its type icon.
    const plain = await prepareEvidence(lead, found, randomBytes(100, 2), "statement.pdf");
    expect((await call(`/api/cases/${found.id}/evidence`, { cookie: lead.cookie, body: plain.body })).status).toBe(201);
    const again = (await (await call(`/api/cases/${found.id}/evidence`, { cookie: lead.cookie })).json()) as EvidenceList;
    expect(again.evidence.find((e) => e.id === plain.evidenceId)!.hasThumbnail).toBe(false);
    expect(await thumbnailsOf(lead, found.id, [plain.evidenceId, prepared.evidenceId])).toEqual({ [prepared.evidenceId]: thumbnail });
  });

  it("are fetched only by the case's members, only for items of that case they see in its list", async () => {
    const admin = await setUpOrganisation();
    const lead = await withKeys(await addUser(admin.cookie, { email: "lead@example.org", name: "Lee Lead", role: "investigator" }));
    const member = await withKeys(await addUser(admin.cookie, { email: "member@example.org", name: "Mo Member", role: "investigator" }));
    const stranger = await withKeys(await addUser(admin.cookie, { email: "stranger@example.org", name: "Sam Stranger", role: "investigator" }));
    const found = await openCase(lead, "2026-0513");
    const other = await openCase(stranger, "2026-0514");
    expect((await addMember(lead, found.id, member, "contributor")).status).toBe(201);

    const withThumbnail = async (uploader: Person, caseDetail: typeof found, seed: number, complete: boolean) => {
      const prepared = await prepareEvidence(uploader, caseDetail, randomBytes(3000, seed), `${seed}.jpg`);
      const thumbnail = await encryptThumbnail({ mediaType: "image/jpeg", width: 4, height: 3, bytes: PICTURE }, caseDetail.caseKey.publicJwk);
      expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: uploader.cookie, body: { ...prepared.body, thumbnail } })).status).toBe(201);
      for (const response of await sendParts(uploader, prepared)) expect(response.status).toBe(204);
      if (complete) expect((await call(`/api/evidence/${prepared.evidenceId}/complete`, { method: "POST", cookie: uploader.cookie })).status).toBe(200);
      return { id: prepared.evidenceId, thumbnail };
    };
    const done = await withThumbnail(lead, found, 10, true);
    const leadsUpload = await withThumbnail(lead, found, 11, false);
    const binned = await withThumbnail(lead, found, 12, true);
    const elsewhere = await withThumbnail(stranger, other, 13, true);
    await db.prepare("UPDATE evidence SET deleted_at = ?, purge_after = ? WHERE id = ?").bind(new Date().toISOString(), new Date(Date.now() + 86_400_000).toISOString(), binned.id).run();
    const all = [done.id, leadsUpload.id, binned.id, elsewhere.id];

    // The lead sees their own upload in progress; the member sees only finished items; neither sees the bin or another case's item.
    expect(await thumbnailsOf(lead, found.id, all)).toEqual({ [done.id]: done.thumbnail, [leadsUpload.id]: leadsUpload.thumbnail });
    expect(await thumbnailsOf(member, found.id, all)).toEqual({ [done.id]: done.thumbnail });
    // Someone who is not a member gets nothing, as for the list.
    await expectError(await call(`/api/cases/${found.id}/thumbnails?ids=${done.id}`, { cookie: stranger.cookie }), 404);
    // Bad input is refused with a clear error.
    for (const ids of ["", "not-an-id", Array.from({ length: 51 }, () => done.id).join(",")]) {
      await expectError(await call(`/api/cases/${found.id}/thumbnails?ids=${ids}`, { cookie: lead.cookie }), 400);
    }
    await expectError(await call(`/api/cases/${found.id}/thumbnails`, { cookie: lead.cookie }), 400);
  });

  it("refuses a thumbnail that is not a thumbnail envelope to the current case key, and starts nothing", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const found = await openCase(lead, "2026-0511");
    const otherKey = await generateCaseKeyPair();
    const cases = [
      { thumbnail: await encryptLabel({ fileName: "a.jpg", mediaType: "image/jpeg" }, found.caseKey.publicJwk), message: /custody-thumbnail\+jwe/ },
      { thumbnail: await encryptThumbnail({ mediaType: "image/jpeg", width: 1, height: 1, bytes: PICTURE }, otherKey.publicJwk), message: /expected key/ },
      { thumbnail: "not a jwe", message: /JWE/ },
    ];
    for (const { thumbnail, message } of cases) {
      const prepared = await prepareEvidence(lead, found, randomBytes(100, 3));
      const error = await expectError(await call(`/api/cases/${found.id}/evidence`, { cookie: lead.cookie, body: { ...prepared.body, thumbnail } }), 400);
      expect(error.error.message).toMatch(message);
      expect(await db.prepare("SELECT id FROM evidence WHERE id = ?").bind(prepared.evidenceId).first()).toBeNull();
    }
  });

  it("may come with the completion of an upload started without one (its first part went before the thumbnail was made), checked like one sent with the start", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const found = await openCase(lead, "2026-0512");
    const thumbnail = await encryptThumbnail({ mediaType: "image/jpeg", width: 240, height: 135, bytes: PICTURE }, found.caseKey.publicJwk);
    const thumbnailOf = async (id: string) => {
      const { thumbnail, status } = (await storedItem(id))!;
      return { thumbnail, status };
    };
    const complete = (id: string, body: Record<string, unknown>) => call(`/api/evidence/${id}/complete`, { method: "POST", cookie: lead.cookie, body });

    const later = await prepareEvidence(lead, found, randomBytes(5000, 4), "night.jpg");
    expect((await call(`/api/cases/${found.id}/evidence`, { cookie: lead.cookie, body: later.body })).status).toBe(201);
    for (const response of await sendParts(lead, later)) expect(response.status).toBe(204);
    // Not a thumbnail envelope to the upload's case key: refused, nothing changes.
    const wrong = [
      await encryptThumbnail({ mediaType: "image/jpeg", width: 1, height: 1, bytes: PICTURE }, (await generateCaseKeyPair()).publicJwk),
      await encryptLabel({ fileName: "night.jpg", mediaType: "image/jpeg" }, found.caseKey.publicJwk),
    ];
    for (const other of wrong) await expectError(await complete(later.evidenceId, { thumbnail: other }), 400);
    expect(await thumbnailOf(later.evidenceId)).toEqual({ thumbnail: null, status: "uploading" });
    expect((await complete(later.evidenceId, { thumbnail })).status).toBe(200);
    expect(await thumbnailOf(later.evidenceId)).toEqual({ thumbnail, status: "complete" });
    // The completion sent again (its answer lost) with the same thumbnail is answered the same; another one is refused.
    expect((await complete(later.evidenceId, { thumbnail })).status).toBe(200);
    await expectError(await complete(later.evidenceId, { thumbnail: await encryptThumbnail({ mediaType: "image/jpeg", width: 2, height: 2, bytes: PICTURE }, found.caseKey.publicJwk) }), 409);
    expect(await thumbnailOf(later.evidenceId)).toEqual({ thumbnail, status: "complete" });

    // An upload started with a thumbnail keeps it: another one at completion is refused and it stays uploading.
    const first = await prepareEvidence(lead, found, randomBytes(5000, 5), "dawn.jpg");
    expect((await call(`/api/cases/${found.id}/evidence`, { cookie: lead.cookie, body: { ...first.body, thumbnail } })).status).toBe(201);
    for (const response of await sendParts(lead, first)) expect(response.status).toBe(204);
    const replacement = await encryptThumbnail({ mediaType: "image/jpeg", width: 3, height: 3, bytes: PICTURE }, found.caseKey.publicJwk);
    expect((await expectError(await complete(first.evidenceId, { thumbnail: replacement }), 409)).error.code).toBe("thumbnail_mismatch");
    expect(await thumbnailOf(first.evidenceId)).toEqual({ thumbnail, status: "uploading" });
    expect((await complete(first.evidenceId, { thumbnail })).status).toBe(200);
    expect(await thumbnailOf(first.evidenceId)).toEqual({ thumbnail, status: "complete" });
  });
});

function atobUrl(text: string): string {
  return atob(text.replaceAll("-", "+").replaceAll("_", "/"));
}

/** The thumbnails a person fetches for `ids` of a case, by id. */
async function thumbnailsOf(person: { cookie: string }, caseId: string, ids: string[]): Promise<Record<string, string>> {
  const response = await call(`/api/cases/${caseId}/thumbnails?ids=${ids.join(",")}`, { cookie: person.cookie });
  expect(response.status, await response.clone().text()).toBe(200);
  const { thumbnails } = (await response.json()) as EvidenceThumbnails;
  return Object.fromEntries(thumbnails.map((t) => [t.id, t.thumbnail]));
}
