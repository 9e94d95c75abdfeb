/** Messages between the page and the encryption worker (encrypt.worker.ts). */
import type { JWK } from "jose";

export interface EncryptJob {
  type: "encrypt";
  file: File;
  /** A fresh AES-256-GCM file key; extractable only so the worker can wrap it to the case key. */
  fileKey: CryptoKey;
  /** The user's ECDSA P-521 signing key: non-extractable, and it stays so across postMessage. */
  signer: { kid: string; privateKey: CryptoKey };
  evidenceId: string;
  caseId: string;
  uploaderId: string;
  caseKeyJwk: JWK;
  caseKid: string;
  metadata: { fileName: string; mediaType: string; capturedAt?: string; device?: Record<string, string | number | boolean | null> };
}

export type EncryptEvent =
  | { type: "progress"; evidenceId: string; encryptedBytes: number }
  | { type: "done"; evidenceId: string; manifest: string; fileKeyJwe: string; caseKid: string; partCount: number }
  | { type: "error"; evidenceId: string; message: string };
