import { db } from "./backend";
import { describe, expect, it } from "vitest";
import type { OrgSettings, SessionList } from "../../shared/api/identity";
import type { Invitation, SessionInfo, User } from "../../shared/api/schemas";
import { auditEvents } from "./audit-helpers";
import { addUser, ADMIN, call, expectError, setUpOrganisation, signIn } from "./helpers";

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const MIN = 60 * 1000;

describe("sessions", () => {
  it("lists your sessions with this one marked, and signs out the one you choose", async () => {
    const admin = await setUpOrganisation();
    const phone = await signIn(ADMIN.email, ADMIN.password, admin.totpSecret, { "User-Agent": "FieldPhone/2.0" });
    const list = (await (await call("/api/sessions", { cookie: admin.cookie })).json()) as SessionList;
    expect(list.sessions).toHaveLength(2);
    expect(list.sessions.filter((s) => s.current)).toHaveLength(1);
    const other = list.sessions.find((s) => !s.current)!;
    expect(other).toMatchObject({ userAgent: "FieldPhone/2.0", method: "password+totp" });
    expect(JSON.stringify(list)).not.toMatch(/token/i);

    expect((await call(`/api/sessions/${other.id}`, { method: "DELETE", cookie: admin.cookie })).status).toBe(204);
    await expectError(await call("/api/auth/session", { cookie: phone.cookie }), 401);
    expect((await call("/api/auth/session", { cookie: admin.cookie })).status).toBe(200);
    await expectError(await call(`/api/sessions/${other.id}`, { method: "DELETE", cookie: admin.cookie }), 404);
    expect((await auditEvents()).some((e) => e.action === "session.revoke")).toBe(true);
  });

  it("cannot sign out someone else's session by id", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const ivys = (await (await call("/api/sessions", { cookie: ivy.cookie })).json()) as SessionList;
    await expectError(await call(`/api/sessions/${ivys.sessions[0]!.id}`, { method: "DELETE", cookie: admin.cookie }), 404);
    expect((await call("/api/auth/session", { cookie: ivy.cookie })).status).toBe(200);
  });

  it("applies the organisation's idle timeout and absolute lifetime to live sessions", async () => {
    const admin = await setUpOrganisation();
    const settings = await call("/api/settings", { method: "PUT", body: { idleTimeoutMinutes: 10, absoluteLifetimeMinutes: 60 }, cookie: admin.cookie });
    expect((await settings.json()) as OrgSettings).toMatchObject({ idleTimeoutMinutes: 10, absoluteLifetimeMinutes: 60, mfaRequired: true, passwordMinLength: 12 });
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const info = (await (await call("/api/auth/session", { cookie: ivy.cookie })).json()) as SessionInfo;
    expect(Date.parse(info.expiresAt) - Date.now()).toBeLessThanOrEqual(10 * MIN);
    // Both limits, for a device that opens the app offline: the idle timeout, and the end no use postpones.
    expect(info.limits?.idleMinutes).toBe(10);
    expect(Date.parse(info.limits!.endsBy) - Date.now()).toBeGreaterThan(50 * MIN);
    expect(Date.parse(info.limits!.endsBy) - Date.now()).toBeLessThanOrEqual(60 * MIN);

    await db.prepare("UPDATE sessions SET last_seen_at = ? WHERE user_id = ?").bind(ago(11 * MIN), ivy.session.user.id).run();
    await expectError(await call("/api/auth/session", { cookie: ivy.cookie }), 401, "session_ended");

    await db.prepare("UPDATE sessions SET created_at = ? WHERE user_id = ?").bind(ago(61 * MIN), admin.session.user.id).run();
    await expectError(await call("/api/auth/session", { cookie: admin.cookie }), 401, "session_ended");
    const events = await auditEvents();
    expect(events.find((e) => e.action === "settings.change")?.details).toMatchObject({ changed: { idleTimeoutMinutes: { from: 30, to: 10 } } });
  });

  it("requires a re-authentication within 5 minutes before sensitive actions", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await db.prepare("UPDATE sessions SET auth_at = ? WHERE user_id = ?").bind(ago(6 * MIN), admin.session.user.id).run();
    const id = ivy.session.user.id;
    await expectError(await call(`/api/users/${id}`, { method: "PATCH", body: { role: "admin" }, cookie: admin.cookie }), 403, "reauth_required");
    await expectError(await call(`/api/users/${id}/disable`, { method: "POST", cookie: admin.cookie }), 403, "reauth_required");
    await expectError(await call(`/api/users/${id}/mfa/reset`, { method: "POST", cookie: admin.cookie }), 403, "reauth_required");
    await expectError(await call("/api/settings", { method: "PUT", body: { mfaRequired: false }, cookie: admin.cookie }), 403, "reauth_required");
    await expectError(await call("/api/keys/me/bundle", { method: "PUT", body: { bundle: "a.b.c.d.e" }, cookie: admin.cookie }), 403, "reauth_required");
    const row = await db.prepare("SELECT role, status FROM users WHERE id = ?").bind(id).first();
    expect(row).toEqual({ role: "investigator", status: "active" });

    expect((await call("/api/auth/reauth", { body: { method: "password", password: ADMIN.password }, cookie: admin.cookie })).status).toBe(200);
    expect((await call(`/api/users/${id}`, { method: "PATCH", body: { role: "site_operator" }, cookie: admin.cookie })).status).toBe(200);
  });
});

