/**
 * Unlocking the key bundle on this device: by passphrase (Argon2id in a Worker, with progress;
 * a version 1 bundle is re-sealed as version 2 at once) or by passkey (the WebAuthn PRF output
 * opens that passkey's envelope), never from a bundle older than one this device has seen for
 * the user (docs/evidence-format.md §3.1.3).
 */
import type { MyKeys } from "../../../shared/api/schemas";
import { FormatError, KeyUnwrapError } from "../../../shared/crypto/errors";
import {
  bundleSeal,
  importUserKeys,
  KEY_BUNDLE_VERSION,
  openKeyBundleJwks,
  openPasskeyBundleJwks,
  sealKeyBundle,
  type Argon2Derive,
  type UserPrivateKeys,
} from "../../../shared/crypto/keys";
import { api, ApiError } from "../api/client";
import { beginKeyWork, derive, endKeyWork, KeyDerivationError, keyWorkStep } from "./kdf";
import { extractPrfOutput, prfExtension } from "./passkey-secret";
import { wrongPassphrase } from "./passphrase";
import { rememberBundleVersion, saveDeviceKeys, seenBundleVersion, type DeviceKeys } from "./store";

export const STORAGE_FAILED =
  "This browser can't keep your keys on this device (its storage is unavailable, for example in some private windows). Use a normal browser window and try again.";

export const DOWNGRADE_REFUSED =
  "Refused: the server offered your keys sealed the older, weaker way (PBKDF2), but this device has already seen them sealed with Argon2id. Someone may be trying to make your passphrase easier to crack. Don't type your key passphrase here; tell your administrator.";

export const STEP_DERIVE = "Deriving the key from your passphrase (Argon2id, 64 MiB)…";
export const STEP_OPEN = "Opening your keys…";
export const STEP_RESEAL = "Re-sealing your keys with Argon2id…";
export const STEP_SAVE = "Keeping your keys on this device…";
export const STEP_SEAL = "Sealing your keys with Argon2id (64 MiB)…";

/** Argon2id in the Worker (kdf.ts), its failure as the forms show errors. */
export const deriveKey: Argon2Derive = (password, salt, params) =>
  derive(password, salt, params).catch((error: unknown) => {
    throw error instanceof KeyDerivationError ? new ApiError(0, "kdf_failed", error.message) : error;
  });

/** The bundle's version (1 or 2), or 0 when it cannot be read. */
export function bundleVersion(jwe: string): number {
  try {
    return bundleSeal(jwe).version;
  } catch {
    return 0;
  }
}

/** Throws when the bundle is older than one this device has seen for the user; remembers a newer one. */
export async function refuseDowngrade(userId: string, registered: MyKeys): Promise<void> {
  const version = bundleVersion(registered.bundle);
  const seen = await seenBundleVersion(userId).catch(() => 0);
  // An unreadable bundle (0) is not a downgrade: opening it says it cannot be read.
  if (version !== 0 && version < seen) throw new ApiError(0, "bundle_downgrade", DOWNGRADE_REFUSED);
  if (version > seen) await rememberBundleVersion(userId, version).catch(() => undefined);
}

async function keep(userId: string, registered: MyKeys, jwks: UserPrivateKeys): Promise<DeviceKeys> {
  const unlocked = await importUserKeys(jwks);
  if (unlocked.signing.kid !== registered.signing.kid || unlocked.encryption.kid !== registered.encryption.kid) {
    throw new ApiError(0, "bundle_mismatch", "Your key bundle doesn't hold your registered keys. Tell your administrator.");
  }
  keyWorkStep(STEP_SAVE);
  try {
    return await saveDeviceKeys(userId, unlocked);
  } catch {
    throw new ApiError(0, "storage_failed", STORAGE_FAILED);
  }
}

/**
 * Opens the passphrase bundle and keeps the keys on this device. A version 1 bundle is re-sealed
 * as version 2 under the same passphrase and stored (best effort: if the server refuses, for
 * example because the sign-in is not recent, it is re-sealed at a later unlock). Answers the
 * keys and whether the bundle was re-sealed.
 */
