/// <reference types="vite/client" />
import { backend, db } from "./backend";
import { describe, expect, it } from "vitest";
import type { AuditPage } from "../../shared/api/audit";
import type { PublicAuditDocument } from "../../shared/audit/export";
import type { MyCaseKeys, PartUrls } from "../../shared/api/cases";
import type { TotpSetup } from "../../shared/api/identity";
import type { ErrorBody, Invitation, PublicKeyInfo } from "../../shared/api/schemas";
import type { AuditEvent } from "../../shared/audit/chain";
import { verifyExport } from "../../shared/audit/export";
import backfillMigration from "../../migrations/0014_signer_register_backfill.sql?raw";
import { escrowEncryptionKey, generateCaseKeyPair, generateRecoveryKeyPair, generateUserKeys, sealPasskeyBundle, wrapCaseKey } from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { addMember, filingBody, openCase, prepareEvidence, randomBytes, removeMember, sendParts, uploadCapture, uploadEvidence, withKeys, type Person } from "./evidence-helpers";
import { addUser, ADMIN, call, expectError, freshTotpCode, recoveryPublicKey, sessionCookie, setUpOrganisation, signIn, sealBundle } from "./helpers";
import type { VideoRequest } from "../../shared/api/video";
import { deliveryBody } from "../../agent/seal.ts";
import { createCategory, runJobAt, upload } from "./retention-helpers";
import { bindOperator, CAMERAS, createRequest, holdClip, pastRange, registerSite, siteWithCameras, workItem } from "./video-helpers";
import type { CreatedShare, LinkSession, ReceivedShare } from "../../shared/api/shares";
import { receiptSigningKey, rewrapCaseKey } from "../../shared/crypto";
import { prepareShare, receiptFor, share } from "./share-helpers";
import type { PublicSubmissionLink } from "../../shared/api/submissions";
import { hexId, linkBody, makeLink, prepareFile, putPart, startSubmission } from "./submission-helpers";
import type { IncomingSubmissions } from "../../shared/api/submission-intake";
import { rewrapLabel, unwrapCaseKey, unwrapSubmissionKey, rewrapFileKey } from "../../shared/crypto";
import { sendThroughLink } from "../support/submitter";

interface Operation {
  "x-custody-access": "public" | "session" | "admin";
  "x-custody-mutates": boolean;
}

/** The body of PUT /api/keys/me for fresh keys, as the browser makes it. */
async function keysBody(cookie: string, keys?: Awaited<ReturnType<typeof generateUserKeys>>) {
  keys ??= await generateUserKeys();
  const recovery = (await (await call("/api/keys/recovery", { cookie })).json()) as PublicKeyInfo;
  return {
    signing: keys.signing.publicJwk,
    encryption: keys.encryption.publicJwk,
    bundle: await sealBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, "a long key passphrase"),
    escrow: await escrowEncryptionKey(keys.encryption.privateJwk, recovery.publicJwk),
  };
}

/** Registers keys for a user, as the browser does. */
async function registerKeys(cookie: string): Promise<void> {
  expect((await call("/api/keys/me", { method: "PUT", body: await keysBody(cookie), cookie })).status).toBe(201);
}

/** Registers the given keys for a user. */
async function registerKeysWith(cookie: string, keys: Awaited<ReturnType<typeof generateUserKeys>>): Promise<void> {
  expect((await call("/api/keys/me", { method: "PUT", body: await keysBody(cookie, keys), cookie })).status).toBe(201);
}

/** The body of POST /api/cases for a new case led by `lead`, as the browser makes it. */
async function caseBody(lead: Person, number: string) {
  const caseKey = await generateCaseKeyPair();
  const recovery = (await (await call("/api/keys/recovery", { cookie: lead.cookie })).json()) as PublicKeyInfo;
  return {
    number,
    title: `Case ${number}`,
    tags: [],
    caseKey: caseKey.publicJwk,
    wraps: [
      { recipientKid: lead.encryption.kid, jwe: await wrapCaseKey(caseKey.privateJwk, lead.encryption.publicJwk) },
      { recipientKid: recovery.kid, jwe: await wrapCaseKey(caseKey.privateJwk, recovery.publicJwk) },
    ],
  };
}

type Admin = Awaited<ReturnType<typeof setUpOrganisation>>;

/** Evidence in a case the admin leads, its key released to them (what an offline view must follow), and when. */
async function releasedEvidence(admin: Admin): Promise<{ evidenceId: string; releasedAt: string }> {
  const lead = await withKeys(admin);
  const { evidenceId } = await uploadEvidence(lead, await openCase(lead, "O-1"), randomBytes(100));
  expect((await call(`/api/evidence/${evidenceId}/key`, { cookie: admin.cookie })).status).toBe(200);
  const release = (await auditEvents()).findLast((e) => e.action === "evidence.view" && e.target.id === evidenceId)!;
  return { evidenceId, releasedAt: release.at };
}

/** A case led by the admin, and an investigator with keys who is not yet a member. */
async function caseWithInvestigator(admin: Admin) {
  const lead = await withKeys(admin);
  const c = await openCase(lead, "A-1");
  const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" }));
  return { lead, c, ivy };
}

/** An invited user who accepted their invitation: a session restricted to MFA enrolment. */
async function invitedAndAccepted(admin: Admin): Promise<string> {
  const invited = (await (await call("/api/users", { body: { email: "inv@example.org", name: "Inv", role: "investigator" }, cookie: admin.cookie })).json()) as Invitation;
  return sessionCookie(await call("/api/invitations/accept", { body: { token: invited.token, password: "a long enough passphrase" } }));
}

/** A made-up passkey assertion or attestation: no real authenticator here, so it is refused. */
const FAKE_ASSERTION = { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "AAAA", authenticatorData: "AAAA", signature: "AAAA" }, clientExtensionResults: {} };
const FAKE_ATTESTATION = { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "AAAA", attestationObject: "AAAA" }, clientExtensionResults: {} };
const PROVIDER = { issuer: "https://idp.example.org", clientId: "custody", clientSecret: "s3cret", displayName: "SSO" };

/** A site with an enrolled agent and cameras, an investigator leading a case, and the site's operator; optionally a request for it, held at the site. */
async function videoWorld(admin: Admin, options: { held?: boolean } = {}) {
  const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" }));
  const c = await openCase(ivy, "V-1");
  const { agent, created, cameraIds } = await siteWithCameras(admin.cookie);
  const olive = await addUser(admin.cookie, { email: "olive@example.org", name: "Olive", role: "site_operator" });
  await bindOperator(admin.cookie, created.site.id, olive.session.user.id);
  const request = (await (await createRequest(ivy.cookie, { caseId: c.id, cameraIds: [cameraIds[0]!], ...pastRange(10) })).json()) as VideoRequest;
  const item = (await workItem(agent, request.id))!;
  const held = options.held ? await holdClip(agent, item, item.clips[0]!, randomBytes(500)) : null;
  return { ivy, c, agent, site: created.site, cameraIds, olive, request, item, held };
}

/** An item of a case the admin leads, past its retention (a category of 1 day after capture, the daily job run 2 days on): due for deletion. */
async function dueItem(admin: Admin): Promise<string> {
  const lead = await withKeys(admin);
  const category = await createCategory(admin, "Short", { basis: "capture", count: 1, unit: "days" });
  const { evidenceId } = await upload(lead, await openCase(lead, "R-1"), category.id);
  await runJobAt(2);
  return evidenceId;
}

/** A case led by the admin with one item, shared through a link at `level`; the link opened with its code when `open`. */
async function linkShare(admin: Admin, level = "view", open = false) {
  const lead = await withKeys(admin);
  const c = await openCase(lead, "S-1");
  const { evidenceId } = await uploadEvidence(lead, c, randomBytes(100));
  const made = await share(lead, c.id, { type: "link", label: "Defence" }, { level });
  const { accessCode } = (await made.response.json()) as CreatedShare;
  let bearer: Record<string, string> = {};
  if (open) {
    const { token } = (await (await call(`/api/shared/links/${made.id}/open`, { body: { accessCode } })).json()) as LinkSession;
    bearer = { Authorization: `Bearer ${token}` };
  }
  return { lead, c, evidenceId, id: made.id, accessCode: accessCode!, bearer };
}

/** The action of a scenario: one request (or, for a few, the browser's few requests) that performs the route. */
type Action = () => Promise<unknown>;

/**
 * For every state-changing route: `prepare` does everything the action needs beforehand and
 * answers the action itself, which calls the route; `action` is the audit action it must write.
 * A route added without a scenario here fails the coverage test below: add one.
 */
/** A submission link of a case the admin leads, a started submission and a prepared file (added and its part sent, if asked). */
async function submissionUnderway(admin: Admin, progress: { added?: true; sent?: true } = {}) {
  const lead = await withKeys(admin);
  const { link } = await makeLink(lead, await openCase(lead, "U-1"));
  const open = (await (await call(`/api/submit/${link.id}`)).json()) as PublicSubmissionLink;
  const submitter = await startSubmission(link.id);
  const file = await prepareFile(link.id, submitter.submissionId, open.submissionKey, submitter.signer, randomBytes(500));
  if (progress.added) expect((await call(`/api/submit/${link.id}/submissions/${submitter.submissionId}/files`, { headers: submitter.auth, body: file.body })).status).toBe(201);
  if (progress.sent) expect((await putPart(link.id, submitter, file.fileId, 0, file.parts[0]!)).status).toBe(204);
  return { link, submitter, file };
}

