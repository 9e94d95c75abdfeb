/**
 * The encryption worker: reads a picked file by `Blob.slice` one segment at a time
 * (shared/crypto encryptBlob), writes each ciphertext part straight into OPFS
 * (`uploads/<evidenceId>.bin`, through a sync access handle), hashes with the wasm SHA-512,
 * then signs the manifest and wraps the file key to the case key. Memory holds about one part,
 * whatever the file's size, and the page's thread stays free.
 */
import "../ui/zod-jitless";
import { PART_SIZE, SEGMENT_SIZE, SEGMENTS_PER_PART, encryptBlob, encryptMetadata, signManifest, wrapFileKey, type UnlockedKey } from "../../../shared/crypto/index";
import { createSha512Wasm } from "./sha512-wasm";
import type { EncryptEvent, EncryptJob } from "./messages";
import { openSync, uploadFile } from "./opfs";

const scope = self as unknown as { postMessage(message: EncryptEvent): void; onmessage: ((event: MessageEvent<EncryptJob>) => void) | null };

async function encrypt(job: EncryptJob): Promise<void> {
  const out = await openSync("uploads", uploadFile(job.evidenceId));
  try {
    out.truncate(0);
    const hasher = await createSha512Wasm();
    const encryption = encryptBlob(job.file, job.fileKey, { createHasher: () => hasher });
    for await (const part of encryption) {
      out.write(part.bytes, { at: part.index * PART_SIZE });
      const encryptedBytes = Math.min(job.file.size, (part.index + 1) * SEGMENTS_PER_PART * SEGMENT_SIZE);
      scope.postMessage({ type: "progress", evidenceId: job.evidenceId, encryptedBytes });
    }
    out.flush();
    const metadata = await encryptMetadata(job.metadata, job.fileKey);
    // signManifest reads only kid and privateKey of the signer.
    const signer = { kid: job.signer.kid, privateKey: job.signer.privateKey, publicJwk: {} } satisfies UnlockedKey;
    const manifest = await signManifest({ evidenceId: job.evidenceId, caseId: job.caseId, uploaderId: job.uploaderId, metadata, stream: encryption.summary() }, signer);
    const fileKeyJwe = await wrapFileKey(job.fileKey, job.caseKeyJwk);
    scope.postMessage({ type: "done", evidenceId: job.evidenceId, manifest, fileKeyJwe, caseKid: job.caseKid, partCount: encryption.partCount });
  } finally {
    out.close();
  }
}

// One job at a time, in the order they arrive.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  const job = event.data;
  queue = queue.then(() =>
    encrypt(job).catch((error: unknown) => {
      const message = error instanceof Error && error.message === "the file changed while it was being read"
        ? "The file changed or became unreadable while it was being encrypted. Pick it again."
        : `Couldn't encrypt this file (${error instanceof Error ? error.message : String(error)}). Pick it again; if it keeps failing, check the device has free storage.`;
      scope.postMessage({ type: "error", evidenceId: job.evidenceId, message });
    }),
  );
};
