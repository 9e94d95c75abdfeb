import { describe, expect, it } from "vitest";
import { decryptThumbnail, encryptLabel, encryptThumbnail, FormatError, generateCaseKeyPair, importPrivateKey, KeyUnwrapError } from "../../../shared/crypto";

/** A few bytes standing for a JPEG: the envelope does not look inside the image. */
const IMAGE = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, ...new TextEncoder().encode("a thumbnail of the crime scene"), 0xff, 0xd9]);

describe("evidence thumbnail (to the case key)", () => {
  it("round-trips the image for a case key holder only; the envelope names its kind and key and hides the picture", async () => {
    const caseKey = await generateCaseKeyPair();
    const jwe = await encryptThumbnail({ mediaType: "image/jpeg", width: 320, height: 180, bytes: IMAGE }, caseKey.publicJwk);
    const header = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(jwe.split(".")[0]!.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0))));
    expect(header).toMatchObject({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: "custody-thumbnail+jwe", kid: caseKey.kid });
    expect(JSON.stringify(header)).not.toMatch(/320|180|jpeg/);
    const opened = await decryptThumbnail(jwe, (await importPrivateKey(caseKey.privateJwk, "enc")).privateKey);
    expect(opened).toEqual({ mediaType: "image/jpeg", width: 320, height: 180, bytes: IMAGE });

    const other = await generateCaseKeyPair();
    await expect(decryptThumbnail(jwe, (await importPrivateKey(other.privateJwk, "enc")).privateKey)).rejects.toBeInstanceOf(KeyUnwrapError);
    const parts = jwe.split(".");
    const tampered = [...parts.slice(0, 3), parts[3]!.slice(0, 10) + (parts[3]![10] === "A" ? "B" : "A") + parts[3]!.slice(11), parts[4]].join(".");
    await expect(decryptThumbnail(tampered, (await importPrivateKey(caseKey.privateJwk, "enc")).privateKey)).rejects.toBeInstanceOf(KeyUnwrapError);
  });

  it("refuses a label in place of a thumbnail, and an image too large for a list", async () => {
    const caseKey = await generateCaseKeyPair();
    const label = await encryptLabel({ fileName: "a.jpg", mediaType: "image/jpeg" }, caseKey.publicJwk);
    await expect(decryptThumbnail(label, (await importPrivateKey(caseKey.privateJwk, "enc")).privateKey)).rejects.toBeInstanceOf(FormatError);
    await expect(encryptThumbnail({ mediaType: "image/jpeg", width: 10, height: 10, bytes: new Uint8Array(17 * 1024) }, caseKey.publicJwk)).rejects.toBeInstanceOf(FormatError);
  });
});
