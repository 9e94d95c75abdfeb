import { describe, it, expect } from "vitest";
import {
  IntegrityError,
  PART_SIZE,
  SEALED_SEGMENT_SIZE,
  SEGMENT_SIZE,
  ciphertextSize,
  decryptParts,
  encryptBlob,
  generateFileKey,
  segmentIv,
  toHex,
  type DecryptExpectations,
  type EncryptedPart,
} from "../../../shared/crypto";

const MiB = 1024 * 1024;

function pseudoRandom(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32
    out[i] = x & 255;
  }
  return out;
}

async function encrypt(plain: Uint8Array, key: CryptoKey) {
  const enc = encryptBlob(new Blob([plain as Uint8Array<ArrayBuffer>]), key);
  const parts: EncryptedPart[] = [];
  for await (const part of enc) parts.push(part);
  const s = enc.summary();
  const expectations: DecryptExpectations = { noncePrefix: s.noncePrefix, partSha512: s.partSha512, byteSize: s.byteSize, sha512: s.sha512 };
  return { parts, summary: s, expectations };
}

async function decrypt(parts: Iterable<Uint8Array>, key: CryptoKey, expectations: DecryptExpectations): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const seg of decryptParts(parts, key, expectations)) chunks.push(seg);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

async function sha512(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-512", bytes as Uint8Array<ArrayBuffer>)));
}

/** Decrypting must throw an IntegrityError naming `what`. */
async function expectFailure(run: Promise<unknown>, what: string): Promise<void> {
  const err = await run.then(() => undefined, (e: unknown) => e);
  expect(err, `expected IntegrityError for ${what}`).toBeInstanceOf(IntegrityError);
  expect((err as IntegrityError).what).toBe(what);
}

/** Segments of the concatenated ciphertext, and a re-cut into parts with fresh hashes (a forger who could also rewrite the manifest). */
function segmentsOf(parts: EncryptedPart[]): Uint8Array[] {
  const all = parts.flatMap((p) => {
    const segs: Uint8Array[] = [];
    for (let o = 0; o < p.bytes.length; o += SEALED_SEGMENT_SIZE) segs.push(p.bytes.slice(o, o + SEALED_SEGMENT_SIZE));
    return segs;
  });
  return all;
}
async function forge(segments: Uint8Array[], exp: DecryptExpectations) {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < segments.length; i += 8) {
    const group = segments.slice(i, i + 8);
    const bytes = new Uint8Array(group.reduce((n, s) => n + s.length, 0));
    let o = 0;
    for (const s of group) { bytes.set(s, o); o += s.length; }
    parts.push(bytes);
  }
  return { parts, expectations: { ...exp, partSha512: await Promise.all(parts.map(sha512)) } };
}

describe("segment IV", () => {
  it("is prefix || uint32 BE index || final flag", () => {
    const iv = segmentIv(Uint8Array.from([1, 2, 3, 4, 5, 6, 7]), 0x01020304, true);
    expect(toHex(iv)).toBe("01020304050607" + "01020304" + "01");
    expect(toHex(segmentIv(new Uint8Array(7), 5, false))).toBe("00000000000000" + "00000005" + "00");
  });
});

describe("round trips", () => {
  for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 8 * MiB, 8 * MiB + 1]) {
    it(`${size} bytes`, async () => {
      const key = await generateFileKey();
      const plain = pseudoRandom(size, size + 7);
      const { parts, summary, expectations } = await encrypt(plain, key);
      expect(parts.map((p) => p.index)).toEqual(parts.map((_, i) => i));
      expect(parts.length).toBe(Math.max(1, Math.ceil(Math.max(1, Math.ceil(size / SEGMENT_SIZE)) / 8)));
      for (const p of parts.slice(0, -1)) expect(p.bytes.length).toBe(PART_SIZE);
      expect(parts.reduce((n, p) => n + p.bytes.length, 0)).toBe(ciphertextSize(size));
      for (const p of parts) expect(p.sha512).toBe(await sha512(p.bytes));
      expect(summary.byteSize).toBe(size);
      expect(summary.sha512).toBe(await sha512(plain));
      expect(summary.noncePrefix.length).toBe(7);
      const back = await decrypt(parts.map((p) => p.bytes), key, expectations);
      expect(back.length).toBe(size);
      expect(toHex(back.subarray(0, 64))).toBe(toHex(plain.subarray(0, 64)));
      expect(await sha512(back)).toBe(await sha512(plain));
    });
  }

  it("reads the Blob one segment at a time (plus one read ahead) and only as parts are consumed", async () => {
    const reads: number[] = [];
    class CountingBlob extends Blob {
      override slice(start?: number, end?: number, type?: string): Blob {
        reads.push((end ?? this.size) - (start ?? 0));
        return super.slice(start, end, type);
      }
    }
    const key = await generateFileKey();
    const enc = encryptBlob(new CountingBlob([pseudoRandom(9 * MiB + 3) as Uint8Array<ArrayBuffer>]), key);
    const it = enc[Symbol.asyncIterator]();
    await it.next();
    expect(reads.length).toBe(9); // the 8 segments of part 0, and segment 8 read ahead

    expect(Math.max(...reads)).toBeLessThanOrEqual(SEGMENT_SIZE);
    expect(() => enc.summary()).toThrow();
    await it.next();
    expect((await it.next()).done).toBe(true);
    expect(reads.length).toBe(10);
    expect(enc.summary().partSha512.length).toBe(2);
  });

  it("uses a fresh nonce prefix for every file", async () => {
    const key = await generateFileKey();
    const a = await encrypt(new Uint8Array(10), key);
    const b = await encrypt(new Uint8Array(10), key);
    expect(toHex(a.summary.noncePrefix)).not.toBe(toHex(b.summary.noncePrefix));
  });
});

