/** Disclosure (docs/disclosure.md): the authorisation matrix for guests and links, receipts, confidentiality. */
import { describe, expect, inject, it } from "vitest";
import { verifyTimestampToken } from "../../shared/timestamp/rfc3161";
import { fromBase64url } from "../../shared/crypto/encoding";
import type { CreatedShare, LinkSession, ReceiptDownload, ReceivedShare, ReceivedShareList, ShareList } from "../../shared/api/shares";
import {
  decryptLabel,
  deriveLinkKey,
  newLinkSecret,
  receiptSigningKey,
  rewrapCaseKey,
  signReceipt,
  toBase64url,
  unwrapShareKeyAsGuest,
  unwrapShareKeyWithLink,
  verifyReceipt,
} from "../../shared/crypto";
import { decodeJwt } from "jose";
import { auditEvents } from "./audit-helpers";
import { backend, db } from "./backend";
import { addMember, openCase, randomBytes, removeMember, uploadEvidence, withKeys } from "./evidence-helpers";
import type { CaseDetail, MyCaseKeys } from "../../shared/api/cases";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";
import { inDays, inviteGuest, json, newId, openItem, receiptFor, send, sent, share } from "./share-helpers";

async function world() {
  const adminSession = await setUpOrganisation();
  const admin = await withKeys(adminSession);
  const lead = await withKeys(await addUser(adminSession.cookie, { email: "lead@example.org", name: "Lee Lead", role: "investigator" }));
  const member = await withKeys(await addUser(adminSession.cookie, { email: "member@example.org", name: "Mo Member", role: "investigator" }));
  const caseA = await openCase(lead, "2026-0100", { title: "Harbour fire" });
  const caseB = await openCase(lead, "2026-0200", { title: "Other case" });
  const a1 = randomBytes(3000, 11);
  const a2 = randomBytes(5000, 12);
  const b1 = randomBytes(700, 13);
  const up1 = await uploadEvidence(lead, caseA, a1);
  const up2 = await uploadEvidence(lead, caseA, a2);
  const upB = await uploadEvidence(lead, caseB, b1);
  return { admin, adminSession, lead, member, caseA, caseB, items: { a1: { id: up1.evidenceId, bytes: a1 }, a2: { id: up2.evidenceId, bytes: a2 }, b1: { id: upB.evidenceId, bytes: b1 } } };
}

