/// <reference types="vite/client" />
/**
 * The key bundle, version 2 (docs/evidence-format.md §3.1): the published known-answer vector
 * (Argon2id key, passkey HKDF key, both bundles open to the published keys), a wrong
 * passphrase, and headers whose Argon2id cost was lowered (or raised) by whoever stored them,
 * refused before any derivation.
 */
import { CompactEncrypt } from "jose";
import { describe, expect, it } from "vitest";
import doc from "../../../docs/evidence-format.md?raw";
import vector from "../../../shared/crypto/key-bundle-vector.json";
import {
  ARGON2ID_FLOOR,
  ARGON2ID_PARAMS,
  FormatError,
  KeyUnwrapError,
  argon2idKek,
  bundleSeal,
  changeKeyBundlePassphrase,
  fromHex,
  generateUserKeys,
  keyId,
  openKeyBundle,
  openKeyBundleJwks,
  openPasskeyBundleJwks,
  passkeyKek,
  prfInput,
  sealKeyBundle,
  sealLegacyKeyBundle,
  sealPasskeyBundle,
  toBase64url,
  toHex,
  utf8,
  type Argon2Derive,
} from "../../../shared/crypto";

const headerOf = (jwe: string) => JSON.parse(new TextDecoder().decode(fromB64(jwe.split(".")[0]!))) as Record<string, any>;
const fromB64 = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** Counts derivations, so a refusal can be shown to come before any work. */
function countingDerive(): { derive: Argon2Derive; calls: () => number } {
  let calls = 0;
  return {
    derive: async (...args) => {
      calls++;
      const { argon2idInThread } = await import("../../../shared/crypto");
      return argon2idInThread(...args);
    },
    calls: () => calls,
  };
}

/** The same bundle with its protected header changed (the tag then no longer matches, but the header is refused first). */
function withHeader(jwe: string, change: (h: Record<string, any>) => void): string {
  const h = headerOf(jwe);
  change(h);
  return [toBase64url(utf8(JSON.stringify(h))), ...jwe.split(".").slice(1)].join(".");
}

/** Each Argon2id derivation fills 64 MiB three times: seconds on a busy machine, so generous timeouts. */
const SLOW = { timeout: 120_000 };

describe("key bundle v2: the published known-answer vector (shared/crypto/key-bundle-vector.json)", SLOW, () => {
  it("Argon2id over the NFC passphrase with the published salt gives the published key-wrapping key", async () => {
    expect(toHex(utf8(vector.passphrase.normalize("NFC")))).toBe(vector.passphraseUtf8Hex);
    const { m, t, p } = vector.argon2id;
    expect({ m, t, p }).toEqual(ARGON2ID_PARAMS);
    expect(toHex(await argon2idKek(vector.passphrase, fromHex(vector.argon2id.saltHex), { m, t, p }))).toBe(vector.argon2id.kekHex);
  });

  it("the published bundle opens with the passphrase to the published keys, and its header says how it was sealed", async () => {
    expect(headerOf(vector.bundle)).toEqual({
      alg: "A256KW",
      enc: "A256GCM",
      typ: "custody-key-bundle+jwe",
      v: 2,
      kdf: { alg: "argon2id", v: 19, m: 65536, t: 3, p: 1, s: toBase64url(fromHex(vector.argon2id.saltHex)) },
    });
    expect(vector.bundle.split(".")[2]).toBe(toBase64url(fromHex(vector.ivHex)));
    // The encrypted key is the published CEK, AES-KW wrapped (RFC 3394) under the published KEK.
    const kek = await crypto.subtle.importKey("raw", fromHex(vector.argon2id.kekHex) as Uint8Array<ArrayBuffer>, "AES-KW", false, ["unwrapKey"]);
    const wrapped = fromB64(vector.bundle.split(".")[1]!);
    const cek = await crypto.subtle.unwrapKey("raw", wrapped, kek, "AES-KW", "AES-GCM", true, ["decrypt"]);
    expect(toHex(new Uint8Array(await crypto.subtle.exportKey("raw", cek)))).toBe(vector.cekHex);
    const keys = await openKeyBundleJwks(vector.bundle, vector.passphrase);
    expect(await keyId(keys.signing)).toBe(vector.signingKid);
    expect(await keyId(keys.encryption)).toBe(vector.encryptionKid);
    const opened = await openKeyBundle(vector.bundle, vector.passphrase);
    expect(opened.signing.privateKey.extractable).toBe(false);
  });

  it("the passkey envelope: PRF input, HKDF key and bundle as published", async () => {
    expect(toHex(await prfInput())).toBe(vector.passkey.prfInputHex);
    expect(toHex(await passkeyKek(fromHex(vector.passkey.prfOutputHex), fromHex(vector.passkey.hkdfSaltHex)))).toBe(vector.passkey.kekHex);
    expect(headerOf(vector.passkey.bundle).kdf).toEqual({ alg: "webauthn-prf-hkdf-sha256", cred: vector.passkey.credentialId, s: toBase64url(fromHex(vector.passkey.hkdfSaltHex)) });
    const keys = await openPasskeyBundleJwks(vector.passkey.bundle, fromHex(vector.passkey.prfOutputHex));
    expect(await keyId(keys.signing)).toBe(vector.signingKid);
    const other = fromHex(vector.passkey.prfOutputHex);
    other[0]! ^= 1;
    await expect(openPasskeyBundleJwks(vector.passkey.bundle, other)).rejects.toBeInstanceOf(KeyUnwrapError);
  });

  it("docs/evidence-format.md publishes the same values", () => {
    for (const value of [vector.passphrase, vector.argon2id.saltHex, vector.argon2id.kekHex, vector.bundle, vector.passkey.prfOutputHex, vector.passkey.kekHex, vector.passkey.bundle, vector.passkey.prfInputHex]) {
      expect(doc).toContain(value);
    }
  });
});