/** A file sent through a submission link of a case the admin leads, waiting for intake, and the body that accepts it (as the admin's browser makes it). */
async function submittedFile(admin: Admin) {
  const lead = await withKeys(admin);
  const caseDetail = await openCase(lead, "U-2");
  const { link, key } = await makeLink(lead, caseDetail);
  const fetcher = (path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {}) =>
    call(path, { ...(init.method ? { method: init.method } : {}), headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body } : {}) });
  const { fileIds: [fileId] } = await sendThroughLink(fetcher, link.id, key.kid, [{ bytes: randomBytes(700), fileName: "photo.jpg", mediaType: "image/jpeg" }]);
  const { submissions: [submission] } = (await (await call(`/api/cases/${caseDetail.id}/submissions`, { cookie: admin.cookie })).json()) as IncomingSubmissions;
  const { keys } = (await (await call(`/api/cases/${caseDetail.id}/keys`, { cookie: admin.cookie })).json()) as { keys: { kid: string; wrap: string | null }[] };
  const caseKey = await unwrapCaseKey(keys.find((k) => k.kid === submission!.caseKid)!.wrap!, lead.encryption.privateKey);
  const submissionKey = await unwrapSubmissionKey(submission!.submissionKeyWrap, caseKey.privateKey);
  const file = submission!.files[0]!;
  const accept = {
    caseKid: caseDetail.caseKey.kid,
    fileKey: await rewrapFileKey(file.fileKey, submissionKey.privateKey, caseDetail.caseKey.publicJwk),
    label: await rewrapLabel(file.label, submissionKey.privateKey, caseDetail.caseKey.publicJwk),
  };
  return { fileId: fileId!, accept };
}

