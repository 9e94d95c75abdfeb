/**
 * The bench page (built by tests/bench/run.ts with Vite, driven through playwright-core).
 * Everything is measured here, in one page and one run: the library's encrypt-and-hash
 * pipeline and the raw WebCrypto baselines read the same Blob, so the figures are ratios.
 * The page only measures; run.ts samples memory from outside through CDP and /proc.
 */
import { createSha512, encryptBlob, generateFileKey, type Sha512 } from "../../../shared/crypto";

/** The wasm hasher factory (web/src/upload/sha512-wasm.ts), handed in by index.html: see `start`. */
let createSha512Wasm: () => Promise<Sha512> = () => Promise.reject(new Error("start() has not run"));

const MiB = 1024 * 1024;
/** Bytes per generated input chunk and per read in the baselines (the format's segment size). */
const CHUNK = MiB;
const INPUT_NAME = "bench-input.bin";

export interface Timing {
  bytes: number;
  ms: number;
  /** Lowercase hex digest where the run computes one over the whole input (so runs can be cross-checked). */
  sha512?: string;
}

let input: Blob | undefined;

function blob(): Blob {
  if (!input) throw new Error("generate() an input first");
  return input;
}

/** A chunk of CSPRNG bytes (getRandomValues fills at most 64 KiB per call). */
function randomChunk(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let o = 0; o < n; o += 65_536) crypto.getRandomValues(out.subarray(o, Math.min(o + 65_536, n)));
  return out;
}

/**
 * Write `bytes` of random 1 MiB chunks to a file in the origin private file system and use
 * its File (a Blob) as the input: like a file the user picks, its bytes are on disk, not in
 * the page's memory; each write is awaited, so at most one chunk is live in JS at a time.
 * (`new Blob(chunks)` cannot reach 1 GiB here: Chromium moves Blob data to the browser process,
 * and in this headless profile it did not page it to disk, failing with ERR_OUT_OF_MEMORY
 * between 256 and 512 MiB, near its default 500 MiB in-memory blob limit.)
 */
async function generate(bytes: number): Promise<number> {
  await free();
  const dir = await navigator.storage.getDirectory();
  const handle = await dir.getFileHandle(INPUT_NAME, { create: true });
  const writable = await handle.createWritable();
  for (let done = 0; done < bytes; ) {
    const n = Math.min(CHUNK, bytes - done);
    await writable.write(randomChunk(n));
    done += n;
  }
  await writable.close();
  input = await handle.getFile();
  return input.size;
}

async function free(): Promise<void> {
  input = undefined;
  const dir = await navigator.storage.getDirectory();
  await dir.removeEntry(INPUT_NAME).catch(() => undefined);
}

/** Read the input in 1 MiB slices, timing only `inner` (or everything if `timeAll`). */
async function eachChunk(inner: (chunk: Uint8Array<ArrayBuffer>) => Promise<void> | void, timeAll = false): Promise<Timing> {
  const b = blob();
  let ms = 0;
  const start = performance.now();
  for (let o = 0; o < b.size; o += CHUNK) {
    const chunk = new Uint8Array(await b.slice(o, Math.min(o + CHUNK, b.size)).arrayBuffer());
    const t = performance.now();
    await inner(chunk);
    ms += performance.now() - t;
  }
  return { bytes: b.size, ms: timeAll ? performance.now() - start : ms };
}

/** Blob.slice().arrayBuffer() alone: what reading the file costs. */
const readOnly = () => eachChunk(() => undefined, true);

/** Raw WebCrypto AES-256-GCM over 1 MiB chunks (time in `encrypt` only). */
async function aesGcm(): Promise<Timing> {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
  const iv = new Uint8Array(12);
  let i = 0;
  return eachChunk(async (chunk) => {
    new DataView(iv.buffer).setUint32(8, i++);
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, chunk);
  });
}

/** Raw WebCrypto SHA-512 over 1 MiB chunks, one digest per chunk (time in `digest` only). */
async function webcryptoSha512(): Promise<Timing> {
  return eachChunk(async (chunk) => {
    await crypto.subtle.digest("SHA-512", chunk);
  });
}

/** One streaming hasher over the whole input, 1 MiB updates (time in `update`/`digest` only). */
async function streamingHash(kind: "wasm" | "ts"): Promise<Timing> {
  const h: Sha512 = kind === "wasm" ? await createSha512Wasm() : createSha512();
  const t = await eachChunk((chunk) => h.update(chunk));
  const t0 = performance.now();
  const sha512 = h.digestHex();
  return { ...t, ms: t.ms + performance.now() - t0, sha512 };
}

/** The library pipeline: encryptBlob (read, seal, per-part and whole-file SHA-512), every part consumed. Wall time. */
async function pipeline(kind: "wasm" | "ts"): Promise<Timing> {
  const b = blob();
  const fileKey = await generateFileKey();
  const hasher: Sha512 = kind === "wasm" ? await createSha512Wasm() : createSha512();
  const start = performance.now();
  const enc = encryptBlob(b, fileKey, { createHasher: () => hasher });
  let out = 0;
  for await (const part of enc) out += part.bytes.length; // consume and drop, as an upload would
  const ms = performance.now() - start;
  if (out < b.size) throw new Error("pipeline produced less ciphertext than plaintext");
  return { bytes: b.size, ms, sha512: enc.summary().sha512 };
}

declare global {
  interface Window {
    bench: typeof bench;
  }
}
const bench = { generate, free, readOnly, aesGcm, webcryptoSha512, streamingHash, pipeline };

/**
 * Called by index.html with web/src/upload/sha512-wasm.ts's factory. (The import lives in the
 * HTML because web/ is its own TypeScript project; this file is type-checked with tests/.)
 */
export function start(wasmFactory: () => Promise<Sha512>): void {
  createSha512Wasm = wasmFactory;
  window.bench = bench;
  document.title = "bench ready";
}
