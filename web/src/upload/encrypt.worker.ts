/**
 * The encryption coordinator: seals picked files with a small pool of part workers
 * (encrypt-part.worker.ts), one part per worker, as many workers as the device has cores (at
 * most `MAX_POOL`). Each finished part is written into OPFS (`uploads/<evidenceId>.bin`, through
 * a sync access handle) and handed to the page at once, which sends it while the rest is still
 * being encrypted; the whole-file SHA-512 is fed in order from the parts' plaintext (wasm
 * SHA-512). When the last part is in, the manifest is signed. Several files are encrypted at
 * once, the one with the fewest parts left first, so a small file never waits behind a large one.
 * Memory: a few parts per pool worker, whatever the file's size; the page's thread stays free.
 */
import "../ui/zod-jitless";
import { NONCE_PREFIX_SIZE, PART_SIZE, encryptMetadata, partCount, signManifest, type UnlockedKey } from "../../../shared/crypto/index";
import type { Sha512 } from "../../../shared/crypto/sha512";
import { createSha512Wasm } from "./sha512-wasm";
import type { EncryptEvent, EncryptJob, EncryptRequest } from "./messages";
import { openSync, uploadFile, type SyncAccessHandle } from "./opfs";
import type { PartJob, PartResult } from "./encrypt-part.worker";

const scope = self as unknown as { postMessage(message: EncryptEvent, transfer?: Transferable[]): void; onmessage: ((event: MessageEvent<EncryptRequest>) => void) | null };

/** Pool workers at most (each holds about two parts in memory while it works). */
const MAX_POOL = 8;
/** Parts a file may have sealed but not yet hashed in order, per pool worker. */
const REORDER_PER_WORKER = 2;

const poolSize = Math.max(1, Math.min(navigator.hardwareConcurrency || 2, MAX_POOL));

interface FileState {
  job: EncryptJob;
  parts: number;
  noncePrefix: Uint8Array;
  out: SyncAccessHandle;
  hasher: Sha512;
  /** Next part to hand to a pool worker. */
  next: number;
  /** Parts sealed, their plaintext waiting for its turn in the whole-file SHA-512. */
  sealed: Map<number, Uint8Array>;
  hashed: number;
  hashedBytes: number;
  partSha512: string[];
  failed: boolean;
  /** Resolves once `out` and `hasher` are made (they are made while the first part is sealed). */
  ready: Promise<void>;
  /** Its first part is sealed and the page is sending it (`EncryptJob.sendsFirstPart`), until it says the send has ended. */
  sendingFirst: boolean;
}

const files = new Map<string, FileState>();
const idle: Worker[] = [];
const busy = new Map<Worker, FileState>();

for (let i = 0; i < poolSize; i++) {
  const worker = new Worker(new URL("./encrypt-part.worker.ts", import.meta.url), { type: "module", name: `encrypt-part-${i}` });
  worker.onmessage = (event: MessageEvent<PartResult>) => void sealedPart(worker, event.data);
  idle.push(worker);
}

/**
 * Parts of `file` that may be handed out and not yet hashed in order. Until its first part is
 * sealed, only that one: it then has a core to itself (not shared with the parts after it), and
 * is sent while they are sealed. Other files go on meanwhile.
 */
const windowOf = (file: FileState) => (file.hashed === 0 ? 1 : poolSize * REORDER_PER_WORKER);

/**
 * Workers that may be busy at once: all of them, but one fewer while a first part is being sent.
 * Sending takes CPU too (the page hands the body to the network stack, which reads and sends it;
 * on a test machine the server itself), and a pool using every core would slow the very part the
 * user waits for. It is a short while (one part's round trip), and with one core it is not done.
 */
const busyAtMost = () => ([...files.values()].some((file) => file.sendingFirst) ? Math.max(1, poolSize - 1) : poolSize);

/** Hands parts to idle workers: the file with the fewest parts left first, each within its window. */
function schedule(): void {
  while (idle.length > 0 && busy.size < busyAtMost()) {
    const ready = [...files.values()]
      .filter((file) => !file.failed && file.next < file.parts && file.next - file.hashed < windowOf(file))
      .sort((a, b) => a.parts - a.next - (b.parts - b.next));
    const file = ready[0];
    if (!file) return;
    const worker = idle.pop()!;
    busy.set(worker, file);
    worker.postMessage({ file: file.job.file, fileKey: file.job.fileKey, noncePrefix: file.noncePrefix, index: file.next++ } satisfies PartJob);
  }
}

