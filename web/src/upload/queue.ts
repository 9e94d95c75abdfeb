/**
 * The upload queue (ARCHITECTURE.md "Upload"). Adding a file encrypts it in the encryption
 * worker into OPFS; then its parts go to signed URLs, three in flight, each retried alone with
 * exponential backoff (1 s, 2 s, 4 s … 30 s) on network errors, 5xx and expired URLs. The queue
 * lives in IndexedDB (db.uploads), so after a reload, a dropped connection or a restarted server
 * it asks the server which parts it has and resumes at the first missing one: on app start and
 * whenever the device comes back online.
 */
import { useEffect, useState } from "preact/hooks";
import type { CaseDetail, UploadState } from "../../../shared/api/cases";
import { PART_SIZE, ciphertextSize, encryptLabel, generateFileKey, partCount } from "../../../shared/crypto";
import { ApiError } from "../api/client";
import { evidenceApi } from "../cases/api";
import { db, type UploadRow } from "../db";
import type { DeviceKeys } from "../keys/store";
import type { EncryptEvent, EncryptJob } from "./messages";
import { readFile, removeFile, uploadFile } from "./opfs";

/** Parts in flight at once for one file. */
export const PARALLEL_PARTS = 3;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/** A signed URL with less than this left is asked for again rather than used. */
const URL_MARGIN_MS = 60_000;

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
}

// ---- state and subscription ---------------------------------------------------------

let currentUser: string | undefined;
const rows = new Map<string, UploadRow>();
const live = new Map<string, LiveProgress>();
const controllers = new Map<string, AbortController>();
const listeners = new Set<() => void>();
const completedListeners = new Set<(row: UploadRow) => void>();
const wakers = new Set<() => void>();
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
    .map((row) => ({ row, live: { ...liveOf(row.evidenceId) }, totalBytes: ciphertextSize(row.byteSize) }));
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

let onlineListening = false;

