/**
 * Evidence stream format v1 (docs/evidence-format.md §3): 1 MiB plaintext segments, each
 * AES-256-GCM sealed under the file key with IV = nonce prefix (7) || index (uint32 BE) ||
 * final flag (1), grouped 8 to a ciphertext part. The STREAM construction (Hoang, Reyhanitabar,
 * Rogaway, Vizár 2015; as in Tink and age) makes reordering, truncation and extension fail.
 */
import { IntegrityError, FormatError } from "./errors";
import { sha512Hex } from "./encoding";
import { createSha512, type Sha512 } from "./sha512";

/** Version of this segment format; the manifest carries it. */
export const STREAM_FORMAT_VERSION = 1;
/** Plaintext bytes per segment (fixed by the format). */
export const SEGMENT_SIZE = 1_048_576;
/** AES-GCM tag bytes appended to each sealed segment. */
export const TAG_SIZE = 16;
/** Bytes of a full sealed segment. */
export const SEALED_SEGMENT_SIZE = SEGMENT_SIZE + TAG_SIZE;
/** Sealed segments per ciphertext part. */
export const SEGMENTS_PER_PART = 8;
/** Bytes of every ciphertext part but the last (8 MiB + 128 B). */
export const PART_SIZE = SEGMENTS_PER_PART * SEALED_SEGMENT_SIZE;
/** Bytes of the random per-file nonce prefix. */
export const NONCE_PREFIX_SIZE = 7;
/** Largest segment count the 32-bit index allows. */
const MAX_SEGMENTS = 2 ** 32;

/** One ciphertext part ready to upload: zero-based index, bytes, SHA-512 of the bytes (lowercase hex). */
export interface EncryptedPart {
  index: number;
  bytes: Uint8Array;
  sha512: string;
}

/** What the manifest needs once every part has been produced. Hashes are lowercase hex. */
export interface EncryptionSummary {
  byteSize: number;
  sha512: string;
  noncePrefix: Uint8Array;
  partSha512: string[];
}

/** The parts of one file, produced on demand; iterate once, then read `summary()`. */
export interface BlobEncryption extends AsyncIterable<EncryptedPart> {
  readonly noncePrefix: Uint8Array;
  readonly partCount: number;
  /** Available after iteration has finished; throws before. */
  summary(): EncryptionSummary;
}

/** The 12-byte GCM IV of a segment: prefix (7 bytes) || index (uint32 BE) || 0x01 if final else 0x00. */
export function segmentIv(noncePrefix: Uint8Array, index: number, final: boolean): Uint8Array {
  if (noncePrefix.length !== NONCE_PREFIX_SIZE) throw new FormatError("nonce prefix", `must be ${NONCE_PREFIX_SIZE} bytes`);
  if (!Number.isInteger(index) || index < 0 || index >= MAX_SEGMENTS) throw new FormatError("segment index", "out of range");
  const iv = new Uint8Array(12);
  iv.set(noncePrefix, 0);
  new DataView(iv.buffer).setUint32(7, index);
  iv[11] = final ? 1 : 0;
  return iv;
}

/** Number of segments for a plaintext of `byteSize` bytes (an empty file is one empty segment). */
export function segmentCount(byteSize: number): number {
  return Math.max(1, Math.ceil(byteSize / SEGMENT_SIZE));
}

/** Number of ciphertext parts for a plaintext of `byteSize` bytes. */
export function partCount(byteSize: number): number {
  return Math.ceil(segmentCount(byteSize) / SEGMENTS_PER_PART);
}

/** Total ciphertext bytes for a plaintext of `byteSize` bytes. */
export function ciphertextSize(byteSize: number): number {
  return byteSize + segmentCount(byteSize) * TAG_SIZE;
}

/** Seal one plaintext segment (bytes in, plaintext || 16-byte tag out); no AAD. */
export async function sealSegment(fileKey: CryptoKey, noncePrefix: Uint8Array, index: number, final: boolean, plaintext: Uint8Array): Promise<Uint8Array> {
  // IV is unique per (file key, index, final) by construction, so no IV ever repeats under a key.
  const iv = segmentIv(noncePrefix, index, final) as Uint8Array<ArrayBuffer>;
  return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, tagLength: 128 }, fileKey, plaintext as Uint8Array<ArrayBuffer>));
}

