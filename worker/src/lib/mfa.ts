/** Second factors: TOTP, one-time recovery codes and passkeys, checked the same way everywhere. */
import type { Context } from "hono";
import type { MfaVerifyRequest } from "../../../shared/api/identity";
import {
  challengeDelete,
  findChallenge,
  findPasskey,
  getTotp,
  passkeyUsedAfterChange,
  resealTotpStatement,
  totpSecretsToSeal,
  recoveryCodeUsable,
  recoveryCodeUse,
  saveChallenge,
  useTotpStepStatement,
  type ChallengePurpose,
  type PasskeyRow,
} from "../db/identity";
import type { AppEnv } from "../env";
import { dataKeys, open, seal, type DataKeys } from "./data-key";
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

/** Where a user's TOTP seed is sealed: the envelope opens only in this row. */
const totpPlace = (userId: string) => `totp_credentials.secret/${userId}`;

/** A new TOTP seed (base32) sealed for `userId`'s row under the current data key. */
export async function sealTotpSecret(env: Env, userId: string, secret: string): Promise<{ secret: string; keyId: string }> {
  const keys = await dataKeys(env);
  return { secret: await seal(keys, totpPlace(userId), secret), keyId: keys.current.id };
}

/** How many rows one sweep seals at most (a deployment's users, in batches of this size). */
const SWEEP_BATCH = 100;
const SWEEP_MAX_BATCHES = 50;

/**
 * Seals every TOTP seed not sealed under the current data key: seeds stored as they were before
 * migration 0012 (format 0), and seeds sealed under `DATA_KEY_PREVIOUS` after a rotation. Run at
 * every password sign-in (one indexed query when nothing is left) and at a plain row's own use, so
 * the first sign-in after an upgrade seals the rows of people who never sign in too. Each row is
 * replaced only if unchanged since it was read, so concurrent sweeps do not conflict.
 */
export async function sealLeftoverTotpSecrets(env: Env, keys?: DataKeys): Promise<number> {
  keys ??= await dataKeys(env);
  let sealed = 0;
  for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch++) {
    const rows = await totpSecretsToSeal(env.DB, keys.current.id, SWEEP_BATCH);
    if (rows.length === 0) break;
    const statements: D1PreparedStatement[] = [];
    for (const row of rows) {
      let plain: string;
      try {
        plain = row.secret_format === 0 ? row.secret : await open(keys, totpPlace(row.user_id), row.secret);
      } catch (err) {
        // Sealed under a key this deployment no longer holds: it cannot be re-sealed, and stays as it is.
        console.error(`The TOTP seed of user ${row.user_id} could not be opened to re-seal it: ${(err as Error).message}`);
        continue;
      }
      statements.push(resealTotpStatement(env.DB, row.user_id, row.secret, { secret: await seal(keys, totpPlace(row.user_id), plain), keyId: keys.current.id }));
    }
    if (statements.length === 0) break;
    await env.DB.batch(statements);
    sealed += statements.length;
    if (rows.length < SWEEP_BATCH) break;
  }
  return sealed;
}

/** `sealLeftoverTotpSecrets` for a path that must not fail because of it (sign-in): a failure is logged, not thrown. */
export async function trySealLeftoverTotpSecrets(env: Env): Promise<void> {
  try {
    await sealLeftoverTotpSecrets(env);
  } catch (err) {
    console.error("TOTP seeds could not be sealed:", err instanceof Error ? err.message : err);
  }
}

/**
 * Checks a TOTP code for `userId`. Returns the statement that uses up its time step (changing a
 * row only if no request used this step or a later one first), to put first in the batch that
 * records the outcome; or null when the code is not right (or the sealed seed does not open,
 * which is logged).
 */