const SCENARIOS: Record<string, { action: string; prepare: (admin: Admin) => Promise<Action>; onEmptyInstallation?: true }> = {
  "POST /api/setup": {
    action: "organisation.setup",
    onEmptyInstallation: true,
    prepare: async () => {
      const body = { organisation: { name: "Northshire Police" }, admin: ADMIN, recoveryKey: await recoveryPublicKey() };
      return () => call("/api/setup", { body });
    },
  },
  // The administrator has MFA: the password step is recorded as accepted; the sign-in itself when the second step completes it.
  "POST /api/auth/sign-in": { action: "auth.password_accepted", prepare: async () => () => call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } }) },
  "POST /api/auth/sign-out": {
    action: "auth.sign_out",
    prepare: async () => {
      const cookie = sessionCookie(await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } }));
      return () => call("/api/auth/sign-out", { method: "POST", cookie });
    },
  },
  "POST /api/users": { action: "user.invite", prepare: async (admin) => () => call("/api/users", { body: { email: "new@example.org", name: "New", role: "investigator" }, cookie: admin.cookie }) },
  "PATCH /api/users/{id}": {
    action: "user.role_change",
    prepare: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      return () => call(`/api/users/${ivy.session.user.id}`, { method: "PATCH", body: { role: "site_operator" }, cookie: admin.cookie });
    },
  },
  "PUT /api/users/{id}/supervisor": {
    action: "user.supervisor_add",
    prepare: async (admin) => {
      const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" }));
      return () => call(`/api/users/${ivy.id}/supervisor`, { method: "PUT", body: { supervisor: true }, cookie: admin.cookie });
    },
  },
  "POST /api/cases/{id}/oversight": {
    action: "case.oversight_add",
    prepare: async (admin) => {
      const { lead, c, ivy } = await caseWithInvestigator(admin);
      const made = await call(`/api/users/${ivy.id}/supervisor`, { method: "PUT", body: { supervisor: true }, cookie: admin.cookie });
      expect(made.status, await made.clone().text()).toBe(200);
      const { keys } = (await (await call(`/api/cases/${c.id}/keys`, { cookie: lead.cookie })).json()) as MyCaseKeys;
      const jwe = await rewrapCaseKey(keys[0]!.wrap!, lead.encryption.privateKey, ivy.encryption.publicJwk);
      return () => call(`/api/cases/${c.id}/oversight`, { cookie: lead.cookie, body: { wraps: [{ caseKid: c.caseKey.kid, recipientKid: ivy.encryption.kid, jwe }] } });
    },
  },
  "POST /api/invitations/accept": {
    action: "user.invitation_accept",
    prepare: async (admin) => {
      const invited = (await (await call("/api/users", { body: { email: "inv@example.org", name: "Inv", role: "investigator" }, cookie: admin.cookie })).json()) as Invitation;
      return () => call("/api/invitations/accept", { body: { token: invited.token, password: "a long enough passphrase" } });
    },
  },
  "PUT /api/keys/me": {
    action: "keys.register",
    prepare: async (admin) => {
      const body = await keysBody(admin.cookie);
      return () => call("/api/keys/me", { method: "PUT", body, cookie: admin.cookie });
    },
  },
  "PUT /api/keys/me/bundle": {
    action: "keys.passphrase_change",
    prepare: async (admin) => {
      await registerKeys(admin.cookie);
      const keys = await generateUserKeys();
      const bundle = await sealBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, "another long passphrase");
      return () => call("/api/keys/me/bundle", { method: "PUT", body: { bundle }, cookie: admin.cookie });
    },
  },
  "PUT /api/keys/me/passkeys/{id}": {
    action: "keys.passkey_unlock_on",
    prepare: async (admin) => {
      const keys = await generateUserKeys();
      await registerKeysWith(admin.cookie, keys);
      await db
        .prepare("INSERT INTO passkeys (id, user_id, public_key, counter, transports, name, created_at) VALUES ('AAAA', ?, 'AAAA', 0, '[]', 'Phone', ?)")
        .bind(admin.session.user.id, new Date().toISOString())
        .run();
      const bundle = await sealPasskeyBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, new Uint8Array(32).fill(1), "AAAA");
      return () => call("/api/keys/me/passkeys/AAAA", { method: "PUT", body: { bundle }, cookie: admin.cookie });
    },
  },
  "DELETE /api/keys/me/passkeys/{id}": {
    action: "keys.passkey_unlock_off",
    prepare: async (admin) => {
      const keys = await generateUserKeys();
      await registerKeysWith(admin.cookie, keys);
      await db
        .prepare("INSERT INTO passkeys (id, user_id, public_key, counter, transports, name, created_at) VALUES ('AAAA', ?, 'AAAA', 0, '[]', 'Phone', ?)")
        .bind(admin.session.user.id, new Date().toISOString())
        .run();
      const bundle = await sealPasskeyBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, new Uint8Array(32).fill(1), "AAAA");
      expect((await call("/api/keys/me/passkeys/AAAA", { method: "PUT", body: { bundle }, cookie: admin.cookie })).status).toBe(200);
      return () => call("/api/keys/me/passkeys/AAAA", { method: "DELETE", cookie: admin.cookie });
    },
  },
  "POST /api/keys/me/recovery": {
    action: "keys.recovery_request",
    prepare: async (admin) => {
      await registerKeys(admin.cookie);
      const transportKey = (await generateRecoveryKeyPair()).publicJwk;
      return () => call("/api/keys/me/recovery", { body: { transportKey }, cookie: admin.cookie });
    },
  },
  "DELETE /api/keys/me/recovery": {
    action: "keys.recovery_cancel",
    prepare: async (admin) => {
      await registerKeys(admin.cookie);
      await call("/api/keys/me/recovery", { body: { transportKey: (await generateRecoveryKeyPair()).publicJwk }, cookie: admin.cookie });
      return () => call("/api/keys/me/recovery", { method: "DELETE", cookie: admin.cookie });
    },
  },
  "POST /api/keys/me/recovery/complete": {
    // Refused here (nothing released): the refused attempt is recorded.
    action: "request.refused",
    prepare: async (admin) => {
      const signing = (await generateUserKeys()).signing.publicJwk;
      return () => call("/api/keys/me/recovery/complete", { body: { signing, bundle: "a.b.c.d.e", escrow: "a.b.c.d.e" }, cookie: admin.cookie });
    },
  },
  "POST /api/keys/recovery-requests/{id}/release": {
    // No such request: the refused attempt is recorded.
    action: "request.refused",
    prepare: async (admin) => () => call(`/api/keys/recovery-requests/${"0".repeat(32)}/release`, { body: { transfer: "a.b.c.d.e" }, cookie: admin.cookie }),
  },
  // ---- identity (MFA, re-authentication, sessions, settings, user administration)
  "POST /api/auth/mfa": {
    action: "auth.sign_in",
    prepare: async (admin) => {
      const cookie = sessionCookie(await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } }));
      const code = await freshTotpCode(admin.totpSecret);
      return () => call("/api/auth/mfa", { body: { method: "totp", code }, cookie });
    },
  },
  "POST /api/auth/passkey": {
    // No real authenticator here: a made-up assertion is refused, and the failure recorded.
    action: "auth.sign_in",
    prepare: async () => {
      const { challengeId } = (await (await call("/api/auth/passkey/options", { body: { purpose: "sign_in" } })).json()) as { challengeId: string };
      return () => call("/api/auth/passkey", { body: { challengeId, credential: FAKE_ASSERTION } });
    },
  },
  "POST /api/auth/reauth": { action: "auth.reauth", prepare: async (admin) => () => call("/api/auth/reauth", { body: { method: "password", password: ADMIN.password }, cookie: admin.cookie }) },
  "POST /api/auth/password": {
    action: "user.password_change",
    prepare: async (admin) => () => call("/api/auth/password", { body: { currentPassword: ADMIN.password, newPassword: "a brand new long passphrase" }, cookie: admin.cookie }),
  },
  "POST /api/mfa/totp": {
    action: "mfa.totp_start",
    prepare: async (admin) => {
      const cookie = await invitedAndAccepted(admin);
      return () => call("/api/mfa/totp", { method: "POST", cookie });
    },
  },
  "POST /api/mfa/totp/confirm": {
    action: "mfa.totp_enrol",
    prepare: async (admin) => {
      const cookie = await invitedAndAccepted(admin);
      const { secret } = (await (await call("/api/mfa/totp", { method: "POST", cookie })).json()) as TotpSetup;
      const code = await freshTotpCode(secret);
      return () => call("/api/mfa/totp/confirm", { body: { code }, cookie });
    },
  },
  "DELETE /api/mfa/totp": {
    // The administrator's only factor, with MFA required: refused, and the refusal recorded.
    action: "mfa.totp_remove",
    prepare: async (admin) => () => call("/api/mfa/totp", { method: "DELETE", cookie: admin.cookie }),
  },
  "POST /api/mfa/recovery-codes": { action: "mfa.recovery_codes_replace", prepare: async (admin) => () => call("/api/mfa/recovery-codes", { method: "POST", cookie: admin.cookie }) },
  "POST /api/mfa/passkeys": {
    action: "mfa.passkey_add",
    prepare: async (admin) => {
      const { challengeId } = (await (await call("/api/mfa/passkeys/options", { method: "POST", cookie: admin.cookie })).json()) as { challengeId: string };
      return () => call("/api/mfa/passkeys", { body: { challengeId, name: "Phone", credential: FAKE_ATTESTATION }, cookie: admin.cookie });
    },
  },
  "DELETE /api/mfa/passkeys/{id}": { action: "request.refused", prepare: async (admin) => () => call("/api/mfa/passkeys/AAAA", { method: "DELETE", cookie: admin.cookie }) },
  "DELETE /api/sessions/{id}": {
    action: "session.revoke",
    prepare: async (admin) => {
      const other = await signIn(ADMIN.email, ADMIN.password, admin.totpSecret);
      const { sessions } = (await (await call("/api/sessions", { cookie: admin.cookie })).json()) as { sessions: { id: string; current: boolean }[] };
      const id = sessions.find((s) => !s.current)!.id;
      await call("/api/auth/session", { cookie: other.cookie });
      return () => call(`/api/sessions/${id}`, { method: "DELETE", cookie: admin.cookie });
    },
  },
  "PUT /api/settings": { action: "settings.change", prepare: async (admin) => () => call("/api/settings", { method: "PUT", body: { idleTimeoutMinutes: 15 }, cookie: admin.cookie }) },
  "POST /api/users/{id}/disable": {
    action: "user.disable",
    prepare: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      return () => call(`/api/users/${ivy.session.user.id}/disable`, { method: "POST", cookie: admin.cookie });
    },
  },
  "POST /api/users/{id}/enable": {
    action: "user.enable",
    prepare: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      await call(`/api/users/${ivy.session.user.id}/disable`, { method: "POST", cookie: admin.cookie });
      return () => call(`/api/users/${ivy.session.user.id}/enable`, { method: "POST", cookie: admin.cookie });
    },
  },
  "POST /api/users/{id}/unlock": {
    action: "user.unlock",
    prepare: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      return () => call(`/api/users/${ivy.session.user.id}/unlock`, { method: "POST", cookie: admin.cookie });
    },
  },
  "POST /api/users/{id}/mfa/reset": {
    action: "mfa.reset",
    prepare: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      return () => call(`/api/users/${ivy.session.user.id}/mfa/reset`, { method: "POST", cookie: admin.cookie });
    },
  },
  "DELETE /api/users/{id}/sessions": {
    action: "session.revoke_all",
    prepare: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      return () => call(`/api/users/${ivy.session.user.id}/sessions`, { method: "DELETE", cookie: admin.cookie });
    },
  },
  // ---- OpenID Connect sign-in (the full flows are in oidc.test.ts)
  "PUT /api/oidc/provider": {
    action: "oidc.provider_create",
    prepare: async (admin) => () => call("/api/oidc/provider", { method: "PUT", body: PROVIDER, cookie: admin.cookie }),
  },
  "DELETE /api/oidc/provider": {
    action: "oidc.provider_delete",
    prepare: async (admin) => {
      await call("/api/oidc/provider", { method: "PUT", body: PROVIDER, cookie: admin.cookie });
      return () => call("/api/oidc/provider", { method: "DELETE", cookie: admin.cookie });
    },
  },
  "GET /api/oidc/callback": {
    // A callback with a state the worker never issued: the failed sign-in is recorded.
    action: "auth.sign_in",
    prepare: async (admin) => {
      await call("/api/oidc/provider", { method: "PUT", body: PROVIDER, cookie: admin.cookie });
      return () => call("/api/oidc/callback?state=forged&code=forged");
    },
  },
  "POST /api/cases": {
    action: "case.create",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const body = await caseBody(lead, "A-1");
      return () => call("/api/cases", { cookie: lead.cookie, body });
    },
  },
  "PATCH /api/cases/{id}": {
    action: "case.close",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "A-1");
      return () => call(`/api/cases/${c.id}`, { method: "PATCH", cookie: lead.cookie, body: { status: "closed", disposition: "solved" } });
    },
  },
  "POST /api/cases/{id}/members": {
    action: "case.member_add",
    prepare: async (admin) => {
      const { lead, c, ivy } = await caseWithInvestigator(admin);
      return () => addMember(lead, c.id, ivy, "viewer");
    },
  },
  "PUT /api/settings/mail": {
    action: "settings.mail_change",
    prepare: async (admin) => () =>
      call("/api/settings/mail", { method: "PUT", cookie: admin.cookie, body: { transport: "smtp", fromAddress: "custody@example.org", fromName: "Custody", smtp: { host: "127.0.0.1", port: 2, security: "none" } } }),
  },
  "POST /api/settings/mail/test": {
    // SMTP to a closed port: the failed test message is recorded (outcome failed), and so is a sent one.
    action: "settings.mail_test",
    prepare: async (admin) => {
      const saved = await call("/api/settings/mail", { method: "PUT", cookie: admin.cookie, body: { transport: "smtp", fromAddress: "custody@example.org", fromName: "Custody", smtp: { host: "127.0.0.1", port: 2, security: "none" } } });
      expect(saved.status, await saved.clone().text()).toBe(200);
      return () => call("/api/settings/mail/test", { body: { to: "someone@example.org" }, cookie: admin.cookie });
    },
  },
  "POST /api/cases/{id}/package": {
    action: "case.package_export",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "P-1");
      const { evidenceId } = await uploadEvidence(lead, c, randomBytes(100));
      return () => call(`/api/cases/${c.id}/package`, { body: { evidenceIds: [evidenceId] }, cookie: admin.cookie });
    },
  },
  "POST /api/cases/{id}/shares": {
    action: "share.create",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "S-1");
      await uploadEvidence(lead, c, randomBytes(100));
      const { body } = await prepareShare(lead, c.id, { type: "link", label: "Defence" });
      return () => call(`/api/cases/${c.id}/shares`, { body, cookie: admin.cookie });
    },
  },
  "POST /api/cases/{id}/guests": {
    action: "share.guest_invite",
    prepare: async (admin) => {
      const c = await openCase(await withKeys(admin), "S-1");
      return () => call(`/api/cases/${c.id}/guests`, { body: { email: "guest@example.org", name: "Guest" }, cookie: admin.cookie });
    },
  },
  "PATCH /api/shares/{id}": {
    action: "share.update",
    prepare: async (admin) => {
      const { id } = await linkShare(admin);
      return () => call(`/api/shares/${id}`, { method: "PATCH", body: { level: "download" }, cookie: admin.cookie });
    },
  },
  "POST /api/shares/{id}/revoke": {
    action: "share.revoke",
    prepare: async (admin) => {
      const { id } = await linkShare(admin);
      return () => call(`/api/shares/${id}/revoke`, { method: "POST", cookie: admin.cookie });
    },
  },
  "POST /api/shares/{id}/case-keys": {
    action: "share.keys_add",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "S-1");
      const made = await share(lead, c.id, { type: "link", label: "Defence" }, { includeLater: true });
      const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" }));
      expect((await addMember(lead, c.id, ivy, "viewer")).status).toBe(201);
      expect((await removeMember(lead, c.id, ivy, [lead])).status).toBe(200);
      const { keys } = (await (await call(`/api/cases/${c.id}/keys`, { cookie: admin.cookie })).json()) as { keys: { kid: string; current: boolean; wrap: string }[] };
      const current = keys.find((k) => k.current)!;
      const jwe = await rewrapCaseKey(current.wrap, lead.encryption.privateKey, made.shareKey.publicJwk);
      return () => call(`/api/shares/${made.id}/case-keys`, { body: { caseKeys: [{ caseKid: current.kid, jwe }] }, cookie: admin.cookie });
    },
  },
  "POST /api/shares/{id}/access-code": {
    action: "share.access_code",
    prepare: async (admin) => {
      const { id } = await linkShare(admin);
      return () => call(`/api/shares/${id}/access-code`, { method: "POST", cookie: admin.cookie });
    },
  },
  "POST /api/shared/links/{id}/open": {
    action: "share.open",
    prepare: async (admin) => {
      const { id, accessCode } = await linkShare(admin);
      return () => call(`/api/shared/links/${id}/open`, { body: { accessCode } });
    },
  },
  "POST /api/shared/{id}/items/{evidenceId}/access": {
    action: "share.download",
    prepare: async (admin) => {
      const { id, evidenceId, bearer } = await linkShare(admin, "download", true);
      return () => call(`/api/shared/${id}/items/${evidenceId}/access`, { body: { action: "download" }, headers: bearer });
    },
  },
  "POST /api/shared/{id}/receipts": {
    action: "share.receipt",
    prepare: async (admin) => {
      const { id, bearer } = await linkShare(admin, "view", true);
      const view = (await (await call(`/api/shared/${id}`, { headers: bearer })).json()) as ReceivedShare;
      const jws = await receiptFor(view, await receiptSigningKey(), { type: "link", name: "Dana Defence" });
      return () => call(`/api/shared/${id}/receipts`, { body: { jws }, headers: bearer });
    },
  },
  "PATCH /api/cases/{id}/members/{userId}": {
    action: "case.member_role",
    prepare: async (admin) => {
      const { lead, c, ivy } = await caseWithInvestigator(admin);
      await addMember(lead, c.id, ivy, "viewer");
      return () => call(`/api/cases/${c.id}/members/${ivy.id}`, { method: "PATCH", cookie: lead.cookie, body: { role: "contributor" } });
    },
  },
  "POST /api/cases/{id}/members/{userId}/remove": {
    action: "case.member_remove",
    prepare: async (admin) => {
      const { lead, c, ivy } = await caseWithInvestigator(admin);
      await addMember(lead, c.id, ivy, "viewer");
      return () => removeMember(lead, c.id, ivy, [lead]);
    },
  },
  "POST /api/cases/{id}/evidence": {
    action: "evidence.upload_start",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "A-1");
      const { body } = await prepareEvidence(lead, c, randomBytes(100));
      return () => call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body });
    },
  },
  "PUT /api/uploads/{id}/{part}": {
    action: "evidence.part_upload",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "A-1");
      const prepared = await prepareEvidence(lead, c, randomBytes(100));
      await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: prepared.body });
      const { urls } = (await (await call(`/api/evidence/${prepared.evidenceId}/part-urls`, { cookie: lead.cookie, body: { parts: [0] } })).json()) as PartUrls;
      return () => call(urls[0]!.url, { method: "PUT", body: prepared.parts[0]!, headers: { "Content-Type": "application/octet-stream" } });
    },
  },
  "POST /api/evidence/{id}/complete": {
    action: "evidence.upload_complete",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "A-1");
      const prepared = await prepareEvidence(lead, c, randomBytes(100));
      await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: prepared.body });
      for (const response of await sendParts(lead, prepared)) expect(response.status).toBe(204);
      return () => call(`/api/evidence/${prepared.evidenceId}/complete`, { method: "POST", cookie: lead.cookie });
    },
  },
  "DELETE /api/evidence/{id}": {
    action: "evidence.upload_cancel",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "A-1");
      const prepared = await prepareEvidence(lead, c, randomBytes(100));
      await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: prepared.body });
      return () => call(`/api/evidence/${prepared.evidenceId}`, { method: "DELETE", cookie: lead.cookie });
    },
  },
  "POST /api/evidence/{id}/access": {
    action: "evidence.download",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const upload = await uploadEvidence(lead, await openCase(lead, "A-1"), randomBytes(100));
      return () => call(`/api/evidence/${upload.evidenceId}/access`, { cookie: lead.cookie, body: { action: "download" } });
    },
  },
  "PATCH /api/evidence/{id}/details": {
    action: "evidence.details_edit",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const upload = await uploadEvidence(lead, await openCase(lead, "A-1"), randomBytes(100));
      return () => call(`/api/evidence/${upload.evidenceId}/details`, { method: "PATCH", cookie: lead.cookie, body: { jwe: "a.b.c.d.e", baseVersion: 0 } });
    },
  },
  "POST /api/evidence/{id}/file": {
    action: "evidence.file",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const capture = await uploadCapture(lead, randomBytes(100));
      const body = await filingBody(lead, capture, await openCase(lead, "A-1"));
      return () => call(`/api/evidence/${capture.evidenceId}/file`, { cookie: lead.cookie, body });
    },
  },
  "POST /api/sites": { action: "site.create", prepare: async (admin) => () => call("/api/sites", { cookie: admin.cookie, body: { name: "Corner Shop", address: "", holdDays: 30 } }) },
  "POST /api/sites/{id}/enrolment": {
    action: "site.enrolment_issue",
    prepare: async (admin) => {
      const created = await registerSite(admin.cookie);
      return () => call(`/api/sites/${created.site.id}/enrolment`, { method: "POST", cookie: admin.cookie });
    },
  },
  "PUT /api/sites/{id}/operators/{userId}": {
    action: "site.operator_add",
    prepare: async (admin) => {
      const created = await registerSite(admin.cookie);
      const olive = await addUser(admin.cookie, { email: "olive@example.org", name: "Olive", role: "site_operator" });
      return () => call(`/api/sites/${created.site.id}/operators/${olive.session.user.id}`, { method: "PUT", cookie: admin.cookie });
    },
  },
  "DELETE /api/sites/{id}/operators/{userId}": {
    action: "site.operator_remove",
    prepare: async (admin) => {
      const created = await registerSite(admin.cookie);
      const olive = await addUser(admin.cookie, { email: "olive@example.org", name: "Olive", role: "site_operator" });
      await bindOperator(admin.cookie, created.site.id, olive.session.user.id);
      return () => call(`/api/sites/${created.site.id}/operators/${olive.session.user.id}`, { method: "DELETE", cookie: admin.cookie });
    },
  },
  "POST /api/agent/enrol": {
    action: "site.agent_enrol",
    prepare: async (admin) => {
      const created = await registerSite(admin.cookie);
      const keys = await generateUserKeys();
      const { importPrivateKey } = await import("../../shared/crypto");
      const { AGENT_AUTH_SCHEME, signAgentRequest } = await import("../../shared/agent/signature");
      const signing = await importPrivateKey(keys.signing.privateJwk, "sign");
      const body = JSON.stringify({ siteId: created.site.id, token: created.config.enrolmentToken, signingKey: keys.signing.publicJwk, encryptionKey: keys.encryption.publicJwk });
      const jws = await signAgentRequest(signing, { method: "POST", url: new URL("http://localhost:8787/api/agent/enrol"), body: new TextEncoder().encode(body) });
      return () => call("/api/agent/enrol", { cookie: null, body, headers: { Authorization: `${AGENT_AUTH_SCHEME} ${jws}`, "Content-Type": "application/json" } });
    },
  },
  "PUT /api/agent/cameras": {
    action: "camera.sync",
    prepare: async (admin) => {
      const { agent } = await siteWithCameras(admin.cookie, "Corner Shop", [CAMERAS[0]!]);
      return () => agent.call("/api/agent/cameras", { method: "PUT", body: { cameras: CAMERAS } });
    },
  },
  "POST /api/video-requests": {
    action: "video.request_create",
    prepare: async (admin) => {
      const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" }));
      const c = await openCase(ivy, "V-1");
      const { cameraIds } = await siteWithCameras(admin.cookie);
      return () => createRequest(ivy.cookie, { caseId: c.id, cameraIds, ...pastRange(10) });
    },
  },
  "POST /api/agent/clips/{id}/exporting": {
    action: "video.export_start",
    prepare: async (admin) => {
      const { agent, item } = await videoWorld(admin);
      return () => agent.call(`/api/agent/clips/${item.clips[0]!.id}/exporting`, { method: "POST" });
    },
  },
  "POST /api/agent/clips/{id}/held": {
    action: "video.clip_held",
    prepare: async (admin) => {
      const { agent, item } = await videoWorld(admin);
      const clip = item.clips[0]!;
      await agent.call(`/api/agent/clips/${clip.id}/exporting`, { method: "POST" });
      return () => agent.call(`/api/agent/clips/${clip.id}/held`, { body: { byteSize: 500, footageStart: clip.start, footageEnd: clip.end, durationMs: 600_000 } });
    },
  },
  "POST /api/agent/clips/{id}/unavailable": {
    action: "video.clip_unavailable",
    prepare: async (admin) => {
      const { agent, item } = await videoWorld(admin);
      await agent.call(`/api/agent/clips/${item.clips[0]!.id}/exporting`, { method: "POST" });
      return () => agent.call(`/api/agent/clips/${item.clips[0]!.id}/unavailable`, { body: { reason: "No recording." } });
    },
  },
  "POST /api/video-requests/{id}/approve": {
    action: "video.request_approve",
    prepare: async (admin) => {
      const { olive, request } = await videoWorld(admin, { held: true });
      return () => call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: olive.cookie });
    },
  },
  "POST /api/video-requests/{id}/deny": {
    action: "video.request_deny",
    prepare: async (admin) => {
      const { olive, request } = await videoWorld(admin, { held: true });
      return () => call(`/api/video-requests/${request.id}/deny`, { cookie: olive.cookie, body: { note: "No" } });
    },
  },
  "POST /api/agent/clips/{id}/evidence": {
    action: "video.delivery_start",
    prepare: async (admin) => {
      const { agent, olive, request, held } = await videoWorld(admin, { held: true });
      await call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: olive.cookie });
      const item = (await workItem(agent, request.id))!;
      const body = await deliveryBody({ held: held!.record, evidenceId: "e".repeat(32), site: { id: agent.siteId, name: agent.siteName }, delivery: item.delivery!, keys: { signing: agent.signing, encryption: agent.encryption } });
      return () => agent.call(`/api/agent/clips/${held!.record.clipId}/evidence`, { body });
    },
  },
  "POST /api/agent/clips/{id}/delivered": {
    action: "video.clip_delivered",
    prepare: async (admin) => {
      const { agent, olive, request, held } = await videoWorld(admin, { held: true });
      await call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: olive.cookie });
      const item = (await workItem(agent, request.id))!;
      const body = await deliveryBody({ held: held!.record, evidenceId: "e".repeat(32), site: { id: agent.siteId, name: agent.siteName }, delivery: item.delivery!, keys: { signing: agent.signing, encryption: agent.encryption } });
      await agent.call(`/api/agent/clips/${held!.record.clipId}/evidence`, { body });
      const { urls } = (await (await agent.call(`/api/agent/clips/${held!.record.clipId}/part-urls`, { body: { parts: [0] } })).json()) as PartUrls;
      await call(urls[0]!.url, { method: "PUT", cookie: null, body: held!.parts[0]!, headers: { "Content-Type": "application/octet-stream" } });
      return () => agent.call(`/api/agent/clips/${held!.record.clipId}/delivered`, { method: "POST" });
    },
  },
  "POST /api/agent/requests/{id}/purged": {
    action: "video.held_deleted",
    prepare: async (admin) => {
      const { agent, olive, request } = await videoWorld(admin, { held: true });
      await call(`/api/video-requests/${request.id}/deny`, { cookie: olive.cookie, body: { note: "" } });
      return () => agent.call(`/api/agent/requests/${request.id}/purged`, { method: "POST" });
    },
  },
  "POST /api/retention/categories": {
    action: "retention.category_create",
    prepare: async (admin) => () => call("/api/retention/categories", { cookie: admin.cookie, body: { name: "Traffic", rule: { basis: "case_closed", count: 3, unit: "years" } } }),
  },
  "PATCH /api/retention/categories/{id}": {
    action: "retention.category_change",
    prepare: async (admin) => {
      const category = await createCategory(admin, "Traffic", { basis: "capture", count: 1, unit: "years" });
      return () => call(`/api/retention/categories/${category.id}`, { method: "PATCH", cookie: admin.cookie, body: { rule: { basis: "indefinite" }, reason: "Policy change" } });
    },
  },
  "PUT /api/retention/settings": { action: "retention.settings_change", prepare: async (admin) => () => call("/api/retention/settings", { method: "PUT", cookie: admin.cookie, body: { binDays: 30 } }) },
  "POST /api/retention/holds": {
    action: "retention.hold",
    prepare: async (admin) => {
      const c = await openCase(await withKeys(admin), "H-1");
      return () => call("/api/retention/holds", { cookie: admin.cookie, body: { caseId: c.id, reason: "Appeal pending" } });
    },
  },
  "POST /api/retention/holds/{id}/lift": {
    action: "retention.hold_lift",
    prepare: async (admin) => {
      const c = await openCase(await withKeys(admin), "H-1");
      const { holds } = (await (await call("/api/retention/holds", { cookie: admin.cookie, body: { caseId: c.id, reason: "Appeal pending" } })).json()) as { holds: { id: string }[] };
      return () => call(`/api/retention/holds/${holds[0]!.id}/lift`, { cookie: admin.cookie, body: { reason: "Appeal dismissed" } });
    },
  },
  "PUT /api/retention/evidence/{id}/category": {
    action: "retention.category_assign",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const { evidenceId } = await uploadEvidence(lead, await openCase(lead, "R-1"), randomBytes(100));
      const category = await createCategory(admin, "Homicide", { basis: "indefinite" });
      return () => call(`/api/retention/evidence/${evidenceId}/category`, { method: "PUT", cookie: admin.cookie, body: { categoryId: category.id, reason: "Reclassified" } });
    },
  },
  "POST /api/retention/evidence/{id}/deletion-request": {
    action: "retention.deletion_request",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const { evidenceId } = await uploadEvidence(lead, await openCase(lead, "R-1"), randomBytes(100));
      return () => call(`/api/retention/evidence/${evidenceId}/deletion-request`, { cookie: lead.cookie, body: { reason: "Uploaded by mistake" } });
    },
  },
  "POST /api/retention/evidence/{id}/decline": {
    action: "retention.deletion_declined",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const { evidenceId } = await uploadEvidence(lead, await openCase(lead, "R-1"), randomBytes(100));
      expect((await call(`/api/retention/evidence/${evidenceId}/deletion-request`, { cookie: lead.cookie, body: { reason: "Uploaded by mistake" } })).status).toBe(200);
      return () => call(`/api/retention/evidence/${evidenceId}/decline`, { cookie: admin.cookie, body: { reason: "Needed for the file" } });
    },
  },
  "POST /api/retention/approve": {
    action: "retention.delete",
    prepare: async (admin) => {
      const evidenceId = await dueItem(admin);
      return () => call("/api/retention/approve", { cookie: admin.cookie, body: { evidenceIds: [evidenceId] } });
    },
  },
  "POST /api/retention/bin/{id}/restore": {
    action: "retention.restore",
    prepare: async (admin) => {
      const evidenceId = await dueItem(admin);
      expect((await call("/api/retention/approve", { cookie: admin.cookie, body: { evidenceIds: [evidenceId] } })).status).toBe(200);
      return () => call(`/api/retention/bin/${evidenceId}/restore`, { cookie: admin.cookie, body: { reason: "Approved by mistake" } });
    },
  },
  "POST /api/retention/run": { action: "retention.run", prepare: async (admin) => () => call("/api/retention/run", { method: "POST", cookie: admin.cookie }) },
  "POST /api/cases/{id}/submission-links": {
    action: "submission.link_create",
    prepare: async (admin) => {
      const c = await openCase(await withKeys(admin), "U-1");
      const { body } = await linkBody(c);
      return () => call(`/api/cases/${c.id}/submission-links`, { body, cookie: admin.cookie });
    },
  },
  "POST /api/submission-links/{id}/revoke": {
    action: "submission.link_revoke",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const { link } = await makeLink(lead, await openCase(lead, "U-1"));
      return () => call(`/api/submission-links/${link.id}/revoke`, { method: "POST", cookie: admin.cookie });
    },
  },
  "POST /api/submit/{id}/submissions": {
    action: "submission.start",
    prepare: async (admin) => {
      const lead = await withKeys(admin);
      const { link } = await makeLink(lead, await openCase(lead, "U-1"));
      const { signing } = await generateUserKeys();
      return () => call(`/api/submit/${link.id}/submissions`, { body: { submissionId: hexId(), signerKey: signing.publicJwk } });
    },
  },
  "POST /api/submit/{id}/submissions/{submission}/files": {
    action: "submission.file_add",
    prepare: async (admin) => {
      const { link, submitter, file } = await submissionUnderway(admin);
      return () => call(`/api/submit/${link.id}/submissions/${submitter.submissionId}/files`, { headers: submitter.auth, body: file.body });
    },
  },
  "PUT /api/submit/{id}/submissions/{submission}/files/{file}/parts/{part}": {
    action: "submission.part_upload",
    prepare: async (admin) => {
      const { link, submitter, file } = await submissionUnderway(admin, { added: true });
      return () => putPart(link.id, submitter, file.fileId, 0, file.parts[0]!);
    },
  },
  "POST /api/submit/{id}/submissions/{submission}/files/{file}/complete": {
    action: "submission.file",
    prepare: async (admin) => {
      const { link, submitter, file } = await submissionUnderway(admin, { added: true, sent: true });
      return () => call(`/api/submit/${link.id}/submissions/${submitter.submissionId}/files/${file.fileId}/complete`, { headers: submitter.auth, body: { manifest: file.manifest } });
    },
  },
  "POST /api/submitted-files/{id}/accept": {
    action: "submission.accept",
    prepare: async (admin) => {
      const { fileId, accept } = await submittedFile(admin);
      return () => call(`/api/submitted-files/${fileId}/accept`, { body: accept, cookie: admin.cookie });
    },
  },
  "POST /api/submitted-files/{id}/reject": {
    action: "submission.reject",
    prepare: async (admin) => {
      const { fileId } = await submittedFile(admin);
      return () => call(`/api/submitted-files/${fileId}/reject`, { method: "POST", cookie: admin.cookie });
    },
  },
  "POST /api/submit/{id}/submissions/{submission}/finish": {
    action: "submission.sent",
    prepare: async (admin) => {
      const { link, submitter, file } = await submissionUnderway(admin, { added: true, sent: true });
      const base = `/api/submit/${link.id}/submissions/${submitter.submissionId}`;
      expect((await call(`${base}/files/${file.fileId}/complete`, { headers: submitter.auth, body: { manifest: file.manifest } })).status).toBe(200);
      return () => call(`${base}/finish`, { method: "POST", headers: submitter.auth });
    },
  },
  "POST /api/audit/offline-events": {
    action: "evidence.view",
    prepare: async (admin) => {
      const { evidenceId } = await releasedEvidence(admin);
      return () =>
        call("/api/audit/offline-events", {
          body: { events: [{ id: "e".repeat(32), action: "evidence.view", target: { type: "evidence", id: evidenceId }, at: new Date(Date.now() + 1000).toISOString() }] },
          cookie: admin.cookie,
        });
    },
  },
};