describe("user administration", () => {
  it("disables a user (ending their sessions at once), enables them again, and refuses to disable yourself", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const disabled = await call(`/api/users/${ivy.session.user.id}/disable`, { method: "POST", cookie: admin.cookie });
    expect(((await disabled.json()) as User).status).toBe("disabled");
    await expectError(await call("/api/auth/session", { cookie: ivy.cookie }), 401);
    expect(await db.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL").bind(ivy.session.user.id).first("n")).toBe(0);
    await expectError(await call("/api/auth/sign-in", { body: { email: "ivy@example.org", password: "a long enough passphrase" } }), 401, "invalid_credentials");

    await expectError(await call(`/api/users/${admin.session.user.id}/disable`, { method: "POST", cookie: admin.cookie }), 403, "own_account");
    const enabled = await call(`/api/users/${ivy.session.user.id}/enable`, { method: "POST", cookie: admin.cookie });
    expect(((await enabled.json()) as User).status).toBe("active");
    expect((await signIn("ivy@example.org", "a long enough passphrase", ivy.totpSecret)).session.stage).toBe("active");
    const actions = (await auditEvents()).map((e) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(["user.disable:success", "user.disable:denied", "user.enable:success"]));
  });

  it("resets a user's MFA: their factors go, their sessions end, and they enrol again at next sign-in", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    expect((await call(`/api/users/${ivy.session.user.id}/mfa/reset`, { method: "POST", cookie: admin.cookie })).status).toBe(204);
    await expectError(await call("/api/auth/session", { cookie: ivy.cookie }), 401);
    const again = await signIn("ivy@example.org", "a long enough passphrase");
    expect(again.session.stage).toBe("mfa_enrolment");
    await expectError(await call(`/api/users/${admin.session.user.id}/mfa/reset`, { method: "POST", cookie: admin.cookie }), 403, "own_account");
  });

  it("signs a user out everywhere", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const response = await call(`/api/users/${ivy.session.user.id}/sessions`, { method: "DELETE", cookie: admin.cookie });
    expect(await response.json()).toEqual({ revoked: 1 });
    await expectError(await call("/api/auth/session", { cookie: ivy.cookie }), 401);
  });

  it("refuses role escalation: a non-admin reaches no administration route, and a restricted admin session none either", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const id = ivy.session.user.id;
    for (const [path, method] of [
      [`/api/users/${id}`, "PATCH"],
      [`/api/users/${id}/disable`, "POST"],
      [`/api/users/${admin.session.user.id}/mfa/reset`, "POST"],
      [`/api/users/${admin.session.user.id}/unlock`, "POST"],
      [`/api/users/${admin.session.user.id}/sessions`, "DELETE"],
      ["/api/settings", "PUT"],
    ] as const) {
      const body = method === "PATCH" ? { role: "admin" } : method === "PUT" ? { mfaRequired: false } : undefined;
      await expectError(await call(path, { method, body, cookie: ivy.cookie }), 403, "forbidden");
    }
    // A newly invited administrator who has not enrolled MFA can do nothing administrative.
    const invited = (await (await call("/api/users", { body: { email: "adm@example.org", name: "Adm", role: "admin" }, cookie: admin.cookie })).json()) as Invitation;
    const accepted = await call("/api/invitations/accept", { body: { token: invited.token, password: "a long enough passphrase" } });
    const restricted = /custody_session=[^;]*/.exec(accepted.headers.get("Set-Cookie")!)![0];
    await expectError(await call(`/api/users/${id}`, { method: "PATCH", body: { role: "admin" }, cookie: restricted }), 403, "mfa_enrolment_required");
    await expectError(await call("/api/settings", { method: "PUT", body: { mfaRequired: false }, cookie: restricted }), 403, "mfa_enrolment_required");
    expect(await db.prepare("SELECT role FROM users WHERE id = ?").bind(id).first("role")).toBe("investigator");
    expect(await db.prepare("SELECT count(*) AS n FROM org_settings").first("n")).toBe(0);
  });
});

