import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import {
  DiscoveryRequest,
  DiscoveryResult,
  OidcProviderInput,
  OidcProviderState,
  OidcPublicConfig,
  isLoopbackUrl,
  type OidcErrorCode,
  type OidcProviderSettings,
} from "../../../shared/api/oidc";
import type { Role } from "../../../shared/api/schemas";
import {
  activeAdminCount,
  findLinkedUserId,
  findOidcState,
  getOidcProvider,
  identityInsert,
  identityTouch,
  invitedUserActivate,
  linkedSubject,
  oidcProviderDelete,
  oidcProviderSave,
  oidcStateDelete,
  saveOidcState,
  type OidcProvider,
} from "../db/oidc";
import { getOrganisation } from "../db/organisations";
import { findUserByEmail, findUserById, toUser, userInsert, userUpdate, type UserRow } from "../db/users";
import type { AppEnv } from "../env";
import { audit, auditStatement, auditStatementIfChanged, auditStatementIfRecorded, flushAudit, markAudited, orgOf, type AuditRecord } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { OIDC_STATE_LIFETIME_MS, OidcFailure, completeAuthorization, discover, groupsOf, mappedRole, outboundPolicy, startAuthorization, summariseDiscovery, type Claims } from "../lib/oidc";
import { outboundRefusal } from "../lib/outbound";
import { publicOrigin } from "../lib/public-url";
import { describe } from "../lib/openapi";
import { constantTimeEqual, newId, newToken, tokenHash } from "../lib/secrets";
import { newSession, requireAdmin, requireSession } from "../lib/session";
import { keepSignInAttempt, releaseUnusedAttempt, reserveOidcStart, tryReserveSignInAttempt } from "../lib/throttle";
import { validate } from "../lib/validate";

/**
 * OpenID Connect sign-in (docs/security.md, "OpenID Connect sign-in"). `start` and `callback` are
 * browser navigations, so they answer with redirects: to the provider, to the app once signed in,
 * or to `/signin?error=<code>` when refused. The rest is the administrator's provider settings.
 */

/** Binds a sign-in in progress to the browser that started it. SameSite=Lax, not Strict: the
 * callback is a top-level navigation coming from the provider's site, on which browsers withhold
 * Strict cookies; Lax cookies are sent on such GET navigations and on no cross-site subrequest. */
const BROWSER_COOKIE = "custody_oidc";
const BROWSER_COOKIE_PATH = "/api/oidc";

const encoder = new TextEncoder();

/**
 * The callback URL, from the configured public URL (PUBLIC_URL; on Deno, CUSTODY_PUBLIC_URL) and
 * never from the request: a Host header is the client's to write, and a callback URL built from
 * `Host: evil.example` would send the provider's code there.
 */
function redirectUri(c: Context<AppEnv>): string {
  return `${publicOrigin(c.env)}/api/oidc/callback`;
}

/** Sign-in starts and ends only on requests to the public URL (so the browser binding cookie and the redirect URI agree). */
function requirePublicOrigin(c: Context<AppEnv>): void {
  const origin = new URL(c.req.url).origin;
  if (origin !== publicOrigin(c.env)) {
    throw new OidcFailure("wrong_address", `request to ${origin}, but the public URL (PUBLIC_URL) is ${publicOrigin(c.env)}`);
  }
}

/** A client secret in a Workers secret binding (`wrangler secret put OIDC_CLIENT_SECRET`) wins over D1. */
function bindingSecret(env: Env): string | null {
  const value = (env as unknown as { OIDC_CLIENT_SECRET?: unknown }).OIDC_CLIENT_SECRET;
  return typeof value === "string" && value.length > 0 ? value : null;
}

function toSettings(provider: OidcProvider, env: Env): OidcProviderSettings {
  const fromBinding = bindingSecret(env) !== null;
  return {
    issuer: provider.issuer,
    clientId: provider.clientId,
    hasClientSecret: fromBinding || provider.clientSecret !== null,
    secretSource: fromBinding ? "binding" : provider.clientSecret !== null ? "database" : "none",
    displayName: provider.displayName,
    scopes: provider.scopes,
    emailClaim: provider.emailClaim,
    groupsClaim: provider.groupsClaim,
    roleMappings: provider.roleMappings,
    provisionUsers: provider.provisionUsers,
    defaultRole: provider.defaultRole,
    updatedAt: provider.updatedAt,
  };
}

