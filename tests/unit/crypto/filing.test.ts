/** The filing record (docs/evidence-format.md §6.2): what it binds, and what it refuses. */
import { describe, expect, it } from "vitest";
import {
  capturesScopeId,
  FormatError,
  generateUserKeys,
  importPrivateKey,
  IntegrityError,
  manifestDigest,
  sha512Hex,
  signFiling,
  utf8,
  verifyFiling,
} from "../../../shared/crypto";

describe("filing record", () => {
  it("derives the holding place's id from the user id alone", async () => {
    const id = await capturesScopeId("0123456789abcdef0123456789abcdef");
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(await capturesScopeId("0123456789abcdef0123456789abcdef")).toBe(id);
    expect(await capturesScopeId("fedcba9876543210fedcba9876543210")).not.toBe(id);
  });

  it("verifies for its item, manifest, holding place and case only, by the manifest's signer only", async () => {
    const { signing } = await generateUserKeys();
    const other = await generateUserKeys();
    const signer = await importPrivateKey(signing.privateJwk, "sign");
    const manifestJws = "eyJhbGciOiJFUzUxMiJ9.e30.c2ln";
    expect(await manifestDigest(manifestJws)).toBe(await sha512Hex(utf8(manifestJws)));
    const expected = { evidenceId: "e1", manifestJws, fromCaseId: "holding", caseId: "case-1" };
    const jws = await signFiling(
      { evidenceId: "e1", fromCaseId: "holding", caseId: "case-1", manifestSha512: await manifestDigest(manifestJws), filedBy: "u1", filedAt: "2026-12-07T03:00:00.000Z" },
      signer,
    );
    expect(await verifyFiling(jws, signing.publicJwk, expected)).toMatchObject({ v: 1, evidenceId: "e1", caseId: "case-1", filedBy: "u1" });

    await expect(verifyFiling(jws, signing.publicJwk, { ...expected, caseId: "case-2" })).rejects.toThrow(IntegrityError);
    await expect(verifyFiling(jws, signing.publicJwk, { ...expected, evidenceId: "e2" })).rejects.toThrow(IntegrityError);
    await expect(verifyFiling(jws, signing.publicJwk, { ...expected, fromCaseId: "elsewhere" })).rejects.toThrow(IntegrityError);
    await expect(verifyFiling(jws, signing.publicJwk, { ...expected, manifestJws: `${manifestJws}x` })).rejects.toThrow(IntegrityError);
    await expect(verifyFiling(jws, other.signing.publicJwk, expected)).rejects.toThrow(IntegrityError);
    // A changed payload byte breaks the signature.
    const [header, payload, signature] = jws.split(".");
    const tampered = `${header}.${payload!.slice(0, -2)}${payload!.slice(-2) === "fQ" ? "fX" : "fQ"}.${signature}`;
    await expect(verifyFiling(tampered, signing.publicJwk, expected)).rejects.toThrow();
    await expect(verifyFiling("not a jws", signing.publicJwk, expected)).rejects.toThrow(FormatError);
  });
});