describe("password policy", () => {
  it("needs 12 characters by default, accepts 64 and more, refuses common passwords, and follows the organisation's minimum", async () => {
    const admin = await setUpOrganisation();
    const invite = async (email: string) =>
      ((await (await call("/api/users", { body: { email, name: "N", role: "investigator" }, cookie: admin.cookie })).json()) as Invitation).token;
    const token = await invite("pat@example.org");
    const short = await expectError(await call("/api/invitations/accept", { body: { token, password: "elevenchars" } }), 400, "validation_failed");
    expect(short.error.issues).toEqual([{ path: "password", message: "Use at least 12 characters." }]);
    const common = await expectError(await call("/api/invitations/accept", { body: { token, password: "password1234" } }), 400, "validation_failed");
    expect(common.error.message).toMatch(/too common/);
    await expectError(await call("/api/invitations/accept", { body: { token, password: "PASSWORD1234" } }), 400, "validation_failed");
    expect(await db.prepare("SELECT status FROM users WHERE email = 'pat@example.org'").first("status")).toBe("invited");
    // No composition rules: a long lower-case sentence is fine; so is 64+ characters.
    expect((await call("/api/invitations/accept", { body: { token, password: "x".repeat(40) + " and then some more words to pass sixty-four" } })).status).toBe(200);

    // Change password applies the same policy.
    await expectError(await call("/api/auth/password", { body: { currentPassword: ADMIN.password, newPassword: "qwertyuiop123" }, cookie: admin.cookie }), 400, "validation_failed");
    await expectError(await call("/api/auth/password", { body: { currentPassword: "wrong one", newPassword: "a perfectly good new passphrase" }, cookie: admin.cookie }), 403, "wrong_password");

    // The administrator lowers the minimum to 8 (not below).
    await expectError(await call("/api/settings", { method: "PUT", body: { passwordMinLength: 7 }, cookie: admin.cookie }), 400, "validation_failed");
    expect((await call("/api/settings", { method: "PUT", body: { passwordMinLength: 8 }, cookie: admin.cookie })).status).toBe(200);
    expect(await (await call("/api/settings/password-policy")).json()).toEqual({ minLength: 8, maxLength: 256 });
    const second = await invite("quin@example.org");
    expect((await call("/api/invitations/accept", { body: { token: second, password: "tulip-42x" } })).status).toBe(200);
  });

  it("changes your password: the old one stops working and your other sessions end", async () => {
    const admin = await setUpOrganisation();
    const other = await signIn(ADMIN.email, ADMIN.password, admin.totpSecret);
    expect((await call("/api/auth/password", { body: { currentPassword: ADMIN.password, newPassword: "an entirely new passphrase" }, cookie: admin.cookie })).status).toBe(204);
    await expectError(await call("/api/auth/session", { cookie: other.cookie }), 401);
    expect((await call("/api/auth/session", { cookie: admin.cookie })).status).toBe(200);
    await expectError(await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } }), 401);
    expect((await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: "an entirely new passphrase" } })).status).toBe(200);
    expect((await auditEvents()).some((e) => e.action === "user.password_change" && e.outcome === "success")).toBe(true);
  });
});
