/**
 * The evidence worker: decrypts ciphertext parts (sent by the page in order, as they download)
 * with shared/crypto decryptParts, which checks each part's SHA-512, every segment's GCM tag,
 * the size and the whole-file SHA-512, writing plaintext straight into OPFS (`views/<id>`),
 * so a large video never sits in memory. On any failure the output is emptied: nothing
 * unverified is left to show. It also streams court packages (`views/<id>.zip`) from there.
 */
import "../ui/zod-jitless";
import { courtPackageChunks, decryptParts, IntegrityError } from "../../../shared/crypto/index";
import { createSha512Wasm } from "../upload/sha512-wasm";
import { fileHandle, openSync, type SyncAccessHandle } from "../upload/opfs";
import type { OpenEvent, OpenJob } from "./messages";

const scope = self as unknown as { postMessage(message: OpenEvent): void; onmessage: ((event: MessageEvent<OpenJob>) => void) | null };

/** Parts as they arrive from the page; `null` ends the stream. */
const inbox: (Uint8Array | null)[] = [];
let waiting: (() => void) | undefined;

async function* incomingParts(): AsyncGenerator<Uint8Array> {
  for (;;) {
    while (inbox.length === 0) await new Promise<void>((resolve) => (waiting = resolve));
    const part = inbox.shift()!;
    if (part === null) return;
    scope.postMessage({ type: "ack" }); // the page may send another
    yield part;
  }
}

async function decrypt(job: Extract<OpenJob, { type: "decrypt" }>): Promise<void> {
  const out: SyncAccessHandle = await openSync("views", job.evidenceId);
  let offset = 0;
  try {
    out.truncate(0);
    const hasher = await createSha512Wasm();
    for await (const plain of decryptParts(incomingParts(), job.fileKey, job.expect, { createHasher: () => hasher })) {
      out.write(plain, { at: offset });
      offset += plain.length;
      scope.postMessage({ type: "progress", plainBytes: offset });
    }
    out.flush();
    out.close();
    scope.postMessage({ type: "verified" });
  } catch (error) {
    out.truncate(0); // show nothing that did not verify
    out.close();
    if (error instanceof IntegrityError) scope.postMessage({ type: "failed", integrity: true, what: error.what, message: error.message });
    else scope.postMessage({ type: "failed", integrity: false, what: "decryption", message: error instanceof Error ? error.message : String(error) });
  }
}

async function exportPackage(job: Extract<OpenJob, { type: "export" }>): Promise<void> {
  const original = await (await fileHandle("views", job.evidenceId)).getFile();
  const out = await openSync("views", `${job.evidenceId}.zip`);
  let offset = 0;
  try {
    out.truncate(0);
    const hasher = await createSha512Wasm();
    const chunks = courtPackageChunks({
      original: original.stream(), manifestJws: job.manifestJws, signerPublicJwk: job.signerPublicJwk, signerRegister: job.signerRegister, metadata: job.metadata,
      ...(job.fileKey ? { fileKey: job.fileKey } : {}), ...(job.timestamp ? { timestamp: job.timestamp } : {}), createHasher: () => hasher,
    });
    for await (const chunk of chunks) {
      out.write(chunk, { at: offset });
      offset += chunk.length;
    }
    out.flush();
    out.close();
    job.fileKey?.fill(0);
    scope.postMessage({ type: "exported", bytes: offset });
  } catch (error) {
    out.truncate(0);
    out.close();
    scope.postMessage({ type: "failed", integrity: error instanceof IntegrityError, what: error instanceof IntegrityError ? error.what : "court package", message: error instanceof Error ? error.message : String(error) });
  }
}

scope.onmessage = (event) => {
  const job = event.data;
  if (job.type === "decrypt") void decrypt(job);
  else if (job.type === "export") void exportPackage(job);
  else {
    inbox.push(job.type === "part" ? job.bytes : null);
    waiting?.();
    waiting = undefined;
  }
};
