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
import { getSettings, listPasskeys, setPasswordStatement } from "../db/identity";
import { findSession, markReauthenticated, revokeSession, revokeUserSessionsStatement } from "../db/sessions";
import { findUserByEmail, findUserById, toUser } from "../db/users";
import type { AppEnv } from "../env";
import { audit } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { checkPasskeyAssertion, checkSecondFactor, passkeyAssertionOptions } from "../lib/mfa";
import { describe } from "../lib/openapi";
import { hashPassword, verifyPassword } from "../lib/password";
import { tokenHash } from "../lib/secrets";
import { enforcePasswordPolicy } from "../lib/policy";
import {
  endSession,
  passwordStage,
  promoteCurrentSession,
  RECENT_AUTH_MS,
  requireSession,
  requireSessionIn,
  sessionEnd,
  SESSION_COOKIE,
  sessionInfo,
  startSession,
} from "../lib/session";
import { checkIpThrottle, isLocked, recordSignInFailure, recordSignInSuccess } from "../lib/throttle";
import { validate } from "../lib/validate";

const invalidCredentials = () => new ApiError(401, "invalid_credentials", "Email or password is incorrect.");
const invalidSecondFactor = () =>
  new ApiError(401, "invalid_code", "That code or passkey was not accepted. Check it and try again; each code works once.");
const passkeyNotAccepted = () =>
  new ApiError(401, "passkey_not_accepted", "That passkey was not accepted. Try again, or sign in with your password.");