describe("tampering and misuse fail, naming what failed", () => {
  it("wrong key: segment 0", async () => {
    const { parts, expectations } = await encrypt(pseudoRandom(100), await generateFileKey());
    await expectFailure(decrypt(parts.map((p) => p.bytes), await generateFileKey(), expectations), "segment 0");
  });

  it("a flipped byte in any segment: the part hash catches it; with a forged hash, that segment's tag does", async () => {
    const key = await generateFileKey();
    const { parts, expectations } = await encrypt(pseudoRandom(3 * MiB + 5), key); // 4 segments, 1 part
    const segs = segmentsOf(parts);
    for (let i = 0; i < segs.length; i++) {
      const bad = segs.map((s) => s.slice());
      bad[i]![Math.floor(bad[i]!.length / 2)]! ^= 0x01;
      const forged = await forge(bad, expectations);
      await expectFailure(decrypt(forged.parts, key, expectations), "part 0");
      await expectFailure(decrypt(forged.parts, key, forged.expectations), `segment ${i}`);
    }
  });

  it("a flipped byte in the second part", async () => {
    const key = await generateFileKey();
    const { parts, expectations } = await encrypt(pseudoRandom(8 * MiB + 1), key);
    const bad = parts.map((p) => p.bytes.slice());
    bad[1]![0]! ^= 0x80;
    await expectFailure(decrypt(bad, key, expectations), "part 1");
  });

  it("reordered segments and reordered parts", async () => {
    const key = await generateFileKey();
    const small = await encrypt(pseudoRandom(2 * MiB + 10), key);
    const segs = segmentsOf(small.parts);
    const swapped = await forge([segs[1]!, segs[0]!, segs[2]!], small.expectations);
    await expectFailure(decrypt(swapped.parts, key, swapped.expectations), "segment 0");

    const big = await encrypt(pseudoRandom(8 * MiB + 1), key);
    await expectFailure(decrypt([big.parts[1]!.bytes, big.parts[0]!.bytes], key, big.expectations), "part 0");
  });

  it("missing final segment, and a stream cut off before the last part", async () => {
    const key = await generateFileKey();
    const { parts, expectations } = await encrypt(pseudoRandom(2 * MiB + 10), key); // segments 0, 1, 2(final)
    const segs = segmentsOf(parts);
    const cut = await forge(segs.slice(0, 2), expectations);
    await expectFailure(decrypt(cut.parts, key, cut.expectations), "segment 1");

    const big = await encrypt(pseudoRandom(8 * MiB + 1), key);
    await expectFailure(decrypt([big.parts[0]!.bytes], key, big.expectations), "part 1");
    // Even if the forger also drops the part from the manifest, segment 7 was not sealed as final.
    await expectFailure(decrypt([big.parts[0]!.bytes], key, { ...big.expectations, partSha512: [big.parts[0]!.sha512] }), "segment 7");
    await expectFailure(decrypt([], key, big.expectations), "part 0");
  });

  it("extra segment after the final one, and an extra part", async () => {
    const key = await generateFileKey();
    const { parts, expectations } = await encrypt(pseudoRandom(MiB + 10), key); // segments 0, 1(final)
    const segs = segmentsOf(parts);
    const extended = await forge([...segs, segs[1]!], expectations);
    await expectFailure(decrypt(extended.parts, key, extended.expectations), "segment 1");
    await expectFailure(decrypt([parts[0]!.bytes, parts[0]!.bytes], key, expectations), "part 1");
  });

  it("a manifest that lies about size or file hash is caught at the end", async () => {
    const key = await generateFileKey();
    const { parts, expectations } = await encrypt(pseudoRandom(1000), key);
    await expectFailure(decrypt(parts.map((p) => p.bytes), key, { ...expectations, byteSize: 999 }), "file size");
    await expectFailure(decrypt(parts.map((p) => p.bytes), key, { ...expectations, sha512: "0".repeat(128) }), "file sha512");
  });
});