describe("shares with guests", () => {
  it("a guest sees only the items shared with them, at the share's level, signs a receipt, and is refused after revocation", async () => {
    const { lead, member, adminSession, caseA, caseB, items } = await world();
    const guest = await inviteGuest(lead, caseA.id, "prosecutor@cps.example", "Pat Prosecutor");

    // A guest is a role of its own: nothing of the organisation.
    for (const path of ["/api/cases", `/api/cases/${caseA.id}`, "/api/directory", "/api/users", "/api/audit/events", `/api/keys/users/${lead.id}`, "/api/guests", `/api/evidence/${items.a1.id}/key`, "/api/settings"]) {
      await expectError(await call(path, { cookie: guest.cookie }), 403, "guest_forbidden");
    }
    expect((await call("/api/auth/session", { cookie: guest.cookie })).status).toBe(200);
    // The directory offers members, never guests; an admin cannot turn a guest into a member.
    const directory = await json<{ people: { id: string }[] }>(await call("/api/directory", { cookie: lead.cookie }));
    expect(directory.people.map((u) => u.id)).not.toContain(guest.id);
    await expectError(await call(`/api/users/${guest.id}`, { method: "PATCH", cookie: adminSession.cookie, body: { role: "investigator" } }), 409, "guest_role");
    const listed = await json<{ users: { id: string; role: string }[] }>(await call("/api/users", { cookie: adminSession.cookie }));
    expect(listed.users.find((u) => u.id === guest.id)?.role).toBe("guest");

    // Only a lead of the case shares; members and other cases' items are refused.
    await expectError(await call(`/api/cases/${caseA.id}/guests`, { cookie: member.cookie, body: { email: "x@example.org", name: "X" } }), 404);
    const mixed = await share(lead, caseA.id, { type: "guest", guestId: guest.id }, { items: [items.a1.id] });
    expect(mixed.response.status).toBe(201);
    const crossCase = await share(lead, caseB.id, { type: "guest", guestId: guest.id }, { items: [items.b1.id] });
    expect(crossCase.response.status).toBe(201);
    // An item of another case inside a share of case A is refused.
    await expectError(await call(`/api/cases/${caseA.id}/shares`, { cookie: lead.cookie, body: { ...crossCase.body, id: newId() } }), 400, "not_in_case");
    // Expiry: required, at most a year.
    await expectError(await call(`/api/cases/${caseA.id}/shares`, { cookie: lead.cookie, body: { ...mixed.body, id: newId(), expiresAt: inDays(400) } }), 400, "invalid_expiry");
    await expectError(await call(`/api/cases/${caseA.id}/shares`, { cookie: lead.cookie, body: { ...mixed.body, id: newId(), expiresAt: inDays(-1) } }), 400, "invalid_expiry");
    expect((await call(`/api/shares/${crossCase.id}/revoke`, { method: "POST", cookie: lead.cookie })).status).toBe(200);

    const shareId = mixed.id;
    const list = await json<ReceivedShareList>(await call("/api/shared", { cookie: guest.cookie }));
    expect(list.shares.map((s) => s.id)).toEqual([shareId]);
    expect(list.shares[0]).toMatchObject({ case: { number: "2026-0100" }, level: "view", itemCount: 1 });

    const shareKey = await unwrapShareKeyAsGuest((await json<ReceivedShare>(await call(`/api/shared/${shareId}`, { cookie: guest.cookie }))).shareKeyWrap, guest.encryption.privateKey);
    expect(await openItem({ cookie: guest.cookie }, shareId, items.a1.id, shareKey)).toEqual(items.a1.bytes);
    const view = await json<ReceivedShare>(await call(`/api/shared/${shareId}`, { cookie: guest.cookie }));
    expect(view.items.map((i) => i.id)).toEqual([items.a1.id]);
    expect((await decryptLabel(view.items[0]!.label!, shareKey.privateKey)).fileName).toBe("clip.mp4");

    // Other items, of this case or another, and other shares: not found.
    for (const evidenceId of [items.a2.id, items.b1.id]) {
      await expectError(await call(`/api/shared/${shareId}/items/${evidenceId}/key`, { cookie: guest.cookie }), 404);
      await expectError(await call(`/api/shared/${shareId}/items/${evidenceId}/parts/0`, { cookie: guest.cookie }), 404);
    }
    await expectError(await call(`/api/shared/${crossCase.id}`, { cookie: guest.cookie }), 404, "share_unavailable");
    // A member of the organisation is not the recipient.
    await expectError(await call(`/api/shared/${shareId}`, { cookie: lead.cookie }), 404, "share_unavailable");

    // The level: view only; then download; export stays refused.
    const access = (action: string) => call(`/api/shared/${shareId}/items/${items.a1.id}/access`, { cookie: guest.cookie, body: { action } });
    await expectError(await access("download"), 403, "share_level");
    await expectError(await access("export"), 403, "share_level");
    await expectError(await call(`/api/shared/${shareId}/items/${items.a1.id}/signer-register`, { cookie: guest.cookie }), 403, "share_level");
    await json<CreatedShare>(await call(`/api/shares/${shareId}`, { method: "PATCH", cookie: lead.cookie, body: { level: "download", expiresAt: inDays(60) } }));
    expect((await access("download")).status).toBe(204);
    await expectError(await access("export"), 403, "share_level");

    // No resharing: a guest is no lead of anything.
    await expectError(await call(`/api/cases/${caseA.id}/shares`, { cookie: guest.cookie, body: { ...mixed.body, id: newId() } }), 403, "guest_forbidden");
    await expectError(await call(`/api/shares/${shareId}/revoke`, { method: "POST", cookie: guest.cookie }), 403, "guest_forbidden");
    await expectError(await call(`/api/cases/${caseA.id}/guests`, { cookie: guest.cookie, body: { email: "x@example.org", name: "X" } }), 403, "guest_forbidden");

    // Receipt: signed with the guest's own key over exactly the shared items.
    const fresh = await json<ReceivedShare>(await call(`/api/shared/${shareId}`, { cookie: guest.cookie }));
    const recipient = { type: "guest" as const, userId: guest.id, name: "Pat Prosecutor" };
    const other = await receiptSigningKey();
    await expectError(await send(`/api/shared/${shareId}/receipts`, { cookie: guest.cookie, body: { jws: await receiptFor(fresh, other, recipient) } }), 400, "invalid_receipt");
    const wrongItems = await signReceipt({ shareId, recipient, items: [{ id: items.a2.id, sha512: "0".repeat(128) }], receivedAt: new Date().toISOString() }, guest.signing);
    await expectError(await send(`/api/shared/${shareId}/receipts`, { cookie: guest.cookie, body: { jws: wrongItems } }), 400, "invalid_receipt");
    const jws = await receiptFor(fresh, guest.signing, recipient);
    const recorded = await json<ReceiptDownload>(await send(`/api/shared/${shareId}/receipts`, { cookie: guest.cookie, body: { jws } }), 201);
    expect(recorded.jws).toBe(jws);
    expect((await verifyReceipt(recorded.jws)).receipt.items).toEqual([{ id: items.a1.id, sha512: (decodeJwt(fresh.items[0]!.manifest) as { sha512: string }).sha512 }]);

    // The lead sees who received what and when, and can download the receipt.
    const shares = await json<ShareList>(await call(`/api/cases/${caseA.id}/shares`, { cookie: lead.cookie }));
    const mine = shares.shares.find((s) => s.id === shareId)!;
    expect(mine).toMatchObject({ status: "active", level: "download", recipient: { type: "guest", label: "Pat Prosecutor", email: "prosecutor@cps.example" } });
    expect(mine.receipts).toHaveLength(1);
    expect(mine.receipts[0]).toMatchObject({ recipientName: "Pat Prosecutor", itemCount: 1 });
    const download = await json<ReceiptDownload>(await call(`/api/shares/${shareId}/receipts/${mine.receipts[0]!.id}`, { cookie: lead.cookie }));
    expect(download.jws).toBe(jws);
    // Another case's lead-less member sees none of it.
    await expectError(await call(`/api/cases/${caseA.id}/shares`, { cookie: member.cookie }), 404);
    await expectError(await call(`/api/shares/${shareId}/receipts/${mine.receipts[0]!.id}`, { cookie: member.cookie }), 404);

    // Revocation: at once, wraps gone.
    await json<CreatedShare>(await call(`/api/shares/${shareId}/revoke`, { method: "POST", cookie: lead.cookie }));
    await expectError(await call(`/api/shared/${shareId}`, { cookie: guest.cookie }), 404, "share_unavailable");
    await expectError(await call(`/api/shared/${shareId}/items/${items.a1.id}/key`, { cookie: guest.cookie }), 404, "share_unavailable");
    expect((await json<ReceivedShareList>(await call("/api/shared", { cookie: guest.cookie }))).shares).toEqual([]);
    const row = await db.prepare("SELECT share_key_wrap FROM shares WHERE id = ?").bind(shareId).first<{ share_key_wrap: string | null }>();
    expect(row!.share_key_wrap).toBeNull();
    // The share's items are in the case's object (migration 0037): still listed there, their wraps gone; D1 holds none.
    const stored = (await backend.caseShareItems(caseA.id)).filter((i) => i.shareId === shareId);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.filter((i) => i.fileKey !== null || i.label !== null)).toEqual([]);
    expect(await db.prepare("SELECT count(*) AS n FROM share_items WHERE share_id = ?").bind(shareId).first("n")).toBe(0);

    const events = await auditEvents();
    const forShare = events.filter((e) => (e.details as { shareId?: string }).shareId === shareId).map((e) => e.action);
    expect(forShare).toEqual(expect.arrayContaining(["share.create", "share.access", "share.view", "share.download", "share.update", "share.extend", "share.receipt", "share.revoke"]));
    expect(events.find((e) => e.action === "share.view")!.ip).not.toBeUndefined();
    expect(events.find((e) => e.action === "share.guest_invite")).toBeTruthy();
  });
});

