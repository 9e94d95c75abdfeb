/**
 * The key store on this device: each user's private signing and encryption keys as
 * non-extractable CryptoKeys in IndexedDB (web/src/db.ts). They stay across sign-outs, so
 * the same user on the same device goes straight in; "Forget keys on this device" removes them.
 */
import type { PublicJwk } from "../../../shared/api/schemas";
import { keyId, type UnlockedKey } from "../../../shared/crypto/keys";
import { db, type DeviceKeysRow, type TransportKeyRow } from "../db";

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

// ---- key recovery: the one-time transport key ---------------------------------------

export type TransportKey = TransportKeyRow;

/** This device's transport key for `userId`'s open recovery request, or undefined. */
export function loadTransportKey(userId: string): Promise<TransportKey | undefined> {
  return db.transportKeys.get(userId);
}

/**
 * A new one-time ECDH P-521 transport key pair for a recovery request. The private half is
 * non-extractable (generated so: it is only ever used to open the transfer on this device);
 * the public half is returned as a JWK with its RFC 7638 kid, to send to the server.
 */
export async function newTransportKeyPair(): Promise<{ privateKey: CryptoKey; publicJwk: PublicJwk }> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-521" }, false, ["deriveBits"])) as CryptoKeyPair;
  const full = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const base = { kty: "EC" as const, crv: "P-521" as const, x: full.x!, y: full.y! };
  return { privateKey: pair.privateKey, publicJwk: { ...base, kid: await keyId(base), alg: "ECDH-ES+A256KW", use: "enc" } };
}

/** Keeps the transport private key for `userId`'s request. Refuses an extractable key. */
export async function saveTransportKey(userId: string, requestId: string, transportKid: string, privateKey: CryptoKey): Promise<void> {
  if (privateKey.extractable || privateKey.type !== "private") throw new Error("Only non-extractable private keys are kept on the device.");
  await db.transportKeys.put({ userId, requestId, transportKid, privateKey, createdAt: new Date().toISOString() });
}

/** Removes `userId`'s transport key (request completed or cancelled). */
export async function forgetTransportKey(userId: string): Promise<void> {
  await db.transportKeys.delete(userId);
}

// ---- no downgrade: the newest key bundle version seen for each user ----------------------

/** The newest bundle version this device has seen for `userId` (0 when none). */
export async function seenBundleVersion(userId: string): Promise<number> {
  return (await db.bundleSeen.get(userId))?.version ?? 0;
}

/** Records that `userId`'s bundle was seen at `version`; never lowers what was recorded. */
export async function rememberBundleVersion(userId: string, version: number): Promise<void> {
  await db.transaction("rw", db.bundleSeen, async () => {
    const seen = await db.bundleSeen.get(userId);
    if (!seen || seen.version < version) await db.bundleSeen.put({ userId, version, seenAt: new Date().toISOString() });
  });
}
