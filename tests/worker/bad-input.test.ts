import { backend, bucket, db } from "./backend";
import { describe, expect, it } from "vitest";
import { auditEvents } from "./audit-helpers";
import type { PartUrls } from "../../shared/api/cases";
import type { PublicJwk } from "../../shared/api/schemas";
import { openCase, prepareEvidence, randomBytes, withKeys } from "./evidence-helpers";
import { ADMIN, addUser, call, expectError, ORIGIN, recoveryPublicKey, setUpOrganisation } from "./helpers";

interface Operation {
  requestBody?: unknown;
  "x-custody-access": "public" | "session" | "admin";
}

/** A well-formed (not genuine) WebAuthn credential response. */
const PASSKEY_CREDENTIAL = { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "AAAA", authenticatorData: "AAAA", signature: "AAAA" }, clientExtensionResults: {} };

/** A valid body for every route that takes one; the test fails if a new route is missing here. */
function validBodies(ids: { user: string }, key: PublicJwk, bundle: string): Record<string, Record<string, unknown>> {
  return {
    "POST /api/setup": { organisation: { name: "Org" }, admin: { email: "new@example.org", name: "New", password: "a long enough passphrase" }, recoveryKey: key },
    "PUT /api/keys/me": { signing: key, encryption: key, bundle, escrow: bundle },
    "POST /api/keys/me/recovery": { transportKey: key },
    "POST /api/keys/me/recovery/complete": { signing: key, bundle, escrow: bundle },
    [`POST /api/keys/recovery-requests/${ids.user}/release`]: { transfer: bundle },
    "PUT /api/keys/me/bundle": { bundle },
    [`PUT /api/keys/me/passkeys/${ids.user}`]: { bundle },
    "POST /api/auth/sign-in": { email: "ada@example.org", password: "whatever it is" },
    "POST /api/users": { email: "new@example.org", name: "New", role: "investigator" },
    [`PATCH /api/users/${ids.user}`]: { name: "Renamed", role: "admin" },
    "POST /api/invitations/accept": { token: "t", password: "a long enough passphrase" },
    "POST /api/auth/mfa": { method: "totp", code: "123456" },
    "POST /api/auth/passkey/options": { purpose: "sign_in" },
    "POST /api/auth/passkey": { challengeId: "0".repeat(32), credential: PASSKEY_CREDENTIAL },
    "POST /api/auth/reauth": { method: "password", password: "whatever it is" },
    "POST /api/auth/password": { currentPassword: "whatever it is", newPassword: "a new long passphrase" },
    "POST /api/mfa/totp/confirm": { code: "123456" },
    "POST /api/mfa/passkeys": { challengeId: "0".repeat(32), name: "Phone", credential: PASSKEY_CREDENTIAL },
    "PUT /api/settings": { mfaRequired: true, passwordMinLength: 12 },
    "PUT /api/settings/mail": { transport: "smtp", fromAddress: "custody@example.org", fromName: "Custody", smtp: { host: "smtp.example.org", port: 587, security: "starttls", username: "u", password: "p" } },
    "POST /api/settings/mail/test": { to: "someone@example.org" },
    "PUT /api/oidc/provider": {
      issuer: "https://idp.example.org", clientId: "custody", clientSecret: "s3cret", displayName: "SSO", scopes: "openid email", emailClaim: "email", groupsClaim: "groups",
      roleMappings: [{ group: "g", role: "investigator" }], provisionUsers: false, defaultRole: "investigator",
    },
    "POST /api/oidc/provider/discovery": { issuer: "https://idp.example.org" },
    "POST /api/cases": { number: "1", title: "t", description: "d", tags: [], caseKey: key, wraps: [{ recipientKid: "k".repeat(43), jwe: bundle }, { recipientKid: "j".repeat(43), jwe: bundle }] },
    [`PATCH /api/cases/${ids.user}`]: { title: "t" },
    [`POST /api/cases/${ids.user}/members`]: { userId: ids.user, role: "viewer", wraps: [{ caseKid: "k".repeat(43), recipientKid: "k".repeat(43), jwe: bundle }] },
    [`PATCH /api/cases/${ids.user}/members/${ids.user}`]: { role: "viewer" },
    [`POST /api/cases/${ids.user}/oversight`]: { wraps: [{ caseKid: "k".repeat(43), recipientKid: "k".repeat(43), jwe: bundle }] },
    [`PUT /api/users/${ids.user}/supervisor`]: { supervisor: true },
    [`POST /api/cases/${ids.user}/members/${ids.user}/remove`]: { caseKey: key, wraps: [{ recipientKid: "k".repeat(43), jwe: bundle }, { recipientKid: "j".repeat(43), jwe: bundle }] },
    [`POST /api/cases/${ids.user}/evidence`]: { evidenceId: ids.user, manifest: "a.b.c", fileKey: { caseKid: "k".repeat(43), jwe: bundle }, label: bundle },
    [`POST /api/evidence/${ids.user}/part-urls`]: { parts: [0] },
    [`POST /api/evidence/${ids.user}/complete`]: { manifest: "a.b.c" },
    [`POST /api/evidence/${ids.user}/access`]: { action: "download" },
    [`POST /api/cases/${ids.user}/package`]: { evidenceIds: [ids.user] },
    [`PATCH /api/evidence/${ids.user}/details`]: { jwe: bundle, baseVersion: 0 },
    [`POST /api/evidence/${ids.user}/file`]: { caseId: ids.user, fileKey: { caseKid: "k".repeat(43), jwe: bundle }, label: bundle, filing: "a.b.c" },
    "POST /api/sites": { name: "Corner Shop", address: "", holdDays: 30 },
    "POST /api/video-requests": { caseId: ids.user, cameraIds: [ids.user], start: "2026-01-01T10:00:00Z", end: "2026-01-01T10:30:00Z", reason: "Robbery" },
    [`POST /api/video-requests/${ids.user}/deny`]: { note: "No" },
    "POST /api/agent/enrol": { siteId: ids.user, token: "t", signingKey: key, encryptionKey: key },
    "PUT /api/agent/cameras": { cameras: [{ archiveId: "entrance", name: "Entrance", latitude: 51.5, longitude: -0.12, direction: 90, recorderId: "nvr" }] },
    [`POST /api/agent/clips/${ids.user}/held`]: { byteSize: 10, footageStart: "2026-01-01T10:00:00Z", footageEnd: "2026-01-01T10:30:00Z", durationMs: 1000 },
    [`POST /api/agent/clips/${ids.user}/unavailable`]: { reason: "No recording." },
    [`POST /api/agent/clips/${ids.user}/evidence`]: { evidenceId: ids.user, manifest: "a.b.c", fileKey: { caseKid: "k".repeat(43), jwe: bundle }, label: bundle },
    [`POST /api/agent/clips/${ids.user}/part-urls`]: { parts: [0] },
    "POST /api/retention/categories": { name: "Traffic", rule: { basis: "case_closed", count: 3, unit: "years" } },
    [`PATCH /api/retention/categories/${ids.user}`]: { name: "Renamed", reason: "Policy change" },
    "PUT /api/retention/settings": { binDays: 14 },
    "POST /api/retention/holds": { caseId: ids.user, reason: "Appeal pending" },
    [`POST /api/retention/holds/${ids.user}/lift`]: { reason: "Appeal dismissed" },
    [`PUT /api/retention/evidence/${ids.user}/category`]: { categoryId: ids.user, reason: "Reclassified" },
    [`POST /api/retention/evidence/${ids.user}/deletion-request`]: { reason: "Uploaded by mistake" },
    [`POST /api/retention/evidence/${ids.user}/decline`]: { reason: "Needed for the file" },
    "POST /api/retention/approve": { evidenceIds: [ids.user] },
    [`POST /api/retention/bin/${ids.user}/restore`]: { reason: "Approved by mistake" },
    "POST /api/retention/gone": { evidenceIds: [ids.user] },
    [`POST /api/cases/${ids.user}/shares`]: {
      id: ids.user, recipient: { type: "link", label: "Defence" }, scope: "items", level: "view", expiresAt: "2030-01-01T00:00:00Z", shareKey: key, shareKeyWrap: bundle,
      items: [{ evidenceId: ids.user, fileKey: bundle, label: bundle }],
    },
    [`POST /api/cases/${ids.user}/guests`]: { email: "guest@example.org", name: "Guest" },
    [`POST /api/submit/${ids.user}/submissions`]: { submissionId: ids.user, signerKey: key },
    [`POST /api/submit/${ids.user}/submissions/${ids.user}/files`]: { fileId: ids.user, byteSize: 10, fileKey: bundle, label: bundle },
    [`POST /api/submit/${ids.user}/submissions/${ids.user}/files/${ids.user}/complete`]: { manifest: "a.b.c" },
    [`POST /api/submitted-files/${ids.user}/accept`]: { caseKid: "k".repeat(43), fileKey: bundle, label: bundle },
    [`POST /api/cases/${ids.user}/submission-links`]: {
      audience: "person", label: "Corner shop", email: "shop@example.org", instructions: "CCTV of the door, 21:00 to 22:00", expiresAt: "2030-01-01T00:00:00Z",
      maxFiles: 5, maxBytes: 1_000_000, submissionKey: key, submissionKeyWrap: bundle, caseKid: "k".repeat(43),
    },
    [`PATCH /api/shares/${ids.user}`]: { level: "download" },
    [`POST /api/shares/${ids.user}/case-keys`]: { caseKeys: [{ caseKid: "k".repeat(43), jwe: bundle }] },
    [`POST /api/shared/links/${ids.user}/open`]: { accessCode: "ABCDEFGHJK" },
    [`POST /api/shared/${ids.user}/items/${ids.user}/access`]: { action: "download" },
    [`POST /api/shared/${ids.user}/receipts`]: { jws: "a.b.c" },
    "POST /api/audit/offline-events": { events: [{ action: "evidence.view", target: { type: "evidence", id: ids.user }, at: "2026-01-01T00:00:00Z", details: {} }] },
  };
}

