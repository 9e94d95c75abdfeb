/** Messages between the page and the key derivation worker (kdf.worker.ts). */
import type { Argon2Params } from "../../../shared/crypto/keys";

export interface KdfRequest {
  /** The NFC passphrase's UTF-8 bytes (transferred: the page keeps no copy). */
  password: Uint8Array<ArrayBuffer>;
  salt: Uint8Array<ArrayBuffer>;
  params: Argon2Params;
}

export type KdfAnswer = { key: Uint8Array<ArrayBuffer> } | { error: string };
