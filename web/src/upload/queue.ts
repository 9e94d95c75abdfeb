/**
 * The upload queue (ARCHITECTURE.md "Upload"). Adding a file encrypts it in the encryption
 * worker into OPFS; then uploader.ts sends its parts to signed URLs (three requests in flight,
 * one body on the wire at a time; a dropped connection pauses everything until the server is
 * reachable again, see connectivity.ts). The queue lives in IndexedDB (db.uploads), so after a
 * reload, a dropped connection or a restarted server it asks the server which parts it has and
 * resumes at the first missing one: on app start and whenever the server is reachable again.
 * A picked file is kept in IndexedDB (db.pendingFiles) only until its ciphertext is staged, so a
 * reload during encryption starts the encryption again by itself, with a fresh file key.
 */
import { useEffect, useState } from "preact/hooks";
import type { CaseDetail } from "../../../shared/api/cases";
import { ciphertextSize, encryptLabel, generateFileKey, partCount, wrapFileKey } from "../../../shared/crypto/index";
import type { DerivedFrom } from "../../../shared/crypto/manifest";
import { ApiError } from "../api/client";
import { evidenceApi } from "../cases/api";
import { isReachable, onReachability } from "../api/connectivity";
import { db, type PendingFileRow, type UploadRow } from "../db";
import type { DeviceKeys } from "../keys/store";
import type { EncryptEvent, EncryptJob, EncryptRequest } from "./messages";
import { captureTimeFields } from "./capture-time";
import { encryptedThumbnail } from "./thumbnail";
import { removeFile, uploadFile } from "./opfs";
import { requestBackgroundUpload, uploadLock, withLock } from "./background";
import { PARALLEL_PARTS, SessionEnded, Turns, isAbort, putWithXhr, startReplacingStale, uploadToServer } from "./uploader";

export { PARALLEL_PARTS };

/** Progress of one item in this page's life (not persisted). */
export interface LiveProgress {
  encryptedBytes: number;
  /** Ciphertext bytes the server has, plus what is on the wire now. */
  sentBytes: number;
  /** Bytes per second, smoothed; 0 until measured. */
  speed: number;
  /** What is happening now, when it is not plain progress (retrying, waiting for the network). */
  note?: string;
}

export interface QueueItem {
  row: UploadRow;
  live: LiveProgress;
  totalBytes: number;
  /** Its upload is running now (two files at a time, the one with the least left first; the others wait their turn). */
  running: boolean;
}

// ---- state and subscription ---------------------------------------------------------

let currentUser: string | undefined;
const rows = new Map<string, UploadRow>();
const live = new Map<string, LiveProgress>();
const controllers = new Map<string, AbortController>();
const listeners = new Set<() => void>();
const completedListeners = new Set<(row: UploadRow) => void>();
let pumping = false;
let paused: string | undefined;

function emit(): void {
  for (const listener of listeners) listener();
}

function liveOf(id: string): LiveProgress {
  let progress = live.get(id);
  if (!progress) live.set(id, (progress = { encryptedBytes: 0, sentBytes: 0, speed: 0 }));
  return progress;
}

function snapshot(caseId?: string): QueueItem[] {
  return [...rows.values()]
    .filter((row) => row.userId === currentUser && (!caseId || row.caseId === caseId))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .map((row) => ({ row, live: { ...liveOf(row.evidenceId) }, totalBytes: ciphertextSize(row.byteSize), running: controllers.has(row.evidenceId) }));
}

/** The queue's items (of one case, or all), re-rendered on every change. */
export function useUploadQueue(caseId?: string): { items: QueueItem[]; paused?: string } {
  const [state, setState] = useState(() => ({ items: snapshot(caseId), paused }));
  useEffect(() => {
    // Progress events can come many times a second: render at most once per frame.
    let frame = 0;
    const update = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setState({ items: snapshot(caseId), paused });
      });
    };
    listeners.add(update);
    update();
    return () => {
      listeners.delete(update);
      cancelAnimationFrame(frame);
    };
  }, [caseId]);
  return state;
}

/** Calls `listener` each time an upload completes (to refresh the evidence list). */
export function onUploadComplete(listener: (row: UploadRow) => void): () => void {
  completedListeners.add(listener);
  return () => void completedListeners.delete(listener);
}