/** Columns a request may touch without changing anything: a live session's last use. */
const VOLATILE: Record<string, string> = { sessions: "token_hash, user_id, stage, revoked_at, auth_at" };
/**
 * Tables a bad request may write to by design: the per-address sign-in throttle counts every
 * attempt on the sign-in and OpenID routes, malformed ones included, since that is what it is for
 * (docs/security.md, "Throttles").
 */
const COUNTERS = new Set(["sign_in_attempts"]);

/** Everything a request could have changed: every D1 table's rows, the stored objects, and the audit trail. */
async function snapshot(): Promise<string> {
  const tables = (
    await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name <> 'd1_migrations' ORDER BY name").all<{ name: string }>()
  ).results.map((row) => row.name);
  expect(tables).toContain("users");
  const rows: Record<string, unknown> = {};
  for (const table of tables.filter((name) => !COUNTERS.has(name))) rows[table] = (await db.prepare(`SELECT ${VOLATILE[table] ?? "*"} FROM "${table}" ORDER BY 1`).all()).results;
  rows.objects = (await bucket.list()).objects.map((object) => object.key);
  rows.audit = (await auditEvents()).length;
  return JSON.stringify(rows);
}

/** Wrong-typed variants of a valid body: each top-level field replaced by a value of another type. */
function wrongTypes(body: Record<string, unknown>): unknown[] {
  const variants: unknown[] = [[], "a string", 42, null];
  for (const [key, value] of Object.entries(body)) {
    variants.push({ ...body, [key]: typeof value === "number" ? "not a number" : typeof value === "object" ? "not an object" : 12345 });
  }
  return variants;
}

