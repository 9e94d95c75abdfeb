/** Submission links (docs/submissions.md): who may make and revoke them, what a link reveals, its refusals and audit. */
import { describe, expect, inject, it } from "vitest";
import type { MyCaseKeys } from "../../shared/api/cases";
import { SUBMIT_PER_ADDRESS, type PublicSubmissionLink, type SubmissionLinkList, type SubmissionLinkSummary } from "../../shared/api/submissions";
import type { SentSubmission, SubmissionFileState } from "../../shared/api/submissions";
import { decryptExpectations, decryptParts, generateUserKeys, submissionKeyMatches, unwrapCaseKey, unwrapFileKey, unwrapSubmissionKey, verifyManifest } from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { backend, bucket, db } from "./backend";
import { randomBytes } from "./evidence-helpers";
import { openCase } from "./evidence-helpers";
import { call, expectError } from "./helpers";
import { hexId, inDays, json, linkBody, makeLink, prepareFile, putPart, startSubmission, submissionCast } from "./submission-helpers";

const world = () => submissionCast("2026-0300");

declare module "vitest" {
  export interface ProvidedContext {
    smtpPort: number;
    smtpInbox: string;
    smtpAccount: { user: string; password: string; httpMailToken: string };
  }
}

/** The messages the test SMTP server received for `address` (waiting a while for the first). */
async function messagesTo(address: string, timeoutMs = 15_000): Promise<{ to: string[]; raw: string }[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const all = (await (await fetch(`${inject("smtpInbox")}/messages`)).json()) as { to: string[]; raw: string }[];
    const mine = all.filter((m) => m.to.includes(address));
    if (mine.length > 0 || Date.now() > until) return mine;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The text/plain part of a message, its base64 body decoded. */
function messageText(raw: string): string {
  const at = raw.indexOf("Content-Type: text/plain");
  const start = raw.indexOf("\r\n\r\n", at) + 4;
  const end = raw.indexOf("\r\n--", start);
  const binary = atob(raw.slice(start, end < 0 ? undefined : end).replace(/\s+/g, ""));
  return new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
}

describe("submission links", () => {
  it("a contributor makes a link; its URL names the key; the public side shows the instructions, limits and key, and nothing of the case", async () => {
    const { contributor, lead, caseA } = await world();
    const { key, link, emailed } = await makeLink(contributor, caseA);
    expect(emailed).toBe(false);
    expect(link.status).toBe("open");
    expect(link.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const url = new URL(link.url);
    expect(url.pathname).toBe(`/submit/${link.id}`);
    expect(url.hash).toBe(`#${key.kid}`);

    const listed = await json<SubmissionLinkList>(await call(`/api/cases/${caseA.id}/submission-links`, { cookie: lead.cookie }));
    expect(listed.links.map((l) => l.id)).toEqual([link.id]);

    const open = await json<PublicSubmissionLink>(await call(`/api/submit/${link.id}`));
    expect(open.instructions).toContain("High Street fire");
    expect(open).toMatchObject({ maxFiles: 5, maxBytes: 50_000_000 });
    expect(await submissionKeyMatches(open.submissionKey, key.kid)).toBe(true);
    // Nothing of the case: not its id, number, title, nor who the link is for.
    const text = JSON.stringify(open);
    for (const secret of [caseA.id, "2026-0300", "Public appeal", contributor.id]) expect(text).not.toContain(secret);

    // Members open the submission key with the case key; the stored wrap is to the case key.
    const row = await db.prepare("SELECT submission_key_wrap FROM submission_links WHERE id = ?").bind(link.id).first<{ submission_key_wrap: string }>();
    const { keys } = await json<MyCaseKeys>(await call(`/api/cases/${caseA.id}/keys`, { cookie: lead.cookie }));
    const caseKey = await unwrapCaseKey(keys.find((k) => k.current)!.wrap!, lead.encryption.privateKey);
    expect((await unwrapSubmissionKey(row!.submission_key_wrap, caseKey.privateKey)).kid).toBe(key.kid);

    const events = (await auditEvents()).filter((e) => e.action.startsWith("submission."));
    expect(events.map((e) => [e.action, e.outcome])).toEqual([["submission.link_create", "success"], ["submission.link_open", "success"]]);
    expect(events[0]!.details).toMatchObject({ caseId: caseA.id, linkId: link.id, maxFiles: 5 });
    expect(events[1]!.actor.type).toBe("anonymous");
  });

  it("viewers, non-members and the signed-out cannot make, list or revoke links", async () => {
    const { viewer, outsider, lead, caseA } = await world();
    const { body } = await linkBody(caseA);
    await expectError(await call(`/api/cases/${caseA.id}/submission-links`, { cookie: viewer.cookie, body }), 403);
    await expectError(await call(`/api/cases/${caseA.id}/submission-links`, { cookie: outsider.cookie, body }), 404);
    await expectError(await call(`/api/cases/${caseA.id}/submission-links`, { body }), 401);
    await expectError(await call(`/api/cases/${caseA.id}/submission-links`, { cookie: outsider.cookie }), 404);
    const { link } = await makeLink(lead, caseA);
    await expectError(await call(`/api/submission-links/${link.id}/revoke`, { cookie: outsider.cookie, method: "POST" }), 404);
    await expectError(await call(`/api/submission-links/${link.id}/revoke`, { cookie: viewer.cookie, method: "POST" }), 403);
    expect((await call(`/api/submit/${link.id}`)).status).toBe(200);
    const count = await db.prepare("SELECT COUNT(*) AS n FROM submission_links").first<{ n: number }>();
    expect(count!.n).toBe(1);
  });

  it("refuses a wrap not to the case's current key, a wrong case key id, a past or too distant expiry, and an address on a public link", async () => {
    const { lead, caseA } = await world();
    const other = await openCase(lead, "2026-0301");
    const wrongWrap = (await linkBody(other)).body.submissionKeyWrap;
    const post = (extra: Record<string, unknown>) => linkBody(caseA, extra).then(({ body }) => call(`/api/cases/${caseA.id}/submission-links`, { cookie: lead.cookie, body }));
    await expectError(await post({ submissionKeyWrap: wrongWrap }), 400, "invalid_envelope");
    await expectError(await post({ caseKid: other.caseKey.kid }), 409, "case_key_changed");
    await expectError(await post({ expiresAt: inDays(-1) }), 400, "invalid_expiry");
    await expectError(await post({ expiresAt: inDays(400) }), 400, "invalid_expiry");
    await expectError(await post({ email: "someone@example.org" }), 400);
    await expectError(await post({ maxFiles: 0 }), 400);
    const count = await db.prepare("SELECT COUNT(*) AS n FROM submission_links").first<{ n: number }>();
    expect(count!.n).toBe(0);
  });

  it("a revoked, expired or unknown link answers one clear message and reveals nothing", async () => {
    const { lead, contributor, caseA } = await world();
    const { link } = await makeLink(lead, caseA);
    const revoked = await json<SubmissionLinkSummary>(await call(`/api/submission-links/${link.id}/revoke`, { cookie: contributor.cookie, method: "POST" }));
    expect(revoked.status).toBe("revoked");
    const refused = await expectError(await call(`/api/submit/${link.id}`), 404, "link_unavailable");
    expect(refused.error.message).toMatch(/closed by the investigators/);

    const { link: second } = await makeLink(lead, caseA);
    await db.prepare("UPDATE submission_links SET expires_at = ? WHERE id = ?").bind(inDays(-1), second.id).run();
    expect((await expectError(await call(`/api/submit/${second.id}`), 404, "link_unavailable")).error.message).toMatch(/expired/);
    expect((await expectError(await call(`/api/submit/${"A".repeat(43)}`), 404, "link_unavailable")).error.message).toMatch(/copied all of it/);

    const listed = await json<SubmissionLinkList>(await call(`/api/cases/${caseA.id}/submission-links`, { cookie: lead.cookie }));
    expect(Object.fromEntries(listed.links.map((l) => [l.id, l.status]))).toEqual({ [link.id]: "revoked", [second.id]: "expired" });
    const events = (await auditEvents()).filter((e) => e.action.startsWith("submission."));
    expect(events.map((e) => `${e.action}:${e.outcome}`)).toEqual([
      "submission.link_create:success", "submission.link_revoke:success", "submission.link_open:denied", "submission.link_create:success", "submission.link_open:denied",
    ]);
  });

  it("a person's link goes out by email where mail is set up (the link and instructions, nothing of the case); with no mail it is for copying", async () => {
    const { adminSession, lead, caseA } = await world();
    const unsent = await makeLink(lead, caseA, { audience: "person", label: "Corner shop", email: "nomail@example.org" });
    expect(unsent.emailed).toBe(false);
    const { user, password } = inject("smtpAccount");
    const settings = await call("/api/settings/mail", {
      method: "PUT", cookie: adminSession.cookie,
      body: { transport: "smtp", fromAddress: "custody@example.org", fromName: "Custody", smtp: { host: "127.0.0.1", port: inject("smtpPort"), security: "none", username: user, password } },
    });
    expect(settings.status, await settings.clone().text()).toBe(200);
    const address = `shop-${crypto.randomUUID().slice(0, 8)}@example.org`;
    const { link, emailed } = await makeLink(lead, caseA, { audience: "person", label: "Corner shop CCTV", email: address });
    expect(emailed).toBe(true);
    expect(link.email).toBe(address);
    const [message] = await messagesTo(address);
    const text = messageText(message!.raw);
    expect(text).toContain(link.url);
    expect(text).toContain("Photos or video of the High Street fire");
    expect(text).not.toContain("2026-0300");
    const events = (await auditEvents()).filter((e) => e.action === "submission.link_email");
    expect(events.map((e) => e.outcome)).toEqual(["failed", "success"]);
  });

  it("a bounded flood: one address may open links a limited number of times in ten minutes, then gets a plain 429; guessing counts too", async () => {
    const { lead, caseA } = await world();
    const { link } = await makeLink(lead, caseA);
    let opened = 0;
    for (let n = 0; n < SUBMIT_PER_ADDRESS; n++) {
      const response = await call(n % 2 === 0 ? `/api/submit/${link.id}` : `/api/submit/${"B".repeat(43)}`);
      expect([200, 404]).toContain(response.status);
      if (response.status === 200) opened++;
    }
    expect(opened).toBe(SUBMIT_PER_ADDRESS / 2);
    const refused = await call(`/api/submit/${link.id}`);
    expect(refused.headers.get("Retry-After")).toBe("600");
    expect((await expectError(refused, 429, "too_many_requests")).error.message).toMatch(/wait ten minutes/);
    const opens = (await auditEvents()).filter((e) => e.action === "submission.link_open");
    expect(opens).toHaveLength(SUBMIT_PER_ADDRESS / 2);
  });
});

describe("sending through a submission link, with no account", () => {
  it("a submitter sends a file encrypted to the submission key; the case's members can open it and the server cannot: nothing stored holds the plaintext or a key that opens it", async () => {
    const { lead, caseA } = await world();
    const { link, key } = await makeLink(lead, caseA);
    const base = `/api/submit/${link.id}`;
    const open = await json<PublicSubmissionLink>(await call(base));
    const { submissionId, signer, auth } = await startSubmission(link.id);
    const plain = randomBytes(3000, 41);
    const file = await prepareFile(link.id, submissionId, open.submissionKey, signer, plain);
    const sub = `${base}/submissions/${submissionId}`;
    expect((await json<SubmissionFileState>(await call(`${sub}/files`, { headers: auth, body: file.body }), 201)).partCount).toBe(1);
    // Retried (a lost answer): where it stands, nothing added.
    expect((await json<SubmissionFileState>(await call(`${sub}/files`, { headers: auth, body: file.body }), 200)).received).toEqual([]);
    await expectError(await call(`${sub}/files/${file.fileId}/complete`, { headers: auth, body: { manifest: file.manifest } }), 409, "parts_missing");
    const put = await call(`${sub}/files/${file.fileId}/parts/0`, { method: "PUT", headers: { ...auth, "Content-Type": "application/octet-stream" }, body: file.parts[0]! });
    expect(put.status, await put.clone().text()).toBe(204);
    expect((await json<SubmissionFileState>(await call(`${sub}/files/${file.fileId}`, { headers: auth }))).received).toEqual([0]);
    await json(await call(`${sub}/files/${file.fileId}/complete`, { headers: auth, body: { manifest: file.manifest } }));
    const sent = await json<SentSubmission>(await call(`${sub}/finish`, { method: "POST", headers: auth }));
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-512", plain)), (b) => b.toString(16).padStart(2, "0")).join("");
    expect(sent.files).toEqual([{ id: file.fileId, byteSize: 3000, sha512: digest }]);

    // Without the token, or with another's, nothing is reachable; the public answer lists nothing sent.
    await expectError(await call(`${sub}/files/${file.fileId}`), 404, "submission_unavailable");
    await expectError(await call(`${sub}/files/${file.fileId}`, { headers: { Authorization: `Bearer ${"x".repeat(43)}` } }), 404, "submission_unavailable");
    expect(JSON.stringify(await json(await call(base)))).not.toContain(file.fileId);

    // A member opens it: case key → submission key → file key → the plaintext, checked against the signed manifest.
    const { keys } = await json<MyCaseKeys>(await call(`/api/cases/${caseA.id}/keys`, { cookie: lead.cookie }));
    const caseKey = await unwrapCaseKey(keys.find((k) => k.current)!.wrap!, lead.encryption.privateKey);
    const row = await db.prepare("SELECT l.submission_key_wrap, f.file_key, f.r2_key, f.manifest FROM submission_files f JOIN submission_links l ON l.id = f.link_id WHERE f.id = ?").bind(file.fileId).first<{ submission_key_wrap: string; file_key: string; r2_key: string; manifest: string }>();
    const submissionKey = await unwrapSubmissionKey(row!.submission_key_wrap, caseKey.privateKey);
    expect(submissionKey.kid).toBe(key.kid);
    const fileKey = await unwrapFileKey(row!.file_key, submissionKey.privateKey);
    const stored = new Uint8Array(await (await bucket.get(row!.r2_key))!.arrayBuffer());
    const manifest = await verifyManifest(row!.manifest, signer.publicJwk);
    const chunks: Uint8Array[] = [];
    for await (const chunk of decryptParts([stored], fileKey, decryptExpectations(manifest))) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(Buffer.from(plain))).toBe(true);

    // Confidentiality: no stored row or object holds the plaintext (as hex, base64 or bytes).
    const plainHex = Buffer.from(plain.slice(0, 64)).toString("hex");
    const plainB64 = Buffer.from(plain.slice(0, 48)).toString("base64url");
    for (const table of ["submission_links", "submissions", "submission_files", "submission_parts"]) {
      const text = JSON.stringify((await db.prepare(`SELECT * FROM ${table}`).all()).results);
      expect(text).not.toContain(plainHex);
      expect(text).not.toContain(plainB64);
    }
    expect(Buffer.from(stored).includes(Buffer.from(plain.slice(0, 64)))).toBe(false);

    const events = (await auditEvents()).filter((e) => e.action.startsWith("submission."));
    expect(events.map((e) => e.action)).toEqual(["submission.link_create", "submission.link_open", "submission.start", "submission.file_add", "submission.part_upload", "submission.file", "submission.sent", "submission.link_open"]);
    expect(events.find((e) => e.action === "submission.file")!.details).toMatchObject({ caseId: caseA.id, fileId: file.fileId, byteSize: 3000, sha512: digest });
  });

  it("the link's limits hold against a flood; a revoked link, a forged manifest and a finished submission are refused plainly", async () => {
    const { lead, caseA } = await world();
    const { link } = await makeLink(lead, caseA, { maxFiles: 2, maxBytes: 7000 });
    const open = await json<PublicSubmissionLink>(await call(`/api/submit/${link.id}`));
    const { submissionId, signer, auth } = await startSubmission(link.id);
    const sub = `/api/submit/${link.id}/submissions/${submissionId}`;
    const statuses: number[] = [];
    for (let n = 0; n < 6; n++) {
      const file = await prepareFile(link.id, submissionId, open.submissionKey, signer, randomBytes(3000, 50 + n));
      const response = await call(`${sub}/files`, { headers: auth, body: file.body });
      statuses.push(response.status);
      if (response.status === 413) expect((await expectError(response, 413, "link_full")).error.message).toMatch(/reached the number of files or the total size/);
    }
    expect(statuses).toEqual([201, 201, 413, 413, 413, 413]);
    const stored = await db.prepare("SELECT count(*) AS n, sum(byte_size) AS bytes FROM submission_files WHERE link_id = ?").bind(link.id).first<{ n: number; bytes: number }>();
    expect(stored).toEqual({ n: 2, bytes: 6000 });

    // By bytes: a second link taking 4000 bytes in all refuses a second 3000-byte file.
    const { link: small } = await makeLink(lead, caseA, { maxFiles: 10, maxBytes: 4000 });
    const second = await startSubmission(small.id);
    const smallKey = (await json<PublicSubmissionLink>(await call(`/api/submit/${small.id}`))).submissionKey;
    const a = await prepareFile(small.id, second.submissionId, smallKey, second.signer, randomBytes(3000, 60));
    const b = await prepareFile(small.id, second.submissionId, smallKey, second.signer, randomBytes(3000, 61));
    await json(await call(`/api/submit/${small.id}/submissions/${second.submissionId}/files`, { headers: second.auth, body: a.body }), 201);
    await expectError(await call(`/api/submit/${small.id}/submissions/${second.submissionId}/files`, { headers: second.auth, body: b.body }), 413, "link_full");

    // A manifest signed by another key, or naming another link, is refused.
    const put = await call(`/api/submit/${small.id}/submissions/${second.submissionId}/files/${a.fileId}/parts/0`, { method: "PUT", headers: { ...second.auth, "Content-Type": "application/octet-stream" }, body: a.parts[0]! });
    expect(put.status).toBe(204);
    const other = await startSubmission(small.id);
    const forged = await prepareFile(small.id, second.submissionId, smallKey, other.signer, randomBytes(3000, 60));
    await expectError(await call(`/api/submit/${small.id}/submissions/${second.submissionId}/files/${a.fileId}/complete`, { headers: second.auth, body: { manifest: forged.manifest } }), 400, "invalid_manifest");
    await expectError(await call(`/api/submit/${small.id}/submissions/${second.submissionId}/files/${a.fileId}/complete`, { headers: second.auth, body: { manifest: a.manifest.replace(/^[^.]+/, "x") } }), 400);

    // Revoked: every public route says so.
    await json(await call(`/api/submission-links/${link.id}/revoke`, { cookie: lead.cookie, method: "POST" }));
    expect((await expectError(await call(`${sub}/files`, { headers: auth, body: (await prepareFile(link.id, submissionId, open.submissionKey, signer, randomBytes(10))).body }), 404, "link_unavailable")).error.message).toMatch(/closed by the investigators/);
    await expectError(await call(`/api/submit/${link.id}/submissions`, { body: { submissionId: hexId(), signerKey: (await generateUserKeys()).signing.publicJwk } }), 404, "link_unavailable");
  });

  it("the daily job deletes a submission left unfinished once its link has closed (rows, wrapped keys, stored object, with an event); a finished one stays", async () => {
    const { lead, caseA } = await world();
    const { link } = await makeLink(lead, caseA);
    const open = await json<PublicSubmissionLink>(await call(`/api/submit/${link.id}`));
    const sendFile = async (submitter: Awaited<ReturnType<typeof startSubmission>>, seed: number) => {
      const file = await prepareFile(link.id, submitter.submissionId, open.submissionKey, submitter.signer, randomBytes(2000, seed));
      const sub = `/api/submit/${link.id}/submissions/${submitter.submissionId}`;
      await json(await call(`${sub}/files`, { headers: submitter.auth, body: file.body }), 201);
      expect((await putPart(link.id, submitter, file.fileId, 0, file.parts[0]!)).status).toBe(204);
      await json(await call(`${sub}/files/${file.fileId}/complete`, { headers: submitter.auth, body: { manifest: file.manifest } }));
      return file;
    };
    const finished = await startSubmission(link.id);
    const kept = await sendFile(finished, 70);
    await json(await call(`/api/submit/${link.id}/submissions/${finished.submissionId}/finish`, { method: "POST", headers: finished.auth }));
    const left = await startSubmission(link.id);
    const dropped = await sendFile(left, 71);
    const objectOf = async (fileId: string) => (await db.prepare("SELECT r2_key FROM submission_files WHERE id = ?").bind(fileId).first<{ r2_key: string }>())?.r2_key;
    const droppedKey = (await objectOf(dropped.fileId))!;
    expect(await bucket.get(droppedKey)).not.toBeNull();

    // The link is open and the submission recent: the submitter may still come back to it.
    await backend.runScheduled(new Date());
    expect(await objectOf(dropped.fileId)).toBe(droppedKey);

    await json(await call(`/api/submission-links/${link.id}/revoke`, { cookie: lead.cookie, method: "POST" }));
    await backend.runScheduled(new Date());
    expect(await db.prepare("SELECT id FROM submissions WHERE link_id = ?").bind(link.id).all().then((r) => r.results.map((x) => x.id))).toEqual([finished.submissionId]);
    expect(await objectOf(dropped.fileId)).toBeUndefined();
    expect(await db.prepare("SELECT count(*) AS n FROM submission_parts WHERE file_id = ?").bind(dropped.fileId).first<{ n: number }>()).toEqual({ n: 0 });
    expect(await bucket.get(droppedKey)).toBeNull();
    expect(await bucket.get((await objectOf(kept.fileId))!)).not.toBeNull();
    const events = (await auditEvents()).filter((e) => e.action === "submission.abandoned");
    expect(events).toHaveLength(1);
    expect(events[0]!.details).toMatchObject({ caseId: caseA.id, linkId: link.id, submissionId: left.submissionId, files: 1, bytes: 2000 });
  });
});
