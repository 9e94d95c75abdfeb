import { backend, bucket, db } from "./backend";
import { describe, expect, it } from "vitest";
import type { CaseDetail, CaseList, EvidenceList, UploadState } from "../../shared/api/cases";
import type { PublicKeyInfo } from "../../shared/api/schemas";
import { decryptLabel, encryptLabel, generateCaseKeyPair, IntegrityError, unwrapCaseKey, wrapCaseKey } from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { decryptDetailsFromCase, encryptDetailsToCase } from "../../shared/crypto/details";
import {
  addMember,
  downloadEvidence,
  openCase,
  prepareEvidence,
  randomBytes,
  sendParts,
  uploadEvidence,
  withKeys,
  type Person,
  storedItem,
} from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";

const MiB = 1024 * 1024;

async function people() {
  const adminSession = await setUpOrganisation();
  const admin = await withKeys(adminSession);
  const make = async (email: string, role: "investigator" | "site_operator" | "admin") =>
    withKeys(await addUser(adminSession.cookie, { email, name: email.split("@")[0]!, role }));
  return {
    admin,
    lead: await make("lead@example.org", "investigator"),
    contributor: await make("contrib@example.org", "investigator"),
    viewer: await make("viewer@example.org", "investigator"),
    outsider: await make("outsider@example.org", "investigator"),
    operator: await make("operator@example.org", "site_operator"),
  };
}