/** Open one sealed segment (ciphertext || tag in, plaintext out); throws IntegrityError naming the segment. */
export async function openSegment(fileKey: CryptoKey, noncePrefix: Uint8Array, index: number, final: boolean, sealed: Uint8Array): Promise<Uint8Array> {
  if (sealed.length < TAG_SIZE) throw new IntegrityError(`segment ${index}`, "shorter than a GCM tag");
  if (sealed.length > SEALED_SEGMENT_SIZE) throw new IntegrityError(`segment ${index}`, "longer than a segment");
  const iv = segmentIv(noncePrefix, index, final) as Uint8Array<ArrayBuffer>;
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv, tagLength: 128 }, fileKey, sealed as Uint8Array<ArrayBuffer>));
  } catch (cause) {
    const where = final ? "as the final segment" : "as a non-final segment";
    throw new IntegrityError(`segment ${index}`, `failed authentication ${where}: wrong key, tampered, reordered, truncated or extended`, { cause });
  }
}

/** Options for `encryptBlob`. `noncePrefix` is for published test vectors only. */
export interface EncryptOptions {
  noncePrefix?: Uint8Array;
  createHasher?: () => Sha512;
}

/**
 * Encrypt a Blob into parts, reading it one segment at a time with `Blob.slice` (memory: one part).
 * Yields parts `{ index, bytes, sha512 }`; the whole-plaintext SHA-512 is computed on the way.
 */
export function encryptBlob(blob: Blob, fileKey: CryptoKey, options: EncryptOptions = {}): BlobEncryption {
  // Random prefix per file: the file key is already unique, so this is defence in depth if a key were ever reused.
  const noncePrefix = options.noncePrefix ?? crypto.getRandomValues(new Uint8Array(NONCE_PREFIX_SIZE));
  if (noncePrefix.length !== NONCE_PREFIX_SIZE) throw new FormatError("nonce prefix", `must be ${NONCE_PREFIX_SIZE} bytes`);
  const byteSize = blob.size;
  const segments = segmentCount(byteSize);
  if (segments > MAX_SEGMENTS) throw new FormatError("file", "too large for the v1 format");
  const parts = partCount(byteSize);
  const hasher = (options.createHasher ?? createSha512)();
  const partSha512: string[] = [];
  let started = false;
  let result: EncryptionSummary | undefined;

  /** Reads segment `s` of the plaintext (one `Blob.slice`, so one segment in memory). */
  async function readSegment(s: number): Promise<Uint8Array> {
    const start = s * SEGMENT_SIZE;
    const end = Math.min(start + SEGMENT_SIZE, byteSize);
    const plain = new Uint8Array(await blob.slice(start, end).arrayBuffer());
    if (plain.length !== end - start) throw new Error("the file changed while it was being read");
    return plain;
  }

  async function* generate(): AsyncGenerator<EncryptedPart> {
    // Read one segment ahead: the next read runs while this segment is hashed and sealed
    // (memory: one more segment). Errors surface when that segment's turn comes.
    let ahead: Promise<Uint8Array> | null = readSegment(0);
    ahead.catch(() => undefined);
    for (let p = 0; p < parts; p++) {
      const first = p * SEGMENTS_PER_PART;
      const last = Math.min(first + SEGMENTS_PER_PART, segments) - 1;
      const plainEnd = Math.min((last + 1) * SEGMENT_SIZE, byteSize);
      const bytes = new Uint8Array(plainEnd - first * SEGMENT_SIZE + (last - first + 1) * TAG_SIZE);
      let offset = 0;
      for (let s = first; s <= last; s++) {
        const plain = await ahead!;
        ahead = s + 1 < segments ? readSegment(s + 1) : null;
        ahead?.catch(() => undefined);
        // WebCrypto copies its input when called, so hashing while it seals is safe.
        const sealing = sealSegment(fileKey, noncePrefix, s, s === segments - 1, plain);
        hasher.update(plain);
        const sealed = await sealing;
        bytes.set(sealed, offset);
        offset += sealed.length;
      }
      const sha512 = await sha512Hex(bytes);
      partSha512.push(sha512);
      yield { index: p, bytes, sha512 };
    }
    result = { byteSize, sha512: hasher.digestHex(), noncePrefix, partSha512 };
  }

  return {
    noncePrefix,
    partCount: parts,
    summary() {
      if (!result) throw new Error("summary() is available once every part has been read");
      return result;
    },
    [Symbol.asyncIterator]() {
      if (started) throw new Error("an encryption can be iterated only once");
      started = true;
      return generate();
    },
  };
}

