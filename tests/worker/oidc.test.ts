/**
 * OpenID Connect sign-in against a real OpenID provider (oidc-provider, in Node, started by
 * tests/support/oidc-global-setup.ts) and, for ID tokens no correct provider would issue, a fake
 * provider whose token endpoint serves crafted tokens. Every refusal is checked to redirect to
 * the sign-in page with its error, set no session cookie, and change no user, session or link.
 */
import { backend, db } from "./backend";
import { describe, expect, inject, it } from "vitest";
import type { DiscoveryResult, OidcProviderInput, OidcProviderState, OidcPublicConfig } from "../../shared/api/oidc";
import type { SessionInfo } from "../../shared/api/schemas";
import { auditEvents } from "./audit-helpers";
import { addUser, call, expectError, ORIGIN, setUpOrganisation } from "./helpers";

declare module "vitest" {
  export interface ProvidedContext {
    oidcIssuer: string;
    fakeOidcIssuer: string;
  }
}

const CLIENT = { clientId: "custody", clientSecret: "custody-test-client-secret-0123456789" };

const MAPPINGS = [
  { group: "custody-admins", role: "admin" },
  { group: "detectives", role: "investigator" },
  { group: "camera-owners", role: "site_operator" },
] as const;

function providerSettings(overrides: Partial<OidcProviderInput> = {}): OidcProviderInput {
  return {
    issuer: inject("oidcIssuer"),
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    displayName: "Northshire SSO",
    scopes: "openid email profile groups",
    roleMappings: [...MAPPINGS],
    ...overrides,
  };
}

async function configure(adminCookie: string, overrides: Partial<OidcProviderInput> = {}): Promise<OidcProviderState> {
  const response = await call("/api/oidc/provider", { method: "PUT", body: providerSettings(overrides), cookie: adminCookie });
  expect(response.status).toBe(200);
  return (await response.json()) as OidcProviderState;
}

/** A minimal cookie jar for talking to the provider (name → value; paths ignored). */
class Jar {
  private cookies = new Map<string, string>();
  take(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const eq = pair!.indexOf("=");
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1));
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
}

/** A top-level browser navigation to the worker: GET, redirects not followed, optional cookie. */
function navigate(path: string, cookie: string | null = null): Promise<Response> {
  const headers: Record<string, string> = cookie ? { Cookie: cookie } : {};
  return backend.fetch(new Request(`${ORIGIN}${path}`, { redirect: "manual", headers }));
}

interface Started {
  /** The authorization request the worker redirected to. */
  authorizationUrl: URL;
  /** `custody_oidc=<value>`, the browser binding cookie. */
  browserCookie: string;
  setCookie: string;
}

async function start(): Promise<Started> {
  const response = await navigate("/api/oidc/start");
  expect(response.status).toBe(302);
  const setCookie = response.headers.get("Set-Cookie") ?? "";
  const match = /custody_oidc=([^;]+)/.exec(setCookie);
  expect(match, "the browser binding cookie").not.toBeNull();
  return { authorizationUrl: new URL(response.headers.get("Location")!), browserCookie: `custody_oidc=${match![1]}`, setCookie };
}

/**
 * Signs `login` in at oidc-provider through its own login page (fetching the form and posting
 * it, as a browser would) and returns the URL it redirects back to: the worker's callback.
 */
async function loginAtProvider(authorizationUrl: URL, login: string): Promise<URL> {
  const jar = new Jar();
  const get = async (url: URL | string) => {
    const response = await fetch(url, { redirect: "manual", headers: { Cookie: jar.header() } });
    jar.take(response);
    return response;
  };
  let response = await get(authorizationUrl);
  let location = new URL(response.headers.get("Location")!, authorizationUrl);
  if (location.pathname.startsWith("/interaction/")) {
    const page = await get(location);
    const html = await page.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    expect(action, `a login form in ${html.slice(0, 300)}`).toBeDefined();
    const submitted = await fetch(new URL(action!, location), {
      method: "POST",
      redirect: "manual",
      headers: { Cookie: jar.header(), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ prompt: "login", login, password: "any password works here" }),
    });
    jar.take(submitted);
    response = await get(new URL(submitted.headers.get("Location")!, location));
    location = new URL(response.headers.get("Location")!, authorizationUrl);
  }
  expect(location.origin + location.pathname).toBe(`${ORIGIN}/api/oidc/callback`);
  return location;
}

