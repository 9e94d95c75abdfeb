/**
 * Opening evidence on the page's side (ARCHITECTURE.md "Download and viewing"): verify the
 * manifest against the signer's registered key, release the key (the audited view), unwrap the
 * case key and the file key here, then stream the parts into the evidence worker, which
 * decrypts and verifies them into OPFS. Network stays on the page; work on file bytes runs in
 * the worker. A failure says what failed (which part, segment or signature).
 */
import type { JWK } from "jose";
import type { EvidenceSummary, FileKeyRelease } from "../../../shared/api/cases";
import type { SignerKey } from "../../../shared/api/schemas";
import {
  IntegrityError,
  PART_SIZE,
  decryptExpectations,
  decryptMetadata,
  unwrapCaseKey,
  unwrapFileKey,
  unwrapFileKeyBytes,
  verifyManifest,
  type EvidenceMetadata,
  type Manifest,
} from "../../../shared/crypto/index";
import { ApiError, send } from "../api/client";
import { casesApi, evidenceApi } from "../cases/api";
import { db } from "../db";
import type { DeviceKeys } from "../keys/store";
import { fileHandle, folder, readFile, removeFile } from "../upload/opfs";
import type { OpenEvent, OpenJob } from "./messages";

export interface OpenedEvidence {
  manifest: Manifest;
  /** The manifest compact JWS exactly as signed. */
  manifestJws: string;
  signer: SignerKey;
  metadata: EvidenceMetadata;
  /** Non-extractable: for the details JWEs only. */
  fileKey: CryptoKey;
  /** The decrypted, verified file in OPFS. */
  file: File;
  /** The key release it was opened with (kept with an offline copy). */
  release: FileKeyRelease;
}

export type OpenStep = { step: "signature" } | { step: "key" } | { step: "decrypt"; plainBytes: number; totalBytes: number };

