/**
 * Turning passkey unlock on and off for one passkey (Security): on = the key bundle opened with
 * the key passphrase (Argon2id in a Worker), the passkey asked for its PRF output in the same
 * gesture that confirms it's you, and the keys sealed under it stored as that passkey's envelope.
 */
import { KeyUnwrapError } from "../../../shared/crypto/errors";
import { openKeyBundleJwks, sealPasskeyBundle } from "../../../shared/crypto/keys";
import { api, ApiError } from "../api/client";
import { identity } from "../identity/api";
import { beginKeyWork, endKeyWork, keyWorkStep } from "./kdf";
import { wrongPassphrase } from "./passphrase";
import { deriveKey, refuseDowngrade, STEP_DERIVE } from "./unlock";

const STEP_PASSKEY = "Waiting for your passkey…";
const STEP_STORE = "Sealing your keys for this passkey…";

export const NO_PRF =
  "This passkey can't unlock your keys: its authenticator doesn't support the PRF extension. Keep using your key passphrase, or add a passkey on a device that supports it.";

/** The passkeys (ids) that have passkey unlock on. */
export async function passkeysThatUnlock(): Promise<Set<string>> {
  try {
    return new Set((await api.myKeys()).passkeyBundles.map((b) => b.passkeyId));
  } catch (error) {
    if (error instanceof ApiError && error.code === "no_keys") return new Set();
    throw error;
  }
}

export async function turnOnPasskeyUnlock(userId: string, passkeyId: string, passphrase: string): Promise<void> {
  const registered = await api.myKeys();
  await refuseDowngrade(userId, registered);
  beginKeyWork([STEP_DERIVE, STEP_PASSKEY, STEP_STORE]);
  try {
    let jwks;
    try {
      jwks = await openKeyBundleJwks(registered.bundle, passphrase, deriveKey);
    } catch (error) {
      if (error instanceof KeyUnwrapError) throw wrongPassphrase("passphrase");
      throw error;
    }
    keyWorkStep(STEP_PASSKEY);
    const prf = await identity.reauthWithPasskeyPrf(passkeyId);
    if (!prf) throw new ApiError(0, "no_prf", NO_PRF);
    keyWorkStep(STEP_STORE);
    try {
      await api.putPasskeyBundle(passkeyId, await sealPasskeyBundle(jwks, prf, passkeyId));
    } finally {
      prf.fill(0);
    }
  } finally {
    endKeyWork();
  }
}

export async function turnOffPasskeyUnlock(passkeyId: string): Promise<void> {
  await api.deletePasskeyBundle(passkeyId);
}
