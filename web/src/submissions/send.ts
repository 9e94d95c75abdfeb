/**
 * Sending evidence through a submission link with no account (docs/submissions.md §3.1). Each
 * file is encrypted in the browser by the app's encryption worker (web/src/upload/encrypt.worker.ts:
 * a pool of part workers, the ciphertext staged in OPFS `uploads/<fileId>.bin`, never a whole file
 * in memory) under a fresh file key wrapped to the link's submission key, and its manifest signed
 * with a P-521 key made here for this submission only. The parts then go to the server one file at
 * a time, three requests in flight, each a slice of the OPFS file.
 *
 * Resuming: the submission (id, bearer token, signing key, each file's id, key and state) is kept
 * in IndexedDB (db.submissionSends). After a reload or a dropped connection the page offers to go
 * on; it asks the server which parts it has and sends only the others. A file whose encryption was
 * cut short is encrypted again (with its kept key) once the submitter picks it again.
 * Network failures and 5xx are retried with backoff (1 s, 2 s … 30 s). Once finished, the token,
 * the keys and the ciphertext are deleted from the device; only the receipt stays, until dismissed.
 */
import type { JWK } from "jose";
import type { z } from "zod";
import {
  SentSubmission,
  StartedSubmission,
  SubmissionFileState,
  type AddSubmissionFileRequest,
  type PublicSubmissionLink,
  type StartSubmissionRequest,
} from "../../../shared/api/submissions";
import { PART_SIZE, ciphertextSize, encryptLabel, encryptSubmissionDetails, generateFileKey, generateUserKeys, importPrivateKey, partCount, wrapFileKey } from "../../../shared/crypto/index";
import { ApiError, readResponse, send } from "../api/client";
import { db, type SubmissionFileRow, type SubmissionSendRow } from "../db";
import { captureTimeFields } from "../upload/capture-time";
import type { EncryptEvent, EncryptJob } from "../upload/messages";
import { readFile, removeFile, uploadFile } from "../upload/opfs";
import { isAbort, putWithXhr } from "../upload/uploader";

/** Part requests in flight at once. */
const PARALLEL_PARTS = 3;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export interface FileProgress {
  encryptedBytes: number;
  /** Ciphertext bytes the server has, plus those on the wire now. */
  sentBytes: number;
  totalBytes: number;
}

export interface SendingState {
  row: SubmissionSendRow;
  progress: Map<string, FileProgress>;
  /** Bytes per second sent in this page's life (0 until measured). */
  speed: number;
  running: boolean;
  /** What is happening when it is not plain progress (retrying). */
  note?: string;
  /** Why sending stopped, in plain words. */
  error?: string;
  /** Files the link refused (past its limits), by name. */
  refused: string[];
}

const hexId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

const MEDIA_TYPES: Record<string, string> = {
  jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", heic: "image/heic", webp: "image/webp", gif: "image/gif",
  mp4: "video/mp4", mov: "video/quicktime", webm: "video/webm", m4a: "audio/mp4", mp3: "audio/mpeg", wav: "audio/wav",
  pdf: "application/pdf", txt: "text/plain",
};
const mediaTypeOf = (file: File) => file.type || MEDIA_TYPES[file.name.split(".").pop()?.toLowerCase() ?? ""] || "application/octet-stream";

/** The plain message for a refusal of the public side; the server's own words where it gave them. */
export function refusalMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "link_full") return error.message || "This link cannot take more files: it has reached the number of files or the total size it allows. Ask whoever sent it for another link.";
    if (error.code === "link_unavailable") return error.message || "This link does not work any more. Ask whoever sent it for a new one.";
    if (error.code === "too_many_requests") return error.message || "Too many tries from your connection. Please wait ten minutes and try again.";
    if (error.code === "submission_unavailable") return "The server no longer knows this upload. Start again with the link and add your files.";
    if (error.code === "unreachable") return "Can't reach the server. Check your connection; what was sent is kept, and you can go on later from this page.";
    return error.message;
  }
  return "Something went wrong on this page. Reload it: what was sent is kept, and you can go on from there.";
}