/** The fake provider redirects straight back; `scenario` picks the ID token it will serve. */
async function loginAtFake(authorizationUrl: URL, login: string, scenario: string): Promise<URL> {
  const url = new URL(authorizationUrl);
  url.searchParams.set("login", login);
  url.searchParams.set("scenario", scenario);
  const response = await fetch(url, { redirect: "manual" });
  expect(response.status).toBe(302);
  return new URL(response.headers.get("Location")!);
}

async function callback(url: URL, browserCookie: string | null): Promise<Response> {
  return navigate(url.pathname + url.search, browserCookie);
}

/** Starts, signs in at the provider, and sends the callback: the whole flow a browser goes through. */
async function signInWithOidc(login: string, options: { fake?: string } = {}): Promise<{ response: Response; callbackUrl: URL; started: Started }> {
  const started = await start();
  const callbackUrl = options.fake ? await loginAtFake(started.authorizationUrl, login, options.fake) : await loginAtProvider(started.authorizationUrl, login);
  return { response: await callback(callbackUrl, started.browserCookie), callbackUrl, started };
}

function sessionCookieOf(response: Response): string | null {
  const match = /custody_session=([^;]+)/.exec(response.headers.getSetCookie().join("\n"));
  return match?.[1] ? `custody_session=${match[1]}` : null;
}

/** Users, sessions and provider links: what a refused sign-in must leave as it was. */
async function state(): Promise<string> {
  const rows = async (sql: string) => (await db.prepare(sql).all()).results;
  return JSON.stringify({
    users: await rows("SELECT id, email, role, status FROM users ORDER BY email"),
    sessions: await rows("SELECT token_hash, user_id, revoked_at FROM sessions ORDER BY token_hash"),
    identities: await rows("SELECT issuer, subject, user_id FROM oidc_identities ORDER BY subject"),
  });
}

/** Checks a refused callback: back to the sign-in page with `code`, no session, nothing changed, a failed sign-in on the trail. */
async function expectRefused(response: Response, code: string, before: string): Promise<void> {
  expect(response.status).toBe(302);
  expect(response.headers.get("Location")).toBe(`/signin?error=${code}`);
  expect(sessionCookieOf(response)).toBeNull();
  expect(await state()).toBe(before);
  const last = (await auditEvents()).at(-1)!;
  expect(last).toMatchObject({ action: "auth.sign_in", outcome: "failed", details: { method: "oidc", reason: code } });
}

async function sessionOf(cookie: string): Promise<SessionInfo> {
  const response = await call("/api/auth/session", { cookie });
  expect(response.status).toBe(200);
  return (await response.json()) as SessionInfo;
}

