/**
 * Crash-safe files: a file appears under its final name complete and on disk, or not at all.
 * Written to a temporary name in the same folder tree, flushed (fsync), renamed over the
 * final name (atomic on POSIX file systems), and the folder flushed so the rename is durable.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { streamChunks } from "../shared/crypto/encoding";

/** What can be written: bytes, text, or a stream of bytes. */
export type Body = ReadableStream<Uint8Array> | ArrayBuffer | ArrayBufferView | string | Blob | null;

/** Flushes a folder, so a rename or unlink inside it survives a power cut. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function* chunksOf(body: Body): AsyncGenerator<Uint8Array> {
  if (body === null) return;
  if (typeof body === "string") yield new TextEncoder().encode(body);
  else if (body instanceof ArrayBuffer) yield new Uint8Array(body);
  else if (ArrayBuffer.isView(body)) yield new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  else if (body instanceof Blob) yield* streamChunks(body.stream());
  else yield* streamChunks(body);
}

/**
 * Writes `body` to `path` atomically, calling `onChunk` with every chunk on the way (to hash
 * it); returns the byte count. `tmpDir` must be on the same file system as `path`.
 */
export async function writeAtomically(path: string, body: Body, tmpDir: string, onChunk?: (chunk: Uint8Array) => void): Promise<number> {
  await mkdir(tmpDir, { recursive: true });
  const tmp = join(tmpDir, randomUUID());
  const handle = await open(tmp, "wx");
  let size = 0;
  try {
    for await (const chunk of chunksOf(body)) {
      onChunk?.(chunk);
      let written = 0;
      while (written < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, written, chunk.byteLength - written);
        written += bytesWritten;
      }
      size += chunk.byteLength;
    }
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  await mkdir(dirname(path), { recursive: true });
  await rename(tmp, path);
  await syncDir(dirname(path));
  return size;
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
