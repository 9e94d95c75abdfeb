/**
 * The app's one IndexedDB database (Dexie), with typed tables. Every `version()` ever
 * shipped stays here in order, so a device on any older schema upgrades step by step:
 * to change the schema, add `db.version(n + 1)` below the last one; never edit an old one.
 */
import { Dexie, type EntityTable } from "dexie";

/** A user's unlocked private keys on this device, keyed by user id. */
export interface DeviceKeysRow {
  userId: string;
  /** RFC 7638 thumbprints of the public halves, to compare with the server's registered keys. */
  signingKid: string;
  encryptionKid: string;
  /** ECDSA P-521 `sign` key. Non-extractable: IndexedDB keeps the CryptoKey itself, never its bytes. */
  signing: CryptoKey;
  /** ECDH P-521 `deriveBits` key. Non-extractable, as above. */
  encryption: CryptoKey;
  /** ISO 8601 time of the unlock (or creation) on this device. */
  unlockedAt: string;
}

/**
 * A one-time transport key for an open key recovery request, keyed by user id: the
 * administrator re-wraps the user's escrowed encryption key to its public half.
 */
export interface TransportKeyRow {
  userId: string;
  /** The server's id of the recovery request this key belongs to. */
  requestId: string;
  /** RFC 7638 thumbprint of the public half (the server reports it as `transportKid`). */
  transportKid: string;
  /** ECDH P-521 `deriveBits` key. Non-extractable: IndexedDB keeps the CryptoKey itself, never its bytes. */
  privateKey: CryptoKey;
  /** ISO 8601 time the request was made on this device. */
  createdAt: string;
}

export type CustodyDb = Dexie & {
  deviceKeys: EntityTable<DeviceKeysRow, "userId">;
  transportKeys: EntityTable<TransportKeyRow, "userId">;
};

export const db = new Dexie("custody") as CustodyDb;

// Version 1: the device key store. Keep forever; add later versions below.
db.version(1).stores({
  deviceKeys: "userId",
});

// Version 2: transport keys for key recovery requests.
db.version(2).stores({
  deviceKeys: "userId",
  transportKeys: "userId",
});
