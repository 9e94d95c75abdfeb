/**
 * Incremental SHA-512 (FIPS 180-4), because WebCrypto `digest` cannot stream.
 * Pure TypeScript, 64-bit words held as two uint32 halves (no BigInt) for speed.
 * Kept behind the small `Sha512` interface so a faster (e.g. wasm) hasher can replace it.
 */

/** An incremental SHA-512: `update` with bytes any number of times, then `digestHex` once. */
export interface Sha512 {
  update(bytes: Uint8Array): void;
  /** Lowercase hex of the 64-byte digest; the hasher cannot be used afterwards. */
  digestHex(): string;
}

// Round constants K[0..79], as hi/lo uint32 pairs (FIPS 180-4 §4.2.3).
const K = new Uint32Array([
  0x428a2f98, 0xd728ae22, 0x71374491, 0x23ef65cd, 0xb5c0fbcf, 0xec4d3b2f, 0xe9b5dba5, 0x8189dbbc,
  0x3956c25b, 0xf348b538, 0x59f111f1, 0xb605d019, 0x923f82a4, 0xaf194f9b, 0xab1c5ed5, 0xda6d8118,
  0xd807aa98, 0xa3030242, 0x12835b01, 0x45706fbe, 0x243185be, 0x4ee4b28c, 0x550c7dc3, 0xd5ffb4e2,
  0x72be5d74, 0xf27b896f, 0x80deb1fe, 0x3b1696b1, 0x9bdc06a7, 0x25c71235, 0xc19bf174, 0xcf692694,
  0xe49b69c1, 0x9ef14ad2, 0xefbe4786, 0x384f25e3, 0x0fc19dc6, 0x8b8cd5b5, 0x240ca1cc, 0x77ac9c65,
  0x2de92c6f, 0x592b0275, 0x4a7484aa, 0x6ea6e483, 0x5cb0a9dc, 0xbd41fbd4, 0x76f988da, 0x831153b5,
  0x983e5152, 0xee66dfab, 0xa831c66d, 0x2db43210, 0xb00327c8, 0x98fb213f, 0xbf597fc7, 0xbeef0ee4,
  0xc6e00bf3, 0x3da88fc2, 0xd5a79147, 0x930aa725, 0x06ca6351, 0xe003826f, 0x14292967, 0x0a0e6e70,
  0x27b70a85, 0x46d22ffc, 0x2e1b2138, 0x5c26c926, 0x4d2c6dfc, 0x5ac42aed, 0x53380d13, 0x9d95b3df,
  0x650a7354, 0x8baf63de, 0x766a0abb, 0x3c77b2a8, 0x81c2c92e, 0x47edaee6, 0x92722c85, 0x1482353b,
  0xa2bfe8a1, 0x4cf10364, 0xa81a664b, 0xbc423001, 0xc24b8b70, 0xd0f89791, 0xc76c51a3, 0x0654be30,
  0xd192e819, 0xd6ef5218, 0xd6990624, 0x5565a910, 0xf40e3585, 0x5771202a, 0x106aa070, 0x32bbd1b8,
  0x19a4c116, 0xb8d2d0c8, 0x1e376c08, 0x5141ab53, 0x2748774c, 0xdf8eeb99, 0x34b0bcb5, 0xe19b48a8,
  0x391c0cb3, 0xc5c95a63, 0x4ed8aa4a, 0xe3418acb, 0x5b9cca4f, 0x7763e373, 0x682e6ff3, 0xd6b2b8a3,
  0x748f82ee, 0x5defb2fc, 0x78a5636f, 0x43172f60, 0x84c87814, 0xa1f0ab72, 0x8cc70208, 0x1a6439ec,
  0x90befffa, 0x23631e28, 0xa4506ceb, 0xde82bde9, 0xbef9a3f7, 0xb2c67915, 0xc67178f2, 0xe372532b,
  0xca273ece, 0xea26619c, 0xd186b8c7, 0x21c0c207, 0xeada7dd6, 0xcde0eb1e, 0xf57d4f7f, 0xee6ed178,
  0x06f067aa, 0x72176fba, 0x0a637dc5, 0xa2c898a6, 0x113f9804, 0xbef90dae, 0x1b710b35, 0x131c471b,
  0x28db77f5, 0x23047d84, 0x32caab7b, 0x40c72493, 0x3c9ebe0a, 0x15c9bebc, 0x431d67c4, 0x9c100d4c,
  0x4cc5d4be, 0xcb3e42b6, 0x597f299c, 0xfc657e2a, 0x5fcb6fab, 0x3ad6faec, 0x6c44198c, 0x4a475817,
]);

// Initial hash value H(0) (FIPS 180-4 §5.3.5), hi/lo pairs.
const IV = [
  0x6a09e667, 0xf3bcc908, 0xbb67ae85, 0x84caa73b, 0x3c6ef372, 0xfe94f82b, 0xa54ff53a, 0x5f1d36f1,
  0x510e527f, 0xade682d1, 0x9b05688c, 0x2b3e6c1f, 0x1f83d9ab, 0xfb41bd6b, 0x5be0cd19, 0x137e2179,
];

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

class PureSha512 implements Sha512 {
  private readonly h = new Int32Array(IV);
  private readonly w = new Int32Array(160); // message schedule W[0..79], hi/lo
  private readonly block = new Uint8Array(128);
  private blockLen = 0;
  private bytesHi = 0; // total length in bytes, as hi * 2^32 + lo
  private bytesLo = 0;
  private done = false;

