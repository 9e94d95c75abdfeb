/// <reference types="vite/client" />
import { describe, it, expect } from "vitest";
import vector from "../../../shared/crypto/test-vector.json";
import doc from "../../../docs/evidence-format.md?raw";
import {
  PART_SIZE,
  PBES2_ITERATIONS,
  SEGMENT_SIZE,
  TYP,
  decryptExpectations,
  decryptMetadata,
  decryptParts,
  encryptBlob,
  fromHex,
  importFileKey,
  importPrivateKey,
  keyId,
  segmentIv,
  toHex,
  unwrapFileKey,
  verifyManifest,
} from "../../../shared/crypto";

const plaintext = new TextEncoder().encode(vector.plaintextUtf8);

describe("published test vector (shared/crypto/test-vector.json)", () => {
  it("the code reproduces the deterministic values: IV, ciphertext, part and plaintext SHA-512", async () => {
    expect(toHex(plaintext)).toBe(vector.plaintextHex);
    const prefix = fromHex(vector.noncePrefixHex);
    expect(toHex(segmentIv(prefix, 0, true))).toBe(vector.segments[0]!.ivHex);
    const enc = encryptBlob(new Blob([plaintext]), await importFileKey(fromHex(vector.fileKeyHex)), { noncePrefix: prefix });
    const parts = [];
    for await (const p of enc) parts.push({ index: p.index, ciphertextHex: toHex(p.bytes), sha512: p.sha512 });
    expect(parts).toEqual(vector.parts);
    expect(enc.summary().sha512).toBe(vector.plaintextSha512);
  });

  it("the published wrapped file key opens with the case key and decrypts the published ciphertext", async () => {
    const caseKey = await importPrivateKey(vector.casePrivateJwk, "enc");
    expect(caseKey.kid).toBe(vector.casePublicJwk.kid);
    expect(await keyId(vector.casePublicJwk)).toBe(vector.casePublicJwk.kid);
    const fileKey = await unwrapFileKey(vector.wrappedFileKey, caseKey.privateKey);

    const manifest = await verifyManifest(vector.manifestJws, vector.signerPublicJwk);
    expect(manifest).toEqual(vector.manifest);
    expect(manifest.sha512).toBe(vector.plaintextSha512);
    expect(manifest.parts).toEqual(vector.parts.map((p) => p.sha512));
    expect(manifest.signerKid).toBe(await keyId(vector.signerPublicJwk));

    const out: Uint8Array[] = [];
    for await (const seg of decryptParts(vector.parts.map((p) => fromHex(p.ciphertextHex)), fileKey, decryptExpectations(manifest))) out.push(seg);
    expect(new TextDecoder().decode(out[0])).toBe(vector.plaintextUtf8);
    expect(await decryptMetadata(vector.metadataJwe, fileKey)).toEqual(vector.metadataPlaintext);
    expect(manifest.metadata).toBe(vector.metadataJwe);
  });

  it("docs/evidence-format.md publishes the same values and constants", () => {
    const values = [
      vector.plaintextHex, vector.fileKeyHex, vector.noncePrefixHex, vector.segments[0]!.ivHex,
      vector.parts[0]!.ciphertextHex, vector.parts[0]!.sha512, vector.plaintextSha512,
      vector.wrappedFileKey, vector.manifestJws, vector.manifest.noncePrefix,
      JSON.stringify(vector.casePrivateJwk, null, 2), JSON.stringify(vector.signerPrivateJwk, null, 2),
      JSON.stringify(vector.manifest, null, 2),
      String(SEGMENT_SIZE), String(PART_SIZE), String(PBES2_ITERATIONS), ...Object.values(TYP),
    ];
    for (const value of values) expect(doc.includes(value), `doc is missing ${value.slice(0, 40)}…`).toBe(true);
  });
});
