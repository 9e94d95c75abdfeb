import { describe, expect, it } from "vitest";
import { decryptLabel, encryptLabel, generateCaseKeyPair, importPrivateKey, KeyUnwrapError } from "../../../shared/crypto";

describe("evidence label (to the case key)", () => {
  it("round-trips the file name, type and capture time for a case key holder only", async () => {
    const caseKey = await generateCaseKeyPair();
    const jwe = await encryptLabel({ fileName: "bodycam 2026-11-22.mp4", mediaType: "video/mp4", capturedAt: "2026-11-22T10:00:00Z" }, caseKey.publicJwk);
    const header = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(jwe.split(".")[0]!.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0))));
    expect(header).toMatchObject({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: "custody-label+jwe", kid: caseKey.kid });
    expect(jwe).not.toContain("bodycam");
    const opened = await decryptLabel(jwe, (await importPrivateKey(caseKey.privateJwk, "enc")).privateKey);
    expect(opened).toEqual({ v: 1, fileName: "bodycam 2026-11-22.mp4", mediaType: "video/mp4", capturedAt: "2026-11-22T10:00:00Z" });

    const other = await generateCaseKeyPair();
    await expect(decryptLabel(jwe, (await importPrivateKey(other.privateJwk, "enc")).privateKey)).rejects.toBeInstanceOf(KeyUnwrapError);
  });
});
