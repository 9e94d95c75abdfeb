/**
 * The app's one IndexedDB database (Dexie), with typed tables. Every `version()` ever
 * shipped stays here in order, so a device on any older schema upgrades step by step:
 * to change the schema, add `db.version(n + 1)` below the last one; never edit an old one.
 */
import { Dexie, type EntityTable } from "dexie";
import type { DerivationOperation, DerivedFrom } from "../../shared/crypto/manifest";

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

/**
 * One file in the upload queue (web/src/upload/queue.ts), keyed by evidence id. Its ciphertext
 * waits in OPFS (`uploads/<evidenceId>.bin`); this row holds what is needed to resume after a
 * reload: the start request (signed manifest, file key wrapped to the case key: nothing secret)
 * and the parts the server has confirmed.
 */
export interface UploadRow {
  evidenceId: string;
  userId: string;
  caseId: string;
  /** Shown only on this device; the server gets the name encrypted. */
  fileName: string;
  mediaType: string;
  /** Plaintext bytes. */
  byteSize: number;
  partCount: number;
  /** encrypting → uploading → done; failed keeps its message until the user cancels or retries. */
  state: "encrypting" | "uploading" | "done" | "failed";
  /** True once the server has the evidence record (POST /api/cases/:id/evidence answered). */
  started: boolean;
  /** Zero-based parts the server has stored. */
  partsDone: number[];
  /** The body of POST /api/cases/:id/evidence, once encryption has finished. */
  request?: { evidenceId: string; manifest: string; fileKey: { caseKid: string; jwe: string }; label: string; thumbnail?: string; details?: string; categoryId?: string };
  /** The retention category chosen at upload (absent: the organisation's default). */
  categoryId?: string;
  /** File name, type and capture time encrypted to the case key (made when the item is queued). */
  label?: string;
  /** The thumbnail of a photo or video, encrypted to the case key (made when the item is queued; docs/evidence-format.md §5.2). */
  thumbnail?: string;
  /** Where the file came from: a camera capture is never kept unencrypted (see PendingFileRow). Absent on rows from before version 4. */
  source?: "camera" | "picked" | "shared";
  error?: string;
  createdAt: string;
}

/** Names of evidence this device has uploaded or opened, so the case list can show them without a key release. */
export interface EvidenceLabelRow {
  evidenceId: string;
  fileName: string;
  mediaType: string;
  /** The edited title, once this device decrypted the item's details (not indexed: no schema change). */
  title?: string;
}

/**
 * A picked file waiting to be encrypted, keyed by evidence id (its `uploads` row is in state
 * "encrypting"): kept so that a reload or a closed page resumes the encryption without asking
 * for the file again. It is the plaintext, so it lives here only until its ciphertext is fully
 * staged in OPFS, and is deleted in the same transaction that marks the row "uploading".
 * Camera captures are never kept here (docs/offline.md, "Plaintext on the device").
 */
export interface PendingFileRow {
  evidenceId: string;
  userId: string;
  /** The File itself (IndexedDB stores a copy of its bytes). */
  file: File;
  /** The case's current public key and its id: the file key is wrapped to it. */
  caseKeyJwk: JsonWebKey;
  caseKid: string;
  /** "captures": the file goes to the user's holding place ("My captures"), its manifest signed with that scope; caseKeyJwk is then the user's own encryption key. */
  scope?: "captures";
  /** The metadata to encrypt with the file (name, type, capture time, device). */
  metadata: { fileName: string; mediaType: string; capturedAt?: string; device?: Record<string, string | number | boolean | null> };
  /** A derived item (a clip made in the player): its original and the operations, signed into the manifest. */
  derivedFrom?: DerivedFrom;
}

/**
 * The last answer of a GET the app reads offline (cases, a case, its evidence list, its keys'
 * wraps, signers' public keys, an evidence item), keyed by user and path. Shown, marked as
 * saved at `savedAt`, when the server cannot be reached. Nothing here is secret beyond what the
 * server itself holds: case metadata in the clear, wrapped keys, signed manifests.
 */
export interface ApiCacheRow {
  /** `<userId> <path>`, or `session` for the last signed-in session of this device. */
  key: string;
  userId: string;
  savedAt: string;
  body: unknown;
}

