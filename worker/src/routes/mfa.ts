/**
 * Your second factors: TOTP (enrol with a QR code, confirm with a first code), one-time recovery
 * codes, and passkeys. A session restricted to MFA enrolment may use the enrolment routes only;
 * enrolling its first factor makes it a full session. Removing a factor, or replacing recovery
 * codes, needs a recent authentication.
 */
import { Hono, type Context } from "hono";
import { renderSVG } from "uqr";
import {
  MfaEnrolled,
  MfaStatus,
  PasskeyIdParam,
  PasskeyOptions,
  PasskeyRegisterRequest,
  RecoveryCodes,
  TotpConfirmRequest,
  TotpSetup,
} from "../../../shared/api/identity";
import {
  challengeDelete,
  deleteRecoveryCodesStatement,
  deleteTotpStatement,
  findChallenge,
  findPasskey,
  getSettings,
  listPasskeys,
  mfaFactors,
  passkeyDelete,
  passkeyInsertAfterChange,
  recoveryCodesLeft,
  replaceRecoveryCodesStatements,
  totpStart,
} from "../db/identity";
import { findUserById } from "../db/users";
import type { AppEnv } from "../env";
import { audit, auditStatement, auditStatementIfChanged, flushAudit, markAudited, type AuditRecord } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { checkTotp, newChallenge, newRecoveryCodes, sealTotpSecret } from "../lib/mfa";
import { describe } from "../lib/openapi";
import { requireRecentAuth, requireSession, requireSessionIn, sessionEnded, sessionInfo, sessionPromotion } from "../lib/session";
import { newTotpSecret, otpauthUri } from "../lib/totp";
import { validate } from "../lib/validate";
import { registrationOptions, verifyRegistration } from "../lib/webauthn";
import { passkeyBundleDelete } from "../db/keys";

const ISSUER = "Custody";

/**
 * Enrols a factor in one batch: `guard` (the statements that add it; the last changes a row only
 * for the request that wins, e.g. a TOTP step or a registration challenge), then a session
 * restricted to enrolment made a full one, the event, and new recovery codes if the user has none
 * left, each only if the step before happened. Returns what the client shows next, or null when
 * the guard lost to a concurrent request (nothing was enrolled).
 */
async function enrol(
  c: Context<AppEnv>,
  guard: D1PreparedStatement[],
  method: string,
  event: (recoveryCodesIssued: boolean) => AuditRecord,
): Promise<MfaEnrolled | null> {
  const user = c.get("user");
  const fresh = (await recoveryCodesLeft(c.env.DB, user.id)) === 0 ? await newRecoveryCodes() : null;
  const row = await findUserById(c.env.DB, user.id);
  if (!row) throw sessionEnded();
  const promotion = c.get("session").stage === "mfa_enrolment" ? await sessionPromotion(c, row, `password+${method}_enrolment`) : null;
  const enrolled = auditStatementIfChanged(c, user.orgId, event(fresh !== null));
  const results = await c.env.DB.batch([
    ...guard,
    ...(promotion ? [promotion.statement] : []),
    enrolled.statement,
    ...(fresh ? replaceRecoveryCodesStatements(c.env.DB, user.id, fresh.hashes, new Date().toISOString(), enrolled.eventId) : []),
  ]);
  if (!markAudited(c, results[guard.length + (promotion ? 1 : 0)])) {
    if ((results[guard.length - 1]?.meta.changes ?? 0) === 0) return null;
    // Enrolled, but the session being finished had ended meanwhile: record the enrolment, then refuse.
    const record = event(false);
    await audit(c, { ...record, details: { ...record.details, sessionEnded: true } });
    throw sessionEnded();
  }
  await flushAudit(c.env, user.orgId);
  const session = promotion ? await promotion.complete() : await sessionInfo(c.env.DB, row, c.get("session").expires_at, "active");
  return { recoveryCodes: fresh?.codes ?? null, session };
}

const enrolling = requireSessionIn("active", "mfa_enrolment");

