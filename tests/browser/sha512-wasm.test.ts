// Browser only (project crypto-browser): hash-wasm compiles WebAssembly at run time, which the
// Workers runtime forbids, so this cannot join tests/unit/crypto (run in node and workerd too).
import { describe, it, expect } from "vitest";
import { createSha512, decryptParts, encryptBlob, generateFileKey, type EncryptedPart } from "../../shared/crypto";
import { createSha512Wasm } from "../../web/src/upload/sha512-wasm";

/** crypto.getRandomValues fills at most 65,536 bytes per call. */
function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let o = 0; o < n; o += 65_536) crypto.getRandomValues(out.subarray(o, Math.min(o + 65_536, n)));
  return out;
}
const randomInt = (max: number) => crypto.getRandomValues(new Uint32Array(1))[0]! % max;

/** Feed `bytes` to a hasher in random-sized updates (including empty ones); return the hex digest. */
function hashInPieces(h: { update(b: Uint8Array): void; digestHex(): string }, bytes: Uint8Array, maxPiece: number): string {
  for (let o = 0; o < bytes.length; ) {
    const n = randomInt(maxPiece + 1);
    h.update(bytes.subarray(o, o + n));
    o += n;
  }
  return h.digestHex();
}

describe("createSha512Wasm (hash-wasm) agrees with the pure-TS createSha512", () => {
  it("FIPS 180-4 \"abc\"", async () => {
    const h = await createSha512Wasm();
    h.update(new TextEncoder().encode("abc"));
    expect(h.digestHex()).toBe(
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    );
  });

  it("on random inputs of random lengths, fed in random pieces, both in one update and many", async () => {
    const lengths = [0, 1, 111, 112, 127, 128, 129, 255, 256, 65_535, 65_536, 65_537, 1_048_577];
    for (let i = 0; i < 40; i++) lengths.push(randomInt(300_000));
    for (const len of lengths) {
      const bytes = randomBytes(len);
      const pure = createSha512();
      pure.update(bytes);
      const want = pure.digestHex();
      const whole = await createSha512Wasm();
      whole.update(bytes);
      expect(whole.digestHex(), `length ${len}, one update`).toBe(want);
      expect(hashInPieces(await createSha512Wasm(), bytes, 1 + randomInt(70_000)), `length ${len}, many updates`).toBe(want);
    }
  });

  it("hashes subarray views (non-zero byteOffset) by their own bytes only", async () => {
    const backing = randomBytes(10_000);
    const view = backing.subarray(333, 9_000);
    const pure = createSha512();
    pure.update(view.slice());
    const h = await createSha512Wasm();
    h.update(view);
    expect(h.digestHex()).toBe(pure.digestHex());
  });

  it("keeps concurrent hashers independent", async () => {
    const [a, b] = [randomBytes(5_000), randomBytes(7_000)];
    const [ha, hb] = await Promise.all([createSha512Wasm(), createSha512Wasm()]);
    for (let o = 0; o < 7_000; o += 500) { ha.update(a.subarray(o, o + 500)); hb.update(b.subarray(o, o + 500)); }
    const [pa, pb] = [createSha512(), createSha512()];
    pa.update(a); pb.update(b);
    expect([ha.digestHex(), hb.digestHex()]).toEqual([pa.digestHex(), pb.digestHex()]);
  });

  it("refuses to be used after digest, like the pure-TS hasher", async () => {
    const h = await createSha512Wasm();
    h.digestHex();
    expect(() => h.update(new Uint8Array(1))).toThrow();
    expect(() => h.digestHex()).toThrow();
  });

  it("drives encryptBlob and decryptParts as their createHasher: same whole-file SHA-512 as the default", async () => {
    const plain = randomBytes(3 * 1_048_576 + 17);
    const key = await generateFileKey();
    const wasm = await createSha512Wasm();
    const enc = encryptBlob(new Blob([plain as Uint8Array<ArrayBuffer>]), key, { createHasher: () => wasm });
    const parts: EncryptedPart[] = [];
    for await (const p of enc) parts.push(p);
    const pure = createSha512();
    pure.update(plain);
    const s = enc.summary();
    expect(s.sha512).toBe(pure.digestHex());

    const check = await createSha512Wasm();
    let n = 0;
    for await (const seg of decryptParts(parts.map((p) => p.bytes), key, s, { createHasher: () => check })) n += seg.length;
    expect(n).toBe(plain.length);
  });
});