/** An API call of the public side, with the submission's bearer token where it has one. */
function call<S extends z.ZodType>(path: string, init: { method?: string; json?: unknown; token?: string; signal?: AbortSignal }, schema: S): Promise<z.output<S>> {
  const headers: Record<string, string> = {};
  if (init.json !== undefined) headers["Content-Type"] = "application/json";
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  return readResponse(send(path, { method: init.method ?? "GET", headers, body: init.json === undefined ? undefined : JSON.stringify(init.json), signal: init.signal }), schema);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(new DOMException("cancelled", "AbortError"));
    };
    signal.addEventListener("abort", stop, { once: true });
  });
}

/** A failure worth trying again: no answer at all, or a 5xx. Refusals (4xx) are not. */
const transient = (error: unknown) => error instanceof ApiError && (error.status === 0 || error.status >= 500);

/**
 * Starts a submission on the server (its signing key made here, the details encrypted to the
 * submission key), then keeps it and its files on this device, ready to send with `Sender`.
 */
export async function startSubmission(
  link: PublicSubmissionLink,
  files: File[],
  details: { name?: string; contact?: string; statement?: string },
): Promise<{ row: SubmissionSendRow; picked: Map<string, File> }> {
  void navigator.storage.persist?.().catch(() => false);
  // The ciphertext is staged on the device before it is sent: it must fit.
  const estimate = await navigator.storage.estimate?.().catch(() => undefined);
  const needed = files.reduce((sum, f) => sum + ciphertextSize(f.size), 0) + 16 * 1024 * 1024;
  if (estimate?.quota !== undefined && estimate.usage !== undefined && estimate.quota - estimate.usage < needed) {
    throw new ApiError(0, "no_space", "Not enough free storage on this device to encrypt these files before sending them. Free some space, or send fewer files at a time.");
  }
  const submissionKey = link.submissionKey as JWK;
  const submissionId = hexId();
  const { signing } = await generateUserKeys();
  const signer = await importPrivateKey(signing.privateJwk, "sign");
  const said = Object.fromEntries(Object.entries(details).filter(([, value]) => value !== undefined && value.trim() !== "").map(([key, value]) => [key, value!.trim()]));
  const request: StartSubmissionRequest = {
    submissionId,
    signerKey: signing.publicJwk as StartSubmissionRequest["signerKey"],
    ...(Object.keys(said).length > 0 ? { details: await encryptSubmissionDetails(said, submissionKey) } : {}),
  };
  const { token } = await call(`/api/submit/${link.id}/submissions`, { method: "POST", json: request }, StartedSubmission);
  const picked = new Map<string, File>();
  const rows: SubmissionFileRow[] = [];
  for (const file of files) {
    const fileId = hexId();
    const fileName = file.name || "file";
    const mediaType = mediaTypeOf(file);
    const { capturedAt } = await captureTimeFields(file);
    const fileKey = await generateFileKey();
    rows.push({
      fileId, fileName, mediaType, byteSize: file.size, partCount: partCount(file.size), fileKey, state: "encrypting",
      fileKeyJwe: await wrapFileKey(fileKey, submissionKey),
      label: await encryptLabel({ fileName, mediaType, ...(capturedAt ? { capturedAt } : {}) }, submissionKey),
    });
    picked.set(fileId, file);
  }
  const row: SubmissionSendRow = { submissionId, linkId: link.id, organisation: link.organisation, createdAt: new Date().toISOString(), token, signer: signer.privateKey, signerKid: signer.kid, files: rows };
  await db.submissionSends.put(row);
  return { row, picked };
}

/** The unfinished submission (or the receipt of a finished one) this device holds for a link. */
export async function storedSubmission(linkId: string): Promise<SubmissionSendRow | undefined> {
  const rows = await db.submissionSends.where("linkId").equals(linkId).toArray();
  return rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
}

