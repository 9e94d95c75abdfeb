/**
 * Opening evidence on the page's side (ARCHITECTURE.md "Download and viewing", "Viewing at
 * speed"): verify the manifest against the signer's registered key, release the key (the audited
 * view), unwrap the case key and the file key here, then start the evidence worker's session.
 * The player reads `/view/<viewId>`, which the service worker (view-sw.ts) answers by asking this
 * page, which hands the request to the worker; the worker downloads a member's ciphertext parts
 * itself as it needs them (or asks the page: kept copies, shares, submitted files) and checks
 * each before releasing a byte of it, while it verifies the whole file in the background. A failure
 * says what failed (which part, segment or signature).
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
  verifyFiling,
  verifyManifest,
  type EvidenceMetadata,
  type Manifest,
} from "../../../shared/crypto/index";
import { ApiError, send } from "../api/client";
import { casesApi, evidenceApi } from "../cases/api";
import { dropOpenedFile, keepOpenedFile } from "./opened-file";
import { db } from "../db";
import type { DeviceKeys } from "../keys/store";
import { fileHandle, folder, readFile, removeFile } from "../upload/opfs";
import type { OpenEvent, OpenJob, ViewPortAnswer, ViewRequestMessage } from "./messages";
import { saveBlob } from "../ui/download";
import { mark } from "./marks";

export interface OpenedEvidence {
  manifest: Manifest;
  /** The manifest compact JWS exactly as signed. */
  manifestJws: string;
  signer: SignerKey;
  metadata: EvidenceMetadata;
  /** Non-extractable: for the details JWEs only. */
  fileKey: CryptoKey;
  /** Where the player reads it: the per-view URL the service worker answers, or (without one) an object URL of the verified file. */
  url: string;
  /** True when it streams through the service worker (checked as it plays); false when the whole file was verified first. */
  streaming: boolean;
  /** The key release it was opened with (kept with an offline copy). */
  release: FileKeyRelease;
}

/**
 * Where the evidence worker gets ciphertext part `n`: from the page (a kept copy, a share, a
 * submitted file), or (`{ url }`, a member's online view) by downloading `<url><n>` itself.
 */
export type PartReader = ((n: number, signal: AbortSignal) => Promise<Uint8Array>) | { url: string };

/** An item opened through a share: no key release of a member's (the share released it). */
export type SharedOpenedEvidence = Omit<OpenedEvidence, "release">;

/** What a court package needs besides the opened item: the signer's register, the file key's bytes, the timestamp. */
interface PackageParts {
  signerRegister: string;
  fileKey: Uint8Array;
  timestamp?: { token: Uint8Array; caPem: string | null };
}

export type OpenStep = { step: "signature" } | { step: "key" } | { step: "decrypt"; plainBytes: number; totalBytes: number };

/** What the page hears once the item is open: how far the check has come, its end, or what failed. */
export type CheckEvent = { type: "progress"; verifiedBytes: number } | { type: "verified" } | { type: "failed"; error: OpenError };

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

/** The opener of each view this page holds, by view id (the service worker asks for them by id). */
const views = new Map<string, EvidenceOpener>();
let listening = false;

/**
 * Routes the service worker's view requests (view-sw.ts) to the worker holding that view; a
 * view this page does not hold is answered "unknown", so the service worker asks another page.
 */
function listenToServiceWorker(): void {
  if (listening || !("serviceWorker" in navigator)) return;
  listening = true;
  navigator.serviceWorker.addEventListener("message", (event: MessageEvent<ViewRequestMessage>) => {
    if (event.data?.type !== "custody-view") return;
    const port = event.ports[0];
    if (!port) return;
    const opener = views.get(event.data.viewId);
    if (opener) opener.answer(port);
    else port.postMessage({ type: "unknown" } satisfies ViewPortAnswer);
  });
  navigator.serviceWorker.startMessages();
}

/** True when a service worker controls this page, so per-view URLs are answered (not so on a forced reload, or before the first install). */
function streamingAvailable(): boolean {
  return "serviceWorker" in navigator && !!navigator.serviceWorker.controller;
}

export class EvidenceOpener {
  private worker = new Worker(new URL("./open.worker.ts", import.meta.url), { type: "module", name: "evidence" });
  private listener: ((event: OpenEvent) => void) | undefined;
  private checkListener: ((event: CheckEvent) => void) | undefined;
  /** Random, per opening: the view URL names nothing about the item. */
  readonly viewId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  private readPart: ((n: number, signal: AbortSignal) => Promise<Uint8Array>) | undefined;
  /** Part downloads in flight, by the worker's request number (it may drop one the player no longer needs). */
  private readonly downloads = new Map<number, AbortController>();
  private objectUrl: string | undefined;
  private markFirstBytes!: () => void;
  /**
   * Settles when the player has its first checked bytes, or the view ended, failed or was checked
   * whole: the page loads what the first frame does not need (details, markers, retention) after it.
   */
  readonly firstBytes = new Promise<void>((resolve) => (this.markFirstBytes = resolve));