describe("cases", () => {
  it("opens, lists, searches, edits, closes and reopens a case; only members see it", async () => {
    const { lead, outsider, admin } = await people();
    const created = await openCase(lead, "2026-0042", { title: "Harbour warehouse fire", tags: ["arson", "harbour"] });
    expect(created).toMatchObject({ number: "2026-0042", status: "open", myRole: "lead", members: [{ userId: lead.id, role: "lead" }] });
    await openCase(lead, "2026-0043", { title: "Bicycle theft", tags: ["theft"] });

    const list = async (who: Person, query = "") => ((await (await call(`/api/cases${query}`, { cookie: who.cookie })).json()) as CaseList).cases.map((c) => c.number);
    expect(await list(lead)).toEqual(["2026-0043", "2026-0042"]);
    expect(await list(lead, "?q=warehouse")).toEqual(["2026-0042"]);
    expect(await list(lead, "?tag=THEFT")).toEqual(["2026-0043"]);
    expect(await list(outsider)).toEqual([]);
    expect(await list(admin)).toEqual([]);
    await expectError(await call(`/api/cases/${created.id}`, { cookie: outsider.cookie }), 404);
    await expectError(await call(`/api/cases/${created.id}`, { cookie: admin.cookie }), 404);

    const closed = await call(`/api/cases/${created.id}`, { method: "PATCH", cookie: lead.cookie, body: { status: "closed", disposition: "solved", title: "Harbour warehouse fire (arson)" } });
    expect(closed.status).toBe(200);
    expect(await list(lead, "?status=closed")).toEqual(["2026-0042"]);
    expect((await call(`/api/cases/${created.id}`, { method: "PATCH", cookie: lead.cookie, body: { status: "open" } })).status).toBe(200);
    const actions = (await auditEvents()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["case.create", "case.close", "case.reopen"]));

    await expectError(await call("/api/cases", { cookie: lead.cookie, body: { number: "2026-0042", title: "x", caseKey: created.caseKey.publicJwk, wraps: [] } }), 400);
  });

  it("refuses a case whose key is not wrapped to its creator and the recovery key, and a duplicate number", async () => {
    const { lead } = await people();
    const caseKey = await generateCaseKeyPair();
    const stranger = await generateCaseKeyPair();
    const wrongWraps = [
      { recipientKid: lead.encryption.kid, jwe: await wrapCaseKey(caseKey.privateJwk, lead.encryption.publicJwk) },
      { recipientKid: stranger.kid, jwe: await wrapCaseKey(caseKey.privateJwk, stranger.publicJwk) },
    ];
    await expectError(await call("/api/cases", { cookie: lead.cookie, body: { number: "A-1", title: "t", caseKey: caseKey.publicJwk, wraps: wrongWraps } }), 400, "wraps_mismatch");
    expect(await db.prepare("SELECT count(*) AS n FROM cases").first("n")).toBe(0);
    await openCase(lead, "A-1");
    const again = await generateCaseKeyPair();
    const recovery = (await (await call("/api/keys/recovery", { cookie: lead.cookie })).json()) as PublicKeyInfo;
    await expectError(
      await call("/api/cases", {
        cookie: lead.cookie,
        body: {
          number: "A-1", title: "t", caseKey: again.publicJwk,
          wraps: [
            { recipientKid: lead.encryption.kid, jwe: await wrapCaseKey(again.privateJwk, lead.encryption.publicJwk) },
            { recipientKid: recovery.kid, jwe: await wrapCaseKey(again.privateJwk, recovery.publicJwk) },
          ],
        },
      }),
      409,
      "case_number_taken",
    );
  });

  it("adds members with roles, who can then decrypt; a site operator cannot be one; the last lead stays", async () => {
    const { lead, contributor, operator } = await people();
    const c = await openCase(lead, "B-1");
    expect((await addMember(lead, c.id, contributor, "contributor")).status).toBe(201);
    await expectError(await addMember(lead, c.id, contributor, "viewer"), 409, "already_member");
    await expectError(await addMember(lead, c.id, operator, "viewer"), 400, "not_allowed");
    await expectError(await addMember(contributor, c.id, operator, "viewer"), 403, "case_role");
    await expectError(await call(`/api/cases/${c.id}/members/${lead.id}`, { method: "PATCH", cookie: lead.cookie, body: { role: "viewer" } }), 409, "last_lead");

    const bytes = randomBytes(3 * MiB + 17);
    const upload = await uploadEvidence(contributor, c, bytes);
    expect(await downloadEvidence(lead, upload.evidenceId)).toEqual(bytes);
  });

  it("rotates the case key when a member is removed: they open neither new evidence nor any key", async () => {
    const { lead, contributor, viewer } = await people();
    let c = await openCase(lead, "C-1");
    await addMember(lead, c.id, contributor, "contributor");
    await addMember(lead, c.id, viewer, "viewer");
    const before = await uploadEvidence(contributor, c, randomBytes(1000, 7));

    // The lead removes the viewer: a new case key, wrapped to the remaining members and the recovery key.
    const next = await generateCaseKeyPair();
    const recovery = (await (await call("/api/keys/recovery", { cookie: lead.cookie })).json()) as PublicKeyInfo;
    const contributorKey = (await (await call(`/api/keys/users/${contributor.id}`, { cookie: lead.cookie })).json()) as { encryption: PublicKeyInfo };
    const wraps = [
      { recipientKid: lead.encryption.kid, jwe: await wrapCaseKey(next.privateJwk, lead.encryption.publicJwk) },
      { recipientKid: contributorKey.encryption.kid, jwe: await wrapCaseKey(next.privateJwk, contributorKey.encryption.publicJwk) },
      { recipientKid: recovery.kid, jwe: await wrapCaseKey(next.privateJwk, recovery.publicJwk) },
    ];
    await expectError(await call(`/api/cases/${c.id}/members/${viewer.id}/remove`, { cookie: lead.cookie, body: { caseKey: next.publicJwk, wraps: wraps.slice(0, 2) } }), 400, "wraps_mismatch");
    const removed = await call(`/api/cases/${c.id}/members/${viewer.id}/remove`, { cookie: lead.cookie, body: { caseKey: next.publicJwk, wraps } });
    expect(removed.status).toBe(200);
    c = (await removed.json()) as CaseDetail;
    expect(c.caseKey.kid).toBe(next.kid);
    expect(c.members.map((m) => m.userId)).not.toContain(viewer.id);

    // Evidence wrapped to the old key is refused; the new key works.
    const keys = (await (await call(`/api/cases/${c.id}/keys`, { cookie: contributor.cookie })).json()) as { keys: { kid: string; publicJwk: CaseDetail["caseKey"]["publicJwk"]; current: boolean }[] };
    const old = keys.keys.find((k) => !k.current)!;
    const stale = await prepareEvidence(contributor, { ...c, caseKey: { kid: old.kid, publicJwk: old.publicJwk } }, randomBytes(10));
    await expectError(await call(`/api/cases/${c.id}/evidence`, { cookie: contributor.cookie, body: stale.body }), 409, "case_key_changed");
    const after = await uploadEvidence(contributor, c, randomBytes(2000, 9));
    expect(await downloadEvidence(lead, after.evidenceId)).toEqual(randomBytes(2000, 9));
    expect(await downloadEvidence(contributor, before.evidenceId)).toEqual(randomBytes(1000, 7));

    await expectError(await call(`/api/evidence/${after.evidenceId}/key`, { cookie: viewer.cookie }), 404);
    await expectError(await call(`/api/evidence/${before.evidenceId}/key`, { cookie: viewer.cookie }), 404);
    await expectError(await call(`/api/cases/${c.id}/keys`, { cookie: viewer.cookie }), 404);
    const wrapsLeft = await db.prepare("SELECT count(*) AS n FROM case_key_wraps WHERE recipient_user = ?").bind(viewer.id).first("n");
    expect(wrapsLeft).toBe(0);
  });
});

