/**
 * The client's address (sessions, the audit trail, the per-IP throttle) is taken only from what
 * the thing in front of the worker sets: Cloudflare's edge, or the Deno host. Under the local
 * defaults a client's own `CF-Connecting-IP` (or `X-Real-IP`) is not believed.
 */
import { describe, expect, it } from "vitest";
import { auditEvents } from "./audit-helpers";
import { backend, db } from "./backend";
import { ADMIN, call, expectError, setUpOrganisation } from "./helpers";

const FORGED = "203.0.113.66";
const wrongFrom = (ip: string, n: number) =>
  call("/api/auth/sign-in", { body: { email: `spray${n}@example.org`, password: "not the password at all" }, headers: { "CF-Connecting-IP": ip, "X-Real-IP": ip } });

describe("client IP", () => {
  it("under the local defaults, ignores a CF-Connecting-IP the client sent: not recorded, and no way round the throttle", async () => {
    const admin = await setUpOrganisation();
    await backend.withLocalDefaults(async () => {
      const signedIn = await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password }, headers: { "CF-Connecting-IP": FORGED, "X-Real-IP": FORGED } });
      expect(signedIn.status).toBe(200);
      // A new address for every attempt gets no fresh allowance.
      for (let i = 0; i < 20; i++) await expectError(await wrongFrom(`198.51.100.${i + 1}`, i), 401, "invalid_credentials");
      await expectError(await wrongFrom("198.51.100.99", 99), 429, "too_many_attempts");
    });
    const events = await auditEvents();
    expect(events.filter((e) => e.ip === FORGED || (e.ip ?? "").startsWith("198.51.100."))).toEqual([]);
    const ips = await db.prepare("SELECT ip FROM sessions WHERE user_id = ?").bind(admin.session.user.id).all<{ ip: string | null }>();
    expect(ips.results.map((r) => r.ip)).not.toContain(FORGED);
  });

  it("behind the edge (or the trusted proxy), records the address it sets", async () => {
    await setUpOrganisation();
    await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: "wrong" }, headers: { "CF-Connecting-IP": "192.0.2.44" } });
    expect((await auditEvents()).find((e) => e.action === "auth.sign_in" && e.outcome === "failed")?.ip).toBe("192.0.2.44");
  });
});
