/**
 * The origin private file system (OPFS) as the app uses it: `uploads/<evidenceId>.bin` holds an
 * upload's ciphertext until the server has every part; `views/<evidenceId>` a decrypted file
 * being viewed, `views/<evidenceId>.zip` a court package; `offline/<evidenceId>.bin` the
 * ciphertext of an item kept offline; `redactions/<jobId>` a redacted copy being written (plaintext,
 * removed once it is queued for upload, web/src/redaction/video/), with its packet log, checkpoint
 * and audio (`<jobId>.log`, `.ckpt`, `.audio`, kept across a reload to resume). Large data never sits in one buffer.
 * Works on the page and in workers (sync access handles are for workers only).
 */

export type OpfsFolder = "uploads" | "views" | "offline" | "redactions";

/** The minimal sync access handle API (dedicated workers only; not in the DOM lib types). */
export interface SyncAccessHandle {
  write(buffer: ArrayBufferView, options?: { at?: number }): number;
  read(buffer: ArrayBufferView, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

export async function folder(name: OpfsFolder): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(name, { create: true });
}

export async function fileHandle(name: OpfsFolder, file: string, create = false): Promise<FileSystemFileHandle> {
  return (await folder(name)).getFileHandle(file, { create });
}

/** A sync access handle on `name/file`, created if needed (workers only). */
export async function openSync(name: OpfsFolder, file: string): Promise<SyncAccessHandle> {
  const handle = (await fileHandle(name, file, true)) as FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncAccessHandle> };
  return handle.createSyncAccessHandle();
}

/** The File at `name/file` (a snapshot backed by disk, read lazily), or undefined. */
export async function readFile(name: OpfsFolder, file: string): Promise<File | undefined> {
  try {
    return await (await fileHandle(name, file)).getFile();
  } catch {
    return undefined;
  }
}

/** Deletes `name/file`; no error if it is not there. */
export async function removeFile(name: OpfsFolder, file: string): Promise<void> {
  try {
    await (await folder(name)).removeEntry(file);
  } catch {
    // already gone
  }
}

/**
 * Deletes everything in `name` (sign-out: decrypted views and redacted copies in the making leave
 * the device with the user). A file still open elsewhere (a tab still copying) is left; no error.
 */
export async function emptyFolder(name: OpfsFolder): Promise<void> {
  try {
    const dir = (await folder(name)) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
    const names: string[] = [];
    for await (const file of dir.keys()) names.push(file);
    for (const file of names) await dir.removeEntry(file, { recursive: true }).catch(() => undefined);
  } catch {
    // no OPFS here (an old browser): nothing was written either
  }
}

export const uploadFile = (evidenceId: string) => `${evidenceId}.bin`;
