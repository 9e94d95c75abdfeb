/** Evidence thumbnails (docs/evidence-format.md §5.2): stored as the device encrypted them, to the case key, and listed with the item. */
import { describe, expect, it } from "vitest";
import type { EvidenceList } from "../../shared/api/cases";
import { decryptThumbnail, encryptLabel, toBase64url, encryptThumbnail, generateCaseKeyPair, unwrapCaseKey } from "../../shared/crypto";
import { db } from "./backend";
import { openCase, prepareEvidence, randomBytes, sendParts, storedItem, withKeys } from "./evidence-helpers";
import { call, expectError, setUpOrganisation } from "./helpers";

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

    const list = (await (await call(`/api/cases/${found.id}/evidence`, { cookie: lead.cookie })).json()) as EvidenceList;
    const listed = list.evidence.find((e) => e.id === prepared.evidenceId)!;
    expect(listed.thumbnail).toBe(thumbnail);
    const keys = (await (await call(`/api/cases/${found.id}/keys`, { cookie: lead.cookie })).json()) as { keys: { kid: string; wrap: string }[] };
    const caseKey = await unwrapCaseKey(keys.keys.find((k) => k.kid === listed.caseKid)!.wrap, lead.encryption.privateKey);
    const opened = await decryptThumbnail(listed.thumbnail!, caseKey.privateKey);
    expect(opened).toMatchObject({ mediaType: "image/jpeg", width: 240, height: 160 });
    expect(new TextDecoder().decode(opened.bytes)).toContain("PLAINTEXT-THUMBNAIL-MARKER");

    // An item sent without one (a PDF, or uploaded before thumbnails) lists with none: the app shows its type icon.
    const plain = await prepareEvidence(lead, found, randomBytes(100, 2), "statement.pdf");
    expect((await call(`/api/cases/${found.id}/evidence`, { cookie: lead.cookie, body: plain.body })).status).toBe(201);
    const again = (await (await call(`/api/cases/${found.id}/evidence`, { cookie: lead.cookie })).json()) as EvidenceList;
    expect(again.evidence.find((e) => e.id === plain.evidenceId)!.thumbnail).toBeNull();
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
