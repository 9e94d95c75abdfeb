import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import {
  ChangePasswordRequest,
  MfaVerifyRequest,
  PasskeyOptions,
  PasskeyOptionsRequest,
  PasskeySignInRequest,
  ReauthRequest,
  ReauthResult,
  SignInResult,
  type MfaRequired,
} from "../../../shared/api/identity";
import { SessionInfo, SignInRequest } from "../../../shared/api/schemas";
import { failuresClear, getSettings, listPasskeys, setPasswordStatement } from "../db/identity";
import { findSession, revokeUserSessionsStatement, sessionReauthenticated, sessionRevokeIfLocked } from "../db/sessions";
import { findUserByEmail, findUserById, toUser } from "../db/users";
import type { AppEnv } from "../env";
import { audit, auditStatement, auditStatementIfChanged, auditStatementIfRecorded, flushAudit, markAudited } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { checkPasskeyAssertion, checkSecondFactor, passkeyAssertionOptions, trySealLeftoverTotpSecrets } from "../lib/mfa";
import { describe } from "../lib/openapi";
import { hashPassword, verifyPassword } from "../lib/password";
import { tokenHash } from "../lib/secrets";
import { enforcePasswordPolicy } from "../lib/policy";
import {
  endingSession,
  newSession,
  passwordStage,
  RECENT_AUTH_MS,
  requireSession,
  requireSessionIn,
  sessionEnd,
  sessionEnded,
  SESSION_COOKIE,
  sessionInfo,
  sessionPromotion,
} from "../lib/session";
import { isLocked, recordSignInFailure, releaseUnusedAttempt, reserveSignInAttempt } from "../lib/throttle";
import { validate } from "../lib/validate";

const invalidCredentials = () => new ApiError(401, "invalid_credentials", "Email or password is incorrect.");
const invalidSecondFactor = () =>
  new ApiError(401, "invalid_code", "That code or passkey was not accepted. Check it and try again; each code works once.");
const passkeyNotAccepted = () =>
  new ApiError(401, "passkey_not_accepted", "That passkey was not accepted. Try again, or sign in with your password.");