function signInError(c: Context<AppEnv>, code: OidcErrorCode | "internal") {
  return c.redirect(`/signin?error=${code}`, 302);
}

async function configuredProvider(db: D1Database): Promise<OidcProvider> {
  const organisation = await getOrganisation(db);
  const provider = organisation ? await getOidcProvider(db, organisation.id) : null;
  if (!provider) throw new OidcFailure("not_configured", "no identity provider is configured");
  return provider;
}

function secretOf(provider: OidcProvider, env: Env): string {
  const secret = bindingSecret(env) ?? provider.clientSecret;
  if (!secret) throw new OidcFailure("provider_refused", "no client secret is configured");
  return secret;
}

function nameFrom(claims: Claims, email: string): string {
  const full = typeof claims.name === "string" ? claims.name : [claims.given_name, claims.family_name].filter((part) => typeof part === "string").join(" ");
  return (full.trim() || email.split("@")[0] || email).slice(0, 120);
}

/** What the sign-in will do to the user, decided before anything is written. */
interface Resolution {
  user: UserRow | null;
  email: string;
  link: boolean;
  role: Role | null;
}

/** Finds the user for these claims (by linked `sub`, then by email); refuses with a clear code. */
async function resolveUser(db: D1Database, provider: OidcProvider, claims: Claims): Promise<Resolution> {
  const raw = claims[provider.emailClaim];
  const email = typeof raw === "string" ? raw.trim().toLowerCase() : "";
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) throw new OidcFailure("no_email", `claim ${provider.emailClaim} holds no email address`);
  if (provider.emailClaim === "email" && claims.email_verified === false) throw new OidcFailure("email_unverified", "email_verified is false");
  const role = mappedRole(groupsOf(claims[provider.groupsClaim]), provider.roleMappings);

  const linkedId = await findLinkedUserId(db, provider.issuer, claims.sub);
  let user = linkedId ? await findUserById(db, linkedId) : null;
  let link = false;
  if (!user) {
    user = await findUserByEmail(db, email);
    if (user) {
      const other = await linkedSubject(db, user.id, provider.issuer);
      if (other !== null && other !== claims.sub) throw new OidcFailure("account_conflict", `${email} is linked to another subject at this issuer`);
      link = true;
    }
  }
  if (user && user.org_id !== provider.orgId) throw new OidcFailure("no_account", "user belongs to another organisation");
  if (user?.status === "disabled") throw new OidcFailure("account_disabled", `${user.email} is disabled`);
  if (!user && !provider.provisionUsers) throw new OidcFailure("no_account", `no user with email ${email}, and provisioning is off`);
  return { user, email, link, role };
}