async function save(id: string, changes: Partial<UploadRow>): Promise<void> {
  const row = rows.get(id);
  if (!row) return;
  Object.assign(row, changes);
  await db.uploads.update(id, changes);
  emit();
}

// ---- start, add, cancel -------------------------------------------------------------

export interface DeviceLocation {
  latitude: number;
  longitude: number;
  /** Metres, as the device reports it. */
  accuracy: number;
}

/**
 * Where the device is, if it can say so within a few seconds and the user allows it; null
 * otherwise (no permission, no fix, a desktop): evidence is added without a location then.
 */
export function currentLocation(timeoutMs = 5000): Promise<DeviceLocation | null> {
  if (!("geolocation" in navigator)) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (position) => resolve({ latitude: position.coords.latitude, longitude: position.coords.longitude, accuracy: Math.round(position.coords.accuracy) }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 60_000 },
    );
  });
}

let reachabilityListening = false;
let currentKeys: DeviceKeys | undefined;

const CAPTURE_INTERRUPTED =
  "This capture was still being encrypted when the app closed. Captures are never kept unencrypted on the device, so it is gone: cancel this item and take it again.";
const PICK_INTERRUPTED = "Encryption stopped when the page was closed. Cancel this item and add the file again.";

/**
 * Loads the user's queue from IndexedDB and resumes it: files whose encryption was interrupted
 * are encrypted again from their kept copy, uploads go on. Safe to call again (e.g. on every mount).
 */
export function startUploadQueue(userId: string, keys: DeviceKeys): void {
  if (!reachabilityListening) {
    reachabilityListening = true;
    onReachability((reachable) => {
      if (reachable) void pump();
      // Lost: let the browser finish the queue when it is back, even if the app is closed by then.
      else if ([...rows.values()].some((row) => row.state === "uploading" || row.state === "encrypting")) void requestBackgroundUpload();
    });
  }
  currentKeys = keys;
  if (currentUser === userId) {
    paused = undefined;
    void pump();
    return;
  }
  currentUser = userId;
  paused = undefined;
  void (async () => {
    const stored = await db.uploads.where("userId").equals(userId).toArray();
    for (const row of stored) {
      if (rows.has(row.evidenceId)) continue;
      if (row.state === "done") {
        await db.uploads.delete(row.evidenceId);
        continue;
      }
      rows.set(row.evidenceId, row);
      if (row.state === "encrypting") {
        // The page that was encrypting it has gone: start again from the kept file, if there is one.
        const pending = await db.pendingFiles.get(row.evidenceId);
        if (pending && row.label) void encrypt(row, pending, keys);
        else await save(row.evidenceId, { state: "failed", error: row.source === "camera" ? CAPTURE_INTERRUPTED : PICK_INTERRUPTED });
      }
    }
    emit();
    void pump();
  })();
}

/** 32 random hex characters: the evidence id, made on the device so it can encrypt and sign offline. */
function newEvidenceId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

const MEDIA_TYPES: Record<string, string> = {
  jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", heic: "image/heic", webp: "image/webp", gif: "image/gif",
  mp4: "video/mp4", mov: "video/quicktime", webm: "video/webm", m4a: "audio/mp4", mp3: "audio/mpeg", wav: "audio/wav",
  pdf: "application/pdf", txt: "text/plain",
};

function mediaTypeOf(file: File): string {
  if (file.type) return file.type;
  return MEDIA_TYPES[file.name.split(".").pop()?.toLowerCase() ?? ""] ?? "application/octet-stream";
}

/**
 * Adds files to the queue: each is encrypted and signed on this device (in the encryption
 * worker), then uploaded. Each records its capture time and where that came from
 * (capture-time.ts); `fromCamera` also records the source;
 * a capture is encrypted at once and never kept unencrypted, while a picked file is kept in
 * IndexedDB until its ciphertext is staged, so a reload resumes its encryption. Returns the new
 * items' ids, in the order of `files`.
 */
/**
 * Where added files go: a case (its current key), or the user's own holding place, "My captures"
 * (`scope: "captures"`: the holding place's id and the user's own encryption key, see web/src/captures).
 */