describe("bad input on every route that takes a body", () => {
  it("gets 400 or 413 in the error shape, never a 500, and changes nothing", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const spec = (await (await call("/api/openapi.json")).json()) as { paths: Record<string, Record<string, Operation>> };
    const bodies = validBodies({ user: ivy.session.user.id }, await recoveryPublicKey(), "a.b.c.d.e");

    const routes = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, op]) => op.requestBody)
        .map(([method, op]) => ({ method: method.toUpperCase(), path: path.replace(/\{\w+\}/g, ivy.session.user.id), op })),
    );
    expect(routes.length).toBeGreaterThanOrEqual(5);

    const before = await snapshot();
    for (const { method, path, op } of routes) {
      const key = `${method} ${path}`;
      const valid = bodies[key];
      expect(valid, `a valid example body for ${key}`).toBeDefined();
      const cookie = op["x-custody-access"] === "public" ? null : admin.cookie;
      const send = (body: unknown, headers?: Record<string, string>) => call(path, { method, body, cookie, headers });

      for (const raw of ["{", "{\"email\": }", "not json", "", "[1,2"]) {
        await expectError(await send(raw), 400);
      }
      for (const variant of wrongTypes(valid!)) {
        const response = await send(variant);
        const error = await expectError(response, 400);
        if (variant !== null && typeof variant === "object" && !Array.isArray(variant)) {
          expect(error.error.code, `${key} ${JSON.stringify(variant)}`).toBe("validation_failed");
        }
      }
      await expectError(await send({ ...valid, unexpected: true }), 400, "validation_failed");
      await expectError(await send(JSON.stringify(valid), { "Content-Type": "text/plain" }), 400);
      await expectError(await send({ ...valid, padding: "x".repeat(100 * 1024) }), 413, "payload_too_large");
    }
    expect(await snapshot()).toBe(before);
  });
});