describe("OpenID Connect sign-in with a real provider", () => {
  it("runs the code flow with PKCE, state and nonce, and ends in the same session a password sign-in gives", async () => {
    const admin = await setUpOrganisation();
    await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await configure(admin.cookie);

    const public_ = (await (await call("/api/oidc")).json()) as OidcPublicConfig;
    expect(public_).toEqual({ enabled: true, displayName: "Northshire SSO" });

    const started = await start();
    const request = started.authorizationUrl.searchParams;
    expect(started.authorizationUrl.origin).toBe(inject("oidcIssuer"));
    expect(Object.fromEntries(request)).toMatchObject({
      response_type: "code",
      client_id: "custody",
      redirect_uri: `${ORIGIN}/api/oidc/callback`,
      scope: "openid email profile groups",
      code_challenge_method: "S256",
    });
    for (const name of ["state", "nonce", "code_challenge"]) expect(request.get(name)!.length).toBeGreaterThanOrEqual(43);
    expect(request.get("prompt")).toBeNull();
    // The binding cookie: HttpOnly, Lax (it must come back on the provider's top-level redirect), short-lived, scoped.
    expect(started.setCookie).toMatch(/HttpOnly/i);
    expect(started.setCookie).toMatch(/SameSite=Lax/i);
    expect(started.setCookie).toMatch(/Path=\/api\/oidc/);
    expect(started.setCookie).toMatch(/Max-Age=600/);
    // Only hashes of the state and browser value are stored.
    const stored = (await db.prepare("SELECT * FROM oidc_states").all()).results;
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(request.get("state")!);
    expect(JSON.stringify(stored)).not.toContain(started.browserCookie.split("=")[1]!);

    const callbackUrl = await loginAtProvider(started.authorizationUrl, "ivy");
    expect(callbackUrl.searchParams.get("iss")).toBe(inject("oidcIssuer"));
    const response = await callback(callbackUrl, started.browserCookie);
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/");
    const cookies = response.headers.getSetCookie().join("\n");
    expect(cookies).toMatch(/custody_session=[^;]+;.*HttpOnly/i);
    expect(cookies).toMatch(/custody_session=[^;]+;.*SameSite=Strict/i);
    expect(cookies).toMatch(/custody_oidc=;/); // the binding cookie is cleared

    const session = await sessionOf(sessionCookieOf(response)!);
    expect(session.user).toMatchObject({ email: "ivy@example.org", role: "investigator" });
    // The provider authenticated the user: no local second factor is asked for.
    expect(session.stage).toBe("active");
    expect((await db.prepare("SELECT count(*) AS n FROM oidc_states").first<{ n: number }>())!.n).toBe(0);
    expect(await db.prepare("SELECT subject, user_id FROM oidc_identities").all().then((r) => r.results)).toEqual([{ subject: "ivy", user_id: session.user.id }]);

    const events = await auditEvents();
    expect(events.at(-1)).toMatchObject({ action: "auth.sign_in", outcome: "success", target: { id: session.user.id }, details: { method: "oidc", issuer: inject("oidcIssuer") } });
    expect(events.map((e) => e.action)).toContain("user.oidc_link");

    // Signed in once linked: the stored `sub` finds the user from now on.
    const again = await signInWithOidc("ivy");
    expect(again.response.headers.get("Location")).toBe("/");
  });

  it("asks the provider to authenticate again (prompt=login, max_age=0) for a re-authentication", async () => {
    const admin = await setUpOrganisation();
    await configure(admin.cookie);
    const response = await navigate("/api/oidc/start?reauth=1");
    expect(response.status).toBe(302);
    const request = new URL(response.headers.get("Location")!).searchParams;
    expect(request.get("prompt")).toBe("login");
    expect(request.get("max_age")).toBe("0");
  });

  it("refuses a forged state, a replayed callback, an expired state and another browser's callback", async () => {
    const admin = await setUpOrganisation();
    await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await configure(admin.cookie);

    // Forged: a state the worker never issued (with a real, valid code from the provider).
    let started = await start();
    let callbackUrl = await loginAtProvider(started.authorizationUrl, "ivy");
    let before = await state();
    const forged = new URL(callbackUrl);
    forged.searchParams.set("state", "forged-state-value-that-was-never-issued-by-custody");
    await expectRefused(await callback(forged, started.browserCookie), "state_invalid", before);
    // No state at all.
    await expectRefused(await navigate("/api/oidc/callback?code=abc", started.browserCookie), "state_invalid", before);

    // Replayed: the genuine callback succeeds once; the same URL again is refused.
    const first = await callback(callbackUrl, started.browserCookie);
    expect(first.headers.get("Location")).toBe("/");
    before = await state();
    await expectRefused(await callback(callbackUrl, started.browserCookie), "state_invalid", before);

    // Expired: the sign-in took longer than 10 minutes.
    started = await start();
    callbackUrl = await loginAtProvider(started.authorizationUrl, "ivy");
    await db.prepare("UPDATE oidc_states SET expires_at = ?").bind(new Date(Date.now() - 1000).toISOString()).run();
    before = await state();
    await expectRefused(await callback(callbackUrl, started.browserCookie), "state_expired", before);

    // Another browser (login CSRF: an attacker's callback URL opened in the victim's browser).
    const attacker = await start();
    const attackerCallback = await loginAtProvider(attacker.authorizationUrl, "ivy");
    const victim = await start();
    before = await state();
    await expectRefused(await callback(attackerCallback, victim.browserCookie), "browser_mismatch", before);
    started = await start();
    callbackUrl = await loginAtProvider(started.authorizationUrl, "ivy");
    await expectRefused(await callback(callbackUrl, null), "browser_mismatch", before);
  });

  it("refuses a replayed authorization code at the provider, and a provider's error answer", async () => {
    const admin = await setUpOrganisation();
    await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await configure(admin.cookie);

    const used = await signInWithOidc("ivy");
    expect(used.response.headers.get("Location")).toBe("/");
    // The old code with a fresh, valid state and cookie: only the code is stale.
    const fresh = await start();
    const replay = new URL(used.callbackUrl);
    replay.searchParams.set("state", fresh.authorizationUrl.searchParams.get("state")!);
    let before = await state();
    await expectRefused(await callback(replay, fresh.browserCookie), "provider_refused", before);
    expect((await auditEvents()).at(-1)!.details.detail).toMatch(/invalid_grant/);

    // The provider answers with an error (the user cancelled).
    const cancelled = await start();
    const errorUrl = new URL(`${ORIGIN}/api/oidc/callback`);
    errorUrl.searchParams.set("error", "access_denied");
    errorUrl.searchParams.set("state", cancelled.authorizationUrl.searchParams.get("state")!);
    errorUrl.searchParams.set("iss", inject("oidcIssuer"));
    before = await state();
    await expectRefused(await callback(errorUrl, cancelled.browserCookie), "provider_refused", before);
  });

  it("matches by email only: an unknown user is refused unless provisioning is on, and a disabled one always", async () => {
    const admin = await setUpOrganisation();
    await configure(admin.cookie);

    let before = await state();
    await expectRefused((await signInWithOidc("oscar")).response, "no_account", before);
    await expectRefused((await signInWithOidc("nora")).response, "email_unverified", before);

    await configure(admin.cookie, { provisionUsers: true, defaultRole: "site_operator", roleMappings: [] });
    const provisioned = await signInWithOidc("oscar");
    expect(provisioned.response.headers.get("Location")).toBe("/");
    const oscar = await sessionOf(sessionCookieOf(provisioned.response)!);
    expect(oscar.user).toMatchObject({ email: "oscar@example.org", name: "Oscar Outsider", role: "site_operator", status: "active" });
    expect((await auditEvents()).map((e) => e.action)).toContain("user.provision");

    await db.prepare("UPDATE users SET status = 'disabled' WHERE email = 'oscar@example.org'").run();
    before = await state();
    await expectRefused((await signInWithOidc("oscar")).response, "account_disabled", before);
  });

  it("sets the role from the group mapping at each sign-in, but never demotes the last administrator", async () => {
    const admin = await setUpOrganisation();
    await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "site_operator" });
    await configure(admin.cookie, { provisionUsers: true, defaultRole: "investigator" });

    // ivy is in "detectives" → investigator (was site operator).
    const ivy = await signInWithOidc("ivy");
    expect((await sessionOf(sessionCookieOf(ivy.response)!)).user.role).toBe("investigator");
    expect((await auditEvents()).find((e) => e.action === "user.role_change")).toMatchObject({ details: { from: "site_operator", to: "investigator", source: "oidc_groups" } });

    // Provisioned users get the mapped role, not the default: sam is in "camera-owners".
    const sam = await signInWithOidc("sam");
    expect((await sessionOf(sessionCookieOf(sam.response)!)).user.role).toBe("site_operator");

    // The first matching mapping wins, in the administrator's order.
    await configure(admin.cookie, { roleMappings: [{ group: "staff", role: "site_operator" }, { group: "detectives", role: "admin" }] });
    const ivyAgain = await signInWithOidc("ivy");
    expect((await sessionOf(sessionCookieOf(ivyAgain.response)!)).user.role).toBe("site_operator");

    // Ada is the only administrator: a mapping that would demote her is not applied (and is on the record).
    const ada = await signInWithOidc("ada");
    expect((await sessionOf(sessionCookieOf(ada.response)!)).user.role).toBe("admin");
    expect((await auditEvents()).filter((e) => e.action === "user.role_change").at(-1)).toMatchObject({ outcome: "denied", details: { reason: "last administrator" } });
  });
});