export type UploadTarget = Pick<CaseDetail, "id" | "caseKey"> & { scope?: "captures" };

export async function addFiles(
  files: File[],
  context: { userId: string; caseDetail: UploadTarget; keys: DeviceKeys; fromCamera?: boolean; location?: DeviceLocation; shared?: boolean; categoryId?: string; derivedFrom?: DerivedFrom; capture?: { capturedAt: string; device: { captureTimeSource: string } } },
): Promise<string[]> {
  void navigator.storage.persist?.().catch(() => false);
  const ids: string[] = [];
  for (const file of files) {
    const evidenceId = newEvidenceId();
    ids.push(evidenceId);
    const fileName = file.name || "capture";
    const mediaType = mediaTypeOf(file);
    // The file's own capture time (EXIF, MP4/MOV movie header) where it has one, else its modification time; the source says which.
    const capture = context.capture ?? (await captureTimeFields(file));
    const capturedAt = capture.capturedAt;
    // The label lets members list the item by name with the case key they hold (no audited key release).
    const label = await encryptLabel({ fileName, mediaType, ...(capturedAt ? { capturedAt } : {}) }, context.caseDetail.caseKey.publicJwk);
    // Its thumbnail is made once encryption has started (see `encrypt`): the first part does not wait for it.
    const row: UploadRow = {
      evidenceId,
      userId: context.userId,
      caseId: context.caseDetail.id,
      fileName,
      mediaType,
      byteSize: file.size,
      partCount: partCount(file.size),
      state: "encrypting",
      started: false,
      partsDone: [],
      label,
      source: context.fromCamera ? "camera" : context.shared ? "shared" : "picked",
      ...(context.categoryId ? { categoryId: context.categoryId } : {}),
      createdAt: new Date().toISOString(),
    };
    const pending: PendingFileRow = {
      evidenceId,
      userId: context.userId,
      file,
      caseKeyJwk: context.caseDetail.caseKey.publicJwk as JsonWebKey,
      caseKid: context.caseDetail.caseKey.kid,
      ...(context.caseDetail.scope ? { scope: context.caseDetail.scope } : {}),
      metadata: {
        fileName,
        mediaType,
        ...(capturedAt ? { capturedAt } : {}),
        device: {
          ...capture.device,
          ...(context.fromCamera ? { source: "camera" } : {}),
          ...(context.location
            ? { latitude: context.location.latitude, longitude: context.location.longitude, accuracyMetres: context.location.accuracy }
            : {}),
        },
      },
      ...(context.derivedFrom ? { derivedFrom: context.derivedFrom } : {}),
    };
    rows.set(evidenceId, row);
    emit();
    const estimate = await navigator.storage.estimate?.().catch(() => undefined);
    // The ciphertext, and for a picked file its kept copy until then.
    const needed = ciphertextSize(file.size) + (context.fromCamera ? 0 : file.size) + 16 * 1024 * 1024;
    if (estimate?.quota !== undefined && estimate.usage !== undefined && estimate.quota - estimate.usage < needed) {
      await db.uploads.put(row);
      await save(evidenceId, { state: "failed", error: "Not enough free storage on this device to encrypt this file. Free some space (or finish other uploads), then cancel this item and add it again." });
      continue;
    }
    await db.uploads.put(row);
    // Encryption and the upload start at once. The kept copy of a picked file is written meanwhile:
    // IndexedDB copies the file's bytes, seconds for a large video, and nothing waits for that.
    if (!context.fromCamera) {
      // If it cannot be kept (storage full or unavailable), it is encrypted anyway; it just won't survive a reload.
      const keeping = db.pendingFiles.put(pending).then(() => undefined, () => undefined);
      keptCopies.set(evidenceId, keeping);
    }
    void encrypt(row, pending, context.keys);
  }
  void requestBackgroundUpload();
  return ids;
}

/**
 * Posts the encryption job for `row` (again, after a reload), with a fresh file key, and starts
 * its upload on the server at once when it can be reached: parts then go out as they are sealed.
 */