export const mfa = new Hono<AppEnv>()
  .get(
    "/",
    describe({ summary: "Your second factors, and whether the organisation requires one.", access: "session", responses: { 200: { description: "Your MFA status.", schema: MfaStatus } } }),
    enrolling,
    async (c) => {
      const user = c.get("user");
      const [factors, passkeys, settings] = await Promise.all([mfaFactors(c.env.DB, user.id), listPasskeys(c.env.DB, user.id), getSettings(c.env.DB, user.orgId)]);
      return c.json(
        {
          required: settings.mfaRequired,
          totp: factors.totp,
          recoveryCodesLeft: factors.recoveryCodes,
          passkeys: passkeys.map((key) => ({ id: key.id, name: key.name, createdAt: key.created_at, lastUsedAt: key.last_used_at })),
        } satisfies MfaStatus,
        200,
      );
    },
  )
  .post(
    "/totp",
    describe({
      summary: "Start TOTP enrolment: a new secret (base32) and its QR code. Nothing is enabled until a first code confirms it.",
      access: "session",
      responses: { 201: { description: "The secret to add to an authenticator app.", schema: TotpSetup }, 409: { description: "TOTP is already enabled." } },
    }),
    enrolling,
    async (c) => {
      const user = c.get("user");
      const secret = newTotpSecret();
      // Stored sealed under the data key (lib/data-key.ts): a copy of D1 holds no usable seed.
      const results = await c.env.DB.batch([
        totpStart(c.env.DB, user.id, await sealTotpSecret(c.env, user.id, secret), new Date().toISOString()),
        auditStatementIfChanged(c, user.orgId, { action: "mfa.totp_start", target: { type: "user", id: user.id } }).statement,
      ]);
      if (!markAudited(c, results[1])) {
        throw new ApiError(409, "totp_exists", "An authenticator app is already set up. Remove it first to set up another.");
      }
      await flushAudit(c.env, user.orgId);
      const uri = otpauthUri({ secret, issuer: ISSUER, account: user.email });
      return c.json({ secret, uri, qrSvg: renderSVG(uri, { border: 2 }) } satisfies TotpSetup, 201);
    },
  )
  .post(
    "/totp/confirm",
    describe({
      summary: "Confirm TOTP enrolment with a first code. Answers new recovery codes (shown once) if you had none; a session restricted to enrolment becomes a full one.",
      access: "session",
      responses: { 200: { description: "Enabled.", schema: MfaEnrolled }, 400: { description: "The code is not right." } },
    }),
    validate("json", TotpConfirmRequest),
    enrolling,
    async (c) => {
      const { code } = c.req.valid("json");
      const user = c.get("user");
      const use = await checkTotp(c.env, user.id, code, { confirming: true });
      const result = use
        ? await enrol(c, [use], "totp", (recoveryCodesIssued) => ({ action: "mfa.totp_enrol", target: { type: "user", id: user.id }, details: { recoveryCodesIssued } }))
        : null;
      if (!result) {
        await audit(c, { action: "mfa.totp_enrol", target: { type: "user", id: user.id }, outcome: "failed" });
        throw new ApiError(400, "invalid_code", "That code is not right. Check the time on your phone and enter the code your app shows now.");
      }
      return c.json(result, 200);
    },
  )
  .delete(
    "/totp",
    describe({ summary: "Remove your authenticator app (needs a recent authentication).", access: "session", responses: { 204: { description: "Removed." }, 409: { description: "It is your only second factor and the organisation requires one." } } }),
    requireSession,
    requireRecentAuth,
    async (c) => {
      const user = c.get("user");
      const [factors, settings] = await Promise.all([mfaFactors(c.env.DB, user.id), getSettings(c.env.DB, user.orgId)]);
      if (!factors.totp) throw new ApiError(404, "not_found", "You have no authenticator app set up.");
      if (settings.mfaRequired && factors.passkeys === 0) {
        await audit(c, { action: "mfa.totp_remove", target: { type: "user", id: user.id }, outcome: "denied", details: { reason: "last factor" } });
        throw new ApiError(409, "last_factor", "Your organisation requires two-step verification: add a passkey before removing your authenticator app.");
      }
      const results = await c.env.DB.batch([
        deleteTotpStatement(c.env.DB, user.id),
        auditStatementIfChanged(c, user.orgId, { action: "mfa.totp_remove", target: { type: "user", id: user.id } }).statement,
        ...(factors.passkeys === 0 ? [deleteRecoveryCodesStatement(c.env.DB, user.id)] : []),
      ]);
      if (!markAudited(c, results[1])) throw new ApiError(404, "not_found", "You have no authenticator app set up.");
      await flushAudit(c.env, user.orgId);
      return c.body(null, 204);
    },
  )
  .post(
    "/recovery-codes",
    describe({ summary: "Replace your recovery codes with ten new ones, shown once (needs a recent authentication).", access: "session", responses: { 201: { description: "The new codes; the old ones no longer work.", schema: RecoveryCodes } } }),
    requireSession,
    requireRecentAuth,
    async (c) => {
      const user = c.get("user");
      const factors = await mfaFactors(c.env.DB, user.id);
      if (!factors.totp && factors.passkeys === 0) throw new ApiError(409, "no_mfa", "Set up two-step verification first.");
      const fresh = await newRecoveryCodes();
      await c.env.DB.batch([
        ...replaceRecoveryCodesStatements(c.env.DB, user.id, fresh.hashes, new Date().toISOString()),
        auditStatement(c, user.orgId, { action: "mfa.recovery_codes_replace", target: { type: "user", id: user.id } }),
      ]);
      await flushAudit(c.env, user.orgId);
      return c.json({ recoveryCodes: fresh.codes } satisfies RecoveryCodes, 201);
    },
  )
  .post(
    "/passkeys/options",
    describe({ summary: "A WebAuthn registration challenge, to add a passkey.", access: "session", mutates: false, responses: { 200: { description: "Options for navigator.credentials.create().", schema: PasskeyOptions } } }),
    enrolling,
    async (c) => {
      const user = c.get("user");
      const options = await registrationOptions(c.req.url, user, await listPasskeys(c.env.DB, user.id));
      const challengeId = await newChallenge(c, { challenge: options.challenge, purpose: "register", userId: user.id, sessionHash: c.get("sessionHash") });
      return c.json({ challengeId, options: options as unknown as Record<string, unknown> } satisfies PasskeyOptions, 200);
    },
  )
  .post(
    "/passkeys",
    describe({
      summary: "Add a passkey (verified against the registration challenge). Answers new recovery codes if you had none; a session restricted to enrolment becomes a full one.",
      access: "session",
      responses: { 201: { description: "Added.", schema: MfaEnrolled }, 400: { description: "The passkey did not verify." } },
    }),
    validate("json", PasskeyRegisterRequest),
    enrolling,
    async (c) => {
      const { challengeId, name, credential } = c.req.valid("json");
      const user = c.get("user");
      const now = new Date().toISOString();
      const challenge = await findChallenge(c.env.DB, challengeId, now);
      const verified =
        challenge && challenge.purpose === "register" && challenge.user_id === user.id && challenge.session_hash === c.get("sessionHash")
          ? await verifyRegistration(c.req.url, credential, challenge.challenge)
          : null;
      const notVerified = () => new ApiError(400, "passkey_not_verified", "The passkey could not be verified. Try again.");
      // A refusal uses the challenge up, and is recorded, in one batch.
      const refuse = async (reason: string | null) => {
        await c.env.DB.batch([
          challengeDelete(c.env.DB, challengeId),
          auditStatement(c, user.orgId, { action: "mfa.passkey_add", target: { type: "user", id: user.id }, outcome: "failed", ...(reason ? { details: { reason } } : {}) }),
        ]);
        await flushAudit(c.env, user.orgId);
      };
      if (!verified) {
        await refuse(null);
        throw notVerified();
      }
      if (await findPasskey(c.env.DB, verified.id)) {
        await refuse("already registered");
        throw new ApiError(409, "passkey_exists", "This passkey is already registered.");
      }
      let result: MfaEnrolled | null;
      try {
        result = await enrol(
          c,
          [challengeDelete(c.env.DB, challengeId), passkeyInsertAfterChange(c.env.DB, { ...verified, userId: user.id, name, now })],
          "passkey",
          () => ({ action: "mfa.passkey_add", target: { type: "user", id: user.id }, details: { passkey: verified.id, name } }),
        );
      } catch (err) {
        // Registered by a concurrent request in the meantime: nothing of this one was written.
        if (/UNIQUE constraint failed/i.test(String(err))) throw new ApiError(409, "passkey_exists", "This passkey is already registered.");
        throw err;
      }
      if (!result) {
        // The challenge was used by a concurrent request: nothing of this one was written.
        await audit(c, { action: "mfa.passkey_add", target: { type: "user", id: user.id }, outcome: "failed", details: { reason: "challenge used" } });
        throw notVerified();
      }
      return c.json(result, 201);
    },
  )
  .delete(
    "/passkeys/:id",
    describe({ summary: "Remove one of your passkeys (needs a recent authentication).", access: "session", responses: { 204: { description: "Removed." }, 404: { description: "No such passkey of yours." }, 409: { description: "It is your only second factor and the organisation requires one." } } }),
    validate("param", PasskeyIdParam),
    requireSession,
    requireRecentAuth,
    async (c) => {
      const { id } = c.req.valid("param");
      const user = c.get("user");
      const passkeys = await listPasskeys(c.env.DB, user.id);
      if (!passkeys.some((key) => key.id === id)) throw new ApiError(404, "not_found", "You have no such passkey.");
      const [factors, settings] = await Promise.all([mfaFactors(c.env.DB, user.id), getSettings(c.env.DB, user.orgId)]);
      if (settings.mfaRequired && !factors.totp && factors.passkeys === 1) {
        await audit(c, { action: "mfa.passkey_remove", target: { type: "user", id: user.id }, outcome: "denied", details: { passkey: id, reason: "last factor" } });
        throw new ApiError(409, "last_factor", "Your organisation requires two-step verification: set up another method before removing your last passkey.");
      }
      // Its envelope of the key bundle first (the passkey's PRF output is all that opens it), in the same transaction.
      const results = await c.env.DB.batch([
        passkeyBundleDelete(c.env.DB, user.id, id),
        passkeyDelete(c.env.DB, user.id, id),
        auditStatementIfChanged(c, user.orgId, { action: "mfa.passkey_remove", target: { type: "user", id: user.id }, details: { passkey: id } }).statement,
      ]);
      if (!markAudited(c, results[2])) throw new ApiError(404, "not_found", "You have no such passkey.");
      await flushAudit(c.env, user.orgId);
      return c.body(null, 204);
    },
  );