describe("link shares", () => {
  it("opens with the fragment's secret and the access code; wrong codes lock it; expiry and revocation end it; nothing stored opens it", async () => {
    const { lead, member, caseA, caseB, items } = await world();
    const created = await share(lead, caseA.id, { type: "link", label: "Defence counsel, R v Smith" }, { level: "export", includeLater: true });
    const { share: summary, accessCode } = await json<CreatedShare>(created.response, 201);
    expect(summary).toMatchObject({ scope: "case", includeLater: true, itemCount: 2, status: "active", recipient: { type: "link", label: "Defence counsel, R v Smith" } });
    expect(accessCode).toMatch(/^[A-Z2-9]{10}$/);
    const secret = created.secret!;
    const otherShare = await share(lead, caseB.id, { type: "link", label: "Someone else" });
    expect(otherShare.response.status).toBe(201);

    // No session at all, or a guest-less cookie: refused.
    await expectError(await call(`/api/shared/${created.id}`), 401);

    // Wrong codes: four tries left, then locked, and a right code no longer opens it.
    const open = (code: string, id = created.id) => send(`/api/shared/links/${id}/open`, { body: { accessCode: code } });
    for (let n = 1; n < 5; n++) await expectError(await open("WRONGCODE1"), 403, "wrong_access_code");
    await expectError(await open("WRONGCODE1"), 403, "link_locked");
    await expectError(await open(accessCode!), 403, "link_locked");
    expect((await json<ShareList>(await call(`/api/cases/${caseA.id}/shares`, { cookie: lead.cookie }))).shares.find((s) => s.id === created.id)!.status).toBe("locked");
    // The sender sets a new code: the link opens again, with that code only.
    const renewed = await json<CreatedShare>(await call(`/api/shares/${created.id}/access-code`, { method: "POST", cookie: lead.cookie }));
    await expectError(await open(accessCode!), 403, "wrong_access_code");
    const code = renewed.accessCode!;
    const { token } = await json<LinkSession>(await open(`${code.slice(0, 5).toLowerCase()}-${code.slice(5)}`));
    const auth = { headers: { Authorization: `Bearer ${token}` } };

    // The link key opens the share key; the case keys it carries open both items, and an item added later.
    const view = await json<ReceivedShare>(await call(`/api/shared/${created.id}`, auth));
    const shareKey = await unwrapShareKeyWithLink(view.shareKeyWrap, await deriveLinkKey(secret, created.id));
    await expect(unwrapShareKeyWithLink(view.shareKeyWrap, await deriveLinkKey(secret, otherShare.id))).rejects.toThrow(/share key/);
    await expect(unwrapShareKeyWithLink(view.shareKeyWrap, await deriveLinkKey(newLinkSecret(), created.id))).rejects.toThrow(/share key/);
    expect(await openItem(auth, created.id, items.a1.id, shareKey)).toEqual(items.a1.bytes);
    expect(await openItem(auth, created.id, items.a2.id, shareKey)).toEqual(items.a2.bytes);
    const later = randomBytes(1500, 21);
    const upLater = await uploadEvidence(lead, caseA, later);
    expect(await openItem(auth, created.id, upLater.evidenceId, shareKey)).toEqual(later);
    // A member's removal rotates the case key: an item added after does not open until a lead gives the share the new key.
    expect((await addMember(lead, caseA.id, member, "viewer")).status).toBe(201);
    expect((await removeMember(lead, caseA.id, member, [lead])).status).toBe(200);
    const rotated = await uploadEvidence(lead, await json<CaseDetail>(await call(`/api/cases/${caseA.id}`, { cookie: lead.cookie })), randomBytes(800, 22));
    await expect(openItem(auth, created.id, rotated.evidenceId, shareKey)).rejects.toThrow();
    const before = (await json<ShareList>(await call(`/api/cases/${caseA.id}/shares`, { cookie: lead.cookie }))).shares.find((s) => s.id === created.id)!;
    expect(before.missingCaseKeys).toHaveLength(1);
    const { keys } = await json<MyCaseKeys>(await call(`/api/cases/${caseA.id}/keys`, { cookie: lead.cookie }));
    const newKey = keys.find((k) => k.kid === before.missingCaseKeys[0])!;
    const wrapped = await rewrapCaseKey(newKey.wrap!, lead.encryption.privateKey, before.shareKey);
    await expectError(await call(`/api/shares/${created.id}/case-keys`, { cookie: member.cookie, body: { caseKeys: [{ caseKid: newKey.kid, jwe: wrapped }] } }), 404);
    await expectError(await call(`/api/shares/${created.id}/case-keys`, { cookie: lead.cookie, body: { caseKeys: [{ caseKid: keys.find((k) => k.kid !== newKey.kid)!.kid, jwe: wrapped }] } }), 400, "wraps_mismatch");
    const added = await json<CreatedShare>(await call(`/api/shares/${created.id}/case-keys`, { cookie: lead.cookie, body: { caseKeys: [{ caseKid: newKey.kid, jwe: wrapped }] } }));
    expect(added.share.missingCaseKeys).toEqual([]);
    expect(await openItem(auth, created.id, rotated.evidenceId, shareKey)).toEqual(randomBytes(800, 22));

    // Not another case's item, not another share with this session.
    await expectError(await call(`/api/shared/${created.id}/items/${items.b1.id}/key`, auth), 404);
    await expectError(await call(`/api/shared/${otherShare.id}`, auth), 401, "link_session_ended");
    expect((await call(`/api/shared/${created.id}/items/${items.a1.id}/access`, { ...auth, body: { action: "export" } })).status).toBe(204);
    const register = await call(`/api/shared/${created.id}/items/${items.a1.id}/signer-register`, auth);
    expect(register.status).toBe(200);
    expect(await register.text()).toContain(lead.signing.kid);

    // A receipt signed with a key made for it, named in it; it verifies offline.
    const fresh = await json<ReceivedShare>(await call(`/api/shared/${created.id}`, auth));
    const signer = await receiptSigningKey();
    const jws = await receiptFor(fresh, signer, { type: "link", name: "Dana Defence" });
    const recorded = await json<ReceiptDownload>(await send(`/api/shared/${created.id}/receipts`, { ...auth, body: { jws } }), 201);
    const checked = await verifyReceipt(recorded.jws);
    expect(checked.kid).toBe(signer.kid);
    expect(checked.receipt.items).toHaveLength(4);
    // A receipt claiming a guest through a link is refused.
    await expectError(await send(`/api/shared/${created.id}/receipts`, { ...auth, body: { jws: await receiptFor(fresh, signer, { type: "guest", userId: lead.id, name: "x" }) } }), 400, "invalid_receipt");

    // Confidentiality: no stored row and no request body holds the link secret, the link key, or a private key.
    const linkKey = toBase64url(await deriveLinkKey(secret, created.id));
    const secrets = [secret, linkKey, created.shareKey.privateJwk.d!];
    const tables = ["shares", "share_items", "share_case_keys", "share_sessions", "share_receipts", "audit_outbox", "timestamps"];
    for (const table of tables) {
      const { results } = await db.prepare(`SELECT * FROM ${table}`).all();
      const text = JSON.stringify(results);
      for (const s of secrets) expect(text.includes(s), `${table} holds a secret`).toBe(false);
    }
    const storedItems = JSON.stringify(await backend.caseShareItems(caseA.id));
    for (const s of secrets) expect(storedItems.includes(s), "the case object's share items hold a secret").toBe(false);
    const eventsText = JSON.stringify(await auditEvents());
    for (const s of [...secrets, token, code]) expect(eventsText.includes(s)).toBe(false);
    for (const body of sent) for (const s of secrets) expect(body.includes(s)).toBe(false);
    const sessionRow = await db.prepare("SELECT token_hash FROM share_sessions WHERE share_id = ?").bind(created.id).first<{ token_hash: string }>();
    expect(sessionRow!.token_hash).not.toBe(token);

    // After expiry: refused, as if it never existed.
    await db.prepare("UPDATE shares SET expires_at = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), created.id).run();
    await expectError(await call(`/api/shared/${created.id}`, auth), 404, "share_unavailable");
    await expectError(await open(code), 404, "share_unavailable");
    // Extended: open again.
    await json<CreatedShare>(await call(`/api/shares/${created.id}`, { method: "PATCH", cookie: lead.cookie, body: { expiresAt: inDays(10) } }));
    expect((await call(`/api/shared/${created.id}`, auth)).status).toBe(200);

    // Revoked: the session ends at once, and the code opens nothing.
    await json<CreatedShare>(await call(`/api/shares/${created.id}/revoke`, { method: "POST", cookie: lead.cookie }));
    await expectError(await call(`/api/shared/${created.id}`, auth), 401, "link_session_ended");
    await expectError(await open(code), 404, "share_unavailable");
    expect(await db.prepare("SELECT count(*) AS n FROM share_case_keys WHERE share_id = ?").bind(created.id).first<{ n: number }>()).toEqual({ n: 0 });

    // In the case's history, by name, with the IP.
    const history = await json<{ events: { action: string; details: Record<string, unknown>; actor: { label?: string | null } }[] }>(await call(`/api/cases/${caseA.id}/history`, { cookie: lead.cookie }));
    const actions = history.events.filter((e) => e.details.shareId === created.id).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["share.create", "share.code_wrong", "share.locked", "share.access_code", "share.open", "share.access", "share.view", "share.export", "share.receipt", "share.extend", "share.revoke"]));
    expect(history.events.find((e) => e.action === "share.view" && e.details.shareId === created.id)!.actor.label).toBe("link: Defence counsel, R v Smith");
  });
});