async function encrypt(row: UploadRow, pending: PendingFileRow, keys: DeviceKeys): Promise<void> {
  // Always a new key: a restarted encryption must not reuse the key of the ciphertext it replaces.
  const fileKey = await generateFileKey();
  const fileKeyJwe = await wrapFileKey(fileKey, pending.caseKeyJwk);
  const early = startEarly(row, fileKeyJwe, pending.caseKid);
  const job: EncryptJob = {
    type: "encrypt",
    file: pending.file,
    fileKey,
    fileKeyJwe,
    signer: { kid: keys.signingKid, privateKey: keys.signing },
    evidenceId: row.evidenceId,
    caseId: row.caseId,
    uploaderId: row.userId,
    caseKid: pending.caseKid,
    ...(pending.scope ? { scope: pending.scope } : {}),
    metadata: pending.metadata,
    ...(pending.derivedFrom ? { derivedFrom: pending.derivedFrom } : {}),
    sendsFirstPart: true,
  };
  encryptor().postMessage(job);
  startThumbnail(row, pending);
  await early.started;
}

/** Thumbnails being made, by evidence id: the upload completes only once its item's is made (or found impossible), see `uploadOne`. */
const thumbnails = new Map<string, Promise<void>>();

/**
 * Makes `row`'s thumbnail (photos and videos; thumbnail.ts), encrypted to the case key like the
 * label, alongside its encryption: started once the encryption job is posted, never before it,
 * so the first part is sealed and sent without waiting for a picture to be decoded. It goes to
 * the server with the completion (or with the start, if the upload starts after it is made).
 */
function startThumbnail(row: UploadRow, pending: PendingFileRow): void {
  const id = row.evidenceId;
  if (row.thumbnail || thumbnails.has(id)) return;
  const making = encryptedThumbnail(pending.file, row.mediaType, pending.caseKeyJwk).then(async (thumbnail) => {
    if (thumbnail && rows.get(id) === row) await save(id, { thumbnail });
  });
  thumbnails.set(id, making);
}

/** Waits for `id`'s thumbnail, if it is being made. */
async function thumbnailMade(id: string): Promise<void> {
  await thumbnails.get(id);
  thumbnails.delete(id);
}

// ---- parts sent as they are sealed --------------------------------------------------------

/** Parts of one file sent while it is still being encrypted (best effort: the queue sends whatever this did not). */
interface EarlySender {
  /** Resolves true once the server has the upload (started without its manifest), false if it could not be started. */
  started: Promise<boolean>;
  offer(index: number, sha512: string, bytes: Uint8Array): void;
  /** Stops taking parts; resolves once the upload's start (if on its way) has ended, without waiting for the parts in flight. */
  stop(): Promise<void>;
  /** Stops taking parts; resolves when the requests in flight have ended. */
  drain(): Promise<void>;
  /** Stops at once (the item is cancelled). */
  abort(): void;
}

/** Part requests in flight at once for the parts of one file being encrypted. */
const EARLY_PARALLEL = 2;
/** Sealed parts held in memory waiting for the network; past this they are left to the queue (read back from OPFS). */
const EARLY_HELD = 4;
const early = new Map<string, EarlySender>();

/**
 * Starts `row`'s upload on the server with only its size (the manifest comes with the
 * completion) and sends its parts as the pool seals them, each to a URL bound to its SHA-512.
 * Offline, or if the server refuses, nothing is sent early: the queue uploads the staged
 * ciphertext once the file is encrypted, as before.
 */
