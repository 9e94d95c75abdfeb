import { describe, it, expect } from "vitest";
import { compactVerify, calculateJwkThumbprint } from "jose";
import { importSigningPublicKey } from "../../../shared/crypto";

// RFC 7520 (JOSE Cookbook) §3.1 Figure 1 (P-521 public key) and §4.3 Figure 27 (ES512 JWS).
const RFC7520_P521_PUBLIC = {
  kty: "EC",
  kid: "bilbo.baggins@hobbiton.example",
  use: "sig",
  crv: "P-521",
  x: "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
  y: "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1",
};
const RFC7520_4_3_JWS = [
  "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9",
  "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4",
  "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2",
].join(".");
const PAYLOAD =
  "It\u2019s a dangerous business, Frodo, going out your door. You step onto the road, and if you don't keep your feet, there\u2019s no knowing where you might be swept off to.";

describe("RFC 7520 §4.3 ES512 (P-521) signature", () => {
  it("verifies with the key imported the way manifests' signer keys are imported", async () => {
    const key = await importSigningPublicKey(RFC7520_P521_PUBLIC);
    const { payload, protectedHeader } = await compactVerify(RFC7520_4_3_JWS, key, { algorithms: ["ES512"] });
    expect(protectedHeader).toEqual({ alg: "ES512", kid: "bilbo.baggins@hobbiton.example" });
    expect(new TextDecoder().decode(payload)).toBe(PAYLOAD);
  });

  it("fails once a single payload character changes", async () => {
    const key = await importSigningPublicKey(RFC7520_P521_PUBLIC);
    const [h, p, s] = RFC7520_4_3_JWS.split(".");
    const edited = `${h}.${p!.replace("SXTi", "SXRi")}.${s}`;
    await expect(compactVerify(edited, key, { algorithms: ["ES512"] })).rejects.toThrow();
  });

  it("has a stable RFC 7638 thumbprint (the kid form this project uses)", async () => {
    const a = await calculateJwkThumbprint(RFC7520_P521_PUBLIC, "sha256");
    const b = await calculateJwkThumbprint({ crv: "P-521", kty: "EC", y: RFC7520_P521_PUBLIC.y, x: RFC7520_P521_PUBLIC.x }, "sha256");
    expect(a).toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
