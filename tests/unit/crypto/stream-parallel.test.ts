/**
 * Parts sealed one by one, in parallel and out of order (as the browser's pool of encryption
 * workers does, one part per worker) are byte for byte the parts `encryptBlob` makes in one pass
 * with the same file key and nonce prefix, and decrypt as one stream.
 */
import { describe, expect, it } from "vitest";
import { SEGMENT_SIZE, createSha512, decryptParts, encryptBlob, encryptPart, partCount, FormatError } from "../../../shared/crypto";

const prefix = Uint8Array.from([1, 2, 3, 4, 5, 6, 7]);

async function fileKey(): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new Uint8Array(32).fill(9), "AES-GCM", false, ["encrypt", "decrypt"]);
}

function bytesOf(length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + (i >>> 11)) & 0xff;
  return out;
}

describe("parallel part encryption", () => {
  // Two parts and a bit (a short final segment), exactly two parts (a full final segment), one short part, empty.
  for (const size of [2 * 8 * SEGMENT_SIZE + 12345, 2 * 8 * SEGMENT_SIZE, 3 * SEGMENT_SIZE - 1, 0]) {
    it(`gives the single-pass bytes for ${size} bytes, in any order`, async () => {
      const key = await fileKey();
      const plain = bytesOf(size);
      const blob = new Blob([plain]);
      const single = encryptBlob(blob, key, { noncePrefix: prefix });
      const expected: Uint8Array[] = [];
      for await (const part of single) expected.push(part.bytes);
      const order = Array.from({ length: partCount(size) }, (_, n) => n).reverse();
      const parallel = await Promise.all(order.map((n) => encryptPart(blob, key, prefix, n)));
      parallel.sort((a, b) => a.index - b.index);
      expect(parallel.map((p) => p.bytes)).toEqual(expected);
      expect(parallel.map((p) => p.sha512)).toEqual(single.summary().partSha512);
      // The whole-file SHA-512, fed in order from each part's plaintext, is the single pass's.
      const hasher = createSha512();
      for (const part of parallel) hasher.update(part.plain);
      expect(hasher.digestHex()).toBe(single.summary().sha512);
      const out: Uint8Array[] = [];
      for await (const chunk of decryptParts(parallel.map((p) => p.bytes), key, { noncePrefix: prefix, partSha512: single.summary().partSha512, byteSize: size, sha512: single.summary().sha512 })) out.push(chunk);
      const joined = new Uint8Array(out.reduce((sum, chunk) => sum + chunk.length, 0));
      out.reduce((offset, chunk) => (joined.set(chunk, offset), offset + chunk.length), 0);
      expect(joined).toEqual(plain);
    }, 180_000);
  }

  it("refuses a part index past the end, and a short nonce prefix", async () => {
    const key = await fileKey();
    const blob = new Blob([bytesOf(100)]);
    await expect(encryptPart(blob, key, prefix, 1)).rejects.toBeInstanceOf(FormatError);
    await expect(encryptPart(blob, key, prefix.subarray(1), 0)).rejects.toBeInstanceOf(FormatError);
  });
});
