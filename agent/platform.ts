/**
 * The agent's only contact with the machine: files and child processes, through `node:fs` and
 * `node:child_process`, which Node 22+ has and Deno provides through its Node compatibility.
 * Everything else in agent/ uses web-standard APIs (fetch, WebSocket, WebCrypto) and jose.
 * Files holding secrets are written owner-only (0600) in an owner-only folder (0700).
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import nodeProcess from "node:process";

export { dirname, isAbsolute, join, resolve };
/** The process (arguments, environment, standard streams, exit), in Node and in Deno. */
export const proc = nodeProcess;

/** Makes a folder (and its parents) readable by its owner only. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/** Writes a file atomically (a temporary file renamed over it), owner-only. */
export async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await writeFile(temporary, data, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

export async function readText(path: string): Promise<string> {
  return readFile(path, "utf8");
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Names in a folder (none if it does not exist). */
export async function list(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch {
    return [];
  }
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

export async function remove(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

export async function move(from: string, to: string): Promise<void> {
  await rename(from, to);
}

/** A file written piece by piece (the ciphertext of a held clip), owner-only. */
export async function createPrivateFile(path: string): Promise<{ write(bytes: Uint8Array): Promise<void>; close(): Promise<void> }> {
  const handle = await open(path, "w", 0o600);
  return {
    async write(bytes) {
      let offset = 0;
      while (offset < bytes.length) offset += (await handle.write(bytes, offset, bytes.length - offset)).bytesWritten;
    },
    close: () => handle.close(),
  };
}

/** Reads `length` bytes at `position` of a file. */
export async function readRange(path: string, position: number, length: number): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    return await readAt(handle, position, length);
  } finally {
    await handle.close();
  }
}

async function readAt(handle: Awaited<ReturnType<typeof open>>, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw new Error("the file ended early (changed while being read?)");
    done += bytesRead;
  }
  return out;
}

/**
 * A file as a Blob for shared/crypto's `encryptBlob`, read one slice at a time from disk (memory:
 * one segment), never whole. Only `size` and `slice(start, end).arrayBuffer()` are used.
 */
export async function fileAsBlob(path: string): Promise<{ blob: Blob; close(): Promise<void> }> {
  const handle = await open(path, "r");
  const { size } = await handle.stat();
  const blob = {
    size,
    slice(start = 0, end = size) {
      return { arrayBuffer: async () => (await readAt(handle, start, Math.max(0, Math.min(end, size) - start))).buffer };
    },
  } as unknown as Blob;
  return { blob, close: () => handle.close() };
}

/** Runs a program (no shell) and collects its output. Never rejects for a non-zero exit; the caller reads `code`. */
export function run(command: string, args: string[], options: { timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Uint8Array) => (stdout += new TextDecoder().decode(chunk)));
    child.stderr.on("data", (chunk: Uint8Array) => (stderr += new TextDecoder().decode(chunk)));
    const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : null;
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      fail(new Error(`could not run ${command}: ${err.message}`));
    });
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Calls `handler` once when the process is asked to stop (Ctrl-C, SIGTERM). */
export function onStop(handler: () => void): void {
  nodeProcess.once("SIGINT", handler);
  nodeProcess.once("SIGTERM", handler);
}
