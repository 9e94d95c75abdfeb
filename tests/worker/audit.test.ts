import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AuditPage } from "../../shared/api/audit";
import type { Invitation, PublicKeyInfo } from "../../shared/api/schemas";
import { verifyExport, type AuditEvent } from "../../shared/audit/chain";
import { escrowEncryptionKey, generateRecoveryKeyPair, generateUserKeys, sealKeyBundle } from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { addMember, openCase, prepareEvidence, randomBytes, removeMember, sendParts, uploadEvidence, withKeys } from "./evidence-helpers";
import { addUser, ADMIN, call, enrolTotp, expectError, freshTotpCode, sessionCookie, setUpOrganisation, signIn } from "./helpers";

interface Operation {
  "x-custody-access": "public" | "session" | "admin";
  "x-custody-mutates": boolean;
}

/** Registers keys for a user, as the browser does. */
async function registerKeys(cookie: string): Promise<void> {
  const keys = await generateUserKeys();
  const recovery = (await (await call("/api/keys/recovery", { cookie })).json()) as PublicKeyInfo;
  const body = {
    signing: keys.signing.publicJwk,
    encryption: keys.encryption.publicJwk,
    bundle: await sealKeyBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, "a long key passphrase"),
    escrow: await escrowEncryptionKey(keys.encryption.privateJwk, recovery.publicJwk),
  };
  expect((await call("/api/keys/me", { method: "PUT", body, cookie })).status).toBe(201);
}

type Admin = Awaited<ReturnType<typeof setUpOrganisation>>;

/** A case led by the admin, and an investigator with keys who is not yet a member. */
async function caseWithInvestigator(admin: Admin) {
  const lead = await withKeys(admin);
  const c = await openCase(lead, "A-1");
  const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" }));
  return { lead, c, ivy };
}

/**
 * For every state-changing route: a call that performs it, and the audit action it must write.
 * A route added without a scenario here fails the coverage test below: add one.
 */