function startEarly(row: UploadRow, fileKeyJwe: string, caseKid: string): EarlySender {
  const id = row.evidenceId;
  const controller = new AbortController();
  const held: { index: number; sha512: string; bytes: Uint8Array }[] = [];
  const running = new Set<Promise<void>>();
  // As in the queue's uploads: one body on the wire at a time, so the first part sealed is not slowed by the next.
  const turns = new Turns();
  let accepting = true;
  // The pool leaves a core to the first part's send until this says it has ended (messages.ts FirstPartSent).
  let firstEnded = false;
  const endFirst = () => {
    if (firstEnded) return;
    firstEnded = true;
    worker?.postMessage({ type: "first-part-sent", evidenceId: id } satisfies EncryptRequest);
  };
  const started = (async () => {
    if (!isReachable() || !row.label) return false;
    try {
      // An upload left on the server by an interrupted encryption holds another file key: discard it first.
      if (row.started) await evidenceApi.cancel(id).catch((error: unknown) => {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
      });
      await startReplacingStale(row.caseId, { evidenceId: id, byteSize: row.byteSize, fileKey: { caseKid, jwe: fileKeyJwe }, label: row.label, ...(row.thumbnail ? { thumbnail: row.thumbnail } : {}) });
      row.started = true;
      await db.uploads.update(id, { started: true, partsDone: [] });
      row.partsDone = [];
      return true;
    } catch {
      return false;
    }
  })();
  void started.then((ok) => ok || endFirst());
  const sendOne = async (part: { index: number; sha512: string; bytes: Uint8Array }) => {
    try {
      const { urls } = await evidenceApi.partUrls(id, [part.index], [part.sha512]);
      const body = new Blob([part.bytes as Uint8Array<ArrayBuffer>]);
      const giveTurn = await turns.take();
      try {
        await putWithXhr(urls[0]!.url, body, controller.signal, (loaded) => {
          const progress = liveOf(id);
          progress.sentBytes = Math.max(progress.sentBytes, doneBytes(row) + loaded);
          emit();
        }, giveTurn);
      } finally {
        giveTurn();
      }
      row.partsDone = [...new Set([...row.partsDone, part.index])].sort((a, b) => a - b);
      await db.uploads.update(id, { partsDone: row.partsDone });
      liveOf(id).sentBytes = doneBytes(row);
      emit();
    } catch {
      // Left for the queue, which asks the server what it has before sending anything.
    } finally {
      endFirst();
    }
  };
  const pumpEarly = () => {
    // The first part goes alone: the next request waits until its send has ended.
    while (running.size < (firstEnded ? EARLY_PARALLEL : 1) && held.length > 0) {
      const sending = sendOne(held.shift()!).finally(() => {
        running.delete(sending);
        pumpEarly();
      });
      running.add(sending);
    }
  };
  const sender: EarlySender = {
    started,
    offer(index, sha512, bytes) {
      if (!accepting || held.length >= EARLY_HELD) return;
      void started.then((ok) => {
        if (!ok || !accepting) return;
        held.push({ index, sha512, bytes });
        pumpEarly();
      });
    },
    async stop() {
      accepting = false;
      held.length = 0;
      endFirst();
      // A start still on its way (a small file encrypts faster than it answers) must end before the
      // queue takes over: the queue would otherwise start the same upload alongside it, and each
      // would cancel the other's as a stale one.
      await started;
    },
    async drain() {
      await sender.stop();
      while (running.size > 0) await Promise.allSettled([...running]);
      early.delete(id);
    },
    abort() {
      controller.abort();
      void sender.drain();
    },
  };
  early.set(id, sender);
  return sender;
}

/** Ciphertext bytes of the parts the server has. */
function doneBytes(row: UploadRow): number {
  const total = ciphertextSize(row.byteSize);
  return row.partsDone.reduce((sum, n) => sum + Math.min(8 * (1_048_576 + 16), total - n * 8 * (1_048_576 + 16)), 0);
}

let worker: Worker | undefined;

/**
 * Starts the encryption worker and its pool before a file is added, where files can be added
 * (they take a moment to load): the first part of a file chosen then is sealed without waiting
 * for them. Nothing is encrypted until a file is added.
 */
export function prepareEncryption(): void {
  encryptor();
}

/** Picked files being written to db.pendingFiles: their encryption may end first, and deletes the copy only after. */
const keptCopies = new Map<string, Promise<void>>();

/** Waits until the kept copy of `id` (if one is being written) is in IndexedDB, so deleting it then leaves nothing behind. */
async function keptCopyWritten(id: string): Promise<void> {
  await keptCopies.get(id);
  keptCopies.delete(id);
}

function encryptor(): Worker {
  if (worker) return worker;
  worker = new Worker(new URL("./encrypt.worker.ts", import.meta.url), { type: "module", name: "encrypt" });
  worker.onmessage = (event: MessageEvent<EncryptEvent>) => void onEncryptEvent(event.data);
  worker.onerror = () => {
    worker = undefined;
    void restartEncryption(undefined, "The encryption worker stopped. Reload the page, then add the file again.", true);
  };
  return worker;
}