declare module "vitest" {
  export interface ProvidedContext {
    tsaUrl: string;
    tsaCaPem: string;
  }
}

describe("receipts and the organisation's TSA", () => {
  it("stamps a receipt's signature with the configured TSA; the token verifies against its CA", async () => {
    const tsaUrl = inject("tsaUrl");
    const tsaCaPem = inject("tsaCaPem");
    const name = `${crypto.randomUUID()}`;
    expect((await fetch(`${tsaUrl}/control/${name}`, { method: "PUT", body: "ok" })).status).toBe(204);
    const adminSession = await setUpOrganisation();
    expect((await call("/api/settings", { method: "PUT", body: { tsaUrl: `${tsaUrl}/${name}`, tsaCaPem }, cookie: adminSession.cookie })).status).toBe(200);
    const lead = await withKeys(await addUser(adminSession.cookie, { email: "lead@example.org", name: "Lee Lead", role: "investigator" }));
    const caseA = await openCase(lead, "2026-0300");
    await uploadEvidence(lead, caseA, randomBytes(900, 5));
    const created = await share(lead, caseA.id, { type: "link", label: "Court clerk" });
    const { accessCode } = await json<CreatedShare>(created.response, 201);
    const { token } = await json<LinkSession>(await call(`/api/shared/links/${created.id}/open`, { body: { accessCode } }));
    const auth = { headers: { Authorization: `Bearer ${token}` } };
    const view = await json<ReceivedShare>(await call(`/api/shared/${created.id}`, auth));
    const jws = await receiptFor(view, await receiptSigningKey(), { type: "link", name: "Clerk of the Court" });
    const recorded = await json<ReceiptDownload>(await call(`/api/shared/${created.id}/receipts`, { ...auth, body: { jws } }), 201);
    expect(recorded.timestamp.state).toBe("stamped");
    const info = await verifyTimestampToken(Uint8Array.from(atob(recorded.token!), (c) => c.charCodeAt(0)), fromBase64url(jws.split(".")[2]!), { trustedPem: tsaCaPem });
    expect(Date.parse(info.genTime)).toBeGreaterThan(Date.now() - 60_000);
    // The lead downloads the same receipt with its token.
    const { shares } = await json<ShareList>(await call(`/api/cases/${caseA.id}/shares`, { cookie: lead.cookie }));
    const download = await json<ReceiptDownload>(await call(`/api/shares/${created.id}/receipts/${shares[0]!.receipts[0]!.id}`, { cookie: lead.cookie }));
    expect(download).toMatchObject({ jws, token: recorded.token, timestamp: { state: "stamped" } });
  });
});