describe("the OpenAPI document's request schemas", () => {
  it("call a field required only where the server refuses a body without it (a field it fills in when absent is optional)", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const spec = (await (await call("/api/openapi.json")).json()) as {
      paths: Record<string, Record<string, Operation & { requestBody?: { content: Record<string, { schema: { $ref?: string; required?: string[] } }> } }>>;
      components: { schemas: Record<string, { required?: string[] }> };
    };
    const resolve = (schema: { $ref?: string; required?: string[] }) => (schema.$ref ? spec.components.schemas[schema.$ref.split("/").at(-1)!]! : schema);
    // The fields the server fills in when absent, which the document used to call required.
    expect(resolve(spec.paths["/api/cases"]!.post!.requestBody!.content["application/json"]!.schema).required).not.toContain("tags");
    expect(resolve(spec.paths["/api/oidc/provider"]!.put!.requestBody!.content["application/json"]!.schema).required).not.toContain("roleMappings");

    const bodies = validBodies({ user: ivy.session.user.id }, await recoveryPublicKey(), "a.b.c.d.e");
    const before = await snapshot();
    let checked = 0;
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!op.requestBody) continue;
        const key = `${method.toUpperCase()} ${path.replace(/\{\w+\}/g, ivy.session.user.id)}`;
        const valid = bodies[key]!;
        const required = resolve(op.requestBody.content["application/json"]!.schema).required ?? [];
        for (const field of required) {
          expect(Object.keys(valid), `${key}: the example body has the required ${field}`).toContain(field);
          const { [field]: _, ...without } = valid;
          const response = await call(key.split(" ")[1]!, { method: method.toUpperCase(), body: without, cookie: op["x-custody-access"] === "public" ? null : admin.cookie });
          const error = await expectError(response, 400, "validation_failed");
          expect(error.error.issues?.map((issue) => issue.path), `${key} without ${field}`).toContain(field);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(await snapshot()).toBe(before);
  });
});

