import { describe, it, expect } from "vitest";
import {
  FormatError,
  IntegrityError,
  MAX_OPERATIONS,
  MAX_REGION_KEYS,
  TYP,
  decryptExpectations,
  decryptMetadata,
  decryptParts,
  describeOperation,
  encryptBlob,
  encryptMetadata,
  generateFileKey,
  generateUserKeys,
  importPrivateKey,
  isRedaction,
  manifestKid,
  signManifest,
  toBase64url,
  verifyManifest,
  type DerivationOperation,
  type EncryptedPart,
} from "../../../shared/crypto";

const b64json = (part: string) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))));
const toB64 = (obj: unknown) => toBase64url(new TextEncoder().encode(JSON.stringify(obj)));

async function upload() {
  const user = await generateUserKeys();
  const signer = await importPrivateKey(user.signing.privateJwk, "sign");
  const fileKey = await generateFileKey();
  const plain = new TextEncoder().encode("photo bytes ".repeat(1000));
  const enc = encryptBlob(new Blob([plain]), fileKey);
  const parts: EncryptedPart[] = [];
  for await (const p of enc) parts.push(p);
  const metadata = await encryptMetadata(
    { fileName: "IMG_0001.jpg", mediaType: "image/jpeg", capturedAt: "2025-03-01T10:15:00+01:00", device: { model: "Pixel 8", lat: 51.5 } },
    fileKey,
  );
  const jws = await signManifest(
    { evidenceId: "e".repeat(32), caseId: "c".repeat(32), uploaderId: "u".repeat(32), metadata, stream: enc.summary() },
    signer,
  );
  return { user, signer, fileKey, plain, parts, jws };
}

async function expectIntegrity(run: Promise<unknown>, what: string) {
  const err = await run.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect((err as IntegrityError).what).toBe(what);
}