const SCENARIOS: Record<string, { action: string; run: (admin: Admin) => Promise<unknown>; onEmptyInstallation?: true }> = {
  "POST /api/setup": { action: "organisation.setup", run: () => setUpOrganisation(), onEmptyInstallation: true },
  // The administrator has MFA: the password step is recorded as accepted; the sign-in itself when the second step completes it.
  "POST /api/auth/sign-in": { action: "auth.password_accepted", run: () => call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } }) },
  "POST /api/auth/sign-out": {
    action: "auth.sign_out",
    run: async () => {
      const signedIn = await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } });
      return call("/api/auth/sign-out", { method: "POST", cookie: sessionCookie(signedIn) });
    },
  },
  "POST /api/users": { action: "user.invite", run: (admin) => call("/api/users", { body: { email: "new@example.org", name: "New", role: "investigator" }, cookie: admin.cookie }) },
  "PATCH /api/users/{id}": {
    action: "user.role_change",
    run: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      return call(`/api/users/${ivy.session.user.id}`, { method: "PATCH", body: { role: "site_operator" }, cookie: admin.cookie });
    },
  },
  "POST /api/invitations/accept": {
    action: "user.invitation_accept",
    run: async (admin) => {
      const invited = (await (await call("/api/users", { body: { email: "inv@example.org", name: "Inv", role: "investigator" }, cookie: admin.cookie })).json()) as Invitation;
      return call("/api/invitations/accept", { body: { token: invited.token, password: "a long enough passphrase" } });
    },
  },
  "PUT /api/keys/me": {
    action: "keys.register",
    run: (admin) => registerKeys(admin.cookie),
  },
  "PUT /api/keys/me/bundle": {
    action: "keys.passphrase_change",
    run: async (admin) => {
      await registerKeys(admin.cookie);
      const keys = await generateUserKeys();
      const bundle = await sealKeyBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, "another long passphrase");
      return call("/api/keys/me/bundle", { method: "PUT", body: { bundle }, cookie: admin.cookie });
    },
  },
  "POST /api/keys/me/recovery": {
    action: "keys.recovery_request",
    run: async (admin) => {
      await registerKeys(admin.cookie);
      return call("/api/keys/me/recovery", { body: { transportKey: (await generateRecoveryKeyPair()).publicJwk }, cookie: admin.cookie });
    },
  },
  "DELETE /api/keys/me/recovery": {
    action: "keys.recovery_cancel",
    run: async (admin) => {
      await registerKeys(admin.cookie);
      await call("/api/keys/me/recovery", { body: { transportKey: (await generateRecoveryKeyPair()).publicJwk }, cookie: admin.cookie });
      return call("/api/keys/me/recovery", { method: "DELETE", cookie: admin.cookie });
    },
  },
  "POST /api/keys/me/recovery/complete": {
    // Refused here (nothing released): the refused attempt is recorded.
    action: "request.refused",
    run: async (admin) => call("/api/keys/me/recovery/complete", { body: { signing: (await generateUserKeys()).signing.publicJwk, bundle: "a.b.c.d.e", escrow: "a.b.c.d.e" }, cookie: admin.cookie }),
  },
  "POST /api/keys/recovery-requests/{id}/release": {
    // No such request: the refused attempt is recorded.
    action: "request.refused",
    run: async (admin) => call(`/api/keys/recovery-requests/${"0".repeat(32)}/release`, { body: { transfer: "a.b.c.d.e" }, cookie: admin.cookie }),
  },
  // ---- identity (MFA, re-authentication, sessions, settings, user administration)
  "POST /api/auth/mfa": {
    action: "auth.sign_in",
    run: async (admin) => {
      const first = await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } });
      return call("/api/auth/mfa", { body: { method: "totp", code: await freshTotpCode(admin.totpSecret) }, cookie: sessionCookie(first) });
    },
  },
  "POST /api/auth/passkey": {
    // No real authenticator here: a made-up assertion is refused, and the failure recorded.
    action: "auth.sign_in",
    run: async () => {
      const { challengeId } = (await (await call("/api/auth/passkey/options", { body: { purpose: "sign_in" } })).json()) as { challengeId: string };
      const credential = { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "AAAA", authenticatorData: "AAAA", signature: "AAAA" }, clientExtensionResults: {} };
      return call("/api/auth/passkey", { body: { challengeId, credential } });
    },
  },
  "POST /api/auth/reauth": { action: "auth.reauth", run: (admin) => call("/api/auth/reauth", { body: { method: "password", password: ADMIN.password }, cookie: admin.cookie }) },
  "POST /api/auth/password": {
    action: "user.password_change",
    run: (admin) => call("/api/auth/password", { body: { currentPassword: ADMIN.password, newPassword: "a brand new long passphrase" }, cookie: admin.cookie }),
  },
  "POST /api/mfa/totp": {
    action: "mfa.totp_start",
    run: async (admin) => {
      const invited = (await (await call("/api/users", { body: { email: "inv@example.org", name: "Inv", role: "investigator" }, cookie: admin.cookie })).json()) as Invitation;
      const accepted = await call("/api/invitations/accept", { body: { token: invited.token, password: "a long enough passphrase" } });
      return call("/api/mfa/totp", { method: "POST", cookie: sessionCookie(accepted) });
    },
  },
  "POST /api/mfa/totp/confirm": {
    action: "mfa.totp_enrol",
    run: async (admin) => {
      const invited = (await (await call("/api/users", { body: { email: "inv@example.org", name: "Inv", role: "investigator" }, cookie: admin.cookie })).json()) as Invitation;
      const accepted = await call("/api/invitations/accept", { body: { token: invited.token, password: "a long enough passphrase" } });
      return enrolTotp(sessionCookie(accepted));
    },
  },
  "DELETE /api/mfa/totp": {
    // The administrator's only factor, with MFA required: refused, and the refusal recorded.
    action: "mfa.totp_remove",
    run: (admin) => call("/api/mfa/totp", { method: "DELETE", cookie: admin.cookie }),
  },
  "POST /api/mfa/recovery-codes": { action: "mfa.recovery_codes_replace", run: (admin) => call("/api/mfa/recovery-codes", { method: "POST", cookie: admin.cookie }) },
  "POST /api/mfa/passkeys": {
    action: "mfa.passkey_add",
    run: async (admin) => {
      const { challengeId } = (await (await call("/api/mfa/passkeys/options", { method: "POST", cookie: admin.cookie })).json()) as { challengeId: string };
      const credential = { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "AAAA", attestationObject: "AAAA" }, clientExtensionResults: {} };
      return call("/api/mfa/passkeys", { body: { challengeId, name: "Phone", credential }, cookie: admin.cookie });
    },
  },
  "DELETE /api/mfa/passkeys/{id}": { action: "request.refused", run: (admin) => call("/api/mfa/passkeys/AAAA", { method: "DELETE", cookie: admin.cookie }) },
  "DELETE /api/sessions/{id}": {
    action: "session.revoke",
    run: async (admin) => {
      const other = await signIn(ADMIN.email, ADMIN.password, admin.totpSecret);
      const { sessions } = (await (await call("/api/sessions", { cookie: admin.cookie })).json()) as { sessions: { id: string; current: boolean }[] };
      const id = sessions.find((s) => !s.current)!.id;
      await call("/api/auth/session", { cookie: other.cookie });
      return call(`/api/sessions/${id}`, { method: "DELETE", cookie: admin.cookie });
    },
  },
  "PUT /api/settings": { action: "settings.change", run: (admin) => call("/api/settings", { method: "PUT", body: { idleTimeoutMinutes: 15 }, cookie: admin.cookie }) },
  "POST /api/users/{id}/disable": {
    action: "user.disable",
    run: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      return call(`/api/users/${ivy.session.user.id}/disable`, { method: "POST", cookie: admin.cookie });
    },
  },
  "POST /api/users/{id}/enable": {
    action: "user.enable",
    run: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      await call(`/api/users/${ivy.session.user.id}/disable`, { method: "POST", cookie: admin.cookie });
      return call(`/api/users/${ivy.session.user.id}/enable`, { method: "POST", cookie: admin.cookie });
    },
  },
  "POST /api/users/{id}/unlock": {
    action: "user.unlock",
    run: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      return call(`/api/users/${ivy.session.user.id}/unlock`, { method: "POST", cookie: admin.cookie });
    },
  },
  "POST /api/users/{id}/mfa/reset": {
    action: "mfa.reset",
    run: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      return call(`/api/users/${ivy.session.user.id}/mfa/reset`, { method: "POST", cookie: admin.cookie });
    },
  },
  "DELETE /api/users/{id}/sessions": {
    action: "session.revoke_all",
    run: async (admin) => {
      const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      return call(`/api/users/${ivy.session.user.id}/sessions`, { method: "DELETE", cookie: admin.cookie });
    },
  },
  // ---- OpenID Connect sign-in (the full flows are in oidc.test.ts)
  "PUT /api/oidc/provider": {
    action: "oidc.provider_create",
    run: (admin) => call("/api/oidc/provider", { method: "PUT", body: { issuer: "https://idp.example.org", clientId: "custody", clientSecret: "s3cret", displayName: "SSO" }, cookie: admin.cookie }),
  },
  "DELETE /api/oidc/provider": {
    action: "oidc.provider_delete",
    run: async (admin) => {
      await call("/api/oidc/provider", { method: "PUT", body: { issuer: "https://idp.example.org", clientId: "custody", clientSecret: "s3cret", displayName: "SSO" }, cookie: admin.cookie });
      return call("/api/oidc/provider", { method: "DELETE", cookie: admin.cookie });
    },
  },
  "GET /api/oidc/callback": {
    // A callback with a state the worker never issued: the failed sign-in is recorded.
    action: "auth.sign_in",
    run: async (admin) => {
      await call("/api/oidc/provider", { method: "PUT", body: { issuer: "https://idp.example.org", clientId: "custody", clientSecret: "s3cret", displayName: "SSO" }, cookie: admin.cookie });
      return call("/api/oidc/callback?state=forged&code=forged");
    },
  },
  "POST /api/cases": { action: "case.create", run: async (admin) => openCase(await withKeys(admin), "A-1") },
  "PATCH /api/cases/{id}": {
    action: "case.close",
    run: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "A-1");
      return call(`/api/cases/${c.id}`, { method: "PATCH", cookie: lead.cookie, body: { status: "closed" } });
    },
  },
  "POST /api/cases/{id}/members": {
    action: "case.member_add",
    run: async (admin) => {
      const { lead, c, ivy } = await caseWithInvestigator(admin);
      return addMember(lead, c.id, ivy, "viewer");
    },
  },
  "PATCH /api/cases/{id}/members/{userId}": {
    action: "case.member_role",
    run: async (admin) => {
      const { lead, c, ivy } = await caseWithInvestigator(admin);
      await addMember(lead, c.id, ivy, "viewer");
      return call(`/api/cases/${c.id}/members/${ivy.id}`, { method: "PATCH", cookie: lead.cookie, body: { role: "contributor" } });
    },
  },
  "POST /api/cases/{id}/members/{userId}/remove": {
    action: "case.member_remove",
    run: async (admin) => {
      const { lead, c, ivy } = await caseWithInvestigator(admin);
      await addMember(lead, c.id, ivy, "viewer");
      return removeMember(lead, c.id, ivy, [lead]);
    },
  },
  "POST /api/cases/{id}/evidence": {
    action: "evidence.upload_start",
    run: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "A-1");
      return call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: (await prepareEvidence(lead, c, randomBytes(100))).body });
    },
  },
  "PUT /api/uploads/{id}/{part}": {
    action: "evidence.part_upload",
    run: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "A-1");
      const prepared = await prepareEvidence(lead, c, randomBytes(100));
      await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: prepared.body });
      return sendParts(lead, prepared);
    },
  },
  "POST /api/evidence/{id}/complete": {
    action: "evidence.upload_complete",
    run: async (admin) => {
      const lead = await withKeys(admin);
      return uploadEvidence(lead, await openCase(lead, "A-1"), randomBytes(100));
    },
  },
  "DELETE /api/evidence/{id}": {
    action: "evidence.upload_cancel",
    run: async (admin) => {
      const lead = await withKeys(admin);
      const c = await openCase(lead, "A-1");
      const prepared = await prepareEvidence(lead, c, randomBytes(100));
      await call(`/api/cases/${c.id}/evidence`, { cookie: lead.cookie, body: prepared.body });
      return call(`/api/evidence/${prepared.evidenceId}`, { method: "DELETE", cookie: lead.cookie });
    },
  },
  "POST /api/evidence/{id}/access": {
    action: "evidence.download",
    run: async (admin) => {
      const lead = await withKeys(admin);
      const upload = await uploadEvidence(lead, await openCase(lead, "A-1"), randomBytes(100));
      return call(`/api/evidence/${upload.evidenceId}/access`, { cookie: lead.cookie, body: { action: "download" } });
    },
  },
  "PATCH /api/evidence/{id}/details": {
    action: "evidence.details_edit",
    run: async (admin) => {
      const lead = await withKeys(admin);
      const upload = await uploadEvidence(lead, await openCase(lead, "A-1"), randomBytes(100));
      return call(`/api/evidence/${upload.evidenceId}/details`, { method: "PATCH", cookie: lead.cookie, body: { jwe: "a.b.c.d.e", baseVersion: 0 } });
    },
  },
  "POST /api/audit/offline-events": {
    action: "evidence.view",
    run: (admin) =>
      call("/api/audit/offline-events", {
        body: { events: [{ action: "evidence.view", target: { type: "evidence", id: "e".repeat(32) }, at: new Date(Date.now() - 60_000).toISOString() }] },
        cookie: admin.cookie,
      }),
  },
};

