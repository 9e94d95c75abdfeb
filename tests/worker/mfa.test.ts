import { db } from "./backend";
import { describe, expect, it } from "vitest";
import type { MfaEnrolled, MfaRequired, MfaStatus, PasskeyOptions, TotpSetup } from "../../shared/api/identity";
import type { SessionInfo } from "../../shared/api/schemas";
import { auditEvents } from "./audit-helpers";
import { addUser, ADMIN, call, expectError, freshTotpCode, recoveryPublicKey, sessionCookie, setUpOrganisation, signIn } from "./helpers";
import { base32Decode, hotp, timeStep } from "../../worker/src/lib/totp";

async function passwordStep(email: string, password: string): Promise<{ cookie: string; body: MfaRequired }> {
  const response = await call("/api/auth/sign-in", { body: { email, password } });
  expect(response.status).toBe(200);
  return { cookie: sessionCookie(response), body: (await response.json()) as MfaRequired };
}

const FAKE_CREDENTIAL = { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "AAAA", authenticatorData: "AAAA", signature: "AAAA" }, clientExtensionResults: {} };

describe("MFA enrolment", () => {
  it("keeps a new administrator in enrolment until a first TOTP code confirms the secret, then issues recovery codes once", async () => {
    const setup = await call("/api/setup", { body: { organisation: { name: "Org" }, admin: ADMIN, recoveryKey: await recoveryPublicKey() } });
    expect(setup.status).toBe(201);
    expect(((await setup.clone().json()) as SessionInfo).stage).toBe("mfa_enrolment");
    const restricted = sessionCookie(setup);

    // A restricted session can do nothing but enrol.
    await expectError(await call("/api/users", { cookie: restricted }), 403, "mfa_enrolment_required");
    await expectError(await call("/api/keys/me", { cookie: restricted }), 403, "mfa_enrolment_required");
    await expectError(await call("/api/users", { body: { email: "x@example.org", name: "X", role: "admin" }, cookie: restricted }), 403, "mfa_enrolment_required");
    expect(((await (await call("/api/auth/session", { cookie: restricted })).json()) as SessionInfo).stage).toBe("mfa_enrolment");

    const started = await call("/api/mfa/totp", { method: "POST", cookie: restricted });
    expect(started.status).toBe(201);
    const totp = (await started.json()) as TotpSetup;
    expect(totp.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(totp.uri).toContain(`secret=${totp.secret}`);
    expect(totp.qrSvg).toMatch(/^<svg[\s\S]*<\/svg>$/);

    // A wrong code enables nothing.
    await expectError(await call("/api/mfa/totp/confirm", { body: { code: "000000" }, cookie: restricted }), 400, "invalid_code");
    expect(await db.prepare("SELECT confirmed_at FROM totp_credentials").first("confirmed_at")).toBeNull();

    const confirmed = await call("/api/mfa/totp/confirm", { body: { code: await freshTotpCode(totp.secret) }, cookie: restricted });
    expect(confirmed.status).toBe(200);
    const enrolled = (await confirmed.json()) as MfaEnrolled;
    expect(enrolled.session.stage).toBe("active");
    expect(enrolled.recoveryCodes).toHaveLength(10);
    expect(new Set(enrolled.recoveryCodes).size).toBe(10);
    for (const code of enrolled.recoveryCodes!) expect(code).toMatch(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
    // Stored only as hashes.
    const dump = JSON.stringify((await db.prepare("SELECT * FROM recovery_codes").all()).results);
    for (const code of enrolled.recoveryCodes!) expect(dump).not.toContain(code.replaceAll("-", ""));

    // A new token for the full session; the restricted one no longer works.
    const full = sessionCookie(confirmed);
    expect(full).not.toBe(restricted);
    await expectError(await call("/api/auth/session", { cookie: restricted }), 401);
    expect((await call("/api/users", { cookie: full })).status).toBe(200);
    const status = (await (await call("/api/mfa", { cookie: full })).json()) as MfaStatus;
    expect(status).toMatchObject({ required: true, totp: true, recoveryCodesLeft: 10, passkeys: [] });

    // A second enrolment while one is active is refused.
    await expectError(await call("/api/mfa/totp", { method: "POST", cookie: full }), 409, "totp_exists");
    expect((await auditEvents()).map((e) => e.action)).toEqual(expect.arrayContaining(["mfa.totp_start", "mfa.totp_enrol"]));
  });

  it("lets an account sign in with only a password when the organisation does not require MFA", async () => {
    const admin = await setUpOrganisation();
    expect((await call("/api/settings", { method: "PUT", body: { mfaRequired: false }, cookie: admin.cookie })).status).toBe(200);
    const invited = await call("/api/users", { body: { email: "ivy@example.org", name: "Ivy", role: "investigator" }, cookie: admin.cookie });
    const { token } = (await invited.json()) as { token: string };
    const accepted = await call("/api/invitations/accept", { body: { token, password: "ivy's long passphrase" } });
    expect(((await accepted.json()) as SessionInfo).stage).toBe("active");
    expect((await call("/api/keys/recovery", { cookie: sessionCookie(accepted) })).status).toBe(200);
  });
});

describe("two-step sign-in", () => {
  it("answers mfaRequired after the password, with a session that can only take the second step", async () => {
    const admin = await setUpOrganisation();
    const { cookie, body } = await passwordStep(ADMIN.email, ADMIN.password);
    expect(body).toEqual({ mfaRequired: true, methods: ["totp", "recovery_code"] });
    await expectError(await call("/api/users", { cookie }), 403, "mfa_required");
    await expectError(await call("/api/keys/me", { cookie }), 403, "mfa_required");
    await expectError(await call("/api/auth/mfa", { body: { method: "totp", code: "000000" }, cookie }), 401, "invalid_code");
    // An active session cannot "complete" anything.
    await expectError(await call("/api/auth/mfa", { body: { method: "totp", code: "000000" }, cookie: admin.cookie }), 403);

    const done = await call("/api/auth/mfa", { body: { method: "totp", code: await freshTotpCode(admin.totpSecret) }, cookie });
    expect(done.status).toBe(200);
    expect(((await done.json()) as SessionInfo).stage).toBe("active");
    expect((await call("/api/users", { cookie: sessionCookie(done) })).status).toBe(200);
    await expectError(await call("/api/users", { cookie }), 401);
    const signIns = (await auditEvents()).filter((e) => e.action === "auth.sign_in");
    expect(signIns.map((e) => [e.outcome, e.details.method])).toEqual([
      ["failed", "totp"],
      ["success", "password+totp"],
    ]);
  });

  it("refuses a replayed TOTP code and changes nothing", async () => {
    const admin = await setUpOrganisation();
    const first = await passwordStep(ADMIN.email, ADMIN.password);
    const code = await freshTotpCode(admin.totpSecret);
    expect((await call("/api/auth/mfa", { body: { method: "totp", code }, cookie: first.cookie })).status).toBe(200);
    const lastStep = await db.prepare("SELECT last_step FROM totp_credentials").first("last_step");

    const second = await passwordStep(ADMIN.email, ADMIN.password);
    const replay = await expectError(await call("/api/auth/mfa", { body: { method: "totp", code }, cookie: second.cookie }), 401, "invalid_code");
    expect(replay.error.message).toMatch(/each code works once/);
    expect(await db.prepare("SELECT last_step FROM totp_credentials").first("last_step")).toBe(lastStep);
    expect(((await (await call("/api/auth/session", { cookie: second.cookie })).json()) as SessionInfo).stage).toBe("mfa_pending");
    // An earlier step than the last used is refused too, even within the drift window.
    const earlier = await hotp(base32Decode(admin.totpSecret), (lastStep as number) - 1);
    await expectError(await call("/api/auth/mfa", { body: { method: "totp", code: earlier }, cookie: second.cookie }), 401, "invalid_code");
    expect(timeStep(Date.now())).toBeGreaterThanOrEqual((lastStep as number) - 1);
  });

  it("accepts each recovery code once", async () => {
    const admin = await setUpOrganisation();
    const recoveryCode = admin.recoveryCodes[3]!;
    const first = await passwordStep(ADMIN.email, ADMIN.password);
    const used = await call("/api/auth/mfa", { body: { method: "recovery_code", code: recoveryCode.toLowerCase().replaceAll("-", " ") }, cookie: first.cookie });
    expect(used.status).toBe(200);
    const left = ((await (await call("/api/mfa", { cookie: sessionCookie(used) })).json()) as MfaStatus).recoveryCodesLeft;
    expect(left).toBe(9);

    const second = await passwordStep(ADMIN.email, ADMIN.password);
    await expectError(await call("/api/auth/mfa", { body: { method: "recovery_code", code: recoveryCode }, cookie: second.cookie }), 401, "invalid_code");
    expect(((await (await call("/api/mfa", { cookie: sessionCookie(used) })).json()) as MfaStatus).recoveryCodesLeft).toBe(9);
    expect((await auditEvents()).some((e) => e.action === "mfa.recovery_code_used")).toBe(true);
  });

  it("refuses a passkey assertion made for another user's challenge, and uses the challenge up", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    // Give Ada a (stored) passkey so she may ask for second-factor challenges.
    await db.prepare("INSERT INTO passkeys (id, user_id, public_key, counter, transports, name, created_at) VALUES ('AAAA', ?, 'AAAA', 0, '[]', 'Phone', ?)")
      .bind(admin.session.user.id, new Date().toISOString())
      .run();
    const ada = await passwordStep(ADMIN.email, ADMIN.password);
    expect(ada.body.methods).toContain("passkey");
    const options = await call("/api/auth/passkey/options", { body: { purpose: "second_factor" }, cookie: ada.cookie });
    expect(options.status).toBe(200);
    const { challengeId } = (await options.json()) as PasskeyOptions;

    const ivyPending = await passwordStep("ivy@example.org", "a long enough passphrase");
    await expectError(await call("/api/auth/mfa", { body: { method: "passkey", challengeId, credential: FAKE_CREDENTIAL }, cookie: ivyPending.cookie }), 401, "invalid_code");
    expect(await db.prepare("SELECT count(*) AS n FROM webauthn_challenges WHERE id = ?").bind(challengeId).first("n")).toBe(0);
    // Nor can the challenge then serve Ada: it was single use.
    await expectError(await call("/api/auth/mfa", { body: { method: "passkey", challengeId, credential: FAKE_CREDENTIAL }, cookie: ada.cookie }), 401, "invalid_code");
    // Passwordless sign-in with a made-up assertion fails the same way.
    const signInOptions = (await (await call("/api/auth/passkey/options", { body: { purpose: "sign_in" } })).json()) as PasskeyOptions;
    expect(signInOptions.options).not.toHaveProperty("allowCredentials");
    await expectError(await call("/api/auth/passkey", { body: { challengeId: signInOptions.challengeId, credential: FAKE_CREDENTIAL } }), 401, "passkey_not_accepted");
    expect(ivy.session.stage).toBe("active");
  });
});

describe("MFA management", () => {
  it("replaces recovery codes only after a recent authentication, and refuses to remove the last factor while MFA is required", async () => {
    const admin = await setUpOrganisation();
    await db.prepare("UPDATE sessions SET auth_at = ?").bind(new Date(Date.now() - 6 * 60 * 1000).toISOString()).run();
    await expectError(await call("/api/mfa/recovery-codes", { method: "POST", cookie: admin.cookie }), 403, "reauth_required");
    await expectError(await call("/api/auth/reauth", { body: { method: "password", password: "not it at all" }, cookie: admin.cookie }), 403, "reauth_failed");
    expect((await call("/api/auth/reauth", { body: { method: "password", password: ADMIN.password }, cookie: admin.cookie })).status).toBe(200);
    const replaced = await call("/api/mfa/recovery-codes", { method: "POST", cookie: admin.cookie });
    expect(replaced.status).toBe(201);
    const { recoveryCodes } = (await replaced.json()) as { recoveryCodes: string[] };
    expect(recoveryCodes).toHaveLength(10);
    expect(recoveryCodes).not.toContain(admin.recoveryCodes[0]);

    await expectError(await call("/api/mfa/totp", { method: "DELETE", cookie: admin.cookie }), 409, "last_factor");
    expect(((await (await call("/api/mfa", { cookie: admin.cookie })).json()) as MfaStatus).totp).toBe(true);
    await call("/api/settings", { method: "PUT", body: { mfaRequired: false }, cookie: admin.cookie });
    expect((await call("/api/mfa/totp", { method: "DELETE", cookie: admin.cookie })).status).toBe(204);
    // No factor left: password alone signs in.
    const signedIn = await signIn(ADMIN.email, ADMIN.password);
    expect(signedIn.session.stage).toBe("active");
  });
});
