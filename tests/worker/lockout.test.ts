import { backend, db } from "./backend";
import { describe, expect, it } from "vitest";
import { auditEvents } from "./audit-helpers";
import { addUser, ADMIN, call, ORIGIN, expectError, freshTotpCode, sessionCookie, setUpOrganisation, signIn } from "./helpers";

const wrong = (email: string, ip = "198.51.100.1") => call("/api/auth/sign-in", { body: { email, password: "not the password at all" }, headers: { "CF-Connecting-IP": ip } });

describe("lockout", () => {
  it("locks an account after five consecutive failures: even the right password then answers like a wrong one", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await expectError(await wrong("ivy@example.org"), 401, "invalid_credentials"));
    const right = await call("/api/auth/sign-in", { body: { email: "ivy@example.org", password: "a long enough passphrase" }, headers: { "CF-Connecting-IP": "198.51.100.2" } });
    const locked = await expectError(right, 401, "invalid_credentials");
    expect(locked).toEqual(answers[0]);
    expect(right.headers.get("Set-Cookie")).toBeNull();
    // Brute force past the lock: still refused, nothing created, the lock not extended.
    const until = await db.prepare("SELECT locked_until FROM sign_in_failures WHERE email = 'ivy@example.org'").first("locked_until");
    for (let i = 0; i < 3; i++) await expectError(await wrong("ivy@example.org", "198.51.100.3"), 401, "invalid_credentials");
    expect(await db.prepare("SELECT locked_until FROM sign_in_failures WHERE email = 'ivy@example.org'").first("locked_until")).toBe(until);
    expect(await db.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL").bind(ivy.session.user.id).first("n")).toBe(1);

    const events = await auditEvents();
    expect(events.filter((e) => e.action === "auth.lockout")).toHaveLength(1);
    expect(events.find((e) => e.action === "auth.lockout")).toMatchObject({ target: { id: ivy.session.user.id }, outcome: "denied" });
    expect(events.filter((e) => e.action === "auth.sign_in" && e.details.reason === "locked").length).toBeGreaterThanOrEqual(4);

    // An administrator unlocks; the right password works again.
    const list = (await (await call("/api/users/security", { cookie: admin.cookie })).json()) as { users: { id: string; lockedUntil: string | null }[] };
    expect(list.users.find((u) => u.id === ivy.session.user.id)?.lockedUntil).toBe(until);
    expect((await call(`/api/users/${ivy.session.user.id}/unlock`, { method: "POST", cookie: admin.cookie })).status).toBe(204);
    expect((await signIn("ivy@example.org", "a long enough passphrase", ivy.totpSecret)).session.stage).toBe("active");
    expect((await auditEvents()).some((e) => e.action === "user.unlock")).toBe(true);
  });

  it("ends after 10 minutes, and a success resets the count", async () => {
    const admin = await setUpOrganisation();
    for (let i = 0; i < 4; i++) await wrong(ADMIN.email);
    // A complete sign-in (here with a recovery code) resets the count.
    const first = await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } });
    expect((await call("/api/auth/mfa", { body: { method: "recovery_code", code: admin.recoveryCodes[0]! }, cookie: sessionCookie(first) })).status).toBe(200);
    for (let i = 0; i < 4; i++) await wrong(ADMIN.email);
    expect((await signIn(ADMIN.email, ADMIN.password, admin.totpSecret)).session.stage).toBe("active");
    for (let i = 0; i < 5; i++) await wrong(ADMIN.email);
    await expectError(await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } }), 401);
    await db.prepare("UPDATE sign_in_failures SET locked_until = ?").bind(new Date(Date.now() - 1000).toISOString()).run();
    expect((await signIn(ADMIN.email, ADMIN.password, admin.totpSecret)).session.stage).toBe("active");
  });

  it("counts wrong second factors too, and a lock ends the half-finished sign-in", async () => {
    const admin = await setUpOrganisation();
    const first = await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } });
    const pending = sessionCookie(first);
    for (let i = 0; i < 5; i++) await expectError(await call("/api/auth/mfa", { body: { method: "totp", code: "000000" }, cookie: pending }), 401, "invalid_code");
    await expectError(await call("/api/auth/mfa", { body: { method: "totp", code: await freshTotpCode(admin.totpSecret) }, cookie: pending }), 401);
    await expectError(await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } }), 401, "invalid_credentials");
    expect((await auditEvents()).some((e) => e.action === "auth.lockout")).toBe(true);
  });

  it("answers an unknown, a disabled and a locked account exactly as a wrong password, with the same work", async () => {
    const admin = await setUpOrganisation();
    const sam = await addUser(admin.cookie, { email: "sam@example.org", name: "Sam", role: "site_operator" });
    expect((await call(`/api/users/${sam.session.user.id}/disable`, { method: "POST", cookie: admin.cookie })).status).toBe(200);
    const bodies = [];
    for (const email of [ADMIN.email, "nobody@example.org", "sam@example.org"]) bodies.push(await expectError(await wrong(email, "192.0.2.1"), 401, "invalid_credentials"));
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    // An unknown address is counted (and locked) like a real one, so nothing tells them apart.
    for (let i = 0; i < 4; i++) await wrong("nobody@example.org", "192.0.2.2");
    expect(await db.prepare("SELECT locked_until IS NOT NULL AS locked FROM sign_in_failures WHERE email = 'nobody@example.org'").first("locked")).toBe(1);
  });
});