export async function checkTotp(env: Env, userId: string, code: string, options: { confirming?: boolean } = {}): Promise<D1PreparedStatement | null> {
  const totp = await getTotp(env.DB, userId);
  if (!totp || (totp.confirmed_at === null) !== Boolean(options.confirming)) return null;
  const keys = await dataKeys(env);
  let secret: string;
  if (totp.secret_format === 0) {
    // A seed from before migration 0012: usable as it is, and sealed now, with any others left.
    secret = totp.secret;
    await sealLeftoverTotpSecrets(env, keys);
  } else {
    try {
      secret = await open(keys, totpPlace(userId), totp.secret);
    } catch (err) {
      console.error(`The TOTP seed of user ${userId} could not be opened: ${(err as Error).message}`);
      return null;
    }
  }
  const now = Date.now();
  const step = await verifyTotp(secret, code, { nowMs: now, lastStep: totp.last_step });
  if (step === null) return null;
  return useTotpStepStatement(env.DB, userId, step, options.confirming ? new Date(now).toISOString() : null);
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
 * A second factor checked: `ok` when it verified. `statements` go first in the batch that records
 * the outcome: on success they use the factor up, the last of them changing a row only for the
 * one request that wins (a code or challenge raced for is won once), so the statements after it
 * are made conditional on it; on failure they use up what must not be tried again (a challenge).
 */
export interface FactorCheck<T> {
  ok: T | null;
  statements: D1PreparedStatement[];
}

/**
 * Verifies a passkey assertion against a challenge issued for `purpose` (and, unless passwordless,
 * to this user in this session). The challenge is used up whatever the outcome (in `statements`).
 */
export async function checkPasskeyAssertion(
  c: Context<AppEnv>,
  input: { challengeId: string; credential: unknown; purpose: Exclude<ChallengePurpose, "register">; userId: string | null; sessionHash: string | null },
): Promise<FactorCheck<PasskeyRow>> {
  const now = new Date();
  const failed = { ok: null, statements: [challengeDelete(c.env.DB, input.challengeId)] };
  const challenge = await findChallenge(c.env.DB, input.challengeId, now.toISOString());
  if (!challenge || challenge.purpose !== input.purpose) return failed;
  if (challenge.user_id !== input.userId || challenge.session_hash !== input.sessionHash) return failed;
  const credentialId = (input.credential as { id?: unknown }).id;
  if (typeof credentialId !== "string") return failed;
  const passkey = await findPasskey(c.env.DB, credentialId);
  if (!passkey || (input.userId !== null && passkey.user_id !== input.userId)) return failed;
  const counter = await verifyAuthentication(c.req.url, input.credential, challenge.challenge, passkey);
  if (counter === null) return failed;
  // A signature counter that fails to increase (when the authenticator keeps one) suggests a cloned key.
  if (passkey.counter > 0 && counter <= passkey.counter) return failed;
  return { ok: passkey, statements: [challengeDelete(c.env.DB, input.challengeId), passkeyUsedAfterChange(c.env.DB, passkey.id, counter, now.toISOString())] };
}

/** Checks a second factor for a user who has given their password. `ok` is the method used. */
export async function checkSecondFactor(
  c: Context<AppEnv>,
  userId: string,
  body: MfaVerifyRequest,
): Promise<FactorCheck<"totp" | "recovery_code" | "passkey">> {
  switch (body.method) {
    case "totp": {
      const use = await checkTotp(c.env, userId, body.code);
      return use ? { ok: "totp", statements: [use] } : { ok: null, statements: [] };
    }
    case "recovery_code": {
      const hash = await tokenHash(normaliseRecoveryCode(body.code));
      if (!(await recoveryCodeUsable(c.env.DB, userId, hash))) return { ok: null, statements: [] };
      return { ok: "recovery_code", statements: [recoveryCodeUse(c.env.DB, userId, hash, new Date().toISOString())] };
    }
    case "passkey": {
      const check = await checkPasskeyAssertion(c, {
        challengeId: body.challengeId,
        credential: body.credential,
        purpose: "second_factor",
        userId,
        sessionHash: c.get("sessionHash"),
      });
      return { ok: check.ok ? "passkey" : null, statements: check.statements };
    }
  }
}
