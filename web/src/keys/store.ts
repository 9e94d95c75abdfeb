/**
 * The key store on this device: each user's private signing and encryption keys as
 * non-extractable CryptoKeys in IndexedDB (web/src/db.ts). They stay across sign-outs, so
 * the same user on the same device goes straight in; "Forget keys on this device" removes them.
 */
import type { UnlockedKey } from "../../../shared/crypto/keys";
import { db, type DeviceKeysRow } from "../db";

export type DeviceKeys = DeviceKeysRow;

/** This device's keys for `userId`, or undefined if it has none. */
export function loadDeviceKeys(userId: string): Promise<DeviceKeys | undefined> {
  return db.deviceKeys.get(userId);
}

/** Stores unlocked keys for `userId`, replacing any older ones. Refuses extractable private keys. */
export async function saveDeviceKeys(userId: string, keys: { signing: UnlockedKey; encryption: UnlockedKey }): Promise<DeviceKeys> {
  for (const key of [keys.signing, keys.encryption]) {
    // A private key that could be exported must never be persisted in the page's storage.
    if (key.privateKey.extractable || key.privateKey.type !== "private") throw new Error("Only non-extractable private keys are kept on the device.");
  }
  const row: DeviceKeys = {
    userId,
    signingKid: keys.signing.kid,
    encryptionKid: keys.encryption.kid,
    signing: keys.signing.privateKey,
    encryption: keys.encryption.privateKey,
    unlockedAt: new Date().toISOString(),
  };
  await db.deviceKeys.put(row);
  return row;
}

/** Removes `userId`'s keys from this device (they stay in the sealed bundle on the server). */
export async function forgetDeviceKeys(userId: string): Promise<void> {
  await db.deviceKeys.delete(userId);
}

/** True when the device's keys are the ones the server has registered for the user. */
export function matchesRegistered(device: DeviceKeys | undefined, registered: { signing: { kid: string }; encryption: { kid: string } }): device is DeviceKeys {
  return !!device && device.signingKid === registered.signing.kid && device.encryptionKid === registered.encryption.kid;
}