/** What went wrong: `integrity` failures name the item that did not verify. */
export class OpenError extends Error {
  constructor(
    readonly integrity: boolean,
    readonly what: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parts the page fetches ahead of the worker's decryption. */
const AHEAD = 2;

export class EvidenceOpener {
  private worker = new Worker(new URL("./open.worker.ts", import.meta.url), { type: "module", name: "evidence" });
  private listener: ((event: OpenEvent) => void) | undefined;

  constructor() {
    this.worker.onmessage = (event: MessageEvent<OpenEvent>) => this.listener?.(event.data);
  }

  dispose(): void {
    this.worker.terminate();
  }

  private post(job: OpenJob, transfer: Transferable[] = []): void {
    this.worker.postMessage(job, transfer);
  }

  /** Opens `item` from the server: the key release is the audited view; parts are downloaded as they are decrypted. */
  async open(item: EvidenceSummary, keys: DeviceKeys, onStep: (step: OpenStep) => void): Promise<OpenedEvidence> {
    onStep({ step: "signature" });
    const signer = await casesApi.signer(item.signerKid);
    return this.decrypt(item, signer, keys, onStep, () => evidenceApi.releaseKey(item.id), (n) => fetchPart(item.id, n));
  }

  /**
   * Opens `item` from its offline copy: the ciphertext kept in OPFS, with the key release and
   * signer saved when it was kept. Every check is made as online; the caller records the view.
   */
  async openKept(item: EvidenceSummary, signer: SignerKey, release: FileKeyRelease, ciphertext: File, keys: DeviceKeys, onStep: (step: OpenStep) => void): Promise<OpenedEvidence> {
    onStep({ step: "signature" });
    return this.decrypt(item, signer, keys, onStep, async () => release, async (n) => new Uint8Array(await ciphertext.slice(n * PART_SIZE, (n + 1) * PART_SIZE).arrayBuffer()));
  }

  /**
   * Opens an item shared with this recipient (docs/disclosure.md): the same checks and the same
   * worker as a member's view; `fileKeyOf` releases and unwraps the file key through the share
   * (the audited view), `readPart` downloads ciphertext through it.
   */
  async openShared(
    item: { id: string; manifest: string },
    signer: SignerKey,
    fileKeyOf: () => Promise<CryptoKey>,
    readPart: (n: number) => Promise<Uint8Array>,
    onStep: (step: OpenStep) => void,
  ): Promise<Omit<OpenedEvidence, "release">> {
    onStep({ step: "signature" });
    const manifest = await integrity(() => verifyManifest(item.manifest, signer.publicJwk as JWK));
    if (manifest.evidenceId !== item.id) throw new OpenError(true, "manifest", "The signed manifest names another evidence item.");
    onStep({ step: "key" });
    const fileKey = await fileKeyOf();
    const metadata = await integrity(() => decryptMetadata(manifest.metadata, fileKey));
    const file = await this.decryptInto(item.id, manifest, fileKey, onStep, readPart);
    return { manifest, manifestJws: item.manifest, signer, metadata, fileKey, file };
  }

  private async decrypt(
    item: EvidenceSummary,
    signer: SignerKey,
    keys: DeviceKeys,
    onStep: (step: OpenStep) => void,
    releaseKey: () => Promise<FileKeyRelease>,
    readPart: (n: number) => Promise<Uint8Array>,
  ): Promise<OpenedEvidence> {
    const manifest = await integrity(() => verifyManifest(item.manifest, signer.publicJwk as JWK));
    if (manifest.evidenceId !== item.id || manifest.caseId !== item.caseId) throw new OpenError(true, "manifest", "The signed manifest names another evidence item or case.");

    onStep({ step: "key" });
    const release = await releaseKey();
    const caseKey = await unwrapCaseKey(release.caseKeyWrap, keys.encryption);
    const fileKey = await unwrapFileKey(release.fileKey, caseKey.privateKey);
    const metadata = await integrity(() => decryptMetadata(manifest.metadata, fileKey));
    await db.evidenceLabels.put({ evidenceId: item.id, fileName: metadata.fileName, mediaType: metadata.mediaType });
    const file = await this.decryptInto(item.id, manifest, fileKey, onStep, readPart);
    return { manifest, manifestJws: item.manifest, signer, metadata, fileKey, file, release };
  }

  /** Streams the parts through the evidence worker into OPFS (`views/<id>`), verified; returns the file. */
  private async decryptInto(
    evidenceId: string,
    manifest: Manifest,
    fileKey: CryptoKey,
    onStep: (step: OpenStep) => void,
    readPart: (n: number) => Promise<Uint8Array>,
  ): Promise<File> {
    const item = { id: evidenceId };
    await sweepOnce();
    onStep({ step: "decrypt", plainBytes: 0, totalBytes: manifest.byteSize });
    const outcome = new Promise<void>((resolve, reject) => {
      this.listener = (event) => {
        if (event.type === "progress") onStep({ step: "decrypt", plainBytes: event.plainBytes, totalBytes: manifest.byteSize });
        else if (event.type === "ack") acked++;
        else if (event.type === "verified") resolve();
        else if (event.type === "failed") reject(new OpenError(event.integrity, event.what, event.message));
        wake?.();
      };
    });
    let acked = 0;
    let failed = false;
    let wake: (() => void) | undefined;
    outcome.catch(() => (failed = true));
    this.post({ type: "decrypt", evidenceId: item.id, fileKey, expect: decryptExpectations(manifest) });
    for (let n = 0; n < manifest.parts.length && !failed; n++) {
      // Bounded look-ahead: memory holds a few parts whatever the file's size.
      while (n - acked >= AHEAD && !failed) await new Promise<void>((resolve) => (wake = resolve));
      if (failed) break;
      const bytes = await readPart(n);
      this.post({ type: "part", bytes }, [bytes.buffer]);
    }
    if (!failed) this.post({ type: "end" });
    await outcome;
    const file = await readFile("views", item.id);
    if (!file || file.size !== manifest.byteSize) throw new OpenError(false, "storage", "The decrypted file could not be read back from this device's storage.");
    return file;
  }

  /**
   * Builds the court package from the verified file into OPFS and returns it: with the signer's
   * key register entries, the item's own file key (so metadata.json is proven) and its RFC 3161
   * timestamp when it has one (docs/evidence-format.md §8, §9).
   */
  async exportPackage(opened: OpenedEvidence, evidenceId: string, keys: DeviceKeys): Promise<File> {
    // The signer's key-register entries with their audit proofs (docs/audit.md §9): who signed, and since when.
    const register = await fetch(`/api/audit/signers/${encodeURIComponent(opened.signer.kid)}`, { credentials: "same-origin" });
    if (!register.ok) throw new OpenError(false, "court package", "The signer's key register could not be fetched. Try again when online.");
    const signerRegister = await register.text();
    // The trusted timestamp, once the TSA has given it (a package made before says "none").
    const stamp = await evidenceApi.timestamp(evidenceId).catch(() => null);
    const timestamp = stamp?.state === "stamped" ? { token: Uint8Array.from(atob(stamp.token), (c) => c.charCodeAt(0)), caPem: stamp.caPem } : undefined;
    const caseKey = await unwrapCaseKey(opened.release.caseKeyWrap, keys.encryption);
    const fileKey = await unwrapFileKeyBytes(opened.release.fileKey, caseKey.privateKey);
    return this.buildPackage(opened, evidenceId, { signerRegister, fileKey, ...(timestamp ? { timestamp } : {}) });
  }

  /**
   * The court package of an item opened through a share (level export): the same package, with
   * the signer register, timestamp and file key bytes the share gave (docs/disclosure.md §2).
   */
  exportSharedPackage(opened: Omit<OpenedEvidence, "release">, evidenceId: string, parts: { signerRegister: string; fileKey: Uint8Array; timestamp?: { token: Uint8Array; caPem: string | null } }): Promise<File> {
    return this.buildPackage(opened, evidenceId, parts);
  }

  private async buildPackage(
    opened: Omit<OpenedEvidence, "release">,
    evidenceId: string,
    parts: { signerRegister: string; fileKey: Uint8Array; timestamp?: { token: Uint8Array; caPem: string | null } },
  ): Promise<File> {
    const { signerRegister, fileKey, timestamp } = parts;
    const done = new Promise<void>((resolve, reject) => {
      this.listener = (event) => {
        if (event.type === "exported") resolve();
        else if (event.type === "failed") reject(new OpenError(event.integrity, event.what, event.message));
      };
    });
    this.post(
      { type: "export", evidenceId, manifestJws: opened.manifestJws, signerPublicJwk: opened.signer.publicJwk as JWK, signerRegister, metadata: opened.metadata, fileKey, ...(timestamp ? { timestamp } : {}) },
      [fileKey.buffer],
    );
    await done;
    return (await fileHandle("views", `${evidenceId}.zip`)).getFile();
  }
}

async function integrity<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof IntegrityError) throw new OpenError(true, error.what, error.message);
    throw error;
  }
}

/** Downloads ciphertext part `n` of `evidenceId`, retrying network errors and 5xx a few times. */
export async function fetchPart(evidenceId: string, n: number): Promise<Uint8Array<ArrayBuffer>> {
  let delay = 1000;
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await send(`/api/evidence/${evidenceId}/parts/${n}`, { headers: { Accept: "application/octet-stream" } });
      if (response.ok) return new Uint8Array(await response.arrayBuffer());
      if (response.status < 500 || attempt >= 3) throw new ApiError(response.status, "part_download", `Couldn't download part ${n} (HTTP ${response.status}). Try opening it again.`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 0) || attempt >= 3) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay *= 2;
  }
}

let swept = false;

/** Once per page life: deletes decrypted copies a closed page left behind (plaintext does not linger on the device). */
async function sweepOnce(): Promise<void> {
  if (swept) return;
  swept = true;
  const views = await folder("views");
  const names: string[] = [];
  for await (const name of (views as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> }).keys()) names.push(name);
  for (const name of names) await removeFile("views", name);
}

/** Deletes decrypted copies and packages of this item from the device. */
export async function forgetOpened(evidenceId: string): Promise<void> {
  await removeFile("views", evidenceId);
  await removeFile("views", `${evidenceId}.zip`);
}
