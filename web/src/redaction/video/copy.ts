/**
 * The page's side of making a redacted copy: starts the redaction Worker on the item's per-view
 * URL, reports the fraction done and the time left, cancels, and hands back the written copy as
 * a disk-backed File (OPFS), named "Redacted copy of <name>", with the `derivedFrom` for its
 * manifest. The caller queues it for upload (encrypted under a new file key) and then calls
 * `discardWhenStaged`: the plaintext leaves OPFS once the upload queue no longer reads it.
 */
import { keptFile } from "../../evidence/opened-file";
import type { DerivedFrom } from "../../../../shared/crypto/manifest";
import { db } from "../../db";
import { folder, readFile, removeFile } from "../../upload/opfs";
import type { VideoEdit } from "./edit";
import type { RedactAnswer, RedactRequest } from "./messages";
import { canResume, checkpointFraction, jobFiles, jobOfFile, parseCheckpoint } from "./packet-log";
import type { CopyFormat } from "./writer";

export interface CopyProgress {
  fraction: number;
  /** Seconds left, estimated from the speed so far; undefined until there is enough to go on. */
  secondsLeft?: number;
  format?: CopyFormat;
}

export interface MadeCopy {
  file: File;
  format: CopyFormat;
  derivedFrom: DerivedFrom;
}

/** "Redacted copy of hallway.mp4"; the extension follows the copy's container when it differs. */
export function copyName(original: string, extension: string): string {
  const dot = original.lastIndexOf(".");
  const base = dot > 0 ? original.slice(0, dot) : original;
  return `Redacted copy of ${base}.${extension}`;
}

/** Copies of this page still being written or read: never swept. */
const inUse = new Set<string>();

export class RedactionJob {
  readonly done: Promise<MadeCopy>;
  private readonly worker: Worker;
  private canceled = false;

  constructor(
    readonly jobId: string,
    source: { url: string; evidenceId: string; sha512: string; fileName: string },
    edit: VideoEdit,
    operations: DerivedFrom["operations"],
    onProgress: (progress: CopyProgress) => void,
    /** editHash(sha512, edit), kept with each checkpoint. */
    editHash: string,
    /** Go on from the job's checkpoint (after a reload) at this fraction done, instead of starting afresh. */
    resumeAt?: number,
  ) {
    inUse.add(jobId);
    this.worker = new Worker(new URL("./redact.worker.ts", import.meta.url), { type: "module", name: "redaction" });
    const startedAt = performance.now();
    let format: CopyFormat | undefined;
    this.done = new Promise<MadeCopy>((resolve, reject) => {
      this.worker.onmessage = async (event: MessageEvent<RedactAnswer>) => {
        const answer = event.data;
        if (answer.type === "format") {
          format = answer.format;
          onProgress({ fraction: resumeAt ?? 0, format });
        } else if (answer.type === "progress") {
          const elapsed = (performance.now() - startedAt) / 1000;
          const fraction = Math.min(1, Math.max(0, answer.fraction));
          // The speed of this run: a resumed one started at `resumeAt`.
          const doneHere = fraction - (resumeAt ?? 0);
          const secondsLeft = doneHere > 0.02 && elapsed > 1 ? (elapsed / doneHere) * (1 - fraction) : undefined;
          onProgress({ fraction, ...(secondsLeft !== undefined ? { secondsLeft } : {}), ...(format ? { format } : {}) });
        } else if (answer.type === "done") {
          this.worker.terminate();
          if (this.canceled) {
            // Finished as the person pressed Cancel: nothing is made.
            await removeJob(jobId);
            inUse.delete(jobId);
            return reject(new CopyCanceled());
          }
          const written = await readFile("redactions", jobId);
          if (!written || written.size === 0) return reject(new Error("the copy came out empty"));
          const file = new File([written], copyName(source.fileName, answer.format.extension), { type: answer.format.mediaType });
          resolve({ file, format: answer.format, derivedFrom: { evidenceId: source.evidenceId, sha512: source.sha512, operations } });
        } else {
          this.worker.terminate();
          inUse.delete(jobId); // the worker removed its files
          reject(answer.type === "canceled" ? new CopyCanceled() : new Error(answer.message));
        }
      };
      this.worker.onerror = (event) => {
        this.worker.terminate();
        inUse.delete(jobId);
        reject(new Error(`the redaction worker stopped (${event.message || "no reason given"})`));
      };
    });
    const file = keptFile(source.url);
    this.worker.postMessage({ type: "start", jobId, url: source.url, edit, editHash, resume: resumeAt !== undefined, ...(file ? { file } : {}) } satisfies RedactRequest);
  }

  cancel(): void {
    this.canceled = true;
    this.worker.postMessage({ type: "cancel" } satisfies RedactRequest);
  }

  /** Deletes the written copy (plaintext) from OPFS, and anything else of the job. */
  async discard(): Promise<void> {
    await removeJob(this.jobId);
    inUse.delete(this.jobId);
  }

  /** Deletes the written copy once the upload queue has staged its ciphertext (or dropped it): it reads the file until then. */
  async discardWhenStaged(evidenceId: string): Promise<void> {
    for (;;) {
      const row = await db.uploads.get(evidenceId);
      if (!row || row.state !== "encrypting") break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await this.discard();
  }
}

export class CopyCanceled extends Error {
  constructor() {
    super("canceled");
  }
}

/** Deletes every file of a job (copy, packet log, checkpoint, audio) from OPFS `redactions/`. */
export async function removeJob(jobId: string): Promise<void> {
  await Promise.all(Object.values(jobFiles(jobId)).map((name) => removeFile("redactions", name)));
}

/**
 * Deletes what earlier pages left in OPFS `redactions/`: a copy cut short by a reload that can no
 * longer be resumed, or one queued whose page closed before its ciphertext was staged (the queue
 * then reads its own kept copy). The files of the jobs in `keep` (copies a reload cut short, which
 * the editor offers to resume) stay, and so does a copy another tab is writing (locked by its Worker).
 */
export async function sweepLeftovers(keep: ReadonlySet<string> = new Set()): Promise<void> {
  const dir = (await folder("redactions")) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
  for await (const name of dir.keys()) {
    const job = jobOfFile(name);
    if (inUse.has(job) || keep.has(job)) continue;
    await dir.removeEntry(name).catch(() => undefined);
  }
}

/** A copy a reload cut short that can go on from its checkpoint: how far it had got (0 to 1), or why it can't. */
export async function resumable(jobId: string, editHash: string): Promise<{ fraction: number } | { why: string }> {
  const names = jobFiles(jobId);
  const checkpoint = parseCheckpoint(await (await readFile("redactions", names.checkpoint))?.text().catch(() => undefined));
  const log = await readFile("redactions", names.log);
  const verdict = canResume(checkpoint, editHash, log?.size ?? 0);
  return verdict.ok ? { fraction: checkpointFraction(checkpoint!) } : { why: verdict.why };
}

/** 75 → "1 min 15 s", 8 → "8 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