/** Every state-changing route of the OpenAPI document, as "METHOD /path". */
async function mutatingRoutes(): Promise<string[]> {
  const spec = (await (await call("/api/openapi.json")).json()) as { paths: Record<string, Record<string, Operation>> };
  return Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).filter(([, op]) => op["x-custody-mutates"]).map(([method]) => `${method.toUpperCase()} ${path}`),
  );
}

/** An empty installation at the current schema, and the scenario's administrator (none for setup itself). */
async function freshInstallation(scenario: (typeof SCENARIOS)[string]): Promise<Admin> {
  await backend.reset();
  return scenario.onEmptyInstallation ? (undefined as unknown as Admin) : setUpOrganisation();
}

/**
 * Every row of every D1 table but the audit outbox (and SQLite's and D1's own), sorted; a
 * session's `last_seen_at` left out (reading with a session may refresh it, which records nothing).
 */
async function snapshotD1(): Promise<Record<string, string[]>> {
  const { results: tables } = await db.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'audit_outbox' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
  ).all<{ name: string }>();
  const snapshot: Record<string, string[]> = {};
  for (const { name } of tables) {
    // Table names come from sqlite_master, quoted as identifiers.
    const { results } = await db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).all<Record<string, unknown>>();
    snapshot[name] = results
      .map((row) => {
        if (name === "sessions") delete row.last_seen_at;
        return JSON.stringify(row, Object.keys(row).sort());
      })
      .sort();
  }
  return snapshot;
}