  constructor() {
    this.worker.onmessage = (event: MessageEvent<OpenEvent>) => this.onEvent(event.data);
    // Started now, beside the signature check and the key release, not after them.
    sweepOnce().catch(() => undefined);
  }

  /** Ends the view: the worker (and every decrypted byte it held) is gone, the URL answers no more. */
  dispose(): void {
    this.markFirstBytes();
    views.delete(this.viewId);
    this.worker.terminate();
    if (this.objectUrl) dropOpenedFile(this.objectUrl);
  }

  private post(job: OpenJob, transfer: Transferable[] = []): void {
    this.worker.postMessage(job, transfer);
  }

  /** Hands a service-worker request for this view to the worker. */
  answer(port: MessagePort): void {
    this.post({ type: "port", port }, [port]);
  }

  /** Hears how the check goes once the item is open (progress, verified, failed). */
  onCheck(listener: (event: CheckEvent) => void): void {
    this.checkListener = listener;
  }

  private onEvent(event: OpenEvent): void {
    if (event.type === "released" || event.type === "verified" || event.type === "whole" || event.type === "failed") this.markFirstBytes();
    if (event.type === "released") return;
    if (event.type === "need") {
      const { n, request } = event;
      const controller = new AbortController();
      this.downloads.set(request, controller);
      mark(`need:${n}`);
      this.readPart!(n, controller.signal).then(
        (bytes) => {
          mark(`fetched:${n}`);
          this.post({ type: "part", request, n, bytes }, [bytes.buffer]);
        },
        (error: unknown) => !controller.signal.aborted && this.post({ type: "partError", request, n, message: error instanceof Error ? error.message : String(error) }),
      ).finally(() => this.downloads.delete(request));
      return;
    }
    if (event.type === "drop") {
      this.downloads.get(event.request)?.abort();
      return;
    }
    if (event.type === "progress") this.checkListener?.({ type: "progress", verifiedBytes: event.verifiedBytes });
    // Without a service worker the whole file was checked before it is shown: verified as well.
    else if (event.type === "verified" || event.type === "whole") this.checkListener?.({ type: "verified" });
    else if (event.type === "failed" && event.scope === "view") this.checkListener?.({ type: "failed", error: new OpenError(event.integrity, event.what, event.message) });
    this.listener?.(event);
  }

  /**
   * Opens evidence `id` from the server: the key release is the audited view; parts are
   * downloaded by the evidence worker as they are needed. The release and the first part's
   * ciphertext (in the worker) are asked at once, beside the item itself (`summary`) and its
   * signer's key: all are needed before any byte is shown, and on a phone network round trips
   * are what cost. Nothing is decrypted before the signature check and the release.
   */
  async open(id: string, summary: Promise<EvidenceSummary>, keys: DeviceKeys, onStep: (step: OpenStep) => void): Promise<OpenedEvidence> {
    onStep({ step: "signature" });
    mark("open");
    const release = evidenceApi.releaseKey(id);
    release.then(() => mark("key-released"), () => undefined);
    // The worker downloads part 0 (hashing it as it comes) while the rest is checked: it holds no key yet, and releases nothing before its session.
    const parts = { url: `/api/evidence/${encodeURIComponent(id)}/parts/` };
    this.post({ type: "early", partUrl: parts.url });
    const item = await summary;
    mark("item");
    const signer = await casesApi.signer(item.signerKid);
    mark("signer");
    if (item.id !== id) throw new OpenError(true, "manifest", "The server answered with another evidence item.");
    return this.start(item, signer, keys, onStep, () => release, parts);
  }

  /**
   * Opens `item` from its offline copy: the ciphertext kept in OPFS, with the key release and
   * signer saved when it was kept. Every check is made as online; the caller records the view.
   */
  async openKept(item: EvidenceSummary, signer: SignerKey, release: FileKeyRelease, ciphertext: File, keys: DeviceKeys, onStep: (step: OpenStep) => void): Promise<OpenedEvidence> {
    onStep({ step: "signature" });
    return this.start(item, signer, keys, onStep, async () => release, async (n) => new Uint8Array(await ciphertext.slice(n * PART_SIZE, (n + 1) * PART_SIZE).arrayBuffer()));
  }