describe("evidence upload and download", () => {
  it("uploads a multi-part file through signed part URLs and downloads it verified; the key release is the audited view", async () => {
    const { lead } = await people();
    const c = await openCase(lead, "D-1");
    const bytes = randomBytes(17 * MiB + 5, 3); // 3 parts
    const upload = await uploadEvidence(lead, c, bytes);
    expect(upload.parts).toHaveLength(3);
    const listed = (await (await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie })).json()) as EvidenceList;
    expect(listed.evidence).toHaveLength(1);
    expect(listed.evidence[0]).toMatchObject({ status: "complete", byteSize: bytes.length, partCount: 3, partsReceived: 3, uploader: { id: lead.id } });
    expect(await downloadEvidence(lead, upload.evidenceId)).toEqual(bytes);
    const view = (await auditEvents()).find((e) => e.action === "evidence.view");
    expect(view).toMatchObject({ actor: { id: lead.id }, target: { type: "evidence", id: upload.evidenceId }, details: { caseId: c.id } });
  });

  it("resumes: the server reports which parts it has, and a retried start is idempotent", async () => {
    const { lead } = await people();
    const c = await openCase(lead, "E-1");
    const prepared = await prepareEvidence(lead, c, randomBytes(20 * MiB, 5));
    expect((await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: prepared.body })).status).toBe(201);
    await sendParts(lead, prepared, [0]);
    await expectError(await call(`/api/evidence/${prepared.evidenceId}/complete`, { method: "POST", cookie: lead.cookie }), 409, "parts_missing");
    const again = await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: prepared.body });
    expect(again.status).toBe(200);
    expect((await again.json()) as UploadState).toEqual({ status: "uploading", partCount: 3, received: [0] });
    await sendParts(lead, prepared, [1, 2]);
    expect((await call(`/api/evidence/${prepared.evidenceId}/complete`, { method: "POST", cookie: lead.cookie })).status).toBe(200);
    expect(await downloadEvidence(lead, prepared.evidenceId)).toEqual(randomBytes(20 * MiB, 5));
  });

  it("finishes an upload whose parts were joined in storage before the server stopped, without recording it", async () => {
    const { lead } = await people();
    const c = await openCase(lead, "E-2");
    const bytes = randomBytes(9 * MiB, 8);
    const prepared = await prepareEvidence(lead, c, bytes);
    expect((await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: prepared.body })).status).toBe(201);
    for (const response of await sendParts(lead, prepared)) expect(response.status).toBe(204);
    // The first half of a completion a crash cut short: the object is made, the evidence not marked complete.
    const row = (await storedItem(prepared.evidenceId)) as { r2_key: string; upload_id: string } | null;
    const parts = (await db.prepare("SELECT part_number, etag FROM evidence_parts WHERE evidence_id = ? ORDER BY part_number").bind(prepared.evidenceId).all<{ part_number: number; etag: string }>()).results;
    await bucket.resumeMultipartUpload(row!.r2_key, row!.upload_id).complete(parts.map((p) => ({ partNumber: p.part_number + 1, etag: p.etag })));
    expect((await call(`/api/evidence/${prepared.evidenceId}`, { cookie: lead.cookie }).then((r) => r.json())) as { status: string }).toMatchObject({ status: "uploading" });

    const completed = await call(`/api/evidence/${prepared.evidenceId}/complete`, { method: "POST", cookie: lead.cookie });
    expect(completed.status, await completed.clone().text()).toBe(200);
    expect(await downloadEvidence(lead, prepared.evidenceId)).toEqual(bytes);
    expect((await auditEvents()).filter((e) => e.action === "evidence.upload_complete" && e.target.id === prepared.evidenceId)).toHaveLength(1);
  });

  it("refuses a part with the wrong bytes, wrong length, a forged or expired signature, and stores nothing", async () => {
    const { lead } = await people();
    const c = await openCase(lead, "F-1");
    const prepared = await prepareEvidence(lead, c, randomBytes(9 * MiB, 11));
    await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: prepared.body });
    const urls = (await (await call(`/api/evidence/${prepared.evidenceId}/part-urls`, { cookie: lead.cookie, body: { parts: [0, 1] } })).json()) as { urls: { part: number; url: string }[] };
    const url0 = urls.urls[0]!.url;
    const flipped = prepared.parts[0]!.slice();
    flipped[12345]! ^= 1;
    await expectError(await call(url0, { method: "PUT", body: flipped }), 400, "digest_mismatch");
    await expectError(await call(url0, { method: "PUT", body: prepared.parts[0]!.slice(1) }), 400, "wrong_length");
    await expectError(await call(url0.replace(/sig=[^&]+/, `sig=${"A".repeat(43)}`), { method: "PUT", body: prepared.parts[0]! }), 403, "bad_signature");
    await expectError(await call(url0.replace(/exp=\d+/, `exp=${Date.now() - 1000}`), { method: "PUT", body: prepared.parts[0]! }), 403);
    await expectError(await call(urls.urls[1]!.url, { method: "PUT", body: prepared.parts[0]! }), 400);
    expect(await db.prepare("SELECT count(*) AS n FROM evidence_parts").first("n")).toBe(0);
    expect((await call(url0, { method: "PUT", body: prepared.parts[0]! })).status).toBe(204);
  });

  it("refuses a manifest signed by someone else, edited after signing, or naming another case", async () => {
    const { lead, contributor } = await people();
    const c = await openCase(lead, "G-1");
    await addMember(lead, c.id, contributor, "contributor");
    const byContributor = await prepareEvidence(contributor, c, randomBytes(100));
    await expectError(await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: byContributor.body }), 400, "invalid_manifest");
    const [h, p, s] = byContributor.manifest.split(".");
    const payload = JSON.parse(atob(p!.replaceAll("-", "+").replaceAll("_", "/")));
    payload.byteSize += 1;
    const edited = `${h}.${btoa(JSON.stringify(payload)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}.${s}`;
    await expectError(await call(`/api/cases/${c.id}/evidence`, { cookie: contributor.cookie, body: { ...byContributor.body, manifest: edited } }), 400, "invalid_manifest");
    const other = await openCase(lead, "G-2");
    await addMember(lead, other.id, contributor, "contributor");
    await expectError(await call(`/api/cases/${other.id}/evidence`, { cookie: contributor.cookie, body: byContributor.body }), 400);
    expect(await db.prepare("SELECT count(*) AS n FROM evidence").first("n")).toBe(0);
  });

  it("reports an integrity failure when a stored ciphertext byte is flipped", async () => {
    const { lead } = await people();
    const c = await openCase(lead, "H-1");
    const bytes = randomBytes(2 * MiB, 13);
    const upload = await uploadEvidence(lead, c, bytes);
    const row = await storedItem(upload.evidenceId);
    const stored = new Uint8Array(await (await bucket.get(row!.r2_key))!.arrayBuffer());
    stored[1_500_000]! ^= 0x01;
    await bucket.put(row!.r2_key, stored);
    await expect(downloadEvidence(lead, upload.evidenceId)).rejects.toBeInstanceOf(IntegrityError);
    await expect(downloadEvidence(lead, upload.evidenceId)).rejects.toMatchObject({ what: "part 0" });
  });

  it("keeps complete evidence: it cannot be deleted, and its details are versioned", async () => {
    const { lead } = await people();
    const c = await openCase(lead, "I-1");
    const upload = await uploadEvidence(lead, c, randomBytes(10));
    await expectError(await call(`/api/evidence/${upload.evidenceId}`, { method: "DELETE", cookie: lead.cookie }), 409, "evidence_kept");
    const v1 = await call(`/api/evidence/${upload.evidenceId}/details`, { method: "PATCH", cookie: lead.cookie, body: { jwe: "a.b.c.d.e", baseVersion: 0 } });
    expect(v1.status).toBe(200);
    await expectError(await call(`/api/evidence/${upload.evidenceId}/details`, { method: "PATCH", cookie: lead.cookie, body: { jwe: "f.g.h.i.j", baseVersion: 0 } }), 409, "stale_edit");
    expect((await call(`/api/evidence/${upload.evidenceId}/details`, { method: "PATCH", cookie: lead.cookie, body: { jwe: "f.g.h.i.j", baseVersion: 1 } })).status).toBe(200);
    const versions = (await (await call(`/api/evidence/${upload.evidenceId}/details/versions`, { cookie: lead.cookie })).json()) as { versions: { version: number; jwe: string }[] };
    expect(versions.versions.map((v) => [v.version, v.jwe])).toEqual([[1, "a.b.c.d.e"], [2, "f.g.h.i.j"]]);
  });

  it("keeps a members' copy of each details version, to a case key, that another member opens without releasing the file key", async () => {
    const { lead, viewer } = await people();
    const c = await openCase(lead, "I-2");
    expect((await addMember(lead, c.id, viewer, "viewer")).status).toBe(201);
    const upload = await uploadEvidence(lead, c, randomBytes(10));
    const details = { title: "Forced front door", description: "Pry marks", tags: ["entry"] };
    const caseCopy = await encryptDetailsToCase(details, c.caseKey.publicJwk);
    const path = `/api/evidence/${upload.evidenceId}/details`;
    // A copy to a key of another case, or not wrapped to the kid it names, is refused and stores nothing.
    const other = await openCase(lead, "I-3");
    await expectError(await call(path, { method: "PATCH", cookie: lead.cookie, body: { jwe: "a.b.c.d.e", baseVersion: 0, caseCopy: await encryptDetailsToCase(details, other.caseKey.publicJwk) } }), 400, "invalid_envelope");
    await expectError(await call(path, { method: "PATCH", cookie: lead.cookie, body: { jwe: "a.b.c.d.e", baseVersion: 0, caseCopy: { caseKid: caseCopy.caseKid, jwe: (await encryptDetailsToCase(details, other.caseKey.publicJwk)).jwe } } }), 400, "invalid_envelope");
    expect((await (await call(`${path}/versions`, { cookie: lead.cookie })).json()) as { versions: unknown[] }).toEqual({ versions: [] });

    expect((await call(path, { method: "PATCH", cookie: lead.cookie, body: { jwe: "a.b.c.d.e", baseVersion: 0, caseCopy } })).status).toBe(200);
    const before = (await auditEvents()).filter((e) => e.action === "evidence.view").length;
    const listed = ((await (await call(`/api/cases/${c.id}/evidence`, { cookie: viewer.cookie })).json()) as EvidenceList).evidence[0]!;
    expect(listed.details).toMatchObject({ version: 1, caseCopy: { caseKid: c.caseKey.kid } });
    const keys = (await (await call(`/api/cases/${c.id}/keys`, { cookie: viewer.cookie })).json()) as { keys: { kid: string; wrap: string }[] };
    const caseKey = await unwrapCaseKey(keys.keys.find((k) => k.kid === listed.details!.caseCopy!.caseKid)!.wrap, viewer.encryption.privateKey);
    expect(await decryptDetailsFromCase(listed.details!.caseCopy!.jwe, caseKey.privateKey)).toEqual(details);
    expect((await auditEvents()).filter((e) => e.action === "evidence.view").length).toBe(before); // no file key was released
  });

  it("finds cases by a word of their description or a part of a tag", async () => {
    const { lead } = await people();
    const found = await openCase(lead, "S-1", { title: "Shop", tags: ["north district"] });
    await openCase(lead, "S-2", { title: "Kiosk" });
    expect((await call(`/api/cases/${found.id}`, { method: "PATCH", cookie: lead.cookie, body: { description: "Silver van seen at the back door" } })).status).toBe(200);
    const list = async (q: string) => ((await (await call(`/api/cases?q=${encodeURIComponent(q)}`, { cookie: lead.cookie })).json()) as CaseList).cases.map((c) => c.number);
    expect(await list("silver van")).toEqual(["S-1"]);
    expect(await list("north")).toEqual(["S-1"]);
    expect(await list("kiosk")).toEqual(["S-2"]);
  });

  it("stores nothing of the plaintext: no 64-byte window of it is in any request body or anywhere the server keeps data", async () => {
    const { lead } = await people();
    const c = await openCase(lead, "J-1");
    const bytes = randomBytes(3 * MiB + 333, 21);
    const prepared = await prepareEvidence(lead, c, bytes, "suspect-confession.mp4");
    const bodies: Uint8Array[] = [new TextEncoder().encode(JSON.stringify(prepared.body)), ...prepared.parts];
    await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: prepared.body });
    await sendParts(lead, prepared);
    await call(`/api/evidence/${prepared.evidenceId}/complete`, { method: "POST", cookie: lead.cookie });

    const stored = await backend.storedBytes();
    const everything = [...bodies, ...stored];
    expect(stored.length).toBeGreaterThan(5);

    // Index every 64-byte window of the plaintext by its first 4 bytes, then scan everything sent and stored.
    const WINDOW = 64;
    const word = (b: Uint8Array, i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
    const starts = new Map<number, number[]>();
    for (let i = 0; i + WINDOW <= bytes.length; i++) {
      const k = word(bytes, i);
      const list = starts.get(k);
      if (list) list.push(i);
      else starts.set(k, [i]);
    }
    let found = 0;
    for (const blob of everything) {
      for (let j = 0; j + WINDOW <= blob.length; j++) {
        const candidates = starts.get(word(blob, j));
        if (!candidates) continue;
        for (const i of candidates) {
          let k = 4;
          while (k < WINDOW && blob[j + k] === bytes[i + k]) k++;
          if (k === WINDOW) found++;
        }
      }
    }
    expect(found, "64-byte windows of the plaintext found in what was sent or stored").toBe(0);
    for (const blob of stored) expect(new TextDecoder().decode(blob)).not.toContain("suspect-confession");
  }, 120_000);
});

