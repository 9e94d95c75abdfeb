import { backend, db } from "./backend";
import { describe, expect, it } from "vitest";
import type { SessionInfo, SetupStatus } from "../../shared/api/schemas";
import { ADMIN, call, expectError, recoveryPublicKey, sessionCookie, setUpOrganisation } from "./helpers";
import { auditEvents } from "./audit-helpers";

async function count(table: string): Promise<number> {
  const row = await db.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("first-run setup", () => {
  it("is needed on an empty database, creates the organisation and a signed-in admin, then closes for good", async () => {
    expect(await (await call("/api/setup")).json()).toEqual({ needed: true } satisfies SetupStatus);

    const { cookie, session } = await setUpOrganisation();
    expect(session.user).toMatchObject({ email: ADMIN.email, name: ADMIN.name, role: "admin", status: "active" });
    expect(session.organisation.name).toBe("Northshire Police");
    expect(await (await call("/api/setup")).json()).toEqual({ needed: false });

    const me = await call("/api/auth/session", { cookie });
    expect(me.status).toBe(200);
    expect(((await me.json()) as SessionInfo).user.email).toBe(ADMIN.email);

    const before = { orgs: await count("organisations"), users: await count("users") };
    const again = await call("/api/setup", {
      body: { organisation: { name: "Impostor" }, admin: { email: "mallory@example.org", name: "Mallory", password: "another long password" }, recoveryKey: await recoveryPublicKey() },
    });
    await expectError(again, 409, "already_set_up");
    expect(again.headers.get("Set-Cookie")).toBeNull();
    expect({ orgs: await count("organisations"), users: await count("users") }).toEqual(before);
    expect((await call("/api/auth/sign-in", { body: { email: "mallory@example.org", password: "another long password" } })).status).toBe(401);
  });

  it("lets exactly one of two simultaneous setups win", async () => {
    const recoveryKey = await recoveryPublicKey();
    const attempt = (name: string) =>
      call("/api/setup", { body: { organisation: { name }, admin: { email: `${name}@example.org`, name, password: "a long enough passphrase" }, recoveryKey } });
    const results = await Promise.all([attempt("first"), attempt("second"), attempt("third")]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(await count("organisations")).toBe(1);
    expect(await count("users")).toBe(1);
  });

  it("refuses a weak or malformed setup with field messages and creates nothing", async () => {
    const response = await call("/api/setup", {
      body: { organisation: { name: "" }, admin: { email: "not-an-email", name: "A", password: "short" }, recoveryKey: { kty: "EC", crv: "P-256", x: "AA", y: "AA" } },
    });
    const body = await expectError(response, 400, "validation_failed");
    expect(body.error.issues?.map((i) => i.path).sort()).toEqual(["admin.email", "admin.password", "organisation.name", "recoveryKey.crv", "recoveryKey.x", "recoveryKey.y"]);
    expect(await count("organisations")).toBe(0);
    expect(await (await call("/api/setup")).json()).toEqual({ needed: true });
  });

  it("holds a new organisation's administrator to the 12-character rule, in words without field paths", async () => {
    const recoveryKey = await recoveryPublicKey();
    const body = await expectError(
      await call("/api/setup", { body: { organisation: { name: "Northshire" }, admin: { email: "ada@example.org", name: "Ada", password: "eleven char" }, recoveryKey } }),
      400,
      "validation_failed",
    );
    expect(body.error.issues).toEqual([{ path: "admin.password", message: expect.stringMatching(/at least 12 characters/) }]);
    expect(body.error.message).toMatch(/at least 12 characters/);
    expect(body.error.message).not.toMatch(/admin\.password|password:/);
    expect(await count("organisations")).toBe(0);
  });
});

describe("sign-in, sessions and sign-out", () => {
  it("signs in with the right password: an HttpOnly, SameSite=Strict cookie holding a token stored only as a hash", async () => {
    await setUpOrganisation();
    const response = await call("/api/auth/sign-in", { body: { email: "ADA@example.org ", password: ADMIN.password } });
    expect(response.status).toBe(200);
    const setCookie = response.headers.get("Set-Cookie") ?? "";
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    const token = sessionCookie(response).split("=")[1]!;
    expect(token.length).toBeGreaterThanOrEqual(43); // 256 bits, base64url
    const rows = await db.prepare("SELECT token_hash FROM sessions").all<{ token_hash: string }>();
    expect(rows.results.length).toBe(2);
    for (const row of rows.results) expect(row.token_hash).not.toContain(token);
    const dump = JSON.stringify((await db.prepare("SELECT * FROM sessions").all()).results);
    expect(dump).not.toContain(token);
  });

  it("marks the cookie Secure when not on localhost", async () => {
    await setUpOrganisation();
    const response = await backend.fetch(
      new Request("https://custody.example.org/api/auth/sign-in", {
        method: "POST",
        headers: { "Content-Type": "application/json", Origin: "https://custody.example.org" },
        body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Set-Cookie")).toMatch(/; Secure/);
  });

  it("refuses a wrong password and an unknown account with the same answer", async () => {
    await setUpOrganisation();
    const wrong = await expectError(await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: "not the password" } }), 401, "invalid_credentials");
    const unknown = await expectError(await call("/api/auth/sign-in", { body: { email: "nobody@example.org", password: "not the password" } }), 401, "invalid_credentials");
    expect(unknown).toEqual(wrong);
    const failures = (await auditEvents()).filter((e) => e.action === "auth.sign_in" && e.outcome === "failed");
    expect(failures.length).toBe(2);
  });

  it("revokes the session on sign-out: the old cookie no longer works", async () => {
    const { cookie } = await setUpOrganisation();
    expect((await call("/api/auth/session", { cookie })).status).toBe(200);
    const out = await call("/api/auth/sign-out", { method: "POST", cookie });
    expect(out.status).toBe(204);
    expect(out.headers.get("Set-Cookie")).toMatch(/custody_session=;/);
    await expectError(await call("/api/auth/session", { cookie }), 401);
    await expectError(await call("/api/users", { cookie }), 401);
  });

  it("ends a session after 30 idle minutes and after 12 hours whatever the activity", async () => {
    const { cookie } = await setUpOrganisation();
    const old = (ms: number) => new Date(Date.now() - ms).toISOString();
    await db.prepare("UPDATE sessions SET last_seen_at = ?").bind(old(31 * 60 * 1000)).run();
    await expectError(await call("/api/auth/session", { cookie }), 401, "session_ended");

    const second = await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } });
    const fresh = sessionCookie(second);
    expect((await call("/api/auth/session", { cookie: fresh })).status).toBe(200);
    await db.prepare("UPDATE sessions SET expires_at = ? WHERE revoked_at IS NULL").bind(old(1000)).run();
    await expectError(await call("/api/auth/session", { cookie: fresh }), 401, "session_ended");
  });

  it("does not accept a made-up session token", async () => {
    await setUpOrganisation();
    await expectError(await call("/api/auth/session", { cookie: "custody_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }), 401);
  });
});

describe("CSRF", () => {
  it("refuses a state-changing request from another origin, whatever its content type", async () => {
    const { cookie } = await setUpOrganisation();
    const crossSite = await call("/api/users", {
      body: { email: "eve@example.org", name: "Eve", role: "admin" },
      cookie,
      headers: { Origin: "https://evil.example" },
    });
    await expectError(crossSite, 403, "cross_site_request");
    const form = await call("/api/auth/sign-out", {
      method: "POST",
      body: "x=1",
      cookie,
      headers: { Origin: "https://evil.example", "Content-Type": "application/x-www-form-urlencoded" },
    });
    await expectError(form, 403, "cross_site_request");
    const fetchSite = await call("/api/auth/sign-out", { method: "POST", cookie, headers: { "Sec-Fetch-Site": "cross-site" } });
    await expectError(fetchSite, 403, "cross_site_request");
    expect(await count("users")).toBe(1);
    expect((await call("/api/auth/session", { cookie })).status).toBe(200);
  });
});