  /**
   * The manifest's signature, then the key release, before any byte: then the worker's session.
   * With a service worker the player streams at once (checked as it plays, "Verified" at the
   * end); without one the whole file is verified into OPFS first.
   */
  private async start(
    item: EvidenceSummary,
    signer: SignerKey,
    keys: DeviceKeys,
    onStep: (step: OpenStep) => void,
    releaseKey: () => Promise<FileKeyRelease>,
    readPart: PartReader,
  ): Promise<OpenedEvidence> {
    const manifest = await integrity(() => verifyManifest(item.manifest, signer.publicJwk as JWK));
    mark("manifest-verified");
    // Accepted from a submission link, the submitter signed for the link and their submission, not the case (docs/submissions.md §5).
    // A capture filed into this case names the uploader's holding place: its signed filing record must move it here.
    const filed = manifest.scope === "captures" && manifest.caseId !== item.caseId;
    const signedFor = item.source ? manifest.caseId === item.source.linkId && manifest.uploaderId === item.source.submissionId : manifest.caseId === item.caseId || filed;
    if (manifest.evidenceId !== item.id || !signedFor) throw new OpenError(true, "manifest", "The signed manifest names another evidence item or case.");
    if (filed) {
      if (!item.filing) throw new OpenError(true, "manifest", "This capture's manifest names the uploader's captures, and no signed filing record moves it into this case.");
      await integrity(() => verifyFiling(item.filing!, signer.publicJwk as JWK, { evidenceId: item.id, manifestJws: item.manifest, fromCaseId: manifest.caseId, caseId: item.caseId }));
    }

    onStep({ step: "key" });
    const release = await releaseKey();
    // A capture not yet filed has its file key wrapped to the uploader's own key (no case key between).
    const fileKey = release.caseKeyWrap === ""
      ? await unwrapFileKey(release.fileKey, keys.encryption)
      : await unwrapFileKey(release.fileKey, (await unwrapCaseKey(release.caseKeyWrap, keys.encryption)).privateKey);
    mark("key-unwrapped");
    const metadata = await integrity(() => decryptMetadata(manifest.metadata, fileKey));
    mark("metadata");
    // For the Audit page's names only: nothing here waits for it.
    db.evidenceLabels.put({ evidenceId: item.id, fileName: metadata.fileName, mediaType: metadata.mediaType }).catch(() => undefined);
    const where = await this.session(item.id, manifest, fileKey, metadata.mediaType, onStep, readPart);
    return { manifest, manifestJws: item.manifest, signer, metadata, fileKey, release, ...where };
  }

  /**
   * Opens an item shared with this recipient (docs/disclosure.md): the same checks, worker and
   * streaming as a member's view; `fileKeyOf` releases and unwraps the file key through the share
   * (the audited view), `readPart` downloads ciphertext through it.
   */
  async openShared(
    item: { id: string; manifest: string },
    signer: SignerKey,
    fileKeyOf: () => Promise<CryptoKey>,
    readPart: (n: number, signal: AbortSignal) => Promise<Uint8Array>,
    onStep: (step: OpenStep) => void,
  ): Promise<SharedOpenedEvidence> {
    onStep({ step: "signature" });
    const manifest = await integrity(() => verifyManifest(item.manifest, signer.publicJwk as JWK));
    if (manifest.evidenceId !== item.id) throw new OpenError(true, "manifest", "The signed manifest names another evidence item.");
    onStep({ step: "key" });
    const fileKey = await fileKeyOf();
    const metadata = await integrity(() => decryptMetadata(manifest.metadata, fileKey));
    const where = await this.session(item.id, manifest, fileKey, metadata.mediaType, onStep, readPart);
    return { manifest, manifestJws: item.manifest, signer, metadata, fileKey, ...where };
  }

  /**
   * Starts the worker's session once the manifest and key are checked. With a service worker the
   * player streams at once (checked as it plays, "Verified" at the end); without one the whole
   * file is verified into OPFS first.
   */
  private async session(
    evidenceId: string,
    manifest: Manifest,
    fileKey: CryptoKey,
    mediaType: string,
    onStep: (step: OpenStep) => void,
    readPart: PartReader,
  ): Promise<{ url: string; streaming: boolean }> {
    const item = { id: evidenceId };
    await sweepOnce();
    mark("swept");
    if (typeof readPart === "function") this.readPart = readPart;
    this.post({ type: "session", evidenceId: item.id, fileKey, expect: decryptExpectations(manifest), mediaType, ...(typeof readPart === "function" ? {} : { partUrl: readPart.url }) });
    if (streamingAvailable()) {
      listenToServiceWorker();
      views.set(this.viewId, this);
      this.post({ type: "verify" });
      mark("session");
      return { url: `/view/${this.viewId}`, streaming: true };
    }

    // No service worker: the whole file, verified, into OPFS, then an object URL of it.
    onStep({ step: "decrypt", plainBytes: 0, totalBytes: manifest.byteSize });
    await new Promise<void>((resolve, reject) => {
      this.listener = (event) => {
        if (event.type === "progress") onStep({ step: "decrypt", plainBytes: event.verifiedBytes, totalBytes: manifest.byteSize });
        else if (event.type === "whole") resolve();
        else if (event.type === "failed") reject(new OpenError(event.integrity, event.what, event.message));
      };
      this.post({ type: "whole" });
    });
    this.listener = undefined;
    const file = await readFile("views", item.id);
    if (!file || file.size !== manifest.byteSize) throw new OpenError(false, "storage", "The decrypted file could not be read back from this device's storage.");
    this.objectUrl = keepOpenedFile(file);
    return { url: this.objectUrl, streaming: false };
  }