/**
 * An evidence item kept offline ("Keep offline" on its page), keyed by evidence id. Its
 * ciphertext is in OPFS (`offline/<evidenceId>.bin`); this row has what opening it needs besides
 * the device's own private key: the item (signed manifest), the key release (the file key
 * wrapped to the case key, and the case key wrapped to this user: both useless without this
 * device's non-extractable key) and the signer's public key.
 */
export interface KeptOfflineRow {
  evidenceId: string;
  userId: string;
  caseId: string;
  /** EvidenceSummary as the server gave it. */
  item: unknown;
  /** FileKeyRelease as the server gave it (a recorded view). */
  release: unknown;
  /** SignerKey of the manifest's signer. */
  signer: unknown;
  fileName: string;
  /** Ciphertext bytes in OPFS. */
  bytes: number;
  savedAt: string;
}

/** Something done on this device while offline that the audit trail must hear of (sent once back online, then deleted). */
export interface OfflineEventRow {
  /** 32 hex, made on the device: the server records each id once. */
  id: string;
  userId: string;
  action: "evidence.view" | "evidence.download" | "evidence.export";
  evidenceId: string;
  /** ISO 8601 device time of the action. */
  at: string;
  details: Record<string, string | number | boolean>;
}

/**
 * A file shared to Custody from another app (Web Share Target), waiting for the user to choose
 * its case. Kept only until it is added to a case (then it is encrypted like a picked file) or
 * dismissed. Written by the service worker.
 */
export interface SharedFileRow {
  id?: number;
  file: File;
  sharedAt: string;
}

/**
 * The newest key bundle version this device has seen for a user, keyed by user id: a device that
 * has seen version 2 (Argon2id) refuses a version 1 (PBKDF2) bundle offered later
 * (docs/evidence-format.md §3.1.3). Only ever raised, and kept when the keys are forgotten.
 */
export interface BundleSeenRow {
  userId: string;
  version: number;
  seenAt: string;
}

/** One file of a submission being sent (SubmissionSendRow). */
export interface SubmissionFileRow {
  fileId: string;
  /** Shown only on this device; the server gets the name encrypted. */
  fileName: string;
  mediaType: string;
  byteSize: number;
  partCount: number;
  /** The AES-256-GCM file key (extractable: it was wrapped once), to encrypt again after a reload cut the encryption short. */
  fileKey: CryptoKey;
  /** The body of the add request (file key and label wrapped to the submission key). */
  fileKeyJwe: string;
  label: string;
  /** encrypting → uploading (ciphertext in OPFS `uploads/<fileId>.bin`, manifest signed) → complete. */
  state: "encrypting" | "uploading" | "complete";
  manifest?: string;
}

/**
 * A submission sent through a link with no account (web/src/submissions/send.ts), keyed by
 * submission id, so a reload or a dropped connection resumes it. It holds the bearer token, the
 * submission's signing key and the file keys: all deleted as soon as the submission is finished,
 * when only the receipt stays (nothing secret), until the submitter dismisses it.
 */
export interface SubmissionSendRow {
  submissionId: string;
  linkId: string;
  organisation: string;
  createdAt: string;
  token?: string;
  /** ECDSA P-521 `sign` key made for this submission. Non-extractable. */
  signer?: CryptoKey;
  signerKid?: string;
  files: SubmissionFileRow[];
  /** Once finished: what the receipt shows. */
  receipt?: { sentAt: string; files: { fileName: string; byteSize: number; sha512: string }[] };
}

/**
 * A video redaction being edited on this device (web/src/redaction/video/), keyed by the
 * original's evidence id, so a reload keeps the regions, audio ranges and trim, and an export cut
 * short by a reload can be made again from them. Positions and times only: nothing of the
 * video's content (the copy being written is in OPFS `redactions/<jobId>`, removed when done).
 */