export const auth = new Hono<AppEnv>()
  .use(releaseUnusedAttempt)
  .post(
    "/sign-in",
    describe({
      summary: "Sign in with email and password. With MFA enrolled, answers `mfaRequired` and a short-lived session that only the second step (POST /api/auth/mfa) can complete.",
      access: "public",
      responses: {
        200: { description: "Signed in (or, with `mfaRequired`, waiting for the second factor); the session cookie is set.", schema: SignInResult },
        401: { description: "Email or password is incorrect (the same answer whether the account exists, is disabled or is locked)." },
        429: { description: "Too many failed attempts from this IP lately." },
      },
    }),
    validate("json", SignInRequest),
    async (c) => {
      const { email, password } = c.req.valid("json");
      await reserveSignInAttempt(c, email);
      const user = await findUserByEmail(c.env.DB, email);
      const locked = await isLocked(c.env.DB, email);
      // Always run the KDF, against a decoy when there is no usable account: equal timing. A
      // locked account runs it too, and then answers exactly like a wrong password.
      const usable = user !== null && user.status === "active";
      const valid = await verifyPassword(password, usable ? user.password_hash : null);
      if (!valid || !user || locked) {
        await recordSignInFailure(c, {
          email,
          userId: user?.id ?? null,
          event: {
            action: "auth.sign_in",
            target: { type: "user", id: user?.id ?? null },
            outcome: "failed",
            actor: { type: "anonymous", id: null, label: email },
            details: { method: "password", ...(locked ? { reason: "locked" } : {}) },
            ...(user ? { orgId: user.org_id } : {}),
          },
        });
        throw invalidCredentials();
      }
      // TOTP seeds still stored as they were before migration 0012 (or under a retired data key)
      // are sealed at a sign-in, anybody's: one indexed query once none is left.
      await trySealLeftoverTotpSecrets(c.env);
      const stage = await passwordStage(c.env.DB, user);
      c.set("user", toUser(user));
      const session = await newSession(c, user, { stage, method: "password" });
      if (stage === "mfa_pending") {
        await c.env.DB.batch([
          session.statement,
          auditStatement(c, user.org_id, { action: "auth.password_accepted", target: { type: "user", id: user.id }, details: { next: "mfa" } }),
        ]);
        await flushAudit(c.env, user.org_id);
        const info = await session.complete();
        return c.json({ mfaRequired: true, methods: info.mfaMethods ?? [] } satisfies MfaRequired, 200);
      }
      await c.env.DB.batch([
        session.statement,
        failuresClear(c.env.DB, email),
        auditStatement(c, user.org_id, { action: "auth.sign_in", target: { type: "user", id: user.id }, details: { method: "password", stage } }),
      ]);
      await flushAudit(c.env, user.org_id);
      return c.json(await session.complete(), 200);
    },
  )
  .post(
    "/mfa",
    describe({
      summary: "Second step of sign-in: a TOTP code, a recovery code or a passkey assertion completes the session the password step started.",
      access: "session",
      responses: {
        200: { description: "Signed in; a new session cookie replaces the pending one.", schema: SessionInfo },
        401: { description: "The code or passkey was not accepted (or the account is locked)." },
        429: { description: "Too many failed attempts from this IP lately." },
      },
    }),
    validate("json", MfaVerifyRequest),
    requireSessionIn("mfa_pending"),
    async (c) => {
      const body = c.req.valid("json");
      const user = c.get("user");
      await reserveSignInAttempt(c, user.email);
      const locked = await isLocked(c.env.DB, user.email);
      const check = locked ? { ok: null, statements: [] } : await checkSecondFactor(c, user.id, body);
      const fail = async (reason: string | null) => {
        const now = new Date().toISOString();
        await recordSignInFailure(c, {
          email: user.email,
          userId: user.id,
          before: check.ok ? [] : check.statements,
          event: {
            action: "auth.sign_in",
            target: { type: "user", id: user.id },
            outcome: "failed",
            details: { method: body.method, step: "second_factor", ...(reason ? { reason } : {}) },
          },
          // Locked (now, or already): the half-finished sign-in ends; the password must be given again after the lock.
          after: [sessionRevokeIfLocked(c.env.DB, c.get("sessionHash"), user.email, now)],
        });
        return invalidSecondFactor();
      };
      const method = check.ok;
      if (!method) throw await fail(locked ? "locked" : null);
      const row = await findUserById(c.env.DB, user.id);
      if (!row) throw invalidSecondFactor();
      // One batch: the factor used up (only one request can win it), the session promoted, the
      // failures forgotten and the events written, each only if the step before it happened.
      const promotion = await sessionPromotion(c, row, `password+${method}`);
      const signIn = auditStatementIfChanged(c, user.orgId, { action: "auth.sign_in", target: { type: "user", id: user.id }, details: { method: `password+${method}` } });
      const results = await c.env.DB.batch([
        ...check.statements,
        promotion.statement,
        signIn.statement,
        failuresClear(c.env.DB, user.email, signIn.eventId),
        ...(method === "recovery_code" ? [auditStatementIfRecorded(c, user.orgId, { action: "mfa.recovery_code_used", target: { type: "user", id: user.id } }, signIn.eventId)] : []),
      ]);
      const factorWon = (results[check.statements.length - 1]?.meta.changes ?? 0) > 0;
      if (!markAudited(c, results[check.statements.length + 1])) {
        // A concurrent request used this code or challenge first: a failed attempt like any other.
        if (!factorWon) throw await fail("already_used");
        // The factor was used up but the session had ended meanwhile: record that, then refuse.
        await audit(c, { action: "auth.sign_in", target: { type: "user", id: user.id }, outcome: "failed", details: { method: body.method, step: "second_factor", reason: "session_ended" } });
        throw sessionEnded();
      }
      await flushAudit(c.env, user.orgId);
      return c.json(await promotion.complete(), 200);
    },
  )
  .post(
    "/passkey/options",
    describe({
      summary: "A WebAuthn challenge: for passwordless sign-in (no session), as the second factor (pending session), or to re-authenticate (signed in).",
      access: "public",
      mutates: false,
      responses: { 200: { description: "Options for navigator.credentials.get(), and the challenge id to send back.", schema: PasskeyOptions } },
    }),
    validate("json", PasskeyOptionsRequest),
    async (c) => {
      const { purpose } = c.req.valid("json");
      if (purpose === "sign_in") {
        return c.json(await passkeyAssertionOptions(c, { purpose, userId: null, sessionHash: null, allow: null }), 200);
      }
      // The other purposes are bound to the caller's session and user.
      const token = getCookie(c, SESSION_COOKIE);
      const found = token ? await findSession(c.env.DB, await tokenHash(token)) : null;
      const wanted = purpose === "second_factor" ? "mfa_pending" : "active";
      if (!found || found.session.stage !== wanted || found.user.status !== "active") {
        throw new ApiError(401, "unauthenticated", purpose === "second_factor" ? "Sign in with your password first." : "Sign in to continue.");
      }
      const allow = await listPasskeys(c.env.DB, found.user.id);
      if (allow.length === 0) throw new ApiError(404, "no_passkeys", "You have no passkeys.");
      return c.json(await passkeyAssertionOptions(c, { purpose, userId: found.user.id, sessionHash: found.session.token_hash, allow }), 200);
    },
  )
  .post(
    "/passkey",
    describe({
      summary: "Passwordless sign-in with a passkey (a discoverable credential, user verification required).",
      access: "public",
      responses: {
        200: { description: "Signed in; the session cookie is set.", schema: SessionInfo },
        401: { description: "The passkey was not accepted." },
        429: { description: "Too many failed attempts from this IP lately." },
      },
    }),
    validate("json", PasskeySignInRequest),
    async (c) => {
      const { challengeId, credential } = c.req.valid("json");
      await reserveSignInAttempt(c, null);
      const check = await checkPasskeyAssertion(c, { challengeId, credential, purpose: "sign_in", userId: null, sessionHash: null });
      const passkey = check.ok;
      const user = passkey ? await findUserById(c.env.DB, passkey.user_id) : null;
      const locked = user ? await isLocked(c.env.DB, user.email) : false;
      const fail = async (reason: string | null) => {
        await recordSignInFailure(c, {
          email: user?.email ?? null,
          userId: user?.id ?? null,
          before: check.statements,
          event: {
            action: "auth.sign_in",
            target: { type: "user", id: user?.id ?? null },
            outcome: "failed",
            actor: { type: "anonymous", id: null, label: user?.email },
            details: { method: "passkey", ...(reason ? { reason } : {}) },
            ...(user ? { orgId: user.org_id } : {}),
          },
        });
        return passkeyNotAccepted();
      };
      if (!passkey || !user || user.status !== "active" || locked) throw await fail(locked ? "locked" : null);
      c.set("user", toUser(user));
      // One batch: the challenge used up (only one request can win it), the event, the session.
      const signIn = auditStatementIfChanged(c, user.org_id, { action: "auth.sign_in", target: { type: "user", id: user.id }, details: { method: "passkey" } });
      const session = await newSession(c, user, { stage: "active", method: "passkey" }, signIn.eventId);
      const results = await c.env.DB.batch([...check.statements, signIn.statement, session.statement, failuresClear(c.env.DB, user.email, signIn.eventId)]);
      if (!markAudited(c, results[check.statements.length])) throw await fail("already_used");
      await flushAudit(c.env, user.org_id);
      return c.json(await session.complete(), 200);
    },
  )
  .post(
    "/reauth",
    describe({
      summary: "Re-authenticate (password or passkey) before a sensitive action: allows them for the next 5 minutes.",
      access: "session",
      responses: { 200: { description: "Confirmed.", schema: ReauthResult }, 403: { description: "Not accepted (the session stays signed in)." } },
    }),
    validate("json", ReauthRequest),
    requireSession,
    async (c) => {
      const body = c.req.valid("json");
      const user = c.get("user");
      await reserveSignInAttempt(c, user.email);
      const row = await findUserById(c.env.DB, user.id);
      const locked = await isLocked(c.env.DB, user.email);
      const now = new Date();
      const fail = async (before: D1PreparedStatement[]) => {
        await recordSignInFailure(c, {
          email: user.email,
          userId: user.id,
          before,
          event: { action: "auth.reauth", target: { type: "user", id: user.id }, outcome: "failed", details: { method: body.method } },
        });
        // 403, not 401: the session is fine, only this confirmation failed.
        return new ApiError(403, "reauth_failed", body.method === "password" ? "That password is not correct." : "That passkey was not accepted.");
      };
      const confirmed = () => c.json({ reauthenticatedAt: now.toISOString(), validUntil: new Date(now.getTime() + RECENT_AUTH_MS).toISOString() } satisfies ReauthResult, 200);
      if (body.method === "password") {
        if (!(await verifyPassword(body.password, row?.password_hash ?? null)) || locked) throw await fail([]);
        await c.env.DB.batch([
          sessionReauthenticated(c.env.DB, c.get("sessionHash"), now.toISOString()),
          failuresClear(c.env.DB, user.email),
          auditStatement(c, user.orgId, { action: "auth.reauth", target: { type: "user", id: user.id }, details: { method: body.method } }),
        ]);
        await flushAudit(c.env, user.orgId);
        return confirmed();
      }
      const check = await checkPasskeyAssertion(c, { challengeId: body.challengeId, credential: body.credential, purpose: "reauth", userId: user.id, sessionHash: c.get("sessionHash") });
      if (!check.ok || locked) throw await fail(check.statements);
      // One batch: the challenge used up (only one request can win it), the event, the confirmation.
      const reauth = auditStatementIfChanged(c, user.orgId, { action: "auth.reauth", target: { type: "user", id: user.id }, details: { method: body.method } });
      const results = await c.env.DB.batch([
        ...check.statements,
        reauth.statement,
        sessionReauthenticated(c.env.DB, c.get("sessionHash"), now.toISOString(), reauth.eventId),
        failuresClear(c.env.DB, user.email, reauth.eventId),
      ]);
      if (!markAudited(c, results[check.statements.length])) throw await fail([]);
      await flushAudit(c.env, user.orgId);
      return confirmed();
    },
  )
  .post(
    "/password",
    describe({
      summary: "Change your password (the current one is required). Your other sessions are signed out.",
      access: "session",
      responses: { 204: { description: "Changed." }, 403: { description: "The current password is not correct." } },
    }),
    validate("json", ChangePasswordRequest),
    requireSession,
    async (c) => {
      const { currentPassword, newPassword } = c.req.valid("json");
      const user = c.get("user");
      await reserveSignInAttempt(c, user.email);
      const row = await findUserById(c.env.DB, user.id);
      const locked = await isLocked(c.env.DB, user.email);
      if (!(await verifyPassword(currentPassword, row?.password_hash ?? null)) || locked) {
        await recordSignInFailure(c, {
          email: user.email,
          userId: user.id,
          event: { action: "user.password_change", target: { type: "user", id: user.id }, outcome: "failed", details: { reason: "current password" } },
        });
        throw new ApiError(403, "wrong_password", "Your current password is not correct.");
      }
      await enforcePasswordPolicy(c.env.DB, { orgId: user.orgId, password: newPassword, email: user.email, field: ["newPassword"] });
      const now = new Date().toISOString();
      await c.env.DB.batch([
        setPasswordStatement(c.env.DB, user.id, await hashPassword(newPassword), now),
        revokeUserSessionsStatement(c.env.DB, user.id, now, c.get("sessionHash")),
        sessionReauthenticated(c.env.DB, c.get("sessionHash"), now),
        failuresClear(c.env.DB, user.email),
        auditStatement(c, user.orgId, { action: "user.password_change", target: { type: "user", id: user.id } }),
      ]);
      await flushAudit(c.env, user.orgId);
      return c.body(null, 204);
    },
  )
  .post(
    "/sign-out",
    describe({ summary: "Sign out: revoke this session and clear its cookie.", access: "public", responses: { 204: { description: "Signed out (also when no session was live)." } } }),
    async (c) => {
      const ending = await endingSession(c);
      if (ending) {
        const user = toUser(ending.user);
        c.set("user", user);
        // Recorded only if this request ended it (not a concurrent sign-out).
        const results = await c.env.DB.batch([ending.statement, auditStatementIfChanged(c, user.orgId, { action: "auth.sign_out", target: { type: "user", id: user.id } }).statement]);
        if (markAudited(c, results[1])) await flushAudit(c.env, user.orgId);
      }
      return c.body(null, 204);
    },
  )
  .get(
    "/session",
    describe({
      summary: "The signed-in user, their organisation, when the session ends, and its stage (a session may be waiting for its second factor or for MFA enrolment).",
      access: "session",
      responses: { 200: { description: "Signed in.", schema: SessionInfo } },
    }),
    requireSessionIn("active", "mfa_pending", "mfa_enrolment"),
    async (c) => {
      const found = await findSession(c.env.DB, c.get("sessionHash"));
      if (!found) throw new ApiError(401, "session_ended", "Your session has ended. Sign in again.");
      const settings = await getSettings(c.env.DB, found.user.org_id);
      const info = await sessionInfo(c.env.DB, found.user, new Date(sessionEnd(found.session, settings)).toISOString(), found.session.stage);
      // The end that no use postpones: the sooner of the stored expiry and the lifetime from sign-in.
      const endsBy = new Date(sessionEnd(found.session, { ...settings, idleTimeoutMinutes: Number.POSITIVE_INFINITY })).toISOString();
      return c.json({ ...info, limits: { idleMinutes: settings.idleTimeoutMinutes, endsBy } }, 200);
    },
  );