/** Deletes everything this device holds of a submission: its ciphertext, keys and token, or its receipt. */
export async function discardSubmission(row: SubmissionSendRow): Promise<void> {
  for (const file of row.files) await removeFile("uploads", uploadFile(file.fileId));
  await db.submissionSends.delete(row.submissionId);
}

/** Sends one submission's files, and finishes it. */
export class Sender {
  readonly state: SendingState;
  private readonly listeners = new Set<() => void>();
  private readonly controller = new AbortController();
  private readonly picked: Map<string, File>;
  private worker: Worker | undefined;
  private readonly encrypted = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  private sessionBytes = 0;
  private sessionStart = 0;

  constructor(
    row: SubmissionSendRow,
    private readonly link: PublicSubmissionLink,
    picked: Map<string, File> = new Map(),
  ) {
    this.picked = picked;
    const progress = new Map<string, FileProgress>();
    for (const file of row.files) {
      progress.set(file.fileId, { encryptedBytes: file.state === "encrypting" ? 0 : file.byteSize, sentBytes: file.state === "complete" ? ciphertextSize(file.byteSize) : 0, totalBytes: ciphertextSize(file.byteSize) });
    }
    this.state = { row, progress, speed: 0, running: false, refused: [] };
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }

  /** Files whose encryption was cut short by a reload: they need the file again. */
  missingFiles(): SubmissionFileRow[] {
    return this.state.row.files.filter((f) => f.state === "encrypting" && !this.picked.has(f.fileId));
  }

  /** The submitter picked a file again: it is taken if it has the same size as the one it replaces. */
  pickAgain(fileId: string, file: File): boolean {
    const row = this.state.row.files.find((f) => f.fileId === fileId);
    if (!row || file.size !== row.byteSize) return false;
    this.picked.set(fileId, file);
    this.emit();
    return true;
  }

  stop(): void {
    this.controller.abort();
    this.worker?.terminate();
  }

  /** Adds, encrypts and sends every file, then finishes; resolves once finished or stopped with a plain error. */
  async run(): Promise<void> {
    const { row } = this.state;
    const signal = this.controller.signal;
    this.state.running = true;
    this.state.error = undefined;
    this.sessionStart = performance.now();
    this.emit();
    try {
      // Each file's place on the server first: a link that is full says so before anything is encrypted.
      for (const file of [...row.files]) {
        if (file.state !== "encrypting") continue;
        try {
          await this.retrying(signal, () => call(`/api/submit/${row.linkId}/submissions/${row.submissionId}/files`, {
            method: "POST", token: row.token!, signal,
            json: { fileId: file.fileId, byteSize: file.byteSize, fileKey: file.fileKeyJwe, label: file.label } satisfies AddSubmissionFileRequest,
          }, SubmissionFileState));
        } catch (error) {
          if (!(error instanceof ApiError && error.code === "link_full")) throw error;
          this.state.refused.push(file.fileName);
          this.state.error = refusalMessage(error);
          row.files = row.files.filter((f) => f !== file);
          this.state.progress.delete(file.fileId);
          await db.submissionSends.update(row.submissionId, { files: row.files });
          this.emit();
        }
      }
      if (row.files.length === 0) return;
      const encryptions = new Map(row.files.filter((f) => f.state === "encrypting").map((f) => [f.fileId, this.encrypt(f)]));
      for (const pending of encryptions.values()) pending.catch(() => undefined); // awaited below, in turn
      // One file's parts at a time, in order; the other files' encryption goes on meanwhile.
      for (const file of row.files) {
        if (file.state === "encrypting") await encryptions.get(file.fileId);
        if (file.state === "uploading") await this.upload(file, signal);
      }
      const sent = await this.retrying(signal, () => call(`/api/submit/${row.linkId}/submissions/${row.submissionId}/finish`, { method: "POST", token: row.token!, signal }, SentSubmission));
      const names = new Map(row.files.map((f) => [f.fileId, f.fileName]));
      const receipt = { sentAt: sent.sentAt, files: sent.files.map((f) => ({ fileName: names.get(f.id) ?? f.id, byteSize: f.byteSize, sha512: f.sha512 })) };
      // Finished: nothing secret stays on the device, only the receipt.
      for (const file of row.files) await removeFile("uploads", uploadFile(file.fileId));
      const kept: SubmissionSendRow = { submissionId: row.submissionId, linkId: row.linkId, organisation: row.organisation, createdAt: row.createdAt, files: [], receipt };
      await db.submissionSends.put(kept);
      this.state.row = kept;
      this.state.error = this.state.refused.length > 0 ? this.state.error : undefined;
    } catch (error) {
      if (isAbort(error)) return;
      this.state.error = refusalMessage(error);
    } finally {
      this.state.running = false;
      this.state.note = undefined;
      this.worker?.terminate();
      this.worker = undefined;
      this.emit();
    }
  }