  update(bytes: Uint8Array): void {
    if (this.done) throw new Error("SHA-512: update after digest");
    const n = bytes.length;
    const lo = this.bytesLo + n;
    this.bytesHi += Math.floor(lo / 0x100000000);
    this.bytesLo = lo >>> 0;
    let pos = 0;
    if (this.blockLen > 0) {
      const take = Math.min(128 - this.blockLen, n);
      this.block.set(bytes.subarray(0, take), this.blockLen);
      this.blockLen += take;
      pos = take;
      if (this.blockLen < 128) return;
      this.compress(this.block, 0);
      this.blockLen = 0;
    }
    for (; pos + 128 <= n; pos += 128) this.compress(bytes, pos);
    if (pos < n) {
      this.block.set(bytes.subarray(pos), 0);
      this.blockLen = n - pos;
    }
  }

  digestHex(): string {
    if (this.done) throw new Error("SHA-512: digest called twice");
    // Padding: 0x80, zeros, then the 128-bit big-endian length in bits.
    const bitsHi = ((this.bytesHi << 3) | (this.bytesLo >>> 29)) >>> 0;
    const bitsLo = (this.bytesLo << 3) >>> 0;
    const pad = new Uint8Array(this.blockLen < 112 ? 128 - this.blockLen : 256 - this.blockLen);
    pad[0] = 0x80;
    const view = new DataView(pad.buffer);
    view.setUint32(pad.length - 8, bitsHi);
    view.setUint32(pad.length - 4, bitsLo);
    this.update(pad);
    this.done = true;
    let out = "";
    for (let i = 0; i < 16; i++) {
      const v = this.h[i]!;
      out += HEX[(v >>> 24) & 255]! + HEX[(v >>> 16) & 255]! + HEX[(v >>> 8) & 255]! + HEX[v & 255]!;
    }
    return out;
  }

  private compress(m: Uint8Array, off: number): void {
    const w = this.w;
    const h = this.h;
    for (let i = 0; i < 32; i++, off += 4) {
      w[i] = (m[off]! << 24) | (m[off + 1]! << 16) | (m[off + 2]! << 8) | m[off + 3]!;
    }
    for (let i = 32; i < 160; i += 2) {
      // sigma0(W[t-15]) = ROTR1 ^ ROTR8 ^ SHR7
      let xh = w[i - 30]!;
      let xl = w[i - 29]!;
      const s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7);
      const s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25));
      // sigma1(W[t-2]) = ROTR19 ^ ROTR61 ^ SHR6
      xh = w[i - 4]!;
      xl = w[i - 3]!;
      const s1h = ((xh >>> 19) | (xl << 13)) ^ ((xl >>> 29) | (xh << 3)) ^ (xh >>> 6);
      const s1l = ((xl >>> 19) | (xh << 13)) ^ ((xh >>> 29) | (xl << 3)) ^ ((xl >>> 6) | (xh << 26));
      // W[t] = sigma1 + W[t-7] + sigma0 + W[t-16]
      let lo = (s1l >>> 0) + (w[i - 13]! >>> 0) + (s0l >>> 0) + (w[i - 31]! >>> 0);
      const hi = s1h + w[i - 14]! + s0h + w[i - 32]! + ((lo / 0x100000000) | 0);
      w[i] = hi | 0;
      w[i + 1] = lo | 0;
    }
    let ah = h[0]!, al = h[1]!, bh = h[2]!, bl = h[3]!, ch = h[4]!, cl = h[5]!, dh = h[6]!, dl = h[7]!;
    let eh = h[8]!, el = h[9]!, fh = h[10]!, fl = h[11]!, gh = h[12]!, gl = h[13]!, hh = h[14]!, hl = h[15]!;
    for (let i = 0; i < 160; i += 2) {
      // Sigma1(e) = ROTR14 ^ ROTR18 ^ ROTR41
      const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
      const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
      const chh = (eh & fh) ^ (~eh & gh);
      const chl = (el & fl) ^ (~el & gl);
      // T1 = h + Sigma1(e) + Ch(e,f,g) + K[t] + W[t]
      const t1l = (hl >>> 0) + (S1l >>> 0) + (chl >>> 0) + K[i + 1]! + (w[i + 1]! >>> 0);
      const t1h = hh + S1h + chh + K[i]! + w[i]! + ((t1l / 0x100000000) | 0);
      // Sigma0(a) = ROTR28 ^ ROTR34 ^ ROTR39
      const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
      const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
      const majh = (ah & bh) ^ (ah & ch) ^ (bh & ch);
      const majl = (al & bl) ^ (al & cl) ^ (bl & cl);
      const t2l = (S0l >>> 0) + (majl >>> 0);
      const t2h = S0h + majh + ((t2l / 0x100000000) | 0);
      hh = gh; hl = gl; gh = fh; gl = fl; fh = eh; fl = el;
      let sl = (dl >>> 0) + (t1l >>> 0);
      eh = (dh + t1h + ((sl / 0x100000000) | 0)) | 0;
      el = sl | 0;
      dh = ch; dl = cl; ch = bh; cl = bl; bh = ah; bl = al;
      sl = (t1l >>> 0) + (t2l >>> 0);
      ah = (t1h + t2h + ((sl / 0x100000000) | 0)) | 0;
      al = sl | 0;
    }
    const add = (i: number, xh: number, xl: number): void => {
      const lo = (h[i + 1]! >>> 0) + (xl >>> 0);
      h[i] = (h[i]! + xh + ((lo / 0x100000000) | 0)) | 0;
      h[i + 1] = lo | 0;
    };
    add(0, ah, al); add(2, bh, bl); add(4, ch, cl); add(6, dh, dl);
    add(8, eh, el); add(10, fh, fl); add(12, gh, gl); add(14, hh, hl);
  }
}

/** A fresh incremental SHA-512 hasher (input: raw bytes; output: lowercase hex). */
export function createSha512(): Sha512 {
  return new PureSha512();
}