describe("names and colleagues", () => {
  it("lists evidence with its label, which members open with the case key and nobody else", async () => {
    const { lead, contributor } = await people();
    const c = await openCase(lead, "L-1");
    await uploadEvidence(lead, c, randomBytes(500));
    const listed = (await (await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie })).json()) as EvidenceList;
    const item = listed.evidence[0]!;
    expect(item.label).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
    const keys = (await (await call(`/api/cases/${c.id}/keys`, { cookie: lead.cookie })).json()) as { keys: { kid: string; wrap: string }[] };
    const caseKey = await unwrapCaseKey(keys.keys.find((k) => k.kid === item.caseKid)!.wrap, lead.encryption.privateKey);
    expect(await decryptLabel(item.label!, caseKey.privateKey)).toMatchObject({ fileName: "clip.mp4", mediaType: "video/mp4" });
    await expect(decryptLabel(item.label!, contributor.encryption.privateKey)).rejects.toThrow();

    const prepared = await prepareEvidence(lead, c, randomBytes(10));
    const misaddressed = await encryptLabel({ fileName: "x", mediaType: "text/plain" }, lead.encryption.publicJwk);
    await expectError(await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: { ...prepared.body, label: misaddressed } }), 400, "invalid_envelope");
  });

  it("shows case leads their colleagues who can be members, and nothing to site operators", async () => {
    const { lead, operator } = await people();
    const response = await call("/api/directory", { cookie: lead.cookie });
    expect(response.status).toBe(200);
    const { people: found } = (await response.json()) as { people: { email: string; hasKeys: boolean }[] };
    expect(found.map((p) => p.email).sort()).toEqual(["ada@example.org", "contrib@example.org", "lead@example.org", "outsider@example.org", "viewer@example.org"]);
    expect(found.every((p) => p.hasKeys)).toBe(true);
    expect(((await (await call("/api/directory?q=contrib", { cookie: lead.cookie })).json()) as { people: unknown[] }).people).toHaveLength(1);
    await expectError(await call("/api/directory", { cookie: operator.cookie }), 403);
    await expectError(await call("/api/directory"), 401);
  });
});