/** Times each item's encryption was started again in this page's life: a file that keeps crashing the worker is not retried for ever. */
const restarts = new Map<string, number>();
const MAX_RESTARTS = 2;

/** After the worker was stopped: encrypts again every interrupted item (but `except`) that has its file kept; the others fail with `message`. */
async function restartEncryption(except: string | undefined, message: string, crashed: boolean): Promise<void> {
  for (const row of [...rows.values()]) {
    if (row.state !== "encrypting" || row.evidenceId === except) continue;
    const pending = await db.pendingFiles.get(row.evidenceId);
    const tries = (restarts.get(row.evidenceId) ?? 0) + (crashed ? 1 : 0);
    restarts.set(row.evidenceId, tries);
    if (pending && currentKeys && row.label && tries <= MAX_RESTARTS) void encrypt(row, pending, currentKeys);
    else await save(row.evidenceId, { state: "failed", error: row.source === "camera" ? CAPTURE_INTERRUPTED : message });
  }
}

async function onEncryptEvent(event: EncryptEvent): Promise<void> {
  const row = rows.get(event.evidenceId);
  if (!row || row.state !== "encrypting") return; // cancelled meanwhile
  if (event.type === "progress") {
    liveOf(row.evidenceId).encryptedBytes = event.encryptedBytes;
    emit();
  } else if (event.type === "part") {
    early.get(row.evidenceId)?.offer(event.index, event.sha512, event.bytes);
  } else if (event.type === "error") {
    await early.get(row.evidenceId)?.drain();
    thumbnails.delete(row.evidenceId);
    await keptCopyWritten(row.evidenceId);
    await removeFile("uploads", uploadFile(row.evidenceId));
    await db.pendingFiles.delete(row.evidenceId);
    await save(row.evidenceId, { state: "failed", error: event.message });
  } else {
    liveOf(row.evidenceId).encryptedBytes = row.byteSize;
    const sender = early.get(row.evidenceId);
    await sender?.stop();
    await keptCopyWritten(row.evidenceId);
    const changes: Partial<UploadRow> = {
      state: "uploading",
      partCount: event.partCount,
      request: {
        evidenceId: row.evidenceId,
        manifest: event.manifest,
        fileKey: { caseKid: event.caseKid, jwe: event.fileKeyJwe },
        label: row.label!,
        ...(row.thumbnail ? { thumbnail: row.thumbnail } : {}),
        ...(row.categoryId ? { categoryId: row.categoryId } : {}),
      },
    };
    // The ciphertext is staged: from now on the kept plaintext copy is not needed, and goes in the same transaction.
    await db.transaction("rw", db.uploads, db.pendingFiles, db.evidenceLabels, async () => {
      await db.uploads.update(row.evidenceId, changes);
      await db.pendingFiles.delete(row.evidenceId);
      await db.evidenceLabels.put({ evidenceId: row.evidenceId, fileName: row.fileName, mediaType: row.mediaType });
    });
    // Kept on the device above before waiting on the network: a page closed while a part sent early
    // is still on its way (a slow or stalled link) resumes from this ciphertext, re-sending only
    // what the server lacks, instead of encrypting again under a new key and sending every part.
    // The parts sent early are in (or left for the queue): the queue takes over from here.
    await sender?.drain();
    Object.assign(row, changes);
    emit();
    void pump();
  }
}

