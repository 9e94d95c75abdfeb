import { db } from "./backend";
import { describe, expect, it } from "vitest";
import type { Invitation, User, UserList } from "../../shared/api/schemas";
import { auditEvents } from "./audit-helpers";
import { addUser, call, expectError, sessionCookie, setUpOrganisation } from "./helpers";

describe("user administration", () => {
  it("lets an admin invite a user, who sets a password with the one-time token and signs in", async () => {
    const admin = await setUpOrganisation();
    const invited = await call("/api/users", { body: { email: "Ivy@Example.org", name: "Ivy Investigator", role: "investigator" }, cookie: admin.cookie });
    expect(invited.status).toBe(201);
    const invitation = (await invited.json()) as Invitation;
    expect(invitation.user).toMatchObject({ email: "ivy@example.org", role: "investigator", status: "invited" });

    // An invited account has no password yet: it cannot sign in.
    await expectError(await call("/api/auth/sign-in", { body: { email: "ivy@example.org", password: "anything at all" } }), 401);

    const accepted = await call("/api/invitations/accept", { body: { token: invitation.token, password: "ivy's long passphrase" } });
    expect(accepted.status).toBe(200);
    const cookie = sessionCookie(accepted);
    expect((await call("/api/auth/session", { cookie })).status).toBe(200);

    // The token works once only, and is stored only as a hash.
    await expectError(await call("/api/invitations/accept", { body: { token: invitation.token, password: "someone else's password" } }), 400, "invalid_invitation");
    const dump = JSON.stringify((await db.prepare("SELECT * FROM invitations").all()).results);
    expect(dump).not.toContain(invitation.token);

    const signIn = await call("/api/auth/sign-in", { body: { email: "ivy@example.org", password: "ivy's long passphrase" } });
    expect(signIn.status).toBe(200);

    const list = (await (await call("/api/users", { cookie: admin.cookie })).json()) as UserList;
    expect(list.users.map((u) => [u.email, u.role, u.status])).toEqual([
      ["ada@example.org", "admin", "active"],
      ["ivy@example.org", "investigator", "active"],
    ]);
    const actions = (await auditEvents()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["organisation.setup", "user.invite", "user.invitation_accept"]));
  });

  it("refuses an expired invitation and a made-up token", async () => {
    const admin = await setUpOrganisation();
    const invited = (await (await call("/api/users", { body: { email: "late@example.org", name: "Late", role: "investigator" }, cookie: admin.cookie })).json()) as Invitation;
    await db.prepare("UPDATE invitations SET expires_at = ?").bind(new Date(Date.now() - 1000).toISOString()).run();
    await expectError(await call("/api/invitations/accept", { body: { token: invited.token, password: "a long enough passphrase" } }), 400, "invalid_invitation");
    await expectError(await call("/api/invitations/accept", { body: { token: "made-up", password: "a long enough passphrase" } }), 400, "invalid_invitation");
    const row = await db.prepare("SELECT status, password_hash FROM users WHERE email = ?").bind("late@example.org").first();
    expect(row).toEqual({ status: "invited", password_hash: null });
  });

  it("refuses a second account with the same email", async () => {
    const admin = await setUpOrganisation();
    await expectError(await call("/api/users", { body: { email: "ADA@example.org", name: "Copy", role: "admin" }, cookie: admin.cookie }), 409, "email_taken");
  });

  it("lets an admin change another user's role, but nobody their own", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const changed = await call(`/api/users/${ivy.session.user.id}`, { method: "PATCH", body: { role: "site_operator" }, cookie: admin.cookie });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as User).role).toBe("site_operator");

    const own = await call(`/api/users/${admin.session.user.id}`, { method: "PATCH", body: { role: "investigator" }, cookie: admin.cookie });
    await expectError(own, 403, "own_role");
    const still = await db.prepare("SELECT role FROM users WHERE id = ?").bind(admin.session.user.id).first<{ role: string }>();
    expect(still?.role).toBe("admin");

    const events = await auditEvents();
    expect(events.find((e) => e.action === "user.role_change" && e.outcome === "success")).toMatchObject({
      actor: { type: "user", id: admin.session.user.id },
      target: { type: "user", id: ivy.session.user.id },
      details: { from: "investigator", to: "site_operator" },
    });
    expect(events.find((e) => e.action === "user.role_change" && e.outcome === "denied")).toBeTruthy();
  });

  it("refuses every admin route to a non-admin, who cannot raise their own role either", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const sam = await addUser(admin.cookie, { email: "sam@example.org", name: "Sam", role: "site_operator" });
    for (const user of [ivy, sam]) {
      await expectError(await call("/api/users", { cookie: user.cookie }), 403, "forbidden");
      await expectError(await call("/api/users", { body: { email: "x@example.org", name: "X", role: "admin" }, cookie: user.cookie }), 403, "forbidden");
      await expectError(await call(`/api/users/${user.session.user.id}`, { method: "PATCH", body: { role: "admin" }, cookie: user.cookie }), 403, "forbidden");
    }
    const roles = (await db.prepare("SELECT email, role FROM users ORDER BY email").all()).results;
    expect(roles).toEqual([
      { email: "ada@example.org", role: "admin" },
      { email: "ivy@example.org", role: "investigator" },
      { email: "sam@example.org", role: "site_operator" },
    ]);
    expect(await db.prepare("SELECT count(*) AS n FROM users WHERE email = 'x@example.org'").first("n")).toBe(0);
    const denied = (await auditEvents()).filter((e) => e.action === "access.denied");
    expect(denied.length).toBe(6);
    expect(denied[0]).toMatchObject({ outcome: "denied", actor: { id: ivy.session.user.id } });
  });

  it("refuses admin routes without a session", async () => {
    await setUpOrganisation();
    await expectError(await call("/api/users"), 401, "unauthenticated");
    await expectError(await call("/api/users", { body: { email: "x@example.org", name: "X", role: "admin" } }), 401);
  });

  it("answers 404 for an unknown user id and 400 for a malformed one", async () => {
    const admin = await setUpOrganisation();
    await expectError(await call(`/api/users/${"0".repeat(32)}`, { method: "PATCH", body: { name: "X" }, cookie: admin.cookie }), 404);
    await expectError(await call("/api/users/not-an-id", { method: "PATCH", body: { name: "X" }, cookie: admin.cookie }), 400, "validation_failed");
  });
});