describe("OpenID Connect sign-in refuses crafted ID tokens", () => {
  it("accepts the fake provider's correct token, so each refusal below is down to its one defect", async () => {
    const admin = await setUpOrganisation();
    await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await configure(admin.cookie, { issuer: inject("fakeOidcIssuer") });
    const { response } = await signInWithOidc("ivy", { fake: "good" });
    expect(response.headers.get("Location")).toBe("/");
    expect((await sessionOf(sessionCookieOf(response)!)).user.email).toBe("ivy@example.org");
  });

  it("refuses a replayed ID token: a genuine token from an earlier sign-in carries that sign-in's nonce", async () => {
    const admin = await setUpOrganisation();
    await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await configure(admin.cookie, { issuer: inject("fakeOidcIssuer") });
    expect((await signInWithOidc("ivy", { fake: "good" })).response.headers.get("Location")).toBe("/");
    const before = await state();
    await expectRefused((await signInWithOidc("ivy", { fake: "replayed_token" })).response, "token_invalid", before);
    expect(String((await auditEvents()).at(-1)!.details.detail)).toMatch(/nonce/);
  });

  const cases: [scenario: string, why: RegExp][] = [
    ["wrong_audience", /aud/],
    ["alg_none", /alg|none/],
    ["hs256", /HS256|alg/],
    ["forged_signature", /signature/],
    ["wrong_nonce", /nonce/],
    ["expired", /exp/],
    ["wrong_issuer", /iss/],
  ];
  for (const [scenario, why] of cases) {
    it(`refuses an ID token with ${scenario.replace("_", " ")}`, async () => {
      const admin = await setUpOrganisation();
      await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
      await configure(admin.cookie, { issuer: inject("fakeOidcIssuer"), provisionUsers: true });
      const before = await state();
      const { response } = await signInWithOidc("ivy", { fake: scenario });
      await expectRefused(response, "token_invalid", before);
      expect(String((await auditEvents()).at(-1)!.details.detail)).toMatch(why);
    });
  }
});