/** Loads the user's queue from IndexedDB and resumes it. Safe to call again (e.g. on every mount). */
export function startUploadQueue(userId: string): void {
  if (!onlineListening) {
    onlineListening = true;
    addEventListener("online", () => {
      for (const wake of [...wakers]) wake();
      void pump();
    });
  }
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
      if (row.state === "encrypting") {
        // The page that was encrypting it has gone, and with it the picked file.
        row.state = "failed";
        row.error = "Encryption stopped when the page was closed. Cancel this item and add the file again.";
        await db.uploads.put(row);
      }
      rows.set(row.evidenceId, row);
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
 * worker), then uploaded. `fromCamera` records the capture time (the file's time) and source.
 */
export async function addFiles(
  files: File[],
  context: { userId: string; caseDetail: CaseDetail; keys: DeviceKeys; fromCamera?: boolean; location?: DeviceLocation },
): Promise<void> {
  void navigator.storage.persist?.().catch(() => false);
  for (const file of files) {
    const evidenceId = newEvidenceId();
    const row: UploadRow = {
      evidenceId,
      userId: context.userId,
      caseId: context.caseDetail.id,
      fileName: file.name || "capture",
      mediaType: mediaTypeOf(file),
      byteSize: file.size,
      partCount: partCount(file.size),
      state: "encrypting",
      started: false,
      partsDone: [],
      createdAt: new Date().toISOString(),
    };
    rows.set(evidenceId, row);
    await db.uploads.put(row);
    emit();
    const estimate = await navigator.storage.estimate?.().catch(() => undefined);
    if (estimate?.quota !== undefined && estimate.usage !== undefined && estimate.quota - estimate.usage < ciphertextSize(file.size) + 16 * 1024 * 1024) {
      await save(evidenceId, { state: "failed", error: "Not enough free storage on this device to encrypt this file. Free some space (or finish other uploads), then cancel this item and add it again." });
      continue;
    }
    const capturedAt = context.fromCamera ? new Date(file.lastModified || Date.now()).toISOString() : undefined;
    // The label lets members list the item by name with the case key they hold (no audited key release).
    const label = await encryptLabel({ fileName: row.fileName, mediaType: row.mediaType, ...(capturedAt ? { capturedAt } : {}) }, context.caseDetail.caseKey.publicJwk);
    await save(evidenceId, { label });
    const job: EncryptJob = {
      type: "encrypt",
      file,
      fileKey: await generateFileKey(),
      signer: { kid: context.keys.signingKid, privateKey: context.keys.signing },
      evidenceId,
      caseId: context.caseDetail.id,
      uploaderId: context.userId,
      caseKeyJwk: context.caseDetail.caseKey.publicJwk,
      caseKid: context.caseDetail.caseKey.kid,
      metadata: {
        fileName: row.fileName,
        mediaType: row.mediaType,
        ...(capturedAt ? { capturedAt } : {}),
        ...(capturedAt || context.location
          ? {
              device: {
                ...(capturedAt ? { source: "camera" } : {}),
                ...(context.location
                  ? { latitude: context.location.latitude, longitude: context.location.longitude, accuracyMetres: context.location.accuracy }
                  : {}),
              },
            }
          : {}),
      },
    };
    encryptor().postMessage(job);
  }
}

let worker: Worker | undefined;

function encryptor(): Worker {
  if (worker) return worker;
  worker = new Worker(new URL("./encrypt.worker.ts", import.meta.url), { type: "module", name: "encrypt" });
  worker.onmessage = (event: MessageEvent<EncryptEvent>) => void onEncryptEvent(event.data);
  worker.onerror = () => {
    for (const row of rows.values()) {
      if (row.state === "encrypting") void save(row.evidenceId, { state: "failed", error: "The encryption worker stopped. Reload the page, then add the file again." });
    }
    worker = undefined;
  };
  return worker;
}

async function onEncryptEvent(event: EncryptEvent): Promise<void> {
  const row = rows.get(event.evidenceId);
  if (!row || row.state !== "encrypting") return; // cancelled meanwhile
  if (event.type === "progress") {
    liveOf(row.evidenceId).encryptedBytes = event.encryptedBytes;
    emit();
  } else if (event.type === "error") {
    await removeFile("uploads", uploadFile(row.evidenceId));
    await save(row.evidenceId, { state: "failed", error: event.message });
  } else {
    liveOf(row.evidenceId).encryptedBytes = row.byteSize;
    await save(row.evidenceId, {
      state: "uploading",
      partCount: event.partCount,
      request: { evidenceId: row.evidenceId, manifest: event.manifest, fileKey: { caseKid: event.caseKid, jwe: event.fileKeyJwe }, label: row.label! },
    });
    await db.evidenceLabels.put({ evidenceId: row.evidenceId, fileName: row.fileName, mediaType: row.mediaType });
    void pump();
  }
}

/** Stops an item, discards what the server holds of it, and deletes its ciphertext from the device. */
export async function cancelUpload(id: string): Promise<void> {
  const row = rows.get(id);
  if (!row) return;
  controllers.get(id)?.abort();
  if (row.state === "encrypting" && worker) {
    // The worker is mid-file: stop it; a new one starts with the next file.
    worker.terminate();
    worker = undefined;
    for (const other of rows.values()) {
      if (other.state === "encrypting" && other.evidenceId !== id) void save(other.evidenceId, { state: "failed", error: "Encryption was interrupted. Cancel this item and add the file again." });
    }
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
  await db.uploads.delete(id);
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

/** Removes finished items from the list. */
export function dismissFinished(caseId: string): void {
  for (const row of [...rows.values()]) {
    if (row.caseId === caseId && row.state === "done") {
      rows.delete(row.evidenceId);
      live.delete(row.evidenceId);
      void db.uploads.delete(row.evidenceId);
    }
  }
  emit();
}

// ---- the upload loop ------------------------------------------------------------------

class Paused extends Error {}

function transient(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 0 || error.status >= 500 || error.status === 429 || error.code === "unreachable");
}

/** Waits `ms`, or less if the device comes back online; rejects when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      wakers.delete(done);
      signal.removeEventListener("abort", aborted);
      resolve();
    };
    const aborted = () => {
      clearTimeout(timer);
      wakers.delete(done);
      reject(new DOMException("cancelled", "AbortError"));
    };
    const timer = setTimeout(done, ms);
    wakers.add(done);
    signal.addEventListener("abort", aborted, { once: true });
  });
}

function retryNote(delay: number): string {
  return navigator.onLine
    ? `Connection problem. Retrying in ${Math.round(delay / 1000)} s…`
    : "Waiting for a connection. The upload continues by itself when the device is back online.";
}

/** Runs `call`, retrying network errors and 5xx with backoff; 401 pauses the whole queue. */
async function withRetry<T>(id: string, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  let delay = FIRST_RETRY_MS;
  for (;;) {
    signal.throwIfAborted();
    try {
      const result = await call();
      if (liveOf(id).note) {
        liveOf(id).note = undefined;
        emit();
      }
      return result;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw new Paused();
      if (!transient(error)) throw error;
      liveOf(id).note = retryNote(delay);
      emit();
      await sleep(delay, signal);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }
}

async function pump(): Promise<void> {
  if (pumping || !currentUser) return;
  pumping = true;
  try {
    for (;;) {
      const next = [...rows.values()]
        .filter((row) => row.userId === currentUser && row.state === "uploading" && !controllers.has(row.evidenceId))
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
      if (!next || paused) break;
      await uploadOne(next);
    }
  } finally {
    pumping = false;
  }
}

const isAbort = (error: unknown) => error instanceof DOMException && error.name === "AbortError";

async function uploadOne(row: UploadRow): Promise<void> {
  const id = row.evidenceId;
  const controller = new AbortController();
  controllers.set(id, controller);
  const { signal } = controller;
  try {
    const file = await readFile("uploads", uploadFile(id));
    if (!file || file.size !== ciphertextSize(row.byteSize)) {
      throw new ApiError(0, "missing_ciphertext", "The encrypted copy of this file is no longer on this device (the browser may have cleared its storage). Cancel this item and add the file again.");
    }
    let state = await serverState(row, signal);
    while (state.status !== "complete") {
      await sendParts(row, file, new Set(state.received), signal);
      try {
        await withRetry(id, signal, () => evidenceApi.complete(id));
        break;
      } catch (error) {
        // Some part did not land after all (e.g. the server restarted mid-write): ask again and send it.
        if (error instanceof ApiError && error.code === "parts_missing") state = await serverState(row, signal);
        else throw error;
      }
    }
    liveOf(id).sentBytes = ciphertextSize(row.byteSize);
    await save(id, { state: "done", partsDone: Array.from({ length: row.partCount }, (_, n) => n), error: undefined });
    await removeFile("uploads", uploadFile(id));
    for (const listener of completedListeners) listener(row);
  } catch (error) {
    if (isAbort(error)) return;
    if (error instanceof Paused) {
      paused = "Your session ended, so uploads are paused. Sign in again and they continue where they stopped.";
      emit();
      return;
    }
    await save(id, { state: "failed", error: failureMessage(error) });
  } finally {
    controllers.delete(id);
    const progress = live.get(id);
    if (progress) progress.note = undefined;
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

/** Where the upload stands on the server, starting it there first if needed. */
async function serverState(row: UploadRow, signal: AbortSignal): Promise<UploadState> {
  const id = row.evidenceId;
  let state: UploadState | undefined;
  if (row.started) {
    try {
      state = await withRetry(id, signal, () => evidenceApi.uploadState(id));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      // The server does not know it (cancelled elsewhere, or its storage reset): start again.
    }
  }
  if (!state) {
    state = await withRetry(id, signal, () => evidenceApi.start(row.caseId, row.request!));
    await save(id, { started: true });
  }
  await save(id, { partsDone: state.received });
  liveOf(id).sentBytes = state.received.reduce((sum, n) => sum + partBytes(row, n), 0);
  emit();
  return state;
}

function partBytes(row: UploadRow, n: number): number {
  return Math.min(PART_SIZE, ciphertextSize(row.byteSize) - n * PART_SIZE);
}

/** Sends the parts the server lacks, PARALLEL_PARTS at a time, each retried on its own. */
async function sendParts(row: UploadRow, file: File, received: Set<number>, signal: AbortSignal): Promise<void> {
  const id = row.evidenceId;
  const missing = Array.from({ length: row.partCount }, (_, n) => n).filter((n) => !received.has(n));
  const urls = new Map<number, { url: string; expires: number }>();
  const inFlight = new Map<number, number>();
  const progress = liveOf(id);
  const base = () => row.partsDone.reduce((sum, n) => sum + partBytes(row, n), 0);
  let sessionBytes = 0;
  const sessionStart = performance.now();
  const report = () => {
    progress.sentBytes = base() + [...inFlight.values()].reduce((a, b) => a + b, 0);
    const seconds = (performance.now() - sessionStart) / 1000;
    const inflight = [...inFlight.values()].reduce((a, b) => a + b, 0);
    if (seconds > 0.5) progress.speed = (sessionBytes + inflight) / seconds;
    emit();
  };

  let asking: Promise<unknown> | undefined;
  async function urlFor(n: number): Promise<string> {
    for (;;) {
      const cached = urls.get(n);
      if (cached && cached.expires - Date.now() > URL_MARGIN_MS) return cached.url;
      if (asking) {
        // Another lane is asking already (likely for this part too): wait for its answer.
        await asking.catch(() => undefined);
        if (urls.has(n)) continue;
      }
      // Ask for this part and the next few still missing in one call.
      const batch = [n, ...missing.filter((m) => m > n && !row.partsDone.includes(m) && !urls.has(m)).slice(0, 15)];
      const request = withRetry(id, signal, () => evidenceApi.partUrls(id, batch)).then((answer) => {
        const expires = Date.parse(answer.expiresAt);
        for (const entry of answer.urls) urls.set(entry.part, { url: entry.url, expires });
      });
      asking = request;
      try {
        await request;
      } finally {
        if (asking === request) asking = undefined;
      }
    }
  }

  async function sendOne(n: number): Promise<void> {
    let delay = FIRST_RETRY_MS;
    let refused = 0;
    for (;;) {
      signal.throwIfAborted();
      const url = await urlFor(n);
      const start = n * PART_SIZE;
      // A slice of the OPFS file: a disk-backed Blob the browser streams, never copied into page memory.
      const bytes = file.slice(start, start + partBytes(row, n));
      try {
        await put(url, bytes, signal, (loaded) => {
          inFlight.set(n, loaded);
          report();
        });
        inFlight.delete(n);
        sessionBytes += bytes.size;
        if (progress.note) progress.note = undefined;
        row.partsDone = [...new Set([...row.partsDone, n])].sort((a, b) => a - b);
        await db.uploads.update(id, { partsDone: row.partsDone });
        report();
        return;
      } catch (error) {
        inFlight.delete(n);
        report();
        if (isAbort(error)) throw error;
        if (error instanceof ApiError && error.status === 403 && refused++ < 3) {
          urls.delete(n); // expired (or signed before a server restart): ask for a new URL
          continue;
        }
        if (!transient(error)) throw error;
        progress.note = retryNote(delay);
        emit();
        await sleep(delay, signal);
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    }
  }

  let next = 0;
  const lane = async () => {
    while (next < missing.length) await sendOne(missing[next++]!);
  };
  const lanes = Array.from({ length: Math.min(PARALLEL_PARTS, missing.length) }, lane);
  const results = await Promise.allSettled(lanes);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    controllers.get(id)?.abort(); // stop the other lanes' requests
    throw failed.reason;
  }
}

/** PUT one part with upload progress (XMLHttpRequest, which reports it; fetch does not). */
function put(url: string, body: Blob, signal: AbortSignal, onProgress: (loaded: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    // The upload's signal outlives this part: once the request ends, let go of it (and so of the
    // part's bytes, which the listener's closure would otherwise keep for the whole upload).
    const settle = (outcome: () => void) => {
      signal.removeEventListener("abort", abort);
      xhr.upload.onprogress = xhr.onload = xhr.onerror = xhr.ontimeout = xhr.onabort = null;
      outcome();
    };
    xhr.open("PUT", url);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () =>
      settle(() => {
        if (xhr.status >= 200 && xhr.status < 300) return resolve();
        let code = "unexpected_response";
        let message = `The server refused a part (HTTP ${xhr.status}).`;
        try {
          const parsed = JSON.parse(xhr.responseText) as { error?: { code?: string; message?: string } };
          code = parsed.error?.code ?? code;
          message = parsed.error?.message ?? message;
        } catch {
          if (xhr.status >= 500) code = "unreachable";
        }
        reject(new ApiError(xhr.status, code, message));
      });
    xhr.onerror = () => settle(() => reject(new ApiError(0, "unreachable", "Can't reach the Custody server.")));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => settle(() => reject(new DOMException("cancelled", "AbortError")));
    signal.addEventListener("abort", abort, { once: true });
    xhr.send(body);
  });
}