  /** Runs one save or export in the worker; resolves on `done`, rejects with its failure. */
  private task<T extends OpenEvent["type"]>(done: T, job: OpenJob, transfer: Transferable[] = []): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.listener = (event) => {
        if (event.type === done) resolve();
        else if (event.type === "failed") reject(new OpenError(event.integrity, event.what, event.message));
      };
      this.post(job, transfer);
    }).finally(() => (this.listener = undefined));
  }

  /**
   * Downloads the verified original without a second copy on the device: straight into a file
   * the user picks (File System Access, where the browser has it; written aside until the whole
   * file verified), else as a download the service worker streams (a failure then cuts the
   * download short, and the browser marks it failed). Returns false if the user cancelled.
   */
  async saveOriginal(opened: SharedOpenedEvidence, fileName: string): Promise<boolean> {
    const picker = (window as { showSaveFilePicker?: (options: { suggestedName: string }) => Promise<FileSystemFileHandle> }).showSaveFilePicker;
    if (picker) {
      let handle: FileSystemFileHandle;
      try {
        handle = await picker.call(window, { suggestedName: fileName });
      } catch (error) {
        if (error instanceof DOMException && error.name === "AbortError") return false;
        throw error;
      }
      await this.task("saved", { type: "save", handle });
      return true;
    }
    if (opened.streaming) {
      // A navigation (not a link's `download`, which Chromium does not route through service
      // workers) that the service worker answers as an attachment: the page stays, the file downloads.
      window.location.assign(`/view/${this.viewId}/download?name=${encodeURIComponent(fileName)}`);
      return true;
    }
    // No service worker: the verified file is in OPFS already.
    const file = await readFile("views", opened.manifest.evidenceId);
    if (!file) throw new OpenError(false, "storage", "The decrypted file is no longer on this device. Open the item again.");
    saveBlob(file, fileName);
    return true;
  }

  /**
   * Builds the court package from the verified original into OPFS and returns it: with the signer's
   * key register entries, the item's own file key (so metadata.json is proven) and its RFC 3161
   * timestamp when it has one (docs/evidence-format.md §8, §9). The original is decrypted and
   * checked again as it goes into the package.
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
  exportSharedPackage(opened: SharedOpenedEvidence, evidenceId: string, parts: PackageParts): Promise<File> {
    return this.buildPackage(opened, evidenceId, parts);
  }

  private async buildPackage(opened: SharedOpenedEvidence, evidenceId: string, parts: PackageParts): Promise<File> {
    const { signerRegister, fileKey, timestamp } = parts;
    await this.task(
      "exported",
      { type: "export", evidenceId, manifestJws: opened.manifestJws, signerPublicJwk: opened.signer.publicJwk as JWK, signerRegister, metadata: opened.metadata, fileKey, ...(timestamp ? { timestamp } : {}) },
      [fileKey.buffer],
    );
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

/** Downloads ciphertext part `n` of `evidenceId` (under `base`: evidence, or a submitted file waiting for intake), retrying network errors and 5xx a few times (until `signal` aborts). */
export async function fetchPart(evidenceId: string, n: number, signal?: AbortSignal, base: "/api/evidence" | "/api/submitted-files" = "/api/evidence"): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await (await partResponse(evidenceId, n, signal, base)).arrayBuffer());
}

async function partResponse(evidenceId: string, n: number, signal: AbortSignal | undefined, base: "/api/evidence" | "/api/submitted-files"): Promise<Response> {
  let delay = 1000;
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      const response = await send(`${base}/${evidenceId}/parts/${n}`, { headers: { Accept: "application/octet-stream" }, ...(signal ? { signal } : {}) });
      if (response.ok) return response;
      if (response.status < 500 || attempt >= 3) throw new ApiError(response.status, "part_download", `Couldn't download part ${n} (HTTP ${response.status}). Try opening it again.`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 0) || attempt >= 3) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay *= 2;
  }
}

let swept: Promise<void> | undefined;

/** Once per page life: deletes decrypted copies a closed page left behind (plaintext does not linger on the device). */
function sweepOnce(): Promise<void> {
  return (swept ??= sweep());
}

async function sweep(): Promise<void> {
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