/**
 * Encrypts ciphertext part `index` alone (its up to 8 segments, read by `Blob.slice`): the same
 * bytes `encryptBlob` yields for that part with the same key and nonce prefix, so parts can be
 * sealed in parallel (one per worker) and in any order. Also returns the part's plaintext, for
 * the caller to feed the whole-file SHA-512 in order.
 */
export async function encryptPart(blob: Blob, fileKey: CryptoKey, noncePrefix: Uint8Array, index: number): Promise<EncryptedPart & { plain: Uint8Array }> {
  if (noncePrefix.length !== NONCE_PREFIX_SIZE) throw new FormatError("nonce prefix", `must be ${NONCE_PREFIX_SIZE} bytes`);
  const byteSize = blob.size;
  const segments = segmentCount(byteSize);
  if (segments > MAX_SEGMENTS) throw new FormatError("file", "too large for the v1 format");
  if (!Number.isInteger(index) || index < 0 || index >= partCount(byteSize)) throw new FormatError("part index", "out of range");
  const first = index * SEGMENTS_PER_PART;
  const last = Math.min(first + SEGMENTS_PER_PART, segments) - 1;
  const plainStart = first * SEGMENT_SIZE;
  const plainEnd = Math.min((last + 1) * SEGMENT_SIZE, byteSize);
  const plain = new Uint8Array(await blob.slice(plainStart, plainEnd).arrayBuffer());
  if (plain.length !== plainEnd - plainStart) throw new Error("the file changed while it was being read");
  const bytes = new Uint8Array(plain.length + (last - first + 1) * TAG_SIZE);
  const sealed = await Promise.all(
    Array.from({ length: last - first + 1 }, (_, k) => {
      const s = first + k;
      return sealSegment(fileKey, noncePrefix, s, s === segments - 1, plain.subarray(k * SEGMENT_SIZE, Math.min((k + 1) * SEGMENT_SIZE, plain.length)));
    }),
  );
  sealed.forEach((segment, k) => bytes.set(segment, k * SEALED_SEGMENT_SIZE));
  return { index, bytes, sha512: await sha512Hex(bytes), plain };
}

/** What decryption checks against: from the verified manifest. Hashes are lowercase hex. */
export interface DecryptExpectations {
  noncePrefix: Uint8Array;
  partSha512: readonly string[];
  byteSize: number;
  sha512: string;
}

/**
 * Decrypt ciphertext parts (in order) into plaintext segments. Checks each part's SHA-512
 * against the manifest before decrypting it, each segment's GCM tag, then the byte size and
 * whole-plaintext SHA-512 after the last segment. Segments yielded before the end are
 * authentic (GCM), but the file as a whole is verified only when the iteration completes
 * without throwing: show nothing as "verified" before that.
 */
export async function* decryptParts(
  parts: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  fileKey: CryptoKey,
  expect: DecryptExpectations,
  options: { createHasher?: () => Sha512 } = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const hasher = (options.createHasher ?? createSha512)();
  let pending: Uint8Array | undefined;
  let segment = 0;
  let partIndex = 0;
  let size = 0;
  const open = async (sealed: Uint8Array, final: boolean): Promise<Uint8Array> => {
    const plain = await openSegment(fileKey, expect.noncePrefix, segment, final, sealed);
    segment++;
    size += plain.length;
    hasher.update(plain);
    return plain;
  };
  for await (const part of parts) {
    if (partIndex >= expect.partSha512.length) {
      throw new IntegrityError(`part ${partIndex}`, "extra part that the manifest does not list");
    }
    if ((await sha512Hex(part)) !== expect.partSha512[partIndex]) {
      throw new IntegrityError(`part ${partIndex}`, "SHA-512 does not match the manifest");
    }
    for (let off = 0; off < part.length; off += SEALED_SEGMENT_SIZE) {
      // Hold back the newest segment: only the end of the stream may be opened as final.
      if (pending) yield await open(pending, false);
      pending = part.subarray(off, Math.min(off + SEALED_SEGMENT_SIZE, part.length));
    }
    partIndex++;
  }
  if (partIndex < expect.partSha512.length) {
    throw new IntegrityError(`part ${partIndex}`, "missing: the stream ended before the last part");
  }
  if (!pending) throw new IntegrityError(`segment ${segment}`, "missing: no final segment");
  yield await open(pending, true);
  if (size !== expect.byteSize) {
    throw new IntegrityError("file size", `decrypted ${size} bytes, the manifest says ${expect.byteSize}`);
  }
  if (hasher.digestHex() !== expect.sha512) {
    throw new IntegrityError("file sha512", "the decrypted file's SHA-512 does not match the manifest");
  }
}