export async function unlockWithPassphrase(userId: string, registered: MyKeys, passphrase: string): Promise<{ keys: DeviceKeys; resealed: boolean }> {
  await refuseDowngrade(userId, registered);
  const legacy = bundleVersion(registered.bundle) === 1;
  beginKeyWork(legacy ? [STEP_OPEN, STEP_SEAL, STEP_SAVE] : [STEP_DERIVE, STEP_OPEN, STEP_SAVE]);
  try {
    let jwks: UserPrivateKeys;
    try {
      jwks = await openKeyBundleJwks(registered.bundle, passphrase, deriveKey);
    } catch (error) {
      if (error instanceof KeyUnwrapError) throw wrongPassphrase("passphrase");
      if (error instanceof FormatError) throw new ApiError(0, "bad_bundle", "This app can't read your key bundle. Reload the page; if that doesn't help, tell your administrator.");
      throw error;
    }
    let resealed = false;
    if (legacy) {
      keyWorkStep(STEP_SEAL);
      const bundle = await sealKeyBundle(jwks, passphrase, deriveKey);
      try {
        await api.replaceBundle({ bundle, reason: "reseal" });
        await rememberBundleVersion(userId, KEY_BUNDLE_VERSION).catch(() => undefined);
        resealed = true;
      } catch {
        // Kept as it was on the server: the next unlock tries again.
      }
    } else {
      keyWorkStep(STEP_OPEN);
    }
    return { keys: await keep(userId, registered, jwks), resealed };
  } finally {
    endKeyWork();
  }
}

/** Opens the envelope of `credentialId` with its PRF output and keeps the keys; undefined when there is no envelope for it. */
export async function unlockWithPasskeySecret(userId: string, registered: MyKeys, credentialId: string, prf: Uint8Array): Promise<DeviceKeys | undefined> {
  const envelope = registered.passkeyBundles.find((b) => b.passkeyId === credentialId);
  if (!envelope) return undefined;
  beginKeyWork([STEP_OPEN, STEP_SAVE]);
  try {
    let jwks: UserPrivateKeys;
    try {
      jwks = await openPasskeyBundleJwks(envelope.bundle, prf);
    } catch {
      throw new ApiError(0, "passkey_envelope", "This passkey couldn't open your keys (its envelope is damaged or out of date). Unlock with your key passphrase, then turn passkey unlock on again in Security.");
    }
    return await keep(userId, registered, jwks);
  } finally {
    prf.fill(0);
    endKeyWork();
  }
}

/**
 * Asks for one of the passkeys with passkey unlock on (a local WebAuthn request: nothing is sent
 * to the server) and answers its id and PRF output.
 */
export async function passkeyPrompt(registered: MyKeys): Promise<{ credentialId: string; prf: Uint8Array }> {
  const fromB64u = (text: string) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  let credential: PublicKeyCredential | null;
  try {
    credential = (await navigator.credentials.get({
      publicKey: {
        challenge: crypto.getRandomValues(new Uint8Array(32)),
        rpId: location.hostname,
        allowCredentials: registered.passkeyBundles.map((b) => ({ id: fromB64u(b.passkeyId), type: "public-key" as const })),
        userVerification: "required",
        extensions: (await prfExtension()) as AuthenticationExtensionsClientInputs,
      },
    })) as PublicKeyCredential | null;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === "NotAllowedError" || name === "AbortError") {
      throw new ApiError(0, "passkey_cancelled", "The passkey prompt was closed or timed out. Try again, or use your key passphrase.");
    }
    throw new ApiError(0, "passkey_unavailable", "This device could not use a passkey. Use your key passphrase.");
  }
  if (!credential) throw new ApiError(0, "passkey_cancelled", "No passkey was used. Try again, or use your key passphrase.");
  const prf = extractPrfOutput(credential.getClientExtensionResults() as Record<string, unknown>);
  if (!prf) throw new ApiError(0, "no_prf", "This passkey can't unlock keys: its authenticator doesn't support the PRF extension. Use your key passphrase.");
  return { credentialId: credential.id, prf };
}