  /** Runs `request` until it answers: network failures and 5xx are retried with backoff; refusals are thrown. */
  private async retrying<T>(signal: AbortSignal, request: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; ) {
      signal.throwIfAborted();
      try {
        const result = await request();
        if (failures > 0) this.setNote(undefined);
        return result;
      } catch (error) {
        if (isAbort(error) || !transient(error)) throw error;
        const delay = Math.min(FIRST_RETRY_MS * 2 ** failures++, MAX_RETRY_MS);
        this.setNote(`Connection problem. Trying again in ${Math.round(delay / 1000)} s… What has been sent is kept.`);
        await sleep(delay, signal);
      }
    }
  }

  private setNote(note: string | undefined): void {
    if (this.state.note === note) return;
    this.state.note = note;
    this.emit();
  }

  private encryptor(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL("../upload/encrypt.worker.ts", import.meta.url), { type: "module", name: "encrypt-submission" });
    worker.onmessage = (event: MessageEvent<EncryptEvent>) => void this.onEncrypted(event.data);
    worker.onerror = () => {
      for (const waiting of this.encrypted.values()) waiting.reject(new Error("The encryption stopped. Reload the page to go on."));
    };
    return (this.worker = worker);
  }

  private whenEncrypted(file: SubmissionFileRow): Promise<void> {
    return new Promise((resolve, reject) => this.encrypted.set(file.fileId, { resolve, reject }));
  }

  /** Encrypts `file` (in the worker, into OPFS) under its kept key; resolves once its manifest is signed. */
  private async encrypt(file: SubmissionFileRow): Promise<void> {
    const source = this.picked.get(file.fileId);
    if (!source) throw new Error(`${file.fileName} is needed again`);
    const { row } = this.state;
    const capture = await captureTimeFields(source);
    const done = this.whenEncrypted(file);
    const job: EncryptJob = {
      type: "encrypt",
      file: source,
      fileKey: file.fileKey,
      fileKeyJwe: file.fileKeyJwe,
      signer: { kid: row.signerKid!, privateKey: row.signer! },
      evidenceId: file.fileId,
      // The manifest names the link and the submission: the submitter never learns the case.
      caseId: row.linkId,
      uploaderId: row.submissionId,
      caseKid: row.signerKid!,
      metadata: { fileName: file.fileName, mediaType: file.mediaType, ...(capture.capturedAt ? { capturedAt: capture.capturedAt } : {}), device: { ...capture.device, source: "submission" } },
    };
    this.encryptor().postMessage(job);
    await done;
  }

  private async onEncrypted(event: EncryptEvent): Promise<void> {
    const file = this.state.row.files.find((f) => f.fileId === event.evidenceId);
    const waiting = this.encrypted.get(event.evidenceId);
    if (!file || !waiting) return;
    if (event.type === "progress") {
      this.state.progress.get(file.fileId)!.encryptedBytes = event.encryptedBytes;
      this.emit();
    } else if (event.type === "error") {
      this.encrypted.delete(file.fileId);
      waiting.reject(new ApiError(0, "encryption_failed", event.message));
    } else if (event.type === "done") {
      this.encrypted.delete(file.fileId);
      file.state = "uploading";
      file.manifest = event.manifest;
      file.partCount = event.partCount;
      this.picked.delete(file.fileId);
      await db.submissionSends.update(this.state.row.submissionId, { files: this.state.row.files });
      this.state.progress.get(file.fileId)!.encryptedBytes = file.byteSize;
      this.emit();
      waiting.resolve();
    }
  }

  /** Sends the parts of `file` the server lacks, from its ciphertext in OPFS, then completes it. */
  private async upload(file: SubmissionFileRow, signal: AbortSignal): Promise<void> {
    const { row } = this.state;
    const base = `/api/submit/${row.linkId}/submissions/${row.submissionId}/files/${file.fileId}`;
    const ciphertext = await readFile("uploads", uploadFile(file.fileId));
    const total = ciphertextSize(file.byteSize);
    if (!ciphertext || ciphertext.size !== total) {
      throw new ApiError(0, "missing_ciphertext", `The encrypted copy of ${file.fileName} is no longer on this device (the browser may have cleared its storage). Start again from the link.`);
    }
    const progress = this.state.progress.get(file.fileId)!;
    const partBytes = (n: number) => Math.min(PART_SIZE, total - n * PART_SIZE);
    const state = await this.retrying(signal, () => call(base, { token: row.token!, signal }, SubmissionFileState));
    if (state.status !== "complete") {
      const done = new Set(state.received);
      const inFlight = new Map<number, number>();
      const report = () => {
        progress.sentBytes = [...done].reduce((sum, n) => sum + partBytes(n), 0) + [...inFlight.values()].reduce((a, b) => a + b, 0);
        const seconds = (performance.now() - this.sessionStart) / 1000;
        const flying = [...inFlight.values()].reduce((a, b) => a + b, 0);
        this.state.speed = seconds > 0.5 ? (this.sessionBytes + flying) / seconds : 0;
        this.emit();
      };
      report();
      const queue = Array.from({ length: file.partCount }, (_, n) => n).filter((n) => !done.has(n));
      const lane = async () => {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
          const part = n;
          // A slice of the OPFS file: a disk-backed Blob the browser streams, never copied into page memory.
          const body = ciphertext.slice(part * PART_SIZE, part * PART_SIZE + partBytes(part));
          await this.retrying(signal, async () => {
            try {
              await putWithXhr(`${base}/parts/${part}`, body, signal, (loaded) => {
                inFlight.set(part, loaded);
                report();
              }, () => undefined, { Authorization: `Bearer ${row.token!}` });
            } finally {
              inFlight.delete(part);
            }
          });
          done.add(part);
          this.sessionBytes += body.size;
          report();
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, queue.length) }, lane));
      await this.retrying(signal, () => call(`${base}/complete`, { method: "POST", token: row.token!, json: { manifest: file.manifest! }, signal }, SubmissionFileState));
    }
    file.state = "complete";
    progress.sentBytes = total;
    await db.submissionSends.update(row.submissionId, { files: row.files });
    await removeFile("uploads", uploadFile(file.fileId));
    this.emit();
  }
}

/** The receipt as a small text file to keep. */
export function receiptText(row: SubmissionSendRow): string {
  const receipt = row.receipt!;
  const lines = [
    "Custody: receipt for evidence sent",
    "",
    `Sent to: ${row.organisation}`,
    `Sent at: ${receipt.sentAt} (UTC)`,
    `Submission: ${row.submissionId}`,
    `Link: ${row.linkId}`,
    "",
    `Files (${receipt.files.length}):`,
    ...receipt.files.flatMap((f, i) => [`${i + 1}. ${f.fileName}`, `   Size: ${f.byteSize} bytes`, `   SHA-512: ${f.sha512}`]),
    "",
    "Each file was encrypted on your device before it was sent; the server cannot open it.",
    "The SHA-512 of a file is its fingerprint: anyone can compute it again from your original",
    "file (for example `sha512sum <file>`) to check it is the one you sent.",
    "",
  ];
  return lines.join("\n");
}
