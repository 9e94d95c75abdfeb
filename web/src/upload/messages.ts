import type { DerivedFrom } from "../../../shared/crypto/manifest";
/** Messages between the page and the encryption worker (encrypt.worker.ts). */

export interface EncryptJob {
  type: "encrypt";
  file: File;
  /** A fresh AES-256-GCM file key. */
  fileKey: CryptoKey;
  /** The file key wrapped to the case key (done on the page, so the upload can start before the file is encrypted). */
  fileKeyJwe: string;
  /** The user's ECDSA P-521 signing key: non-extractable, and it stays so across postMessage. */
  signer: { kid: string; privateKey: CryptoKey };
  evidenceId: string;
  caseId: string;
  uploaderId: string;
  caseKid: string;
  /** "captures" for a capture to the user's holding place (docs/evidence-format.md §6.2). */
  scope?: "captures";
  metadata: { fileName: string; mediaType: string; capturedAt?: string; device?: Record<string, string | number | boolean | null> };
  /** A derived item (a clip): its original and the operations, signed into the manifest. */
  derivedFrom?: DerivedFrom;
  /**
   * The page sends this file's first part as soon as it is sealed, and says when that send has
   * ended (`FirstPartSent`): until then the pool leaves one core to it (see encrypt.worker.ts).
   */
  sendsFirstPart?: boolean;
}

/** The send of a file's first part has ended (stored, failed or given up): the whole pool may seal again. */
export interface FirstPartSent {
  type: "first-part-sent";
  evidenceId: string;
}

/** What the page posts to the encryption worker. */
export type EncryptRequest = EncryptJob | FirstPartSent;

export type EncryptEvent =
  | { type: "progress"; evidenceId: string; encryptedBytes: number }
  /** Part `index` is sealed and staged in OPFS: its bytes (a copy the page may send at once) and SHA-512. */
  | { type: "part"; evidenceId: string; index: number; sha512: string; bytes: Uint8Array }
  | { type: "done"; evidenceId: string; manifest: string; fileKeyJwe: string; caseKid: string; partCount: number }
  | { type: "error"; evidenceId: string; message: string };