describe("bad requests that never reach a route's body validator", () => {
  it("an issuer that is not a URL is a 400, on saving the provider and on testing discovery", async () => {
    const admin = await setUpOrganisation();
    const before = await snapshot();
    for (const issuer of ["not a url", "http://", "::::", "https://", "//idp.example.org"]) {
      const saved = await call("/api/oidc/provider", { method: "PUT", body: { issuer, clientId: "c", clientSecret: "s", displayName: "SSO" }, cookie: admin.cookie });
      await expectError(saved, 400, "validation_failed");
      await expectError(await call("/api/oidc/provider/discovery", { body: { issuer }, cookie: admin.cookie }), 400, "validation_failed");
    }
    expect(await snapshot()).toBe(before);
  });

  it("TRACE, TRACK and CONNECT are 405 in the error shape, on any path", async () => {
    await setUpOrganisation();
    for (const method of ["TRACE", "TRACK", "CONNECT"].filter((m) => !backend.unsendableMethods.includes(m))) {
      for (const path of ["/api/health", "/api/cases", "/api/no-such-route", "/"]) {
        const response = await backend.rawRequest({ method, url: `${ORIGIN}${path}`, headers: { Origin: ORIGIN } });
        await expectError(response, 405, "method_not_allowed");
        expect(response.headers.get("Allow")).toMatch(/GET/);
      }
    }
  });

  it("a body shorter than its Content-Length is a 400, on a JSON route and on a part upload", async () => {
    const admin = await setUpOrganisation();
    const before = await snapshot();
    const json = new TextEncoder().encode(JSON.stringify({ email: ADMIN.email, password: ADMIN.password }));
    const { result: signIn, errors: signInErrors } = await backend.serverErrors(() =>
      backend.rawRequest({
        method: "POST",
        url: `${ORIGIN}/api/auth/sign-in`,
        headers: { Origin: ORIGIN, "Content-Type": "application/json" },
        body: json.subarray(0, 10),
        contentLength: json.length,
      }),
    );
    expect(signInErrors).toEqual([]);
    await expectError(signIn, 400);
    expect(await snapshot()).toBe(before);

    const lead = await withKeys(admin);
    const opened = await openCase(lead, "2026-1");
    const upload = await prepareEvidence(lead, opened, randomBytes(1000));
    expect((await call(`/api/cases/${opened.id}/evidence`, { cookie: lead.cookie, body: upload.body })).status).toBe(201);
    const urls = (await (await call(`/api/evidence/${upload.evidenceId}/part-urls`, { cookie: lead.cookie, body: { parts: [0] } })).json()) as PartUrls;
    const part = upload.parts[0]!;
    const beforePart = await snapshot();
    const { result: short, errors } = await backend.serverErrors(() =>
      backend.rawRequest({ method: "PUT", url: `${ORIGIN}${urls.urls[0]!.url}`, headers: { "Content-Type": "application/octet-stream" }, body: part.subarray(0, 100), contentLength: part.length }),
    );
    await expectError(short, 400, "wrong_length");
    expect(errors).toEqual([]);
    expect(await snapshot()).toBe(beforePart);
    const stored = await db.prepare("SELECT count(*) AS n FROM evidence_parts").first<number>("n");
    expect(stored).toBe(0);
  });

  it("a part number is a plain decimal: %20, +0, 0x0, 00 and the like are refused, not read as part 0", async () => {
    const admin = await setUpOrganisation();
    const lead = await withKeys(admin);
    const opened = await openCase(lead, "2026-2");
    const upload = await prepareEvidence(lead, opened, randomBytes(1000));
    expect((await call(`/api/cases/${opened.id}/evidence`, { cookie: lead.cookie, body: upload.body })).status).toBe(201);
    const urls = (await (await call(`/api/evidence/${upload.evidenceId}/part-urls`, { cookie: lead.cookie, body: { parts: [0] } })).json()) as PartUrls;
    const signed = urls.urls[0]!.url;
    expect(signed).toMatch(/\/0\?/);
    const before = await snapshot();
    for (const alias of ["%20", "%200", "0%20", "+0", "-0", "0x0", "0.0", "00", "0e0", "%09", ""]) {
      const response = await call(signed.replace("/0?", `/${alias}?`), { method: "PUT", body: upload.parts[0]! });
      expect([400, 404], `part "${alias}"`).toContain(response.status);
      await expectError(response, response.status);
    }
    expect(await snapshot()).toBe(before);
    expect(await db.prepare("SELECT count(*) AS n FROM evidence_parts").first<number>("n")).toBe(0);
  });
});