describe("identity provider settings", () => {
  it("are admin-only, never return the client secret, and are audited without it", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });

    let got = (await (await call("/api/oidc/provider", { cookie: admin.cookie })).json()) as OidcProviderState;
    expect(got).toEqual({ provider: null, redirectUri: `${ORIGIN}/api/oidc/callback` });
    expect(await (await call("/api/oidc")).json()).toEqual({ enabled: false, displayName: null });

    await expectError(await call("/api/oidc/provider", { cookie: ivy.cookie }), 403);
    await expectError(await call("/api/oidc/provider", { method: "PUT", body: providerSettings(), cookie: ivy.cookie }), 403);
    await expectError(await call("/api/oidc/provider", { method: "PUT", body: providerSettings() }), 401);
    // The first save needs a secret.
    const { clientSecret: _omitted, ...withoutSecret } = providerSettings();
    await expectError(await call("/api/oidc/provider", { method: "PUT", body: withoutSecret, cookie: admin.cookie }), 400, "client_secret_required");
    // http:// only for a provider on this machine.
    await expectError(await call("/api/oidc/provider", { method: "PUT", body: providerSettings({ issuer: "http://idp.example.org" }), cookie: admin.cookie }), 400, "validation_failed");

    const saved = await configure(admin.cookie);
    expect(saved.provider).toMatchObject({ issuer: inject("oidcIssuer"), clientId: "custody", hasClientSecret: true, secretSource: "database", emailClaim: "email", groupsClaim: "groups", provisionUsers: false, defaultRole: "investigator" });
    // Omitting the secret keeps it, while the issuer and client id stay the same.
    const renamed = await call("/api/oidc/provider", { method: "PUT", body: { ...withoutSecret, displayName: "Police SSO" }, cookie: admin.cookie });
    expect(renamed.status).toBe(200);
    got = (await (await call("/api/oidc/provider", { cookie: admin.cookie })).json()) as OidcProviderState;
    expect(got.provider).toMatchObject({ displayName: "Police SSO", hasClientSecret: true });
    // A different client needs its own secret.
    await expectError(await call("/api/oidc/provider", { method: "PUT", body: { ...withoutSecret, clientId: "another" }, cookie: admin.cookie }), 400, "client_secret_required");

    for (const text of [JSON.stringify(got), JSON.stringify(await auditEvents())]) expect(text).not.toContain(CLIENT.clientSecret);
    expect((await auditEvents()).map((e) => e.action)).toEqual(expect.arrayContaining(["oidc.provider_create", "oidc.provider_update"]));

    const removed = await call("/api/oidc/provider", { method: "DELETE", cookie: admin.cookie });
    expect(removed.status).toBe(204);
    expect((await auditEvents()).at(-1)!.action).toBe("oidc.provider_delete");
    expect(await (await call("/api/oidc")).json()).toEqual({ enabled: false, displayName: null });
    const start = await navigate("/api/oidc/start");
    expect(start.headers.get("Location")).toBe("/signin?error=not_configured");
  });

  it("tests discovery: the endpoints of a working issuer, a clear error otherwise", async () => {
    const admin = await setUpOrganisation();
    const ok = await call("/api/oidc/provider/discovery", { body: { issuer: inject("oidcIssuer") }, cookie: admin.cookie });
    expect(ok.status).toBe(200);
    const found = (await ok.json()) as DiscoveryResult;
    expect(found).toMatchObject({ issuer: inject("oidcIssuer"), tokenEndpoint: `${inject("oidcIssuer")}/token`, jwksUri: `${inject("oidcIssuer")}/jwks` });
    expect(found.idTokenSigningAlgs).toContain("RS256");

    // No discovery document there.
    const missing = await expectError(await call("/api/oidc/provider/discovery", { body: { issuer: `${inject("oidcIssuer")}/no-such-realm` }, cookie: admin.cookie }), 422, "discovery_failed");
    expect(missing.error.message).toMatch(/^Discovery failed for http:\/\/127\.0\.0\.1:\d+\/no-such-realm: the issuer answered HTTP 404/);
    // A discovery document that names another issuer (here: the same server reached as localhost).
    const elsewhere = inject("oidcIssuer").replace("127.0.0.1", "localhost");
    const mismatch = await expectError(await call("/api/oidc/provider/discovery", { body: { issuer: elsewhere }, cookie: admin.cookie }), 422, "discovery_failed");
    expect(mismatch.error.message).toMatch(/issuer/);
  });

  it("says what failed when discovery cannot work: the HTTP status, not JSON, nothing answering, an unknown name", async () => {
    const admin = await setUpOrganisation();
    const discovery = async (issuer: string) =>
      (await expectError(await call("/api/oidc/provider/discovery", { body: { issuer }, cookie: admin.cookie }), 422, "discovery_failed")).error.message;
    expect(await discovery(`${inject("oidcIssuer")}/no-such-realm`)).toMatch(/answered HTTP 404 for http:\/\/127\.0\.0\.1:\d+\/no-such-realm\/\.well-known\/openid-configuration/);
    expect(await discovery(`${inject("fakeOidcIssuer")}/html-page`)).toMatch(/is not JSON \(text\/html\)/);
    // Port 1 on this machine: nothing listens there.
    const closed = await discovery("http://127.0.0.1:1");
    expect(closed).toMatch(/127\.0\.0\.1:1 (refused the connection|could not be reached: the name was not found \(DNS\), the connection was refused)/);
    const unknown = await discovery("https://no-such-host.invalid");
    expect(unknown).toMatch(/no-such-host\.invalid/);
    expect(unknown).toMatch(/DNS|did not answer/);
    for (const message of [closed, unknown]) expect(message).not.toMatch(/internal error|reference =/i);
  });
});