async function exportLines(cookie: string, query = ""): Promise<string[]> {
  const response = await call(`/api/audit/export?format=jsonl${query}`, { cookie });
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toMatch(/x-ndjson/);
  return (await response.text()).split("\n").filter((line) => line !== "");
}

describe("audit trail", () => {
  it("has a scenario for every state-changing route, and each writes its event with actor, target, time, IP, user agent and outcome", async () => {
    const spec = (await (await call("/api/openapi.json")).json()) as { paths: Record<string, Record<string, Operation>> };
    const mutating = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods).filter(([, op]) => op["x-custody-mutates"]).map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    const missing = mutating.filter((route) => !SCENARIOS[route]);
    expect(missing, "add a scenario to SCENARIOS in tests/worker/audit.test.ts for each of these routes").toEqual([]);

    for (const route of mutating) {
      const { reset, applyD1Migrations } = await import("cloudflare:test");
      await reset();
      await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
      const scenario = SCENARIOS[route]!;
      const admin = scenario.onEmptyInstallation ? (undefined as unknown as Admin) : await setUpOrganisation();
      const before = (await auditEvents()).length;
      await scenario.run(admin);
      const events = (await auditEvents()).slice(before);
      const event = events.find((e) => e.action === SCENARIOS[route]!.action);
      expect(event, `${route} writes ${SCENARIOS[route]!.action}; it wrote ${events.map((e) => e.action).join(", ") || "nothing"}`).toBeDefined();
      expect(event!.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(["success", "denied", "failed"]).toContain(event!.outcome);
      expect(event!.actor.type).toMatch(/^(user|anonymous|agent|system)$/);
      expect(typeof event!.target.type).toBe("string");
      expect(event!.userAgent, route).not.toBeUndefined();
    }
  }, 60_000);

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

  it("exports a chain that verifies, and fails verification after any single edit, deletion, insertion or reordering", async () => {
    const admin = await setUpOrganisation();
    for (let i = 0; i < 6; i++) await call("/api/users", { body: { email: `u${i}@example.org`, name: `U${i}`, role: "investigator" }, cookie: admin.cookie });
    const lines = await exportLines(admin.cookie);
    const good = await verifyExport(lines);
    expect(good).toMatchObject({ ok: true, contiguous: true, firstSeq: 1 });
    expect(good.events).toBeGreaterThanOrEqual(8);
    expect(good.checkpoints).toBeGreaterThanOrEqual(1);

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

    const truncated = lines.filter((line) => line !== eventLines.at(-1)!.line);
    expect((await verifyExport(truncated)).error?.message).toMatch(/missing/);

    // Rewriting an event and every hash after it is caught by the signed checkpoint.
    const rewritten = await rewriteFrom(lines, third.index);
    expect((await verifyExport(rewritten)).error?.message).toMatch(/checkpoint/);
  });

  it("keeps one valid chain under many concurrent actions", async () => {
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
    expect(await verifyExport(await exportLines(admin.cookie))).toMatchObject({ ok: true });
  });

  it("accepts views recorded offline later, marked as recorded offline with the device's time", async () => {
    const admin = await setUpOrganisation();
    const viewedAt = new Date(Date.now() - 3_600_000).toISOString();
    const sent = await call("/api/audit/offline-events", {
      body: { events: [{ action: "evidence.view", target: { type: "evidence", id: "a".repeat(32) }, at: viewedAt, details: { segment: 0 } }] },
      cookie: admin.cookie,
    });
    expect(sent.status).toBe(202);
    const view = (await auditEvents()).find((e) => e.action === "evidence.view") as AuditEvent;
    expect(view).toMatchObject({ recordedOffline: { at: viewedAt }, actor: { id: admin.session.user.id }, target: { type: "evidence", id: "a".repeat(32) } });
    expect(Date.parse(view.at)).toBeGreaterThan(Date.parse(viewedAt));

    await expectError(
      await call("/api/audit/offline-events", { body: { events: [{ action: "user.invite", target: { type: "evidence", id: "a".repeat(32) }, at: viewedAt }] }, cookie: admin.cookie }),
      400,
    );
    await expectError(
      await call("/api/audit/offline-events", { body: { events: [{ action: "evidence.view", target: { type: "evidence", id: "a".repeat(32) }, at: new Date(Date.now() + 86_400_000).toISOString() }] }, cookie: admin.cookie }),
      400,
      "future_time",
    );
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
    const parsed = JSON.parse(out[i]!) as { type: string } & AuditEvent;
    if (parsed.type !== "event") continue;
    const { type, hash: _old, ...event } = parsed;
    if (i === index) event.details = { ...event.details, rewritten: true };
    if (prevHash) event.prevHash = prevHash;
    const hash = await eventHash(event);
    prevHash = hash;
    out[i] = JSON.stringify({ type, ...event, hash });
  }
  return out;
}