describe("per-IP throttling", () => {
  it("refuses a 21st failed attempt from one IP within 10 minutes, whatever the account, and lets other IPs through", async () => {
    const admin = await setUpOrganisation();
    for (let i = 0; i < 20; i++) await expectError(await wrong(`spray${i}@example.org`, "203.0.113.9"), 401);
    const throttled = await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password }, headers: { "CF-Connecting-IP": "203.0.113.9" } });
    await expectError(throttled, 429, "too_many_attempts");
    expect(throttled.headers.get("Retry-After")).toBe("600");
    expect(throttled.headers.get("Set-Cookie")).toBeNull();
    expect((await signIn(ADMIN.email, ADMIN.password, admin.totpSecret, { "CF-Connecting-IP": "203.0.113.10" })).session.stage).toBe("active");
    // The window slides: attempts older than 10 minutes no longer count.
    await db.prepare("UPDATE sign_in_attempts SET at = ?").bind(new Date(Date.now() - 11 * 60 * 1000).toISOString()).run();
    expect((await signIn(ADMIN.email, ADMIN.password, admin.totpSecret, { "CF-Connecting-IP": "203.0.113.9" })).session.stage).toBe("active");
    expect((await auditEvents()).some((e) => e.action === "auth.throttled")).toBe(true);
  });
});

describe("per-IP throttling under concurrency", () => {
  it("lets exactly 20 of 25 simultaneous wrong sign-ins from one IP reach the password check", async () => {
    await setUpOrganisation();
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => wrong(`burst${i}@example.org`, "203.0.113.20")));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    const events = await auditEvents();
    expect(events.filter((e) => e.action === "auth.sign_in" && e.outcome === "failed")).toHaveLength(20);
    expect(events.filter((e) => e.action === "auth.throttled")).toHaveLength(5);
    expect(await db.prepare("SELECT count(*) AS n FROM sign_in_attempts WHERE ip = '203.0.113.20'").first("n")).toBe(20);
  });

  it("does not count a successful sign-in against the IP", async () => {
    const admin = await setUpOrganisation();
    for (let i = 0; i < 19; i++) await expectError(await wrong(`spray${i}@example.org`, "203.0.113.21"), 401);
    expect((await signIn(ADMIN.email, ADMIN.password, admin.totpSecret, { "CF-Connecting-IP": "203.0.113.21" })).session.stage).toBe("active");
    await expectError(await wrong("spray19@example.org", "203.0.113.21"), 401);
    await expectError(await wrong("spray20@example.org", "203.0.113.21"), 429, "too_many_attempts");
  });

  it("throttles OpenID Connect sign-in per IP: the start and the callback", async () => {
    await setUpOrganisation();
    // Top-level navigations, redirects not followed.
    const navigate = (path: string, ip: string) => backend.fetch(new Request(`${ORIGIN}${path}`, { redirect: "manual", headers: { "CF-Connecting-IP": ip } }));
    const start = (ip: string) => navigate("/api/oidc/start", ip);
    const callback = (ip: string) => navigate("/api/oidc/callback?code=x&state=forged", ip);
    const starts = await Promise.all(Array.from({ length: 25 }, () => start("203.0.113.30")));
    const errors = starts.map((r) => new URL(r.headers.get("Location")!, "http://x").searchParams.get("error"));
    expect(errors.filter((e) => e === "too_many_attempts")).toHaveLength(5);
    expect((await start("203.0.113.31")).headers.get("Location")).not.toMatch(/too_many_attempts/);

    // A failed callback counts like a failed password sign-in, and a throttled IP's callback is refused before any check.
    const callbacks = await Promise.all(Array.from({ length: 22 }, () => callback("203.0.113.32")));
    expect(callbacks.filter((r) => /error=too_many_attempts/.test(r.headers.get("Location") ?? ""))).toHaveLength(2);
    await expectError(await wrong(ADMIN.email, "203.0.113.32"), 429, "too_many_attempts");
    expect((await auditEvents()).filter((e) => e.action === "auth.throttled").length).toBeGreaterThanOrEqual(8);
  });
});
