import { describe, it, expect } from "vitest";
import { calculateJwkThumbprint } from "jose";
import {
  FormatError,
  KeyUnwrapError,
  TYP,
  generateCaseKeyPair,
  generateFileKey,
  generateRecoveryKeyPair,
  generateUserKeys,
  importPrivateKey,
  rewrapCaseKey,
  rewrapFileKey,
  unwrapCaseKey,
  unwrapFileKey,
  wrapCaseKey,
  wrapFileKey,
} from "../../../shared/crypto";

const header = (compact: string) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(compact.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))));

async function roundTripAesGcm(a: CryptoKey, b: CryptoKey): Promise<string> {
  const iv = new Uint8Array(12);
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, a, new TextEncoder().encode("hello"));
  return new TextDecoder().decode(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, b, ct));
}

describe("key generation", () => {
  it("makes P-521 pairs whose kid is the RFC 7638 SHA-256 thumbprint, and public JWKs without d", async () => {
    const { signing, encryption } = await generateUserKeys();
    const recovery = await generateRecoveryKeyPair();
    const kase = await generateCaseKeyPair();
    for (const pair of [signing, encryption, recovery, kase]) {
      expect(pair.publicJwk.crv).toBe("P-521");
      expect(pair.publicJwk.d).toBeUndefined();
      expect(pair.privateJwk.d).toBeTypeOf("string");
      expect(pair.kid).toBe(await calculateJwkThumbprint(pair.publicJwk, "sha256"));
      expect(pair.publicJwk.kid).toBe(pair.kid);
    }
    expect(signing.publicJwk.alg).toBe("ES512");
    expect(encryption.publicJwk.alg).toBe("ECDH-ES+A256KW");
    expect(new Set([signing.kid, encryption.kid, recovery.kid, kase.kid]).size).toBe(4);
  });
});

describe("case and file key wrapping", () => {
  it("wraps a case key to a member and to the recovery key; each unwraps to the same non-extractable key", async () => {
    const member = (await generateUserKeys()).encryption;
    const recovery = await generateRecoveryKeyPair();
    const kase = await generateCaseKeyPair();
    const toMember = await wrapCaseKey(kase.privateJwk, member.publicJwk);
    const toRecovery = await wrapCaseKey(kase.privateJwk, recovery.publicJwk);
    expect(header(toMember)).toMatchObject({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: TYP.caseKey, kid: member.kid });

    const memberKey = (await importPrivateKey(member.privateJwk, "enc")).privateKey;
    const recoveryKey = (await importPrivateKey(recovery.privateJwk, "enc")).privateKey;
    const a = await unwrapCaseKey(toMember, memberKey);
    const b = await unwrapCaseKey(toRecovery, recoveryKey);
    expect(a.kid).toBe(kase.kid);
    expect(b.kid).toBe(kase.kid);
    expect(a.privateKey.extractable).toBe(false);

    // Wrong recipient key fails, typed.
    await expect(unwrapCaseKey(toMember, recoveryKey)).rejects.toBeInstanceOf(KeyUnwrapError);
  });

  it("adds a member by re-wrapping, and the new member can open files of the case", async () => {
    const admin = await generateUserKeys();
    const newcomer = await generateUserKeys();
    const kase = await generateCaseKeyPair();
    // Each member's keys as their device holds them after unlocking: non-extractable (the key bundle is tested in key-bundle.test.ts).
    const adminKeys = { encryption: await importPrivateKey(admin.encryption.privateJwk, "enc") };
    const newcomerKeys = { encryption: await importPrivateKey(newcomer.encryption.privateJwk, "enc") };
    const toAdmin = await wrapCaseKey(kase.privateJwk, admin.encryption.publicJwk);
    const toNewcomer = await rewrapCaseKey(toAdmin, adminKeys.encryption.privateKey, newcomer.encryption.publicJwk);

    const fileKey = await generateFileKey();
    const wrapped = await wrapFileKey(fileKey, kase.publicJwk);
    expect(header(wrapped)).toMatchObject({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: TYP.fileKey, kid: kase.kid });
    const caseKey = await unwrapCaseKey(toNewcomer, newcomerKeys.encryption.privateKey);
    const unwrapped = await unwrapFileKey(wrapped, caseKey.privateKey);
    expect(unwrapped.extractable).toBe(false);
    expect(await roundTripAesGcm(fileKey, unwrapped)).toBe("hello");
  });

  it("gives each file its own key, re-wraps a file key (site key to case key), and refuses a case-key envelope as a file key", async () => {
    const site = await generateRecoveryKeyPair();
    const kase = await generateCaseKeyPair();
    const k1 = await generateFileKey();
    const k2 = await generateFileKey();
    const raw1 = new Uint8Array(await crypto.subtle.exportKey("raw", k1));
    const raw2 = new Uint8Array(await crypto.subtle.exportKey("raw", k2));
    expect(raw1.length).toBe(32);
    expect(raw1).not.toEqual(raw2);

    const siteKey = (await importPrivateKey(site.privateJwk, "enc")).privateKey;
    const caseKey = (await importPrivateKey(kase.privateJwk, "enc")).privateKey;
    const held = await wrapFileKey(k1, site.publicJwk);
    const released = await rewrapFileKey(held, siteKey, kase.publicJwk);
    expect(await roundTripAesGcm(k1, await unwrapFileKey(released, caseKey))).toBe("hello");
    await expect(unwrapFileKey(released, siteKey)).rejects.toBeInstanceOf(KeyUnwrapError);

    const caseEnvelope = await wrapCaseKey(site.privateJwk, kase.publicJwk);
    await expect(unwrapFileKey(caseEnvelope, caseKey)).rejects.toBeInstanceOf(FormatError);
  });
});