export interface VideoRedactionRow {
  evidenceId: string;
  userId: string;
  caseId: string;
  /** The edit (VideoEdit): regions (`redact` operations with keys), audio ranges, trim. */
  edit: { regions: Extract<DerivationOperation, { type: "redact" }>[]; audio: Extract<DerivationOperation, { type: "audio" }>[]; trim?: { from: number; to: number } };
  updatedAt: string;
  /**
   * The last export of this edit: "running" while a copy is being written, and still so after a
   * reload cut it short while its checkpoint (OPFS `redactions/<jobId>.ckpt`) can be resumed.
   */
  export?: { jobId: string; state: "running" | "failed"; fraction: number; startedAt: string; error?: string };
}

export type CustodyDb = Dexie & {
  bundleSeen: EntityTable<BundleSeenRow, "userId">;
  deviceKeys: EntityTable<DeviceKeysRow, "userId">;
  transportKeys: EntityTable<TransportKeyRow, "userId">;
  uploads: EntityTable<UploadRow, "evidenceId">;
  evidenceLabels: EntityTable<EvidenceLabelRow, "evidenceId">;
  pendingFiles: EntityTable<PendingFileRow, "evidenceId">;
  apiCache: EntityTable<ApiCacheRow, "key">;
  keptOffline: EntityTable<KeptOfflineRow, "evidenceId">;
  offlineEvents: EntityTable<OfflineEventRow, "id">;
  sharedFiles: EntityTable<SharedFileRow, "id">;
  submissionSends: EntityTable<SubmissionSendRow, "submissionId">;
  videoRedactions: EntityTable<VideoRedactionRow, "evidenceId">;
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

// Version 3: the upload queue and the names of evidence seen on this device.
db.version(3).stores({
  deviceKeys: "userId",
  transportKeys: "userId",
  uploads: "evidenceId, userId, caseId",
  evidenceLabels: "evidenceId",
});

// Version 4: picked files kept until their ciphertext is staged, so encryption resumes after a reload.
db.version(4).stores({
  deviceKeys: "userId",
  transportKeys: "userId",
  uploads: "evidenceId, userId, caseId",
  evidenceLabels: "evidenceId",
  pendingFiles: "evidenceId, userId",
});

// Version 5: offline use: saved API answers, evidence kept offline, views recorded offline, files shared to the app.
db.version(5).stores({
  deviceKeys: "userId",
  transportKeys: "userId",
  uploads: "evidenceId, userId, caseId",
  evidenceLabels: "evidenceId",
  pendingFiles: "evidenceId, userId",
  apiCache: "key, userId",
  keptOffline: "evidenceId, userId, caseId",
  offlineEvents: "id, userId",
  sharedFiles: "++id",
});

// Version 6: the newest key bundle version seen per user, so an older one offered later is refused.
db.version(6).stores({
  deviceKeys: "userId",
  transportKeys: "userId",
  uploads: "evidenceId, userId, caseId",
  evidenceLabels: "evidenceId",
  pendingFiles: "evidenceId, userId",
  apiCache: "key, userId",
  keptOffline: "evidenceId, userId, caseId",
  offlineEvents: "id, userId",
  sharedFiles: "++id",
  bundleSeen: "userId",
});

// Version 7: submissions sent through a link with no account, so they resume after a reload.
db.version(7).stores({
  deviceKeys: "userId",
  transportKeys: "userId",
  uploads: "evidenceId, userId, caseId",
  evidenceLabels: "evidenceId",
  pendingFiles: "evidenceId, userId",
  apiCache: "key, userId",
  keptOffline: "evidenceId, userId, caseId",
  offlineEvents: "id, userId",
  sharedFiles: "++id",
  bundleSeen: "userId",
  submissionSends: "submissionId, linkId",
});

// Version 8: video redaction edits, kept across a reload (web/src/redaction/video/).
db.version(8).stores({
  deviceKeys: "userId",
  transportKeys: "userId",
  uploads: "evidenceId, userId, caseId",
  evidenceLabels: "evidenceId",
  pendingFiles: "evidenceId, userId",
  apiCache: "key, userId",
  keptOffline: "evidenceId, userId, caseId",
  offlineEvents: "id, userId",
  sharedFiles: "++id",
  bundleSeen: "userId",
  submissionSends: "submissionId, linkId",
  videoRedactions: "evidenceId, userId",
});