describe("following a case's history", () => {
  it("records every read, but not a follow-up read that finds only reads of the history", async () => {
    const { lead, contributor } = await people();
    const c = await openCase(lead, "H-1");
    const reads = async () => (await auditEvents()).filter((e) => e.action === "audit.read" && e.target.id === c.id).length;
    const first = await call(`/api/cases/${c.id}/history?order=desc`, { cookie: lead.cookie });
    expect(first.status).toBe(200);
    const newest = ((await first.json()) as { events: { seq: number }[] }).events[0]!.seq;
    expect(await reads()).toBe(1);
    // "Anything new?" with nothing new but that first read: not recorded.
    const quiet = await call(`/api/cases/${c.id}/history?after=${newest}`, { cookie: lead.cookie });
    expect(((await quiet.json()) as { events: { action: string }[] }).events.every((e) => e.action === "audit.read")).toBe(true);
    expect(await reads()).toBe(1);
    // Something new (a member added): the follow-up shows it, and is recorded.
    await addMember(lead, c.id, contributor, "contributor");
    const fresh = await call(`/api/cases/${c.id}/history?after=${newest}`, { cookie: lead.cookie });
    expect(((await fresh.json()) as { events: { action: string }[] }).events.map((e) => e.action)).toContain("case.member_add");
    expect(await reads()).toBe(2);
    // A contributor may not follow it either.
    await expectError(await call(`/api/cases/${c.id}/history?after=${newest}`, { cookie: contributor.cookie }), 403, "case_role");
  });
});