describe("key bundle v2: sealing and opening", SLOW, () => {
  it("seals with Argon2id at the current parameters and a fresh salt; a wrong passphrase is refused", async () => {
    const { signing, encryption } = await generateUserKeys();
    const keys = { signing: signing.privateJwk, encryption: encryption.privateJwk };
    const a = await sealKeyBundle(keys, "correct horse battery staple");
    const b = await sealKeyBundle(keys, "correct horse battery staple");
    expect(headerOf(a)).toMatchObject({ alg: "A256KW", enc: "A256GCM", typ: "custody-key-bundle+jwe", v: 2, kdf: { alg: "argon2id", v: 19, ...ARGON2ID_PARAMS } });
    expect(headerOf(a).kdf.s).not.toBe(headerOf(b).kdf.s);
    expect(fromB64(headerOf(a).kdf.s)).toHaveLength(16);
    expect(a).not.toContain(signing.privateJwk.d);
    expect((await openKeyBundle(a, "correct horse battery staple")).signing.kid).toBe(signing.kid);
    await expect(openKeyBundle(a, "correct horse battery stapler")).rejects.toBeInstanceOf(KeyUnwrapError);
  });

  it("opens a version 1 (PBES2) bundle, and a passphrase change re-seals it as version 2", async () => {
    const { signing, encryption } = await generateUserKeys();
    const old = await sealLegacyKeyBundle({ signing: signing.privateJwk, encryption: encryption.privateJwk }, "old passphrase here");
    expect(bundleSeal(old)).toEqual({ version: 1, kdf: "pbkdf2", iterations: 210_000 });
    expect((await openKeyBundle(old, "old passphrase here")).encryption.kid).toBe(encryption.kid);
    await expect(openKeyBundle(old, "not the passphrase")).rejects.toBeInstanceOf(KeyUnwrapError);
    const next = await changeKeyBundlePassphrase(old, "old passphrase here", "new passphrase here");
    expect(bundleSeal(next)).toMatchObject({ version: 2, kdf: "argon2id", params: ARGON2ID_PARAMS });
    expect((await openKeyBundle(next, "new passphrase here")).signing.kid).toBe(signing.kid);
    await expect(openKeyBundle(next, "old passphrase here")).rejects.toBeInstanceOf(KeyUnwrapError);
  });

  it("refuses, before deriving anything, a header whose Argon2id cost was lowered below the floor or raised past the ceiling", async () => {
    const counter = countingDerive();
    const lowered = [
      (h: Record<string, any>) => (h.kdf.m = ARGON2ID_FLOOR.m - 1),
      (h: Record<string, any>) => (h.kdf.t = 1),
      (h: Record<string, any>) => (h.kdf.p = 0),
      (h: Record<string, any>) => (h.kdf.m = 1024),
      (h: Record<string, any>) => (h.kdf.s = "AAAA"),
      (h: Record<string, any>) => (h.kdf.m = 4_194_304),
      (h: Record<string, any>) => (h.kdf.t = 1000),
      (h: Record<string, any>) => (h.kdf.v = 16),
      (h: Record<string, any>) => delete h.kdf.m,
      (h: Record<string, any>) => (h.kdf.alg = "argon2i"),
      (h: Record<string, any>) => (h.v = 3),
    ];
    for (const change of lowered) {
      await expect(openKeyBundle(withHeader(vector.bundle, change), vector.passphrase, counter.derive)).rejects.toBeInstanceOf(FormatError);
    }
    expect(counter.calls()).toBe(0);
    // A version 1 header lowered below 210,000 PBKDF2 rounds is refused too.
    const { signing, encryption } = await generateUserKeys();
    const weak = await new CompactEncrypt(utf8(JSON.stringify({ v: 1, signing: signing.privateJwk, encryption: encryption.privateJwk })))
      .setProtectedHeader({ alg: "PBES2-HS512+A256KW", enc: "A256GCM", typ: "custody-key-bundle+jwe" })
      .setKeyManagementParameters({ p2c: 1000 })
      .encrypt(utf8("pass"));
    await expect(openKeyBundle(weak, "pass")).rejects.toBeInstanceOf(FormatError);
  });

  it("a header changed within the allowed range (a different salt or cost) no longer opens: the header is authenticated", async () => {
    const changed = withHeader(vector.bundle, (h) => (h.kdf.t = 4));
    await expect(openKeyBundle(changed, vector.passphrase)).rejects.toBeInstanceOf(KeyUnwrapError);
  });

  it("a passkey envelope opens only with its PRF output, and not as a passphrase bundle", async () => {
    const { signing, encryption } = await generateUserKeys();
    const prf = crypto.getRandomValues(new Uint8Array(32));
    const jwe = await sealPasskeyBundle({ signing: signing.privateJwk, encryption: encryption.privateJwk }, prf, "cred-1");
    expect(bundleSeal(jwe)).toMatchObject({ version: 2, kdf: "passkey", credentialId: "cred-1" });
    expect(await keyId((await openPasskeyBundleJwks(jwe, prf)).signing)).toBe(signing.kid);
    await expect(openPasskeyBundleJwks(jwe, crypto.getRandomValues(new Uint8Array(32)))).rejects.toBeInstanceOf(KeyUnwrapError);
    await expect(openKeyBundle(jwe, "anything at all")).rejects.toBeInstanceOf(FormatError);
    await expect(openPasskeyBundleJwks(vector.bundle, prf)).rejects.toBeInstanceOf(FormatError);
  });
});