async function exportLines(cookie: string, query = ""): Promise<string[]> {
  const response = await call(`/api/audit/export?format=jsonl${query}`, { cookie });
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toMatch(/x-ndjson/);
  return (await response.text()).split("\n").filter((line) => line !== "");
}

describe("audit trail", () => {
  it("has a scenario for every state-changing route, and each writes its event with actor, target, time, IP, user agent and outcome", async () => {
    const mutating = await mutatingRoutes();
    const missing = mutating.filter((route) => !SCENARIOS[route]);
    expect(missing, "add a scenario to SCENARIOS in tests/worker/audit.test.ts for each of these routes").toEqual([]);

    for (const route of mutating) {
      const scenario = SCENARIOS[route]!;
      const act = await scenario.prepare(await freshInstallation(scenario));
      const before = (await auditEvents()).length;
      await act();
      const events = (await auditEvents()).slice(before);
      const event = events.find((e) => e.action === scenario.action);
      expect(event, `${route} writes ${scenario.action}; it wrote ${events.map((e) => e.action).join(", ") || "nothing"}`).toBeDefined();
      expect(event!.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(["success", "denied", "failed"]).toContain(event!.outcome);
      expect(event!.actor.type).toMatch(/^(user|anonymous|agent|system)$/);
      expect(typeof event!.target.type).toBe("string");
      expect(event!.userAgent, route).not.toBeUndefined();
    }
  }, 300_000);

  it("changes nothing on any state-changing route when its event cannot be written, and fails the request", async () => {
    const mutating = await mutatingRoutes();
    expect(mutating.filter((route) => !SCENARIOS[route])).toEqual([]);
    const errors: string[] = [];
    for (const route of mutating) {
      const scenario = SCENARIOS[route]!;
      const act = await scenario.prepare(await freshInstallation(scenario));
      const before = await snapshotD1();
      // The outbox is down: every write to it fails, as D1 does when it refuses a statement.
      await db.prepare("CREATE TRIGGER audit_down BEFORE INSERT ON audit_outbox BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END").run();
      let response: unknown;
      try {
        // The worker logs the failure: kept out of the test output, and looked at below.
        const logged = await backend.serverErrors(act);
        response = logged.result;
        errors.push(...logged.errors);
      } finally {
        await db.prepare("DROP TRIGGER audit_down").run();
      }
      expect(response, route).toBeInstanceOf(Response);
      const failed = response as Response;
      const text = await failed.text();
      expect(failed.headers.get("Content-Type"), route).toMatch(/application\/json/);
      const body = JSON.parse(text) as ErrorBody;
      expect(typeof body.error.message, route).toBe("string");
      expect(failed.status, `${route} answered ${failed.status} ${text}`).toBe(500);
      expect(body.error.code, route).toBe("internal_error");
      // Nothing internal leaks: no stack, no SQL or D1 error text.
      expect(text, route).not.toMatch(/audit unavailable|SQLITE|D1_ERROR|audit_outbox|\bat\s+\S+\s+\(|\.ts:\d+/i);
      expect(await snapshotD1(), `${route} changed D1 without its audit event`).toEqual(before);
    }
    // The worker said why, in its own log.
    expect(errors.some((line) => line.includes("audit unavailable"))).toBe(true);
  }, 400_000);

  it("records a guarded change exactly when it happens: of two sign-ins racing with one TOTP code, one wins and is recorded, the other is a recorded failure", async () => {
    const admin = await setUpOrganisation();
    const first = sessionCookie(await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } }));
    const second = sessionCookie(await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } }));
    const code = await freshTotpCode(admin.totpSecret);
    const before = (await auditEvents()).length;
    const answers = await Promise.all([first, second].map((cookie) => call("/api/auth/mfa", { body: { method: "totp", code }, cookie })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    const events = (await auditEvents()).slice(before).filter((e) => e.action === "auth.sign_in");
    expect(events.map((e) => e.outcome).sort()).toEqual(["failed", "success"]);
    const active = await db.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ? AND stage = 'active' AND revoked_at IS NULL AND method = 'password+totp'")
      .bind(admin.session.user.id)
      .first<{ n: number }>();
    expect(active?.n).toBe(1);
  });

  it("states in the event what the change did: signing a user out everywhere records how many sessions ended", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await signIn("ivy@example.org", "a long enough passphrase", ivy.totpSecret);
    const response = await call(`/api/users/${ivy.session.user.id}/sessions`, { method: "DELETE", cookie: admin.cookie });
    const { revoked } = (await response.json()) as { revoked: number };
    expect(revoked).toBeGreaterThanOrEqual(2);
    const event = (await auditEvents()).find((e) => e.action === "session.revoke_all");
    expect(event?.details).toEqual({ revoked });
    expect(await verifyExport(await exportLines(admin.cookie))).toMatchObject({ ok: true });
  });

  it("counts no failed sign-in, and locks nothing, when the failure cannot be recorded", async () => {
    await setUpOrganisation();
    await db.prepare("CREATE TRIGGER audit_down BEFORE INSERT ON audit_outbox BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END").run();
    try {
      await backend.serverErrors(async () => {
        for (let i = 0; i < 6; i++) await expectError(await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: `wrong ${i}` } }), 500, "internal_error");
      });
    } finally {
      await db.prepare("DROP TRIGGER audit_down").run();
    }
    const counted = await db.prepare("SELECT (SELECT count(*) FROM sign_in_failures) + (SELECT count(*) FROM sign_in_attempts) AS n").first<{ n: number }>();
    expect(counted?.n).toBe(0);
    // Recorded failures count again, and the fifth locks the address, with its event.
    for (let i = 0; i < 5; i++) await expectError(await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: `wrong ${i}` } }), 401);
    const events = await auditEvents();
    expect(events.filter((e) => e.action === "auth.sign_in" && e.outcome === "failed")).toHaveLength(5);
    expect(events.filter((e) => e.action === "auth.lockout")).toHaveLength(1);
  });

  it("records the client's IP (CF-Connecting-IP) and user agent", async () => {
    await setUpOrganisation();
    await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: "wrong password" }, headers: { "CF-Connecting-IP": "203.0.113.7", "User-Agent": "FieldPhone/1.0" } });
    const failure = (await auditEvents()).find((e) => e.action === "auth.sign_in" && e.outcome === "failed");
    expect(failure).toMatchObject({ ip: "203.0.113.7", userAgent: "FieldPhone/1.0", actor: { type: "anonymous", label: ADMIN.email } });
  });

  it("lets only admins read and export it, and records every read", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await expectError(await call("/api/audit/events", { cookie: ivy.cookie }), 403);
    await expectError(await call("/api/audit/export", { cookie: ivy.cookie }), 403);
    await expectError(await call("/api/audit/events"), 401);

    const page = (await (await call("/api/audit/events?action=user.invite", { cookie: admin.cookie })).json()) as AuditPage;
    expect(page.events.map((e) => e.action)).toEqual(["user.invite"]);
    expect(page.events[0]!.target.id).toBe(ivy.session.user.id);
    await exportLines(admin.cookie);
    const actions = (await auditEvents()).map((e) => e.action);
    expect(actions).toContain("audit.read");
    expect(actions).toContain("audit.export");
  });

  it("filters by user, action, outcome, date range and IP, a page at a time", async () => {
    const admin = await setUpOrganisation();
    for (let i = 0; i < 5; i++) await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: `wrong ${i}` }, headers: { "CF-Connecting-IP": i % 2 ? "198.51.100.1" : "198.51.100.2" } });
    const get = async (query: string) => ((await (await call(`/api/audit/events?${query}`, { cookie: admin.cookie })).json()) as AuditPage);
    expect((await get("outcome=failed")).events).toHaveLength(5);
    expect((await get("outcome=failed&ip=198.51.100.1")).events).toHaveLength(2);
    expect((await get(`actorId=${admin.session.user.id}&action=organisation.setup`)).events).toHaveLength(1);
    expect((await get(`from=${new Date(Date.now() + 60_000).toISOString()}`)).events).toHaveLength(0);
    const first = await get("outcome=failed&limit=2");
    expect(first.events).toHaveLength(2);
    const second = await get(`outcome=failed&limit=2&after=${first.next}`);
    expect(second.events[0]!.seq).toBeGreaterThan(first.events[1]!.seq);
    const newest = await get("outcome=failed&order=desc&limit=2");
    expect(newest.events[0]!.seq).toBeGreaterThan(newest.events[1]!.seq);
    const older = await get(`outcome=failed&order=desc&limit=2&after=${newest.next}`);
    expect(older.events[0]!.seq).toBeLessThan(newest.events[1]!.seq);
    await expectError(await call("/api/audit/events?from=yesterday", { cookie: admin.cookie }), 400, "validation_failed");
    await expectError(await call("/api/audit/events?sort=desc", { cookie: admin.cookie }), 400, "validation_failed");
  });

  it("exports a full log that verifies, and fails verification after any single edit, deletion, insertion, reordering, truncation or rewrite", async () => {
    const admin = await setUpOrganisation();
    for (let i = 0; i < 6; i++) await call("/api/users", { body: { email: `u${i}@example.org`, name: `U${i}`, role: "investigator" }, cookie: admin.cookie });
    const lines = await exportLines(admin.cookie);
    const good = await verifyExport(lines);
    expect(good).toMatchObject({ ok: true, kind: "full", firstSeq: 1 });
    expect(good.events).toBeGreaterThanOrEqual(8);
    expect(good.lastSeq).toBe(good.treeSize);
    expect(good.checkpoints).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: "checkpoint" });

    const eventLines = lines.map((line, index) => ({ line, index })).filter(({ line }) => line.startsWith('{"type":"event"'));
    const third = eventLines[3]!;
    const edited = [...lines];
    edited[third.index] = third.line.replace('"outcome":"success"', '"outcome":"failed"');
    expect(await verifyExport(edited)).toMatchObject({ ok: false, error: { line: third.index + 1 } });

    const deleted = lines.filter((_, index) => index !== third.index);
    expect((await verifyExport(deleted)).error?.message).toMatch(/missing/);

    const inserted = [...lines];
    inserted.splice(third.index, 0, eventLines[1]!.line);
    expect((await verifyExport(inserted)).ok).toBe(false);

    const reordered = [...lines];
    [reordered[third.index], reordered[third.index + 1]] = [reordered[third.index + 1]!, reordered[third.index]!];
    expect((await verifyExport(reordered)).ok).toBe(false);

    // Cut after the last events, with or without the checkpoint lines: the signed statement counts them.
    const truncated = lines.filter((line) => line !== eventLines.at(-1)!.line);
    expect((await verifyExport(truncated)).error?.message).toMatch(/missing/);
    const cut = lines.slice(0, eventLines.at(-2)!.index + 1);
    expect((await verifyExport(cut)).error?.message).toMatch(/missing/);
    expect((await verifyExport(lines.slice(0, -1))).error?.message).toMatch(/final checkpoint/);

    // Rewriting an event and every hash after it is caught by the signed tree.
    const rewritten = await rewriteFrom(lines, third.index);
    expect((await verifyExport(rewritten)).error?.message).toMatch(/inclusion proof/);
  });

  it("exports one case's events with inclusion proofs that verify against the signed tree, and refuses a filtered export with an event removed, added or its filter changed", async () => {
    const admin = await setUpOrganisation();
    const lead = await withKeys(admin);
    const first = await openCase(lead, "2026-0001");
    const second = await openCase(lead, "2026-0002");
    await uploadEvidence(lead, first, randomBytes(1000));
    await exportLines(admin.cookie); // signs a checkpoint after the first case's events
    await uploadEvidence(lead, second, randomBytes(1000, 2));
    await exportLines(admin.cookie); // and one after the second's
    const lines = await exportLines(admin.cookie, `&caseId=${first.id}`);
    const report = await verifyExport(lines, { keepEvents: true });
    expect(report).toMatchObject({ ok: true, kind: "filtered", filter: { caseId: first.id } });
    expect(report.events).toBeGreaterThanOrEqual(2);
    expect(report.verifiedEvents!.map((e) => e.action)).toContain("case.create");
    expect(report.verifiedEvents!.every((e) => e.target.id === first.id || e.details.caseId === first.id)).toBe(true);

    // It carries, for each event, the first checkpoint signed after it (when it was provably in the
    // log), and the final one: not the log's whole history of checkpoints.
    const full = await exportLines(admin.cookie);
    const sizeOf = (line: string) => (JSON.parse(atob((JSON.parse(line) as { jws: string }).jws.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))) as { treeSize: number }).treeSize;
    const allSizes = full.filter((line) => line.startsWith('{"type":"checkpoint"')).map(sizeOf);
    const carried = lines.filter((line) => line.startsWith('{"type":"checkpoint"')).map(sizeOf);
    const seqs = report.verifiedEvents!.map((e) => e.seq);
    const expected = [...new Set([...seqs.map((seq) => allSizes.find((size) => size >= seq)!), report.treeSize!])].sort((a, b) => a - b);
    expect(carried).toEqual(expected);
    expect(carried.length).toBeLessThan(allSizes.length);

    const eventIndexes = lines.flatMap((line, index) => (line.startsWith('{"type":"event"') ? [index] : []));
    expect((await verifyExport(lines.filter((_, i) => i !== eventIndexes[0]))).error?.message).toMatch(/first event is seq|missing/);
    expect((await verifyExport(lines.filter((_, i) => i !== eventIndexes.at(-1)))).error?.message).toMatch(/missing/);
    // An event of the other case, with its own valid proof, cannot be slipped in.
    const other = (await exportLines(admin.cookie, `&caseId=${second.id}`)).find((line) => line.startsWith('{"type":"event"'))!;
    const withOther = [...lines];
    withOther.splice(eventIndexes.at(-1)! + 1, 0, other);
    expect((await verifyExport(withOther)).ok).toBe(false);
    // The header is signed: naming another filter, or calling it a full export, breaks the signature.
    const header = JSON.parse(lines[0]!) as { statement: string };
    const [h, payload, sig] = header.statement.split(".");
    const statement = JSON.parse(atob(payload!.replaceAll("-", "+").replaceAll("_", "/"))) as Record<string, unknown>;
    const forged = btoa(JSON.stringify({ ...statement, kind: "full", filter: {} })).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
    const relabelled = [JSON.stringify({ ...JSON.parse(lines[0]!), statement: `${h}.${forged}.${sig}` }), ...lines.slice(1)];
    expect((await verifyExport(relabelled)).error).toMatchObject({ line: 1, message: expect.stringMatching(/signature/) });
  });

  it("publishes the latest checkpoint and keys without a session; a kept copy proves a later export extends it, and refuses a rewritten one", async () => {
    const admin = await setUpOrganisation();
    await call("/api/users", { body: { email: "k1@example.org", name: "K1", role: "investigator" }, cookie: admin.cookie });
    await exportLines(admin.cookie); // signs a checkpoint of the log as it stands
    const response = await call("/.well-known/custody/audit.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toMatch(/public, max-age=\d+/);
    const kept = (await response.json()) as PublicAuditDocument;
    expect(kept).toMatchObject({ type: "custody-audit-public", v: 1, orgId: expect.any(String), treeSize: expect.any(Number) });
    expect(kept.signingKeys).toHaveLength(1);
    expect((await call("/.well-known/custody/audit.json", { headers: { "If-None-Match": response.headers.get("ETag")! } })).status).toBe(304);

    for (let i = 0; i < 3; i++) await call("/api/users", { body: { email: `k${i + 2}@example.org`, name: `K${i + 2}`, role: "investigator" }, cookie: admin.cookie });
    const later = await exportLines(admin.cookie);
    const report = await verifyExport(later, { kept: { jws: kept.checkpoint, signingKeys: kept.signingKeys } });
    expect(report).toMatchObject({ ok: true, kept: { treeSize: kept.treeSize } });
    expect(report.treeSize).toBeGreaterThan(kept.treeSize);
    // A filtered export proves it too, by the consistency proof of the kept checkpoint, when asked to carry it.
    expect(await verifyExport(await exportLines(admin.cookie, `&action=user.invite&checkpoint=${kept.treeSize}`), { kept: { jws: kept.checkpoint } })).toMatchObject({ ok: true, kept: { treeSize: kept.treeSize } });
    // Without asking, an export of events all recorded after the kept checkpoint does not carry it, and the verifier says so.
    const unasked = await exportLines(admin.cookie, `&action=user.invite&from=${encodeURIComponent(kept.at)}`);
    expect((await verifyExport(unasked, { kept: { jws: kept.checkpoint } })).error?.message).toMatch(/no checkpoint of the kept tree size/);
    // The operator rewrites an event before the kept checkpoint (the unit tests re-sign such a rewrite with a foreign key too).
    const eventIndex = later.findIndex((line) => line.startsWith('{"type":"event"'));
    expect((await verifyExport(await rewriteFrom(later, eventIndex), { kept: { jws: kept.checkpoint, signingKeys: kept.signingKeys } })).ok).toBe(false);
  });

  it("records a signing key's registration with its key, holder and time, and exports it with proofs to any member", async () => {
    const admin = await setUpOrganisation();
    const lead = await withKeys(admin);
    const kid = lead.signing.kid;
    const response = await call(`/api/audit/signers/${kid}`, { cookie: admin.cookie });
    expect(response.status).toBe(200);
    const report = await verifyExport((await response.text()).split("\n").filter(Boolean), { keepEvents: true });
    expect(report).toMatchObject({ ok: true, kind: "filtered", filter: { targetType: "signing_key", targetId: kid } });
    const { signerRecord } = await import("../../shared/audit/signers");
    expect(signerRecord(report.verifiedEvents!, kid)).toMatchObject({ kid, holder: { type: "user", id: admin.session.user.id, name: ADMIN.name, email: ADMIN.email }, retiredAt: null });
    await expectError(await call(`/api/audit/signers/${"A".repeat(43)}`, { cookie: admin.cookie }), 404);
    await expectError(await call(`/api/audit/signers/${kid}`), 401);
  });

  it("backfills the register for signing keys from before it (migration 0014): one registration each, its original time, retirements too", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy Old", role: "investigator" });
    const [older, current] = [await generateUserKeys(), await generateUserKeys()];
    const { keyId } = await import("../../shared/crypto/keys");
    const olderKid = await keyId(older.signing.publicJwk);
    const currentKid = await keyId(current.signing.publicJwk);
    // Keys as the release before the register stored them: rows in user_keys, no audit event.
    const insert = "INSERT INTO user_keys (kid, user_id, use, public_jwk, created_at, retired_at) VALUES (?, ?, 'sig', ?, ?, ?)";
    await db.batch([
      db.prepare(insert).bind(olderKid, ivy.session.user.id, JSON.stringify({ ...older.signing.publicJwk, kid: olderKid }), "2024-01-02T03:04:05.000Z", "2024-06-01T00:00:00.000Z"),
      db.prepare(insert).bind(currentKid, ivy.session.user.id, JSON.stringify({ ...current.signing.publicJwk, kid: currentKid }), "2024-06-01T00:00:00.000Z", null),
    ]);
    const statements = backfillMigration.replace(/^--.*$/gm, "").split(/;\s*$/m).map((q) => q.trim()).filter(Boolean);
    expect(statements).toHaveLength(2);
    for (const statement of statements) await db.prepare(statement).run();
    await call("/api/audit/events", { cookie: admin.cookie }); // any audited request drains the outbox into the chain

    const { signerRecord } = await import("../../shared/audit/signers");
    const recordOf = async (kid: string) => {
      const response = await call(`/api/audit/signers/${kid}`, { cookie: admin.cookie });
      expect(response.status).toBe(200);
      const report = await verifyExport((await response.text()).split("\n").filter(Boolean), { keepEvents: true });
      expect(report.ok, JSON.stringify(report.error)).toBe(true);
      return { record: signerRecord(report.verifiedEvents!, kid), events: report.verifiedEvents! };
    };
    const old = await recordOf(olderKid);
    expect(old.record).toMatchObject({
      kid: olderKid, validFrom: "2024-01-02T03:04:05.000Z", retiredAt: "2024-06-01T00:00:00.000Z", backfilledAt: expect.any(String),
      holder: { type: "user", id: ivy.session.user.id, name: "Ivy Old", email: "ivy@example.org" }, publicJwk: { x: older.signing.publicJwk.x },
    });
    const register = old.events.filter((e) => e.action.startsWith("keys.signer_"));
    expect(register.map((e) => [e.action, e.actor.type, (e.details as { backfilled?: boolean }).backfilled])).toEqual([
      ["keys.signer_register", "system", true],
      ["keys.signer_retire", "system", true],
    ]);
    expect((register[1]!.details as { replacedBy: string }).replacedBy).toBe(currentKid);
    expect((await recordOf(currentKid)).record).toMatchObject({ validFrom: "2024-06-01T00:00:00.000Z", retiredAt: null });
  });

  it("keeps one valid chain and one consistent tree under 30 concurrent actions", async () => {
    const admin = await setUpOrganisation();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? call("/api/auth/sign-in", { body: { email: ADMIN.email, password: `wrong ${i}` } })
          : call("/api/users", { body: { email: `c${i}@example.org`, name: `C${i}`, role: "investigator" }, cookie: admin.cookie }),
      ),
    );
    const events = await auditEvents();
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.action === "user.invite")).toHaveLength(20);
    expect(events.filter((e) => e.action === "auth.sign_in" && e.outcome === "failed")).toHaveLength(10);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const before = (await (await call("/.well-known/custody/audit.json")).json()) as PublicAuditDocument;
    // The root the server signed is the root of the events themselves, and the later export extends it.
    const report = await verifyExport(await exportLines(admin.cookie), { kept: { jws: before.checkpoint } });
    expect(report).toMatchObject({ ok: true, kind: "full", kept: { treeSize: before.treeSize } });
    expect(before.treeSize).toBeGreaterThanOrEqual(31);
  });

  it("accepts views recorded offline later, marked as recorded offline with the device's time", async () => {
    const admin = await setUpOrganisation();
    const { evidenceId, releasedAt } = await releasedEvidence(admin);
    const viewedAt = new Date(Date.parse(releasedAt) + 1).toISOString();
    const sent = await call("/api/audit/offline-events", {
      body: { events: [{ action: "evidence.view", target: { type: "evidence", id: evidenceId }, at: viewedAt, details: { segment: 0 } }] },
      cookie: admin.cookie,
    });
    expect(sent.status).toBe(202);
    const view = (await auditEvents()).find((e) => e.action === "evidence.view" && e.recordedOffline) as AuditEvent;
    expect(view).toMatchObject({ recordedOffline: { at: viewedAt }, actor: { id: admin.session.user.id }, target: { type: "evidence", id: evidenceId } });
    expect(Date.parse(view.at)).toBeGreaterThan(Date.parse(viewedAt));

    await expectError(
      await call("/api/audit/offline-events", { body: { events: [{ action: "user.invite", target: { type: "evidence", id: evidenceId }, at: viewedAt }] }, cookie: admin.cookie }),
      400,
    );
    await expectError(
      await call("/api/audit/offline-events", { body: { events: [{ id: "not-an-id", action: "evidence.view", target: { type: "evidence", id: evidenceId }, at: viewedAt }] }, cookie: admin.cookie }),
      400,
    );
    await expectError(
      await call("/api/audit/offline-events", { body: { events: [{ action: "evidence.view", target: { type: "evidence", id: evidenceId }, at: new Date(Date.now() + 86_400_000).toISOString() }] }, cookie: admin.cookie }),
      400,
      "future_time",
    );
  });

  it("records an offline event sent again (its answer lost) exactly once, by its device id", async () => {
    const admin = await setUpOrganisation();
    const { evidenceId } = await releasedEvidence(admin);
    const views = () => auditEvents().then((events) => events.filter((e) => e.action === "evidence.view" && e.recordedOffline));
    const event = (id: string, seconds: number) => ({ id, action: "evidence.view", target: { type: "evidence", id: evidenceId }, at: new Date(Date.now() + seconds * 1000).toISOString() });
    const [one, two, three] = [event("1".repeat(32), 1), event("2".repeat(32), 2), event("3".repeat(32), 3)];
    const first = await call("/api/audit/offline-events", { body: { events: [one, two] }, cookie: admin.cookie });
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ accepted: 2, duplicates: 0 });
    // The device did not get the answer and sends both again, with a third recorded since.
    const again = await call("/api/audit/offline-events", { body: { events: [one, two, three] }, cookie: admin.cookie });
    expect(await again.json()).toEqual({ accepted: 1, duplicates: 2 });
    expect((await views()).map((e) => e.recordedOffline!.at)).toEqual([one.at, two.at, three.at]);
    const receipts = await db.prepare("SELECT event_id FROM offline_event_receipts ORDER BY event_id").all<{ event_id: string }>();
    expect(receipts.results.map((r) => r.event_id)).toEqual(["1".repeat(32), "2".repeat(32), "3".repeat(32)]);
  });

  it("exports CSV with a header row and defuses spreadsheet formulas", async () => {
    const admin = await setUpOrganisation();
    await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: "wrong" }, headers: { "User-Agent": "=HYPERLINK(\"http://evil\")" } });
    const response = await call("/api/audit/export?format=csv", { cookie: admin.cookie });
    expect(response.headers.get("Content-Type")).toMatch(/text\/csv/);
    expect(response.headers.get("Content-Disposition")).toMatch(/attachment; filename="custody-audit-.*\.csv"/);
    const text = await response.text();
    expect(text.split("\r\n")[0]).toBe("seq,at,recorded_offline_at,actor_type,actor_id,actor_label,action,target_type,target_id,outcome,ip,user_agent,details,prev_hash,hash");
    expect(text).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(text).not.toMatch(/,=HYPERLINK/);
  });

  it("has no route that edits or deletes events", async () => {
    const spec = (await (await call("/api/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [path, methods] of Object.entries(spec.paths)) {
      if (!path.startsWith("/api/audit")) continue;
      expect(Object.keys(methods).filter((m) => m === "delete" || m === "patch" || m === "put"), path).toEqual([]);
    }
  });
});

/** Changes one event and recomputes its hash and every later link: only a signed checkpoint can tell. */
async function rewriteFrom(lines: string[], index: number): Promise<string[]> {
  const { eventHash } = await import("../../shared/audit/chain");
  const out = [...lines];
  let prevHash: string | null = null;
  for (let i = index; i < out.length; i++) {
    const parsed = JSON.parse(out[i]!) as { type: string; inclusion: string[] } & AuditEvent;
    if (parsed.type !== "event") continue;
    const { type, hash: _old, inclusion, ...event } = parsed;
    if (i === index) event.details = { ...event.details, rewritten: true };
    if (prevHash) event.prevHash = prevHash;
    const hash = await eventHash(event);
    prevHash = hash;
    out[i] = JSON.stringify({ type, ...event, hash, inclusion });
  }
  return out;
}