/** Stops an item, discards what the server holds of it, and deletes its ciphertext from the device. */
export async function cancelUpload(id: string): Promise<void> {
  const row = rows.get(id);
  if (!row) return;
  controllers.get(id)?.abort();
  early.get(id)?.abort();
  if (row.state === "encrypting" && worker) {
    // The worker is mid-file: stop it; the other files it had are encrypted again by a new one.
    worker.terminate();
    worker = undefined;
    rows.delete(id);
    void restartEncryption(id, "Encryption was interrupted. Cancel this item and add the file again.", false);
  }
  if (row.started && row.state !== "done") {
    try {
      await evidenceApi.cancel(id);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  }
  rows.delete(id);
  live.delete(id);
  thumbnails.delete(id);
  await keptCopyWritten(id);
  await db.transaction("rw", db.uploads, db.pendingFiles, async () => {
    await db.uploads.delete(id);
    await db.pendingFiles.delete(id);
  });
  await removeFile("uploads", uploadFile(id));
  emit();
}

/** Tries a failed item again from where it stopped (its ciphertext is still on the device). */
export async function retryUpload(id: string): Promise<void> {
  const row = rows.get(id);
  if (!row || row.state !== "failed" || !row.request) return;
  await save(id, { state: "uploading", error: undefined });
  paused = undefined;
  void pump();
}

/** Removes finished items (of one case, or all) from the list. */
export function dismissFinished(caseId?: string): void {
  for (const row of [...rows.values()]) {
    if ((!caseId || row.caseId === caseId) && row.state === "done") {
      rows.delete(row.evidenceId);
      live.delete(row.evidenceId);
      void db.uploads.delete(row.evidenceId);
    }
  }
  emit();
}

// ---- the upload loop ------------------------------------------------------------------

/** Files uploading at once: a small file never waits for a large one to finish. */
const PARALLEL_FILES = 2;

/** Starts uploads of the files ready for it, the one with the least left to send first. */
async function pump(): Promise<void> {
  if (pumping || !currentUser) return;
  pumping = true;
  try {
    while (!paused && controllers.size < PARALLEL_FILES) {
      const next = [...rows.values()]
        .filter((row) => row.userId === currentUser && row.state === "uploading" && !controllers.has(row.evidenceId))
        .sort((a, b) => ciphertextSize(a.byteSize) - doneBytes(a) - (ciphertextSize(b.byteSize) - doneBytes(b)) || a.createdAt.localeCompare(b.createdAt))[0];
      if (!next) break;
      // uploadOne registers its controller before its first await: the loop sees it running.
      void uploadOne(next).finally(() => void pump());
    }
  } finally {
    pumping = false;
  }
}

async function uploadOne(row: UploadRow): Promise<void> {
  const id = row.evidenceId;
  const controller = new AbortController();
  controllers.set(id, controller);
  const progress = liveOf(id);
  try {
    // The service worker may be uploading it in the background (Background Sync): wait for it, then finish.
    await withLock(uploadLock(id), false, async () => {
      const fresh = await db.uploads.get(id);
      if (fresh?.state === "done") {
        Object.assign(row, fresh);
        return;
      }
      if (fresh) Object.assign(row, { partsDone: fresh.partsDone, started: fresh.started });
      await uploadToServer(
        row,
        {
          parallel: PARALLEL_PARTS,
          put: putWithXhr,
          onProgress: (sentBytes, speed) => {
            progress.sentBytes = sentBytes;
            progress.speed = speed;
            emit();
          },
          onNote: (note) => {
            progress.note = note;
            emit();
          },
          // The thumbnail goes with the completion: a small file's parts may all be in before it is made.
          beforeComplete: async () => {
            await thumbnailMade(id);
            if (row.thumbnail && row.request && row.request.thumbnail !== row.thumbnail) await save(id, { request: { ...row.request, thumbnail: row.thumbnail } });
          },
        },
        controller.signal,
      );
    });
    emit();
    for (const listener of completedListeners) listener(row);
  } catch (error) {
    if (isAbort(error)) return;
    if (error instanceof SessionEnded) {
      paused = "Your session ended, so uploads are paused. Sign in again and they continue where they stopped.";
      emit();
      return;
    }
    await save(id, { state: "failed", error: failureMessage(error) });
  } finally {
    controllers.delete(id);
    progress.note = undefined;
    emit();
  }
}

function failureMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "case_key_changed") return "The case's key changed (a member was removed) before this upload started. Cancel it and add the file again.";
    if (error.code === "case_closed") return "This case is closed. Ask a lead to reopen it, then press Retry.";
    if (error.code === "digest_mismatch") return "The encrypted copy on this device is damaged. Cancel this item and add the file again.";
    return `${error.message} Press Retry to try again, or Cancel.`;
  }
  return "Something went wrong in the app. Press Retry; if it keeps failing, reload the page.";
}
