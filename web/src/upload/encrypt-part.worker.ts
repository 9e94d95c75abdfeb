/**
 * One worker of the encryption pool (encrypt.worker.ts): seals one ciphertext part at a time
 * (shared/crypto encryptPart: its up to 8 segments, read by `Blob.slice`) and hands back the part
 * with its SHA-512 and its plaintext, for the whole-file SHA-512 that the coordinator feeds in order.
 */
import { encryptPart } from "../../../shared/crypto/stream";

export interface PartJob {
  file: Blob;
  fileKey: CryptoKey;
  noncePrefix: Uint8Array;
  index: number;
}

export type PartResult =
  | { ok: true; index: number; bytes: Uint8Array; sha512: string; plain: Uint8Array }
  | { ok: false; index: number; message: string };

const scope = self as unknown as { postMessage(message: PartResult, transfer?: Transferable[]): void; onmessage: ((event: MessageEvent<PartJob>) => void) | null };

scope.onmessage = async (event) => {
  const { file, fileKey, noncePrefix, index } = event.data;
  try {
    const part = await encryptPart(file, fileKey, noncePrefix, index);
    scope.postMessage({ ok: true, index, bytes: part.bytes, sha512: part.sha512, plain: part.plain }, [part.bytes.buffer, part.plain.buffer]);
  } catch (error) {
    scope.postMessage({ ok: false, index, message: error instanceof Error ? error.message : String(error) });
  }
};