describe("bad input on every route of the OpenAPI document", () => {
  /** Path parameters no route should take for anything: traversal, NUL, spaces, huge and negative numbers, bad escapes, a long one. */
  const ODD_PARAMS = ["..%2F..%2Fapi%2Fusers", "..", "%2E%2E", "%00", "a%00b", "%20", "%20%20", "99999999999999999999999999", "-1", "1e3", "%zz", "%ff%fe", "%E2%80%AE", "a'--", "x".repeat(300)];
  const ODD_METHODS = ["TRACE", "TRACK", "CONNECT", "PROPFIND", "FOO"];
  const STANDARD = ["get", "post", "put", "patch", "delete"];

  /** The answer is not a 5xx, and any refusal is in the error shape (HEAD has no body to check). */
  async function expectHandled(response: Response, what: string, method: string): Promise<void> {
    expect(response.status, what).toBeLessThan(500);
    if (response.status < 400 || method === "HEAD") return;
    expect(response.headers.get("Content-Type"), what).toMatch(/application\/json/);
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    expect(typeof body.error?.code, what).toBe("string");
    expect(typeof body.error?.message, what).toBe("string");
  }

  it("never answers 5xx or outside the error shape, and changes nothing, for anonymous callers and an administrator", { timeout: 300_000 }, async () => {
    const admin = await setUpOrganisation();
    await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const spec = (await (await call("/api/openapi.json")).json()) as { paths: Record<string, Record<string, Operation & { parameters?: { name: string; in: string }[]; "x-custody-mutates": boolean }>> };
    // Named query schemas list their fields as parameters (the audit trail's filters).
    expect(spec.paths["/api/audit/events"]!.get!.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(["limit", "after", "action"]));

    const unchanged = async () => {
      const rows = JSON.parse(await snapshot()) as Record<string, unknown>;
      delete rows.audit;
      return JSON.stringify(rows);
    };
    const before = await unchanged();
    const eventsBefore = (await auditEvents()).length;
    const nowhere = "0".repeat(32);
    let sent = 0;

    for (const cookie of [null, admin.cookie]) {
      const who = cookie ? "admin" : "anonymous";
      const send = async (method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) => {
        const what = `${who} ${method} ${path.slice(0, 120)} ${options.body === undefined ? "" : JSON.stringify(options.body).slice(0, 40)}`;
        const response = await call(path, { method, cookie, ...options });
        sent++;
        await expectHandled(response, what, method);
      };
      for (const [template, operations] of Object.entries(spec.paths)) {
        const hasParams = template.includes("{");
        const fill = (value: string) => template.replace(/\{\w+\}/g, value);
        for (const [method, op] of Object.entries(operations)) {
          const verb = method.toUpperCase();
          // A signed-in POST/PUT/DELETE of a route that takes no input at all (sign out, start TOTP
          // enrolment, passkey registration options) has no bad input to send: it would just do its job.
          if (cookie && !hasParams && !op.requestBody && verb !== "GET") continue;
          const target = fill(nowhere);
          if (verb !== "GET") {
            for (const raw of ["{", "not json", "[1,2"]) await send(verb, target, { body: raw });
            await send(verb, target, { body: JSON.stringify({ a: 1 }), headers: { "Content-Type": "text/plain" } });
            for (const wrong of [[], "a string", 42, null, { unexpected: true }]) await send(verb, target, { body: wrong });
            await send(verb, target, { body: { padding: "x".repeat(100 * 1024) } });
          }
          await send(verb, `${target}?%00=1&limit=abc&after=-1&x=%zz`);
          if (hasParams) for (const odd of ODD_PARAMS) await send(verb, fill(odd));
        }
        // Methods the path does not document, including odd ones: refused in the error shape.
        const path = fill(hasParams ? ODD_PARAMS[0]! : nowhere);
        for (const method of [...STANDARD.filter((m) => !(m in operations)).map((m) => m.toUpperCase()), "OPTIONS", "HEAD"]) {
          // Signed in, on a path that takes no input, a method is simply a request (HEAD is GET: reading the audit trail records the read).
          if (cookie && !hasParams && method !== "OPTIONS") continue;
          await send(method, path);
        }
        for (const method of ODD_METHODS.filter((m) => !backend.unsendableMethods.includes(m))) {
          const response = await backend.rawRequest({ method, url: `${ORIGIN}${path}`, headers: { Origin: ORIGIN, ...(cookie ? { Cookie: cookie } : {}) } });
          sent++;
          await expectHandled(response, `${who} ${method} ${path}`, method);
        }
      }
    }
    expect(sent).toBeGreaterThan(1000);
    expect(await unchanged()).toBe(before);
    // The only events written are the record of refused attempts (docs/security.md: refusals of state-changing requests are audited).
    const added = (await auditEvents()).slice(eventsBefore);
    expect(added.filter((event) => event.outcome === "success").map((event) => `${event.action} ${JSON.stringify(event.target)}`)).toEqual([]);
    // And the administrator is still signed in: nothing in the walk ended the session.
    expect((await call("/api/auth/session", { cookie: admin.cookie })).status).toBe(200);
  });
});