export const auth = new Hono<AppEnv>()
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
      await checkIpThrottle(c, email);
      const user = await findUserByEmail(c.env.DB, email);
      const locked = await isLocked(c.env.DB, email);
      // Always run the KDF, against a decoy when there is no usable account: equal timing. A
      // locked account runs it too, and then answers exactly like a wrong password.
      const usable = user !== null && user.status === "active";
      const valid = await verifyPassword(password, usable ? user.password_hash : null);
      if (!valid || !user || locked) {
        await recordSignInFailure(c, email, user?.id ?? null, user?.org_id);
        await audit(c, {
          action: "auth.sign_in",
          target: { type: "user", id: user?.id ?? null },
          outcome: "failed",
          actor: { type: "anonymous", id: null, label: email },
          details: { method: "password", ...(locked ? { reason: "locked" } : {}) },
        });
        throw invalidCredentials();
      }
      const stage = await passwordStage(c.env.DB, user);
      const session = await startSession(c, user, { stage, method: "password" });
      c.set("user", toUser(user));
      if (stage === "mfa_pending") {
        await audit(c, { action: "auth.password_accepted", target: { type: "user", id: user.id }, details: { next: "mfa" } });
        return c.json({ mfaRequired: true, methods: session.mfaMethods ?? [] } satisfies MfaRequired, 200);
      }
      await recordSignInSuccess(c.env.DB, email);
      await audit(c, { action: "auth.sign_in", target: { type: "user", id: user.id }, details: { method: "password", stage } });
      return c.json(session, 200);
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
      await checkIpThrottle(c, user.email);
      const locked = await isLocked(c.env.DB, user.email);
      const method = locked ? null : await checkSecondFactor(c, user.id, body);
      if (!method) {
        const nowLocked = await recordSignInFailure(c, user.email, user.id);
        await audit(c, {
          action: "auth.sign_in",
          target: { type: "user", id: user.id },
          outcome: "failed",
          details: { method: body.method, step: "second_factor", ...(locked ? { reason: "locked" } : {}) },
        });
        // Locked: the half-finished sign-in ends; the password must be given again after the lock.
        if (nowLocked) await revokeSession(c.env.DB, c.get("sessionHash"), new Date().toISOString());
        throw invalidSecondFactor();
      }
      const row = await findUserById(c.env.DB, user.id);
      if (!row) throw invalidSecondFactor();
      const session = await promoteCurrentSession(c, row, `password+${method}`);
      await recordSignInSuccess(c.env.DB, user.email);
      await audit(c, { action: "auth.sign_in", target: { type: "user", id: user.id }, details: { method: `password+${method}` } });
      if (method === "recovery_code") {
        await audit(c, { action: "mfa.recovery_code_used", target: { type: "user", id: user.id } });
      }
      return c.json(session, 200);
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
      await checkIpThrottle(c, null);
      const passkey = await checkPasskeyAssertion(c, { challengeId, credential, purpose: "sign_in", userId: null, sessionHash: null });
      const user = passkey ? await findUserById(c.env.DB, passkey.user_id) : null;
      const locked = user ? await isLocked(c.env.DB, user.email) : false;
      if (!passkey || !user || user.status !== "active" || locked) {
        await recordSignInFailure(c, user?.email ?? null, user?.id ?? null, user?.org_id);
        await audit(c, {
          action: "auth.sign_in",
          target: { type: "user", id: user?.id ?? null },
          outcome: "failed",
          actor: { type: "anonymous", id: null, label: user?.email },
          details: { method: "passkey", ...(locked ? { reason: "locked" } : {}) },
          ...(user ? { orgId: user.org_id } : {}),
        });
        throw passkeyNotAccepted();
      }
      const session = await startSession(c, user, { stage: "active", method: "passkey" });
      c.set("user", toUser(user));
      await recordSignInSuccess(c.env.DB, user.email);
      await audit(c, { action: "auth.sign_in", target: { type: "user", id: user.id }, details: { method: "passkey" } });
      return c.json(session, 200);
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
      await checkIpThrottle(c, user.email);
      const row = await findUserById(c.env.DB, user.id);
      const locked = await isLocked(c.env.DB, user.email);
      let ok = false;
      if (body.method === "password") {
        ok = (await verifyPassword(body.password, row?.password_hash ?? null)) && !locked;
      } else {
        const passkey = await checkPasskeyAssertion(c, { challengeId: body.challengeId, credential: body.credential, purpose: "reauth", userId: user.id, sessionHash: c.get("sessionHash") });
        ok = passkey !== null && !locked;
      }
      if (!ok) {
        await recordSignInFailure(c, user.email, user.id);
        await audit(c, { action: "auth.reauth", target: { type: "user", id: user.id }, outcome: "failed", details: { method: body.method } });
        // 403, not 401: the session is fine, only this confirmation failed.
        throw new ApiError(403, "reauth_failed", body.method === "password" ? "That password is not correct." : "That passkey was not accepted.");
      }
      const now = new Date();
      await markReauthenticated(c.env.DB, c.get("sessionHash"), now.toISOString());
      await recordSignInSuccess(c.env.DB, user.email);
      await audit(c, { action: "auth.reauth", target: { type: "user", id: user.id }, details: { method: body.method } });
      return c.json({ reauthenticatedAt: now.toISOString(), validUntil: new Date(now.getTime() + RECENT_AUTH_MS).toISOString() } satisfies ReauthResult, 200);
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
      await checkIpThrottle(c, user.email);
      const row = await findUserById(c.env.DB, user.id);
      const locked = await isLocked(c.env.DB, user.email);
      if (!(await verifyPassword(currentPassword, row?.password_hash ?? null)) || locked) {
        await recordSignInFailure(c, user.email, user.id);
        await audit(c, { action: "user.password_change", target: { type: "user", id: user.id }, outcome: "failed", details: { reason: "current password" } });
        throw new ApiError(403, "wrong_password", "Your current password is not correct.");
      }
      await enforcePasswordPolicy(c.env.DB, { orgId: user.orgId, password: newPassword, email: user.email, field: ["newPassword"] });
      const now = new Date().toISOString();
      await c.env.DB.batch([
        setPasswordStatement(c.env.DB, user.id, await hashPassword(newPassword), now),
        revokeUserSessionsStatement(c.env.DB, user.id, now, c.get("sessionHash")),
      ]);
      await markReauthenticated(c.env.DB, c.get("sessionHash"), now);
      await recordSignInSuccess(c.env.DB, user.email);
      await audit(c, { action: "user.password_change", target: { type: "user", id: user.id } });
      return c.body(null, 204);
    },
  )
  .post(
    "/sign-out",
    describe({ summary: "Sign out: revoke this session and clear its cookie.", access: "public", responses: { 204: { description: "Signed out (also when no session was live)." } } }),
    async (c) => {
      const user = await endSession(c);
      if (user) {
        c.set("user", toUser(user));
        await audit(c, { action: "auth.sign_out", target: { type: "user", id: user.id } });
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
      return c.json(info, 200);
    },
  );