function fail(file: FileState, error: unknown): void {
  if (file.failed) return;
  file.failed = true;
  files.delete(file.job.evidenceId);
  try {
    file.out.close();
  } catch {
    // already closed
  }
  const raw = error instanceof Error ? error.message : String(error);
  const message = raw === "the file changed while it was being read"
    ? "The file changed or became unreadable while it was being encrypted. Pick it again."
    : `Couldn't encrypt this file (${raw}). Pick it again; if it keeps failing, check the device has free storage.`;
  scope.postMessage({ type: "error", evidenceId: file.job.evidenceId, message });
}

async function sealedPart(worker: Worker, result: PartResult): Promise<void> {
  const file = busy.get(worker)!;
  busy.delete(worker);
  idle.push(worker);
  try {
    await file.ready;
    if (file.failed) return;
    if (!result.ok) throw new Error(result.message);
    file.out.write(result.bytes, { at: result.index * PART_SIZE });
    file.partSha512[result.index] = result.sha512;
    file.sealed.set(result.index, result.plain);
    if (result.index === 0 && file.job.sendsFirstPart && file.parts > 1) file.sendingFirst = true;
    // Staged: the page may send it now (the bytes move to the page; OPFS keeps the copy to resume from).
    scope.postMessage({ type: "part", evidenceId: file.job.evidenceId, index: result.index, sha512: result.sha512, bytes: result.bytes }, [result.bytes.buffer]);
    // The whole-file SHA-512, in order.
    for (let plain = file.sealed.get(file.hashed); plain; plain = file.sealed.get(file.hashed)) {
      file.hasher.update(plain);
      file.sealed.delete(file.hashed);
      file.hashed++;
      file.hashedBytes += plain.length;
    }
    scope.postMessage({ type: "progress", evidenceId: file.job.evidenceId, encryptedBytes: file.hashedBytes });
    if (file.hashed === file.parts) await finish(file);
  } catch (error) {
    fail(file, error);
  } finally {
    schedule();
  }
}

/** Every part is in: the manifest is signed over the parts' hashes and the whole-file SHA-512. */
async function finish(file: FileState): Promise<void> {
  files.delete(file.job.evidenceId);
  file.out.flush();
  file.out.close();
  const { job } = file;
  const metadata = await encryptMetadata(job.metadata, job.fileKey);
  // signManifest reads only kid and privateKey of the signer.
  const signer = { kid: job.signer.kid, privateKey: job.signer.privateKey, publicJwk: {} } satisfies UnlockedKey;
  const stream = { byteSize: job.file.size, sha512: file.hasher.digestHex(), noncePrefix: file.noncePrefix, partSha512: file.partSha512 };
  const manifest = await signManifest({ evidenceId: job.evidenceId, caseId: job.caseId, uploaderId: job.uploaderId, ...(job.scope ? { scope: job.scope } : {}), metadata, stream, ...(job.derivedFrom ? { derivedFrom: job.derivedFrom } : {}) }, signer);
  scope.postMessage({ type: "done", evidenceId: job.evidenceId, manifest, fileKeyJwe: job.fileKeyJwe, caseKid: job.caseKid, partCount: file.parts });
}

async function start(job: EncryptJob): Promise<void> {
  const file: FileState = {
    job, parts: partCount(job.file.size),
    // Random prefix per file: the file key is already unique, so this is defence in depth if a key were ever reused.
    noncePrefix: crypto.getRandomValues(new Uint8Array(NONCE_PREFIX_SIZE)),
    out: undefined as unknown as SyncAccessHandle, hasher: undefined as unknown as Sha512, ready: Promise.resolve(),
    next: 0, sealed: new Map(), hashed: 0, hashedBytes: 0, partSha512: [], failed: false, sendingFirst: false,
  };
  // The first part goes to a worker at once; its OPFS file and the whole-file hasher are made while it is sealed.
  file.ready = (async () => {
    const hashing = createSha512Wasm();
    hashing.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    file.out = await openSync("uploads", uploadFile(job.evidenceId));
    file.out.truncate(0);
    file.hasher = await hashing;
  })();
  files.set(job.evidenceId, file);
  schedule();
  try {
    await file.ready;
  } catch (error) {
    fail(file, error);
  }
}

// Compiled once per worker, now rather than when the first file comes (hash-wasm keeps the module).
void createSha512Wasm().catch(() => undefined);

scope.onmessage = (event) => {
  const request = event.data;
  if (request.type === "encrypt") return void start(request);
  const file = files.get(request.evidenceId);
  if (file) {
    file.sendingFirst = false;
    file.job.sendsFirstPart = false; // also when the send ended before the part was sealed (the upload could not start)
  }
  schedule();
};