describe("the relying party's own requests and addresses", () => {
  it("builds the redirect URI from the public URL, never from the Host header, and starts sign-in only there", async () => {
    const admin = await setUpOrganisation();
    await configure(admin.cookie);
    const elsewhere = (path: string, cookie?: string) =>
      backend.fetch(new Request(`http://evil.example${path}`, { redirect: "manual", headers: cookie ? { Cookie: cookie } : {} }));

    const settings = (await (await elsewhere("/api/oidc/provider", admin.cookie)).json()) as OidcProviderState;
    expect(settings.redirectUri).toBe(`${ORIGIN}/api/oidc/callback`);

    const before = await state();
    const refused = await elsewhere("/api/oidc/start");
    expect(refused.status).toBe(302);
    expect(refused.headers.get("Location")).toBe("/signin?error=wrong_address");
    expect(refused.headers.get("Set-Cookie") ?? "").not.toContain("custody_oidc=");
    expect((await db.prepare("SELECT count(*) AS n FROM oidc_states").first<number>("n"))).toBe(0);
    expect((await auditEvents()).at(-1)).toMatchObject({ action: "auth.sign_in", outcome: "failed", details: { reason: "wrong_address" } });

    // A sign-in started at the public URL cannot be finished through another host either.
    const started = await start();
    expect(started.authorizationUrl.searchParams.get("redirect_uri")).toBe(`${ORIGIN}/api/oidc/callback`);
    const callbackUrl = await loginAtProvider(started.authorizationUrl, "ada");
    const wrongHost = await elsewhere(callbackUrl.pathname + callbackUrl.search, started.browserCookie);
    await expectRefused(wrongHost, "wrong_address", before);
  });

  it("fetches nothing from private, link-local or reserved addresses: not the issuer, not an endpoint its discovery names", async () => {
    const admin = await setUpOrganisation();
    const before = await state();
    const issuers = [
      "https://10.0.0.1", "https://172.16.5.4", "https://192.168.1.1", "https://169.254.169.254", "https://100.64.0.1", "https://0.0.0.0",
      "https://[::]", "https://[fc00::1]", "https://[fd12:3456::1]", "https://[fe80::1]", "https://[::ffff:10.0.0.1]", "https://[::ffff:169.254.169.254]",
      "https://0xa9.0xfe.0xa9.0xfe", "https://2852039166",
    ];
    for (const issuer of issuers) {
      const saved = await call("/api/oidc/provider", { method: "PUT", body: providerSettings({ issuer }), cookie: admin.cookie });
      const refusal = await expectError(saved, 400, "issuer_not_allowed");
      expect(refusal.error.message, issuer).toMatch(/private|reserved/);
      const discovered = await expectError(await call("/api/oidc/provider/discovery", { body: { issuer }, cookie: admin.cookie }), 422, "discovery_failed");
      expect(discovered.error.message, issuer).toMatch(/private|reserved/);
    }
    // A public-looking issuer whose discovery document points the JWKS at the cloud metadata address.
    const pointing = await expectError(await call("/api/oidc/provider/discovery", { body: { issuer: `${inject("fakeOidcIssuer")}/private-endpoints` }, cookie: admin.cookie }), 422, "discovery_failed");
    expect(pointing.error.message).toMatch(/jwks_uri.*169\.254\.169\.254.*private/);
    expect(await state()).toBe(before);
    expect((await db.prepare("SELECT count(*) AS n FROM oidc_providers").first<number>("n"))).toBe(0);
  });

  it("caches the provider's JWKS across sign-ins, and fetches it again (once) for a key it has not seen", async () => {
    const admin = await setUpOrganisation();
    await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await configure(admin.cookie, { issuer: inject("fakeOidcIssuer") });
    const hits = async () => ((await (await fetch(`${inject("fakeOidcIssuer")}/jwks-hits`)).json()) as { hits: number }).hits;

    const first = await hits();
    for (let i = 0; i < 3; i++) expect((await signInWithOidc("ivy", { fake: "good" })).response.headers.get("Location")).toBe("/");
    // The fake answers `Cache-Control: no-store`: kept for the minimum (a minute), so at most one fetch.
    expect((await hits()) - first).toBeLessThanOrEqual(1);

    // The provider rotates its key: the token names a key the cached set lacks, so the set is fetched again.
    const beforeRotation = await hits();
    expect((await signInWithOidc("ivy", { fake: "rotated_key" })).response.headers.get("Location")).toBe("/");
    expect((await hits()) - beforeRotation).toBe(1);

    // Made-up key ids do not make the server fetch the set again and again: at most once a minute.
    const before = await state();
    const beforeUnknown = await hits();
    for (let i = 0; i < 2; i++) await expectRefused((await signInWithOidc("ivy", { fake: "unknown_kid" })).response, "token_invalid", before);
    expect((await hits()) - beforeUnknown).toBe(0);
  });
});