describe("manifest", () => {
  it("signs as ES512 with kid and typ, verifies, and drives decryption of parts and metadata", async () => {
    const { user, fileKey, plain, parts, jws } = await upload();
    expect(b64json(jws.split(".")[0]!)).toEqual({ alg: "ES512", kid: user.signing.kid, typ: TYP.manifest });
    expect(manifestKid(jws)).toBe(user.signing.kid);

    const manifest = await verifyManifest(jws, user.signing.publicJwk);
    expect(manifest).toMatchObject({ v: 1, byteSize: plain.length, segmentSize: 1048576, partSize: 8388736, signerKid: user.signing.kid });
    expect(manifest.parts).toEqual(parts.map((p) => p.sha512));
    expect(JSON.stringify(manifest)).not.toContain("IMG_0001");

    let n = 0;
    for await (const seg of decryptParts(parts.map((p) => p.bytes), fileKey, decryptExpectations(manifest))) n += seg.length;
    expect(n).toBe(plain.length);
    expect(await decryptMetadata(manifest.metadata, fileKey)).toEqual({
      v: 1, fileName: "IMG_0001.jpg", mediaType: "image/jpeg", capturedAt: "2025-03-01T10:15:00+01:00", device: { model: "Pixel 8", lat: 51.5 },
    });
  });

  it("rejects the wrong signer", async () => {
    const { jws } = await upload();
    const other = await generateUserKeys();
    await expectIntegrity(verifyManifest(jws, other.signing.publicJwk), "manifest signer");
  });

  it("rejects a signature by another key that claims the expected kid", async () => {
    const { user, jws } = await upload();
    const mallory = await generateUserKeys();
    const forged = await signManifest(
      { evidenceId: "e".repeat(32), caseId: "c".repeat(32), uploaderId: "u".repeat(32), metadata: b64json(jws.split(".")[1]!).metadata,
        stream: { byteSize: 0, sha512: "0".repeat(128), noncePrefix: new Uint8Array(7), partSha512: ["0".repeat(128)] } },
      { ...(await importPrivateKey(mallory.signing.privateJwk, "sign")), kid: user.signing.kid },
    );
    await expectIntegrity(verifyManifest(forged, user.signing.publicJwk), "manifest signature");
  });

  it("rejects a manifest edited after signing", async () => {
    const { user, jws } = await upload();
    const [h, p, s] = jws.split(".");
    const payload = b64json(p!);
    await expectIntegrity(verifyManifest(`${h}.${toB64({ ...payload, byteSize: payload.byteSize + 1 })}.${s}`, user.signing.publicJwk), "manifest signature");
    await expectIntegrity(verifyManifest(`${h}.${toB64({ ...payload, caseId: "d".repeat(32) })}.${s}`, user.signing.publicJwk), "manifest signature");
    const header = b64json(h!);
    await expectIntegrity(verifyManifest(`${toB64({ ...header, typ: "JWT" })}.${p}.${s}`, user.signing.publicJwk), "manifest signature");
  });

  it('rejects alg "none"', async () => {
    const { user, jws } = await upload();
    const p = jws.split(".")[1]!;
    const unsigned = `${toB64({ alg: "none", kid: user.signing.kid, typ: TYP.manifest })}.${p}.`;
    await expectIntegrity(verifyManifest(unsigned, user.signing.publicJwk), "manifest signature");
  });

  it("refuses to sign a manifest whose part list does not fit the byte size", async () => {
    const { signer } = await upload();
    const bad = signManifest(
      { evidenceId: "e", caseId: "c", uploaderId: "u", metadata: "a.b.c.d.e",
        stream: { byteSize: 9 * 1024 * 1024, sha512: "0".repeat(128), noncePrefix: new Uint8Array(7), partSha512: ["0".repeat(128)] } },
      signer,
    );
    await expect(bad).rejects.toThrow(/part count/);
  });

  it("metadata does not open under another file key, and a non-manifest JWS is a FormatError", async () => {
    const { jws } = await upload();
    const metadata = b64json(jws.split(".")[1]!).metadata as string;
    await expectIntegrity(decryptMetadata(metadata, await generateFileKey()), "metadata");
    expect(() => manifestKid("not-a-jws")).toThrow(FormatError);
  });

  it("carries derivedFrom (original id, SHA-512, a clip's range) signed, and refuses a malformed one", async () => {
    const { signer, user, parts } = await upload();
    const stream = { byteSize: 12000, sha512: "a".repeat(128), noncePrefix: new Uint8Array(7), partSha512: parts.map((p) => p.sha512) };
    const base = { evidenceId: "d".repeat(32), caseId: "c".repeat(32), uploaderId: "u".repeat(32), metadata: "a.b.c.d.e", stream };
    const derivedFrom = { evidenceId: "e".repeat(32), sha512: "b".repeat(128), operations: [{ type: "clip" as const, from: 2, to: 4.5 }] };
    const manifest = await verifyManifest(await signManifest({ ...base, derivedFrom }, signer), user.signing.publicJwk);
    expect(manifest.derivedFrom).toEqual(derivedFrom);
    // No derivedFrom key at all on an original.
    expect("derivedFrom" in (await verifyManifest(await signManifest(base, signer), user.signing.publicJwk))).toBe(false);

    const bad = [
      { ...derivedFrom, operations: [{ type: "clip" as const, from: 4, to: 4 }] }, // empty range
      { ...derivedFrom, operations: [{ type: "clip" as const, from: -1, to: 4 }] },
      { ...derivedFrom, operations: [] },
      { ...derivedFrom, sha512: "B".repeat(128) }, // not lowercase hex
      { ...derivedFrom, operations: [{ type: "blur", from: 0, to: 1 }] }, // an operation this version does not know
      { ...derivedFrom, note: "extra" },
    ];
    for (const wrong of bad) {
      await expect(signManifest({ ...base, derivedFrom: wrong as typeof derivedFrom }, signer)).rejects.toThrow();
    }
    // A signed payload with a malformed derivedFrom (made outside signManifest) does not verify as a manifest.
    const payload = { ...b64json((await signManifest(base, signer)).split(".")[1]!), derivedFrom: bad[0] };
    const { CompactSign } = await import("jose");
    const forged = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: "ES512", kid: user.signing.kid, typ: TYP.manifest }).sign(signer.privateKey);
    await expect(verifyManifest(forged, user.signing.publicJwk)).rejects.toBeInstanceOf(FormatError);
  });

  it("carries a redacted copy's operations (regions with keys, audio, trim, rasterize) and refuses malformed ones", async () => {
    const { signer, user, parts } = await upload();
    const stream = { byteSize: 12000, sha512: "a".repeat(128), noncePrefix: new Uint8Array(7), partSha512: parts.map((p) => p.sha512) };
    const base = { evidenceId: "d".repeat(32), caseId: "c".repeat(32), uploaderId: "u".repeat(32), metadata: "a.b.c.d.e", stream };
    const region = { type: "redact" as const, shape: "ellipse" as const, effect: "blur" as const, from: 12, to: 40.5, keys: [{ t: 12, x: 0.41, y: 0.2, w: 0.08, h: 0.14 }, { t: 20, x: 0.52, y: 0.22, w: 0.08, h: 0.14 }] };
    const operations: DerivationOperation[] = [
      { type: "trim", from: 12, to: 312 },
      region,
      { type: "redact", shape: "rect", effect: "fill", page: 3, keys: [{ t: 0, x: 0, y: 0, w: 1, h: 0.5 }] },
      { type: "audio", effect: "bleep", from: 30, to: 31.5 },
      { type: "rasterize", dpi: 150 },
    ];
    const derivedFrom = { evidenceId: "e".repeat(32), sha512: "b".repeat(128), operations };
    const manifest = await verifyManifest(await signManifest({ ...base, derivedFrom }, signer), user.signing.publicJwk);
    expect(manifest.derivedFrom).toEqual(derivedFrom);
    expect(isRedaction(manifest.derivedFrom!)).toBe(true);
    expect(isRedaction({ ...derivedFrom, operations: [{ type: "clip", from: 1, to: 2 }, { type: "trim", from: 1, to: 2 }] })).toBe(false);
    expect(operations.map(describeOperation)).toEqual([
      "trim 12 s to 312 s",
      "blur ellipse 12 s to 40.5 s (2 keys)",
      "fill rect page 3 (1 key)",
      "bleep audio 30 s to 31.5 s",
      "pages redrawn as images at 150 dpi",
    ]);

    const key = region.keys[0]!;
    const bad: unknown[] = [
      { ...region, keys: [] },
      { ...region, keys: [region.keys[1], region.keys[0]] }, // out of order
      { ...region, keys: [key, { ...key }] }, // the same time twice
      { ...region, keys: [{ ...key, x: 0.95, w: 0.1 }] }, // past the right edge
      { ...region, keys: [{ ...key, w: 0 }] },
      { ...region, keys: [{ ...key, y: -0.1 }] },
      { ...region, to: undefined }, // from without to
      { ...region, from: 50 }, // to before from
      { ...region, effect: "smudge" },
      { ...region, shape: "star" },
      { ...region, page: 0 },
      { ...region, keys: [{ ...key, note: "extra" }] },
      { type: "audio", effect: "mute", from: 3, to: 3 },
      { type: "audio", effect: "louder", from: 3, to: 4 },
      { type: "trim", from: 5, to: 1 },
      { type: "rasterize", dpi: 10 },
      { type: "rasterize", dpi: 150.5 },
    ];
    for (const wrong of bad) {
      await expect(signManifest({ ...base, derivedFrom: { ...derivedFrom, operations: [wrong as DerivationOperation] } }, signer), JSON.stringify(wrong)).rejects.toThrow();
    }
    // Bounded: at most MAX_OPERATIONS operations and MAX_REGION_KEYS region keys in all.
    const many = Array.from({ length: MAX_OPERATIONS + 1 }, (): DerivationOperation => ({ type: "audio", effect: "mute", from: 1, to: 2 }));
    await expect(signManifest({ ...base, derivedFrom: { ...derivedFrom, operations: many } }, signer)).rejects.toThrow();
    const keys = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ t: from + i, x: 0.1, y: 0.1, w: 0.2, h: 0.2 }));
    const half = MAX_REGION_KEYS / 2;
    const full: DerivationOperation[] = [
      { ...region, from: 0, to: half, keys: keys(half, 0) },
      { ...region, from: half, to: 2 * half, keys: keys(half, half) },
    ];
    await expect(signManifest({ ...base, derivedFrom: { ...derivedFrom, operations: full } }, signer)).resolves.toBeTypeOf("string");
    full.push({ ...region, from: 0, to: 1, keys: keys(1, 0) });
    await expect(signManifest({ ...base, derivedFrom: { ...derivedFrom, operations: full } }, signer)).rejects.toThrow();
  });
});
