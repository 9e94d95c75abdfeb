/** Second factors: TOTP, one-time recovery codes and passkeys, checked the same way everywhere. */
import type { Context } from "hono";
import type { MfaVerifyRequest } from "../../../shared/api/identity";
import {
  findPasskey,
  getTotp,
  passkeyUsed,
  saveChallenge,
  takeChallenge,
  useRecoveryCode,
  useTotpStepStatement,
  type ChallengePurpose,
  type PasskeyRow,
} from "../db/identity";
import type { AppEnv } from "../env";
import { newId, tokenHash } from "./secrets";
import { base32Encode, verifyTotp } from "./totp";
import { authenticationOptions, CHALLENGE_LIFETIME_MS, verifyAuthentication } from "./webauthn";

export const RECOVERY_CODE_COUNT = 10;

/** A recovery code as typed: case, spaces and dashes do not matter. */
export function normaliseRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, "");
}

/** Ten fresh codes of 80 random bits each (16 base32 characters, grouped by four), and their hashes. */
export async function newRecoveryCodes(): Promise<{ codes: string[]; hashes: string[] }> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () =>
    base32Encode(crypto.getRandomValues(new Uint8Array(10))).match(/.{4}/g)!.join("-"),
  );
  const hashes = await Promise.all(codes.map((code) => tokenHash(normaliseRecoveryCode(code))));
  return { codes, hashes };
}

/** Checks a TOTP code for `userId` and uses up its time step. True only the first time a code is accepted. */
export async function checkTotp(db: D1Database, userId: string, code: string, options: { confirming?: boolean } = {}): Promise<boolean> {
  const totp = await getTotp(db, userId);
  if (!totp || (totp.confirmed_at === null) !== Boolean(options.confirming)) return false;
  const now = Date.now();
  const step = await verifyTotp(totp.secret, code, { nowMs: now, lastStep: totp.last_step });
  if (step === null) return false;
  const result = await useTotpStepStatement(db, userId, step, options.confirming ? new Date(now).toISOString() : null).run();
  return result.meta.changes === 1;
}

/** Stores a new WebAuthn challenge for `purpose`; returns its id. */
export async function newChallenge(
  c: Context<AppEnv>,
  input: { challenge: string; purpose: ChallengePurpose; userId: string | null; sessionHash: string | null },
): Promise<string> {
  const id = newId();
  const now = Date.now();
  await saveChallenge(
    c.env.DB,
    {
      id,
      challenge: input.challenge,
      purpose: input.purpose,
      user_id: input.userId,
      session_hash: input.sessionHash,
      expires_at: new Date(now + CHALLENGE_LIFETIME_MS).toISOString(),
    },
    new Date(now).toISOString(),
  );
  return id;
}

/** Authentication options for `purpose`, bound to `userId` and the session when there is one. */
export async function passkeyAssertionOptions(
  c: Context<AppEnv>,
  input: { purpose: Exclude<ChallengePurpose, "register">; userId: string | null; sessionHash: string | null; allow: PasskeyRow[] | null },
) {
  const options = await authenticationOptions(c.req.url, input.allow);
  const challengeId = await newChallenge(c, { challenge: options.challenge, purpose: input.purpose, userId: input.userId, sessionHash: input.sessionHash });
  return { challengeId, options: options as unknown as Record<string, unknown> };
}

/**
 * Verifies a passkey assertion against a challenge issued for `purpose` (and, unless passwordless,
 * to this user in this session). The challenge is used up whatever the outcome. Returns the
 * passkey that signed, or null.
 */
export async function checkPasskeyAssertion(
  c: Context<AppEnv>,
  input: { challengeId: string; credential: unknown; purpose: Exclude<ChallengePurpose, "register">; userId: string | null; sessionHash: string | null },
): Promise<PasskeyRow | null> {
  const now = new Date();
  const challenge = await takeChallenge(c.env.DB, input.challengeId, now.toISOString());
  if (!challenge || challenge.purpose !== input.purpose) return null;
  if (challenge.user_id !== input.userId || challenge.session_hash !== input.sessionHash) return null;
  const credentialId = (input.credential as { id?: unknown }).id;
  if (typeof credentialId !== "string") return null;
  const passkey = await findPasskey(c.env.DB, credentialId);
  if (!passkey || (input.userId !== null && passkey.user_id !== input.userId)) return null;
  const counter = await verifyAuthentication(c.req.url, input.credential, challenge.challenge, passkey);
  if (counter === null) return null;
  // A signature counter that fails to increase (when the authenticator keeps one) suggests a cloned key.
  if (passkey.counter > 0 && counter <= passkey.counter) return null;
  await passkeyUsed(c.env.DB, passkey.id, counter, now.toISOString());
  return passkey;
}

/** Checks a second factor for a user who has given their password. Returns the method used, or null. */
export async function checkSecondFactor(
  c: Context<AppEnv>,
  userId: string,
  body: MfaVerifyRequest,
): Promise<"totp" | "recovery_code" | "passkey" | null> {
  switch (body.method) {
    case "totp":
      return (await checkTotp(c.env.DB, userId, body.code)) ? "totp" : null;
    case "recovery_code": {
      const hash = await tokenHash(normaliseRecoveryCode(body.code));
      return (await useRecoveryCode(c.env.DB, userId, hash, new Date().toISOString())) ? "recovery_code" : null;
    }
    case "passkey": {
      const passkey = await checkPasskeyAssertion(c, {
        challengeId: body.challengeId,
        credential: body.credential,
        purpose: "second_factor",
        userId,
        sessionHash: c.get("sessionHash"),
      });
      return passkey ? "passkey" : null;
    }
  }
}
