import { describe, it, expect } from "vitest";
import { createSha512, toHex } from "../../../shared/crypto";

const enc = (s: string) => new TextEncoder().encode(s);
const hash = (bytes: Uint8Array) => {
  const h = createSha512();
  h.update(bytes);
  return h.digestHex();
};

// FIPS 180-4 examples (NIST CSRC "SHA512.pdf" and the classic long-message vector).
describe("SHA-512 known answers", () => {
  it("empty input", () => {
    expect(hash(new Uint8Array())).toBe(
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    );
  });
  it('"abc" (one block)', () => {
    expect(hash(enc("abc"))).toBe(
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    );
  });
  it("896-bit message (two blocks)", () => {
    const msg =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    expect(hash(enc(msg))).toBe(
      "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
    );
  });
  it("one million 'a', fed in uneven chunks", () => {
    const h = createSha512();
    const chunk = new Uint8Array(999).fill(0x61);
    let left = 1_000_000;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      h.update(chunk.subarray(0, n));
      left -= n;
    }
    expect(h.digestHex()).toBe(
      "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
    );
  });
});

describe("SHA-512 agrees with WebCrypto", () => {
  it("at every length around the padding boundaries, in one and in many updates", async () => {
    const data = crypto.getRandomValues(new Uint8Array(600));
    for (const len of [1, 55, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257, 383, 384, 599]) {
      const bytes = data.subarray(0, len);
      const want = toHex(new Uint8Array(await crypto.subtle.digest("SHA-512", bytes)));
      expect(hash(bytes), `length ${len}`).toBe(want);
      const h = createSha512();
      for (let i = 0; i < len; i += 7) h.update(bytes.subarray(i, i + 7));
      expect(h.digestHex(), `length ${len} in 7-byte updates`).toBe(want);
    }
  });
  it("refuses to be used after digest", () => {
    const h = createSha512();
    h.digestHex();
    expect(() => h.update(new Uint8Array(1))).toThrow();
  });
});
