/// <reference types="vite/client" />
import { beforeAll, describe, it, expect } from "vitest";
import vector from "../../../shared/crypto/test-vector-2.json";
import doc from "../../../docs/evidence-format.md?raw";
import {
  IntegrityError,
  SEALED_SEGMENT_SIZE,
  decryptExpectations,
  decryptMetadata,
  decryptParts,
  encryptBlob,
  fromHex,
  importFileKey,
  importPrivateKey,
  sealSegment,
  segmentIv,
  sha512Hex,
  toHex,
  unwrapFileKey,
  verifyManifest,
  type Manifest,
} from "../../../shared/crypto";

/** The vector's plaintext, by the rule the doc states: byte i = i mod 251. */
function plaintextByRule(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = i % 251;
  return out;
}

const plaintext = plaintextByRule(vector.byteSize);
let parts: Uint8Array[] = [];
let fileKey: CryptoKey;
let manifest: Manifest;

beforeAll(async () => {
  const enc = encryptBlob(new Blob([plaintext as Uint8Array<ArrayBuffer>]), await importFileKey(fromHex(vector.fileKeyHex)), { noncePrefix: fromHex(vector.noncePrefixHex) });
  parts = [];
  for await (const p of enc) parts.push(p.bytes);
  manifest = await verifyManifest(vector.manifestJws, vector.signerPublicJwk);
  fileKey = await unwrapFileKey(vector.wrappedFileKey, (await importPrivateKey(vector.casePrivateJwk, "enc")).privateKey);
});

/** Decrypts `input` with the project's decryptor; the `what` of the IntegrityError it throws, or "ok". */
async function failure(input: Uint8Array[], partSha512?: string[]): Promise<string> {
  const expect = { ...decryptExpectations(manifest), ...(partSha512 ? { partSha512 } : {}) };
  try {
    for await (const _ of decryptParts(input, fileKey, expect)) void _;
    return "ok";
  } catch (error) {
    if (error instanceof IntegrityError) return error.what;
    throw error;
  }
}

/** Part hashes recomputed for tampered parts, so only the segment layer (GCM, IV) can catch the change. */
const hashesOf = (input: Uint8Array[]): Promise<string[]> => Promise.all(input.map((p) => sha512Hex(p)));

const concat = (...chunks: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) (out.set(c, at), (at += c.length));
  return out;
};

describe("published test vector 2 (shared/crypto/test-vector-2.json): 9 segments, 2 parts, a full final segment", () => {
  it("the code reproduces the IVs, each part's size, SHA-512 and first and last 32 bytes, and the plaintext SHA-512 from the doc's rule", async () => {
    expect(vector.byteSize).toBe(9 * 1_048_576);
    const prefix = fromHex(vector.noncePrefixHex);
    expect(vector.segments.map((s) => toHex(segmentIv(prefix, s.index, s.final)))).toEqual(vector.segments.map((s) => s.ivHex));
    expect(vector.segments.map((s) => [s.index, s.final, s.part])).toEqual([...Array(9).keys()].map((i) => [i, i === 8, i < 8 ? 0 : 1]));
    const derived = await Promise.all(parts.map(async (bytes, index) => ({
      index, byteSize: bytes.length, sha512: await sha512Hex(bytes), firstHex: toHex(bytes.subarray(0, 32)), lastHex: toHex(bytes.subarray(bytes.length - 32)),
    })));
    expect(derived).toEqual(vector.parts);
    expect(vector.parts.map((p) => p.byteSize)).toEqual([8 * SEALED_SEGMENT_SIZE, SEALED_SEGMENT_SIZE]);
    expect(await sha512Hex(plaintext)).toBe(vector.plaintextSha512);
  });

  it("the signed manifest lists those hashes, and the published wrapped file key decrypts the parts and the metadata", async () => {
    expect(manifest).toEqual(vector.manifest);
    expect(manifest.parts).toEqual(vector.parts.map((p) => p.sha512));
    expect([manifest.byteSize, manifest.sha512, manifest.noncePrefix]).toEqual([vector.byteSize, vector.plaintextSha512, "sLGys7S1tg"]);
    const out: Uint8Array[] = [];
    for await (const seg of decryptParts(parts, fileKey, decryptExpectations(manifest))) out.push(seg);
    expect(out.map((s) => s.length)).toEqual(Array(9).fill(1_048_576));
    expect(await sha512Hex(concat(...out))).toBe(vector.plaintextSha512);
    expect(await decryptMetadata(vector.metadataJwe, fileKey)).toEqual(vector.metadataPlaintext);
  });

  it("the decryptor refuses a truncated final segment, the last two segments swapped, the final flag cleared, a missing last part", async () => {
    const [part0, part1] = parts as [Uint8Array, Uint8Array];
    // Truncated final segment: as published, the part hash catches it; with the hash recomputed, the tag does.
    const truncated = [part0, part1.subarray(0, part1.length - 1)];
    expect(await failure(truncated)).toBe("part 1");
    expect(await failure(truncated, await hashesOf(truncated))).toBe("segment 8");
    // Segments 7 and 8 swapped across the part boundary.
    const seg7 = part0.subarray(7 * SEALED_SEGMENT_SIZE);
    const swapped = [concat(part0.subarray(0, 7 * SEALED_SEGMENT_SIZE), part1), seg7];
    expect(await failure(swapped)).toBe("part 0");
    expect(await failure(swapped, await hashesOf(swapped))).toBe("segment 7");
    // Segment 8 sealed with the right key and index but F = 0x00: nothing marks the end, so it fails as the final one.
    const notFinal = [part0, await sealSegment(await importFileKey(fromHex(vector.fileKeyHex)), fromHex(vector.noncePrefixHex), 8, false, plaintext.subarray(8 * 1_048_576))];
    expect(await failure(notFinal, await hashesOf(notFinal))).toBe("segment 8");
    // The last part dropped, the manifest cut to match: segment 7 is not sealed as final.
    expect(await failure([part0], [vector.parts[0]!.sha512])).toBe("segment 7");
    expect(await failure([part0])).toBe("part 1");
    expect(await failure(parts)).toBe("ok");
  });

  it("docs/evidence-format.md §7.2 publishes the same values", () => {
    const section = doc.slice(doc.indexOf("### 7.2"), doc.indexOf("## 8."));
    const values = [
      vector.plaintextRule, String(vector.byteSize), vector.plaintextSha512, vector.fileKeyHex, vector.noncePrefixHex, vector.manifest.noncePrefix,
      ...vector.segments.map((s) => s.ivHex),
      ...vector.parts.flatMap((p) => [String(p.byteSize), p.sha512, p.firstHex, p.lastHex]),
      vector.wrappedFileKey, vector.metadataJwe, vector.manifestJws, JSON.stringify(vector.manifest, null, 2),
    ];
    expect(section.length).toBeGreaterThan(0);
    for (const value of values) expect(section.includes(value), `§7.2 is missing ${value.slice(0, 40)}…`).toBe(true);
  });
});