describe("authorisation over every case and evidence route", () => {
  it("gives each of anonymous, another user, non-member, site operator, viewer, contributor, lead and admin exactly its rights", async () => {
    const { admin, lead, contributor, viewer, outsider, operator } = await people();
    const c = await openCase(lead, "K-1");
    await addMember(lead, c.id, contributor, "contributor");
    await addMember(lead, c.id, viewer, "viewer");
    const upload = await uploadEvidence(contributor, c, randomBytes(4096, 17));
    const nobody = { cookie: "", id: "", signing: lead.signing, encryption: lead.encryption } as Person;

    type Who = "anonymous" | "outsider" | "operator" | "admin" | "viewer" | "contributor" | "lead";
    const who: Record<Who, Person> = { anonymous: nobody, outsider, operator, admin, viewer, contributor, lead };
    const routes: { name: string; call: (p: Person) => Promise<Response>; allowed: Who[] }[] = [
      { name: "GET case", call: (p) => call(`/api/cases/${c.id}`, { cookie: p.cookie }), allowed: ["viewer", "contributor", "lead"] },
      { name: "GET case keys", call: (p) => call(`/api/cases/${c.id}/keys`, { cookie: p.cookie }), allowed: ["viewer", "contributor", "lead"] },
      { name: "GET evidence list", call: (p) => call(`/api/cases/${c.id}/evidence`, { cookie: p.cookie }), allowed: ["viewer", "contributor", "lead"] },
      { name: "GET evidence", call: (p) => call(`/api/evidence/${upload.evidenceId}`, { cookie: p.cookie }), allowed: ["viewer", "contributor", "lead"] },
      { name: "GET evidence key", call: (p) => call(`/api/evidence/${upload.evidenceId}/key`, { cookie: p.cookie }), allowed: ["viewer", "contributor", "lead"] },
      { name: "GET part", call: (p) => call(`/api/evidence/${upload.evidenceId}/parts/0`, { cookie: p.cookie }), allowed: ["viewer", "contributor", "lead"] },
      { name: "GET details versions", call: (p) => call(`/api/evidence/${upload.evidenceId}/details/versions`, { cookie: p.cookie }), allowed: ["viewer", "contributor", "lead"] },
      { name: "POST access", call: (p) => call(`/api/evidence/${upload.evidenceId}/access`, { cookie: p.cookie, body: { action: "download" } }), allowed: ["viewer", "contributor", "lead"] },
      { name: "PATCH details", call: (p) => call(`/api/evidence/${upload.evidenceId}/details`, { method: "PATCH", cookie: p.cookie, body: { jwe: "a.b.c.d.e", baseVersion: 999 } }), allowed: ["contributor", "lead"] },
      { name: "PATCH case", call: (p) => call(`/api/cases/${c.id}`, { method: "PATCH", cookie: p.cookie, body: { tags: ["x"] } }), allowed: ["lead"] },
      { name: "GET history", call: (p) => call(`/api/cases/${c.id}/history`, { cookie: p.cookie }), allowed: ["lead"] },
      { name: "PATCH member", call: (p) => call(`/api/cases/${c.id}/members/${viewer.id}`, { method: "PATCH", cookie: p.cookie, body: { role: "viewer" } }), allowed: ["lead"] },
      { name: "POST evidence", call: async (p) => call(`/api/cases/${c.id}/evidence`, { cookie: p.cookie, body: (await prepareEvidence(p.id ? p : lead, c, randomBytes(10))).body }), allowed: ["contributor", "lead"] },
    ];
    for (const route of routes) {
      for (const [name, person] of Object.entries(who) as [Who, Person][]) {
        const response = await route.call(person);
        const ok = response.status < 400 || (route.name === "PATCH details" && response.status === 409);
        expect(ok, `${route.name} as ${name}: ${response.status} ${await response.clone().text()}`).toBe(route.allowed.includes(name));
        if (!ok) expect([400, 401, 403, 404], `${route.name} as ${name}`).toContain(response.status);
      }
    }
  });
});