export const oidc = new Hono<AppEnv>()
  .use(releaseUnusedAttempt)
  .get(
    "/",
    describe({ summary: "Is sign-in with an identity provider offered, and under which name?", access: "public", responses: { 200: { description: "The sign-in button's state.", schema: OidcPublicConfig } } }),
    async (c) => {
      const organisation = await getOrganisation(c.env.DB);
      const provider = organisation ? await getOidcProvider(c.env.DB, organisation.id) : null;
      return c.json({ enabled: provider !== null, displayName: provider?.displayName ?? null } satisfies OidcPublicConfig, 200);
    },
  )
  .get(
    "/start",
    describe({
      summary: "Starts sign-in with the identity provider: redirects there with state, nonce and a PKCE challenge. With reauth=1 the provider is asked to authenticate again (prompt=login, max_age=0): a fresh sign-in counts as a recent authentication for sensitive actions.",
      access: "public",
      mutates: false,
      responses: { 302: { description: "To the provider; or to /signin?error=<code> when sign-in cannot start." } },
    }),
    async (c) => {
      // Every start stores a pending sign-in and asks the provider: at most OIDC_START_MAX from one IP in 10 minutes.
      if (!(await reserveOidcStart(c))) return signInError(c, "too_many_attempts");
      let provider: OidcProvider | null = null;
      try {
        provider = await configuredProvider(c.env.DB);
        requirePublicOrigin(c);
        const as = await discover(provider.issuer, outboundPolicy(c.env));
        const started = await startAuthorization(as, provider, redirectUri(c), { reauthenticate: c.req.query("reauth") === "1" });
        const browser = newToken();
        const now = Date.now();
        await saveOidcState(c.env.DB, {
          state_hash: await tokenHash(started.state),
          browser_hash: await tokenHash(browser),
          code_verifier: started.codeVerifier,
          nonce: started.nonce,
          created_at: new Date(now).toISOString(),
          expires_at: new Date(now + OIDC_STATE_LIFETIME_MS).toISOString(),
        });
        setCookie(c, BROWSER_COOKIE, browser, {
          httpOnly: true,
          sameSite: "Lax",
          secure: !isLoopbackUrl(c.req.url),
          path: BROWSER_COOKIE_PATH,
          maxAge: OIDC_STATE_LIFETIME_MS / 1000,
        });
        return c.redirect(started.url.toString(), 302);
      } catch (error) {
        if (!(error instanceof OidcFailure)) throw error;
        if (provider) {
          await audit(c, {
            action: "auth.sign_in",
            target: { type: "user", id: null },
            outcome: "failed",
            actor: { type: "anonymous", id: null },
            details: { method: "oidc", issuer: provider.issuer, reason: error.code, detail: error.detail },
          });
        }
        return signInError(c, error.code);
      }
    },
  )
  .get(
    "/callback",
    describe({
      summary: "The provider's redirect back: validates state, browser binding, code and ID token, then signs in (same session cookie as a password sign-in).",
      access: "public",
      mutates: true,
      responses: { 302: { description: "To the app, signed in; or to /signin?error=<code>, with nothing changed." } },
    }),
    async (c) => {
      const browser = getCookie(c, BROWSER_COOKIE);
      deleteCookie(c, BROWSER_COOKIE, { path: BROWSER_COOKIE_PATH, secure: !isLoopbackUrl(c.req.url), httpOnly: true, sameSite: "Lax" });
      // A callback is a sign-in attempt: it takes a place in the IP's window of failures before anything is checked.
      if (!(await tryReserveSignInAttempt(c, null))) return signInError(c, "too_many_attempts");
      let provider: OidcProvider | null = null;
      let email: string | null = null;
      let userId: string | null = null;
      /** The sign-in in progress this callback names, once found: every outcome uses it up, in the batch that records it. */
      let stateHash: string | null = null;
      try {
        provider = await configuredProvider(c.env.DB);
        requirePublicOrigin(c);
        const state = c.req.query("state");
        if (!state) throw new OidcFailure("state_invalid", "no state parameter");
        const pending = await findOidcState(c.env.DB, await tokenHash(state));
        if (!pending) throw new OidcFailure("state_invalid", "unknown or already used state");
        stateHash = pending.state_hash;
        if (Date.parse(pending.expires_at) <= Date.now()) throw new OidcFailure("state_expired", "state expired");
        if (!browser || !constantTimeEqual(encoder.encode(await tokenHash(browser)), encoder.encode(pending.browser_hash))) {
          throw new OidcFailure("browser_mismatch", browser ? "browser cookie does not match the state" : "no browser cookie");
        }

        const as = await discover(provider.issuer, outboundPolicy(c.env));
        const claims = await completeAuthorization(as, provider, secretOf(provider, c.env), {
          policy: outboundPolicy(c.env),
          callbackUrl: new URL(c.req.url),
          state,
          nonce: pending.nonce,
          codeVerifier: pending.code_verifier,
          redirectUri: redirectUri(c),
          wanted: [provider.emailClaim, provider.groupsClaim],
        });
        const resolution = await resolveUser(c.env.DB, provider, claims);
        email = resolution.email;
        userId = resolution.user?.id ?? null;

        // Accepted. One batch: the state used up (single use: only one callback can win it), then
        // every change of the sign-in with its event, each only if the state was won.
        const orgId = provider.orgId;
        const now = new Date().toISOString();
        const statements: D1PreparedStatement[] = [oidcStateDelete(c.env.DB, stateHash)];
        let witness: string | null = null;
        const record = (event: AuditRecord) => {
          if (witness === null) {
            const first = auditStatementIfChanged(c, orgId, event);
            witness = first.eventId;
            statements.push(first.statement);
          } else {
            statements.push(auditStatementIfRecorded(c, orgId, event, witness));
          }
          return witness;
        };
        let user: UserRow;
        if (!resolution.user) {
          const id = newId();
          const role = resolution.role ?? provider.defaultRole;
          user = { id, org_id: orgId, email: resolution.email, name: nameFrom(claims, resolution.email), role, status: "active", password_hash: null, created_at: now, supervisor: 0 };
          userId = id;
          c.set("user", toUser(user));
          const provisioned = record({ action: "user.provision", target: { type: "user", id }, details: { method: "oidc", issuer: provider.issuer, email: user.email, role } });
          statements.push(
            userInsert(c.env.DB, { id, orgId, email: user.email, name: user.name, role, status: "active", passwordHash: null, now }, provisioned),
            identityInsert(c.env.DB, { issuer: provider.issuer, subject: claims.sub, userId: id, now }, provisioned),
          );
        } else {
          user = resolution.user;
          c.set("user", toUser(user));
          if (resolution.link) {
            const linked = record({ action: "user.oidc_link", target: { type: "user", id: user.id }, details: { issuer: provider.issuer, subject: claims.sub } });
            statements.push(identityInsert(c.env.DB, { issuer: provider.issuer, subject: claims.sub, userId: user.id, now }, linked));
          }
          if (user.status === "invited") {
            const activated = record({ action: "user.activate", target: { type: "user", id: user.id }, details: { method: "oidc" } });
            statements.push(invitedUserActivate(c.env.DB, user.id, now, activated));
            user = { ...user, status: "active" };
          }
          const role = resolution.role;
          if (role !== null && role !== user.role) {
            if (user.role === "admin" && (await activeAdminCount(c.env.DB, user.org_id)) <= 1) {
              // The group mapping never removes the organisation's last administrator.
              record({ action: "user.role_change", target: { type: "user", id: user.id }, outcome: "denied", details: { from: user.role, to: role, source: "oidc_groups", reason: "last administrator" } });
            } else {
              const changed = record({ action: "user.role_change", target: { type: "user", id: user.id }, details: { from: user.role, to: role, source: "oidc_groups" } });
              statements.push(userUpdate(c.env.DB, user.id, { role }, now, changed));
              user = { ...user, role };
            }
          }
          c.set("user", toUser(user));
        }

        // The provider authenticated the user (and is responsible for its own MFA): the session
        // is the same as after a password sign-in, with no local second factor asked for.
        const signedIn = record({ action: "auth.sign_in", target: { type: "user", id: user.id }, details: { method: "oidc", issuer: provider.issuer, subject: claims.sub } });
        const session = await newSession(c, user, { stage: "active", method: "oidc" }, signedIn);
        statements.push(session.statement);
        if (!resolution.link && resolution.user) statements.push(identityTouch(c.env.DB, provider.issuer, claims.sub, now, signedIn));
        const results = await c.env.DB.batch(statements);
        if (!markAudited(c, results[1])) {
          stateHash = null; // used up by the callback that won it
          throw new OidcFailure("state_invalid", "state already used");
        }
        await flushAudit(c.env, orgId);
        await session.complete();
        return c.redirect("/", 302);
      } catch (error) {
        const failure = error instanceof OidcFailure ? error : null;
        if (!failure) console.error("GET /api/oidc/callback failed:", error);
        // The failure is recorded, with the state used up, in one batch. If even that cannot be
        // written (the outbox is down), the request fails (500) rather than going unrecorded.
        const event: AuditRecord = {
          action: "auth.sign_in",
          target: { type: "user", id: userId },
          outcome: "failed",
          actor: { type: "anonymous", id: null, label: email },
          details: { method: "oidc", issuer: provider?.issuer ?? null, reason: failure?.code ?? "internal", detail: failure?.detail ?? "internal error" },
          ...(provider ? { orgId: provider.orgId } : {}),
        };
        const orgId = await orgOf(c, event);
        const statements = [...(stateHash ? [oidcStateDelete(c.env.DB, stateHash)] : []), ...(orgId ? [auditStatement(c, orgId, event)] : [])];
        if (statements.length > 0) await c.env.DB.batch(statements);
        keepSignInAttempt(c); // a failed sign-in: it counts against the IP
        if (orgId) await flushAudit(c.env, orgId);
        return signInError(c, failure?.code ?? "internal");
      }
    },
  )
  .get(
    "/provider",
    describe({ summary: "The identity provider's settings (never the client secret) and the redirect URI to register.", access: "admin", responses: { 200: { description: "Settings, or provider: null.", schema: OidcProviderState } } }),
    requireSession,
    requireAdmin,
    async (c) => {
      const provider = await getOidcProvider(c.env.DB, c.get("user").orgId);
      return c.json({ provider: provider ? toSettings(provider, c.env) : null, redirectUri: redirectUri(c) } satisfies OidcProviderState, 200);
    },
  )
  .put(
    "/provider",
    describe({
      summary: "Sets the identity provider. The client secret is write-only: omit it to keep the stored one (not when the issuer or client id changes).",
      access: "admin",
      responses: { 200: { description: "Saved.", schema: OidcProviderState } },
    }),
    requireSession,
    requireAdmin,
    validate("json", OidcProviderInput),
    async (c) => {
      const body = c.req.valid("json");
      const refusal = outboundRefusal(body.issuer, outboundPolicy(c.env));
      if (refusal) throw new ApiError(400, "issuer_not_allowed", `Custody will not fetch from this issuer: ${refusal}.`);
      const admin = c.get("user");
      const existing = await getOidcProvider(c.env.DB, admin.orgId);
      const sameClient = existing !== null && existing.issuer === body.issuer && existing.clientId === body.clientId;
      const secret = body.clientSecret ?? (sameClient ? existing.clientSecret : null);
      if (secret === null && bindingSecret(c.env) === null) {
        throw new ApiError(400, "client_secret_required", existing ? "Enter the client secret: the issuer or client id changed." : "Enter the client secret the identity provider issued for Custody.");
      }
      const now = new Date().toISOString();
      const { clientSecret: _secret, ...settings } = body;
      await c.env.DB.batch([
        oidcProviderSave(c.env.DB, { orgId: admin.orgId, ...settings, clientSecret: secret }, admin.id, now),
        auditStatement(c, admin.orgId, {
          action: existing ? "oidc.provider_update" : "oidc.provider_create",
          target: { type: "oidc_provider", id: admin.orgId },
          // Never the secret itself: only whether it changed.
          details: { ...settings, secretChanged: body.clientSecret !== undefined },
        }),
      ]);
      await flushAudit(c.env, admin.orgId);
      const saved = await getOidcProvider(c.env.DB, admin.orgId);
      return c.json({ provider: saved ? toSettings(saved, c.env) : null, redirectUri: redirectUri(c) } satisfies OidcProviderState, 200);
    },
  )
  .delete(
    "/provider",
    describe({ summary: "Removes the identity provider: sign-in with it stops at once. Links between users and provider identities stay.", access: "admin", responses: { 204: { description: "Removed." }, 404: { description: "No provider was configured." } } }),
    requireSession,
    requireAdmin,
    async (c) => {
      const admin = c.get("user");
      const existing = await getOidcProvider(c.env.DB, admin.orgId);
      const notConfigured = () => new ApiError(404, "not_found", "No identity provider is configured.");
      if (!existing) throw notConfigured();
      const results = await c.env.DB.batch([
        oidcProviderDelete(c.env.DB, admin.orgId),
        auditStatementIfChanged(c, admin.orgId, { action: "oidc.provider_delete", target: { type: "oidc_provider", id: admin.orgId }, details: { issuer: existing.issuer, clientId: existing.clientId } }).statement,
      ]);
      if (!markAudited(c, results[1])) throw notConfigured();
      await flushAudit(c.env, admin.orgId);
      return c.body(null, 204);
    },
  )
  .post(
    "/provider/discovery",
    describe({
      summary: "Fetches an issuer's discovery document and reports its endpoints (changes nothing).",
      access: "admin",
      mutates: false,
      responses: { 200: { description: "The discovery document's essentials.", schema: DiscoveryResult }, 422: { description: "Discovery failed; the message says why." } },
    }),
    requireSession,
    requireAdmin,
    validate("json", DiscoveryRequest),
    async (c) => {
      const { issuer } = c.req.valid("json");
      try {
        return c.json(summariseDiscovery(await discover(issuer, outboundPolicy(c.env))), 200);
      } catch (error) {
        if (!(error instanceof OidcFailure)) throw error;
        throw new ApiError(422, "discovery_failed", `Discovery failed for ${issuer}: ${error.detail}.`);
      }
    },
  );
