/**
 * Key hierarchy (docs/evidence-format.md §2): organisation recovery key, user signing and
 * encryption keys, case keys, file keys. All P-521; every envelope is a compact JOSE
 * object with a `typ` naming its kind and a `"v": 1` inside its plaintext.
 */
import { calculateJwkThumbprint, CompactEncrypt, compactDecrypt, decodeProtectedHeader, type JWK } from "jose";
import { FormatError, KeyUnwrapError } from "./errors";
import { fromBase64url, toBase64url, utf8, fromUtf8 } from "./encoding";

/** Version written into (and required inside) every key envelope's plaintext. */
export const KEY_ENVELOPE_VERSION = 1;

/** `typ` header of each envelope kind. */
export const TYP = {
  keyBundle: "custody-key-bundle+jwe",
  caseKey: "custody-case-key+jwe",
  fileKey: "custody-file-key+jwe",
  metadata: "custody-metadata+jwe",
  manifest: "custody-manifest+jws",
  escrow: "custody-key-escrow+jwe",
  label: "custody-label+jwe",
  details: "custody-details+jwe",
  thumbnail: "custody-thumbnail+jwe",
  transfer: "custody-key-transfer+jwe",
  shareKey: "custody-share-key+jwe",
  receipt: "custody-receipt+jws",
  submissionKey: "custody-submission-key+jwe",
  submissionDetails: "custody-submission-details+jwe",
  filing: "custody-filing+jws",
} as const;

const ECDH = { name: "ECDH", namedCurve: "P-521" };
const ECDSA = { name: "ECDSA", namedCurve: "P-521" };
const WRAP_ALG = "ECDH-ES+A256KW";
const ENC = "A256GCM";

/** A P-521 key pair as JWKs; `kid` is the RFC 7638 SHA-256 thumbprint (base64url) of the public key. */
export interface KeyPairJwk {
  kid: string;
  publicJwk: JWK;
  privateJwk: JWK;
}

/** An unlocked private key: non-extractable CryptoKey plus its public JWK and kid. */
export interface UnlockedKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** RFC 7638 JWK thumbprint, SHA-256, base64url: the key id used everywhere. */
export function keyId(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, "sha256");
}

function assertP521(jwk: JWK, what: string, needPrivate: boolean): void {
  if (jwk.kty !== "EC" || jwk.crv !== "P-521" || typeof jwk.x !== "string" || typeof jwk.y !== "string") {
    throw new FormatError(what, "expected an EC P-521 JWK");
  }
  if (needPrivate !== (typeof jwk.d === "string")) {
    throw new FormatError(what, needPrivate ? "expected a private JWK" : "expected a public JWK");
  }
}

async function generatePair(kind: "sign" | "enc"): Promise<KeyPairJwk> {
  // extractable: true only here, because a new private key must be sealed or wrapped once.
  const pair = (await crypto.subtle.generateKey(
    kind === "sign" ? ECDSA : ECDH,
    true,
    kind === "sign" ? ["sign", "verify"] : ["deriveBits"],
  )) as CryptoKeyPair;
  const full = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JWK;
  const base = { kty: "EC", crv: "P-521", x: full.x!, y: full.y! };
  const kid = await keyId(base);
  const meta = kind === "sign" ? { alg: "ES512", use: "sig" } : { alg: WRAP_ALG, use: "enc" };
  return { kid, publicJwk: { ...base, kid, ...meta }, privateJwk: { ...base, d: full.d!, kid, ...meta } };
}

/** New organisation recovery key pair (ECDH P-521), as JWKs. */
export function generateRecoveryKeyPair(): Promise<KeyPairJwk> {
  return generatePair("enc");
}

/** New user keys: signing (ECDSA P-521, ES512) and encryption (ECDH P-521), as JWKs. */
export async function generateUserKeys(): Promise<{ signing: KeyPairJwk; encryption: KeyPairJwk }> {
  return { signing: await generatePair("sign"), encryption: await generatePair("enc") };
}

/** New share key pair (ECDH P-521), as JWKs (docs/disclosure.md §1). */
export function generateShareKeyPair(): Promise<KeyPairJwk> {
  return generatePair("enc");
}

/** New case key pair (ECDH P-521), as JWKs. */
export function generateCaseKeyPair(): Promise<KeyPairJwk> {
  return generatePair("enc");
}

/** Public JWK (EC P-521) to a verify-only ECDSA CryptoKey. */
export function importSigningPublicKey(jwk: JWK): Promise<CryptoKey> {
  assertP521(jwk, "signing public key", false);
  // extractable: true is harmless for a public key and lets callers re-export it as a JWK.
  return crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-521", x: jwk.x, y: jwk.y }, ECDSA, true, ["verify"]);
}

/** Public JWK (EC P-521) to an ECDH CryptoKey that keys can be wrapped to. */
export function importEncryptionPublicKey(jwk: JWK): Promise<CryptoKey> {
  assertP521(jwk, "encryption public key", false);
  // extractable: true is harmless for a public key and lets callers re-export it as a JWK.
  return crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-521", x: jwk.x, y: jwk.y }, ECDH, true, []);
}

/** Private JWK (EC P-521) to a non-extractable CryptoKey: ECDSA `sign` or ECDH `deriveBits`. */
export async function importPrivateKey(jwk: JWK, kind: "sign" | "enc"): Promise<UnlockedKey> {
  assertP521(jwk, kind === "sign" ? "signing private key" : "encryption private key", true);
  const { x, y, d } = jwk;
  // extractable: false, so page script (XSS, a bad dependency) can use the key but never copy it off the device.
  const privateKey = await crypto.subtle.importKey(
    "jwk",
    { kty: "EC", crv: "P-521", x, y, d },
    kind === "sign" ? ECDSA : ECDH,
    false,
    kind === "sign" ? ["sign"] : ["deriveBits"],
  );
  const base = { kty: "EC", crv: "P-521", x: x!, y: y! };
  const kid = await keyId(base);
  const meta = kind === "sign" ? { alg: "ES512", use: "sig" } : { alg: WRAP_ALG, use: "enc" };
  return { kid, privateKey, publicJwk: { ...base, kid, ...meta } };
}

// ---- key bundle -----------------------------------------------------------------------
//
// Version 2 (docs/evidence-format.md §2.2): a compact JWE, A256KW + A256GCM, whose key-wrapping
// key is derived outside JOSE and named in the protected header's `kdf` member:
//  - by passphrase: Argon2id (RFC 9106) over the NFC passphrase, parameters and salt in `kdf`;
//  - by passkey: HKDF-SHA-256 over the WebAuthn PRF output of one credential.
// Version 1 (PBES2-HS512+A256KW, PBKDF2 inside JOSE) is only ever opened, to be re-sealed.

/** The private halves of a user's keys, as private JWKs. */
export interface UserPrivateKeys {
  signing: JWK;
  encryption: JWK;
}

/** The protected header's `v` of a current key bundle (version 1 bundles have no `v`). */
export const KEY_BUNDLE_VERSION = 2;

/** Argon2id cost: memory in KiB (`m`), passes (`t`), lanes (`p`). */
export interface Argon2Params {
  m: number;
  t: number;
  p: number;
}

/**
 * Argon2id cost of new bundles: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended option
 * at one lane, the browser's WebAssembly being single-threaded). Over three times the memory of
 * OWASP's minimum (19 MiB, t = 2); some 0.25 s on a server core, about 1 to 1.5 s on a mid-range
 * phone (docs/security.md, "Key bundle seal and passkey unlock").
 */
export const ARGON2ID_PARAMS: Readonly<Argon2Params> = Object.freeze({ m: 65_536, t: 3, p: 1 });
/** The least accepted when opening or storing a bundle: OWASP's minimum (m = 19 MiB, t = 2, p = 1). */
export const ARGON2ID_FLOOR: Readonly<Argon2Params> = Object.freeze({ m: 19_456, t: 2, p: 1 });
/** The most accepted when opening a bundle, so a forged header cannot exhaust a phone's memory or CPU. */
export const ARGON2ID_CEILING: Readonly<Argon2Params> = Object.freeze({ m: 262_144, t: 10, p: 4 });
/** Argon2id salt length in bytes (fresh per sealing). */
export const ARGON2ID_SALT_BYTES = 16;

/** `kdf.alg` of each way a version 2 bundle's key is derived. */
export const BUNDLE_KDF = { passphrase: "argon2id", passkey: "webauthn-prf-hkdf-sha256" } as const;

/**
 * The WebAuthn PRF input (`prf.eval.first`) every unlock asks for: SHA-256 of this text. One
 * fixed input, so the browser can ask for it before the user picks a passkey; the output still
 * differs per credential, and the HKDF salt in each envelope makes each key its own.
 */
export const PRF_INPUT_LABEL = "Custody key bundle unlock";
/** HKDF `info` for the passkey envelope's key. */
const PRF_HKDF_INFO = "custody-key-bundle prf v2";

/** PBKDF2-HMAC-SHA512 iterations a version 1 bundle was sealed with (only ever opened now). */
export const PBES2_ITERATIONS = 210_000;
/** Largest PBES2 count accepted when opening a version 1 bundle, so a forged bundle cannot pin the CPU. */
export const PBES2_MAX_ITERATIONS = 10_000_000;

const BUNDLE_ALG = "A256KW";
const LEGACY_BUNDLE_ALG = "PBES2-HS512+A256KW";

/** Derives Argon2id bytes: the default runs hash-wasm in this thread; the web app passes one that runs in a Worker. */
export type Argon2Derive = (password: Uint8Array, salt: Uint8Array, params: Argon2Params) => Promise<Uint8Array>;

/** Argon2id (version 0x13), 32-byte output, with hash-wasm in the calling thread. */
export const argon2idInThread: Argon2Derive = async (password, salt, params) => {
  const { argon2id } = await import("hash-wasm");
  return argon2id({ password, salt, parallelism: params.p, iterations: params.t, memorySize: params.m, hashLength: 32, outputType: "binary" });
};

/** What a key bundle's protected header says about how it is sealed (nothing is opened). */
export type BundleSeal =
  | { version: 1; kdf: "pbkdf2"; iterations: number }
  | { version: 2; kdf: "argon2id"; params: Argon2Params; salt: Uint8Array }
  | { version: 2; kdf: "passkey"; credentialId: string; salt: Uint8Array };

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

/**
 * Reads and checks a key bundle's protected header: its kind, and (for Argon2id) parameters
 * within the floor and ceiling, so a header lowered or raised by whoever stored it is refused
 * before any work. Throws FormatError.
 */
export function bundleSeal(jwe: string): BundleSeal {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwe) as Record<string, unknown>;
  } catch (cause) {
    throw new FormatError("key bundle", "not a compact JWE", { cause });
  }
  if (header.typ !== TYP.keyBundle || header.enc !== ENC) throw new FormatError("key bundle", "not a key bundle");
  if (header.v === undefined) {
    if (header.alg !== LEGACY_BUNDLE_ALG || !isCount(header.p2c)) throw new FormatError("key bundle", "not a version 1 (PBES2) bundle");
    if (header.p2c < PBES2_ITERATIONS || header.p2c > PBES2_MAX_ITERATIONS) {
      throw new FormatError("key bundle", `PBKDF2 count outside ${PBES2_ITERATIONS}..${PBES2_MAX_ITERATIONS}`);
    }
    return { version: 1, kdf: "pbkdf2", iterations: header.p2c };
  }
  if (header.v !== KEY_BUNDLE_VERSION) throw new FormatError("key bundle", `unsupported version (this build reads 1 and ${KEY_BUNDLE_VERSION})`);
  const kdf = header.kdf as Record<string, unknown> | undefined;
  if (header.alg !== BUNDLE_ALG || typeof kdf !== "object" || kdf === null || typeof kdf.s !== "string") {
    throw new FormatError("key bundle", "version 2 needs alg A256KW and a kdf member");
  }
  let salt: Uint8Array;
  try {
    salt = fromBase64url(kdf.s);
  } catch (cause) {
    throw new FormatError("key bundle", "kdf.s is not base64url", { cause });
  }
  if (kdf.alg === BUNDLE_KDF.passphrase) {
    const { m, t, p } = kdf;
    if (kdf.v !== 19 || !isCount(m) || !isCount(t) || !isCount(p)) throw new FormatError("key bundle", "Argon2id parameters missing");
    if (m < ARGON2ID_FLOOR.m || t < ARGON2ID_FLOOR.t || p < ARGON2ID_FLOOR.p) {
      throw new FormatError("key bundle", `Argon2id parameters below the floor (m ${ARGON2ID_FLOOR.m} KiB, t ${ARGON2ID_FLOOR.t}, p ${ARGON2ID_FLOOR.p})`);
    }
    if (m > ARGON2ID_CEILING.m || t > ARGON2ID_CEILING.t || p > ARGON2ID_CEILING.p || m < 8 * p) {
      throw new FormatError("key bundle", "Argon2id parameters above what this app accepts");
    }
    if (salt.length < ARGON2ID_SALT_BYTES) throw new FormatError("key bundle", `Argon2id salt shorter than ${ARGON2ID_SALT_BYTES} bytes`);
    return { version: 2, kdf: "argon2id", params: { m, t, p }, salt };
  }
  if (kdf.alg === BUNDLE_KDF.passkey) {
    if (typeof kdf.cred !== "string" || !/^[A-Za-z0-9_-]{1,1366}$/.test(kdf.cred)) throw new FormatError("key bundle", "kdf.cred is not a credential id");
    if (salt.length !== 32) throw new FormatError("key bundle", "HKDF salt must be 32 bytes");
    return { version: 2, kdf: "passkey", credentialId: kdf.cred, salt };
  }
  throw new FormatError("key bundle", "unknown kdf");
}

function passphraseBytes(passphrase: string): Uint8Array {
  // NFC so the same passphrase typed on different keyboards/OSes gives the same bytes.
  return utf8(passphrase.normalize("NFC"));
}

function bundleBody(keys: UserPrivateKeys): Uint8Array {
  assertP521(keys.signing, "signing private key", true);
  assertP521(keys.encryption, "encryption private key", true);
  return utf8(JSON.stringify({ v: KEY_ENVELOPE_VERSION, signing: keys.signing, encryption: keys.encryption }));
}

async function sealWithKek(keys: UserPrivateKeys, kek: Uint8Array, kdf: Record<string, unknown>): Promise<string> {
  const body = bundleBody(keys);
  try {
    return await new CompactEncrypt(body)
      .setProtectedHeader({ alg: BUNDLE_ALG, enc: ENC, typ: TYP.keyBundle, v: KEY_BUNDLE_VERSION, kdf })
      .encrypt(kek);
  } finally {
    body.fill(0);
    kek.fill(0);
  }
}

function readBody(plaintext: Uint8Array): UserPrivateKeys {
  const body = parseEnvelope(plaintext, "key bundle") as { signing?: JWK; encryption?: JWK };
  plaintext.fill(0);
  if (!body.signing || !body.encryption) throw new FormatError("key bundle", "missing a key");
  return { signing: body.signing, encryption: body.encryption };
}

async function openWithKey(jwe: string, key: Uint8Array, alg: string, what: string): Promise<UserPrivateKeys> {
  let plaintext: Uint8Array;
  try {
    const out = await compactDecrypt(jwe, key, {
      keyManagementAlgorithms: [alg],
      contentEncryptionAlgorithms: [ENC],
      maxPBES2Count: PBES2_MAX_ITERATIONS,
    });
    plaintext = out.plaintext;
  } catch (cause) {
    throw new KeyUnwrapError("key bundle", what, { cause });
  } finally {
    key.fill(0);
  }
  return readBody(plaintext);
}

/** The Argon2id key-wrapping key for a passphrase (32 bytes; the caller's to zero). */
export async function argon2idKek(passphrase: string, salt: Uint8Array, params: Argon2Params, derive: Argon2Derive = argon2idInThread): Promise<Uint8Array> {
  const password = passphraseBytes(passphrase);
  try {
    return await derive(password, salt, params);
  } finally {
    password.fill(0);
  }
}

/**
 * Seal private JWKs under a passphrase: version 2, compact JWE, A256KW with an Argon2id key
 * (ARGON2ID_PARAMS, fresh 16-byte salt), A256GCM.
 */
export async function sealKeyBundle(keys: UserPrivateKeys, passphrase: string, derive?: Argon2Derive): Promise<string> {
  bundleBody(keys).fill(0); // checks the keys before the costly derivation
  const salt = crypto.getRandomValues(new Uint8Array(ARGON2ID_SALT_BYTES));
  const params = { ...ARGON2ID_PARAMS };
  const kek = await argon2idKek(passphrase, salt, params, derive);
  return sealWithKek(keys, kek, { alg: BUNDLE_KDF.passphrase, v: 19, ...params, s: toBase64url(salt) });
}

/**
 * A version 1 bundle (PBES2-HS512+A256KW, 210,000 PBKDF2 rounds). This app no longer writes
 * them; kept for tests and tools that need a bundle from before version 2.
 */
export async function sealLegacyKeyBundle(keys: UserPrivateKeys, passphrase: string): Promise<string> {
  const body = bundleBody(keys);
  try {
    return await new CompactEncrypt(body)
      .setProtectedHeader({ alg: LEGACY_BUNDLE_ALG, enc: ENC, typ: TYP.keyBundle })
      .setKeyManagementParameters({ p2c: PBES2_ITERATIONS })
      .encrypt(passphraseBytes(passphrase));
  } finally {
    body.fill(0);
  }
}

/**
 * Open a passphrase bundle (version 1 or 2) to its private JWKs. The header is checked first
 * (FormatError), then the key derived and the JWE opened (KeyUnwrapError for a wrong passphrase).
 */
export async function openKeyBundleJwks(jwe: string, passphrase: string, derive?: Argon2Derive): Promise<UserPrivateKeys> {
  const seal = bundleSeal(jwe);
  if (seal.kdf === "passkey") throw new FormatError("key bundle", "a passkey envelope: open it with openPasskeyBundleJwks");
  if (seal.kdf === "pbkdf2") return openWithKey(jwe, passphraseBytes(passphrase), LEGACY_BUNDLE_ALG, "wrong passphrase, or the bundle is damaged");
  const kek = await argon2idKek(passphrase, seal.salt, seal.params, derive);
  return openWithKey(jwe, kek, BUNDLE_ALG, "wrong passphrase, or the bundle is damaged");
}

/** The unlocked keys as non-extractable CryptoKeys (see importPrivateKey). */
export async function importUserKeys(keys: UserPrivateKeys): Promise<{ signing: UnlockedKey; encryption: UnlockedKey }> {
  return { signing: await importPrivateKey(keys.signing, "sign"), encryption: await importPrivateKey(keys.encryption, "enc") };
}

/** Unlock a passphrase bundle (version 1 or 2); returns non-extractable CryptoKeys (see importPrivateKey). */
export async function openKeyBundle(
  jwe: string,
  passphrase: string,
  derive?: Argon2Derive,
): Promise<{ signing: UnlockedKey; encryption: UnlockedKey }> {
  return importUserKeys(await openKeyBundleJwks(jwe, passphrase, derive));
}

/** Re-seal a key bundle (compact JWE in and out) under a new passphrase, as version 2 with a fresh salt. */
export async function changeKeyBundlePassphrase(jwe: string, oldPassphrase: string, newPassphrase: string, derive?: Argon2Derive): Promise<string> {
  return sealKeyBundle(await openKeyBundleJwks(jwe, oldPassphrase, derive), newPassphrase, derive);
}

// ---- the passkey envelope (WebAuthn PRF) ---------------------------------------------------

/** The bytes to pass as the WebAuthn `prf.eval.first` input: SHA-256 of PRF_INPUT_LABEL. */
export async function prfInput(): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(PRF_INPUT_LABEL) as Uint8Array<ArrayBuffer>));
}

/** HKDF-SHA-256(ikm = PRF output, salt, info "custody-key-bundle prf v2") to a 32-byte key-wrapping key. */
export async function passkeyKek(prfOutput: Uint8Array, salt: Uint8Array): Promise<Uint8Array> {
  if (prfOutput.length < 32) throw new FormatError("passkey secret", "the PRF output must be 32 bytes");
  const ikm = await crypto.subtle.importKey("raw", prfOutput as Uint8Array<ArrayBuffer>, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, info: utf8(PRF_HKDF_INFO) as Uint8Array<ArrayBuffer> },
    ikm,
    256,
  );
  return new Uint8Array(bits);
}

/** Seal private JWKs under one passkey's PRF output: version 2, A256KW with an HKDF key, A256GCM; `kdf.cred` names the credential. */
export async function sealPasskeyBundle(keys: UserPrivateKeys, prfOutput: Uint8Array, credentialId: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const kek = await passkeyKek(prfOutput, salt);
  return sealWithKek(keys, kek, { alg: BUNDLE_KDF.passkey, cred: credentialId, s: toBase64url(salt) });
}

/** Open a passkey envelope with the PRF output of its credential, to private JWKs. */
export async function openPasskeyBundleJwks(jwe: string, prfOutput: Uint8Array): Promise<UserPrivateKeys> {
  const seal = bundleSeal(jwe);
  if (seal.kdf !== "passkey") throw new FormatError("key bundle", "not a passkey envelope");
  const kek = await passkeyKek(prfOutput, seal.salt);
  return openWithKey(jwe, kek, BUNDLE_ALG, "not this passkey's envelope, or it is damaged");
}

// ---- wrapping to ECDH public keys (ECDH-ES+A256KW) -----------------------------------

/** The JSON plaintext of a key envelope, checked for `"v": 1`. */
export function parseEnvelope(plaintext: Uint8Array, what: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(fromUtf8(plaintext));
  } catch (cause) {
    throw new FormatError(what, "plaintext is not JSON", { cause });
  }
  if (typeof body !== "object" || body === null || (body as { v?: unknown }).v !== KEY_ENVELOPE_VERSION) {
    throw new FormatError(what, `unsupported envelope version (this build reads v${KEY_ENVELOPE_VERSION})`);
  }
  return body as Record<string, unknown>;
}

/** Wrap a private JWK (a `{ v: 1, jwk }` envelope) to an ECDH public JWK: compact JWE, ECDH-ES+A256KW, A256GCM, `typ`, `kid` = the recipient's. */
export async function wrapJwk(jwk: JWK, recipientPublicJwk: JWK, typ: string): Promise<string> {
  const recipient = await importEncryptionPublicKey(recipientPublicJwk);
  const kid = await keyId(recipientPublicJwk);
  const body = utf8(JSON.stringify({ v: KEY_ENVELOPE_VERSION, jwk }));
  // Ephemeral key per JWE (ECDH-ES), so each wrap is fresh; jose makes the epk and random CEK/IV.
  const jwe = await new CompactEncrypt(body).setProtectedHeader({ alg: WRAP_ALG, enc: ENC, typ, kid }).encrypt(recipient);
  body.fill(0);
  return jwe;
}

/** Open a `{ v: 1, jwk }` envelope (compact JWE, ECDH-ES+A256KW) of `typ` with the recipient's ECDH private CryptoKey. */
export async function unwrapJwk(jwe: string, privateKey: CryptoKey, typ: string, what: string): Promise<JWK> {
  let plaintext: Uint8Array;
  let gotTyp: unknown;
  try {
    const out = await compactDecrypt(jwe, privateKey, {
      keyManagementAlgorithms: [WRAP_ALG],
      contentEncryptionAlgorithms: [ENC],
    });
    plaintext = out.plaintext;
    gotTyp = out.protectedHeader.typ;
  } catch (cause) {
    throw new KeyUnwrapError(what, "not wrapped to this key, or the envelope is damaged", { cause });
  }
  if (gotTyp !== typ) throw new FormatError(what, `expected typ ${typ}`);
  const body = parseEnvelope(plaintext, what);
  plaintext.fill(0);
  const jwk = body.jwk as JWK | undefined;
  if (typeof jwk !== "object" || jwk === null) throw new FormatError(what, "no key inside");
  return jwk;
}

/** Wrap a case private JWK to a member's (or the recovery) ECDH public JWK: compact JWE, ECDH-ES+A256KW, A256GCM. */
export async function wrapCaseKey(casePrivateJwk: JWK, recipientPublicJwk: JWK): Promise<string> {
  assertP521(casePrivateJwk, "case private key", true);
  const { kty, crv, x, y, d } = casePrivateJwk;
  return wrapJwk({ kty, crv, x, y, d }, recipientPublicJwk, TYP.caseKey);
}

/** Unwrap a case key (compact JWE) with the member's ECDH private CryptoKey; returns it non-extractable. */
export async function unwrapCaseKey(jwe: string, recipientPrivateKey: CryptoKey): Promise<UnlockedKey> {
  return importPrivateKey(await unwrapJwk(jwe, recipientPrivateKey, TYP.caseKey, "case key"), "enc");
}

/** Re-wrap a case key (compact JWE in and out) to a new member without exposing it to the caller. */
export async function rewrapCaseKey(jwe: string, recipientPrivateKey: CryptoKey, newRecipientPublicJwk: JWK): Promise<string> {
  const jwk = await unwrapJwk(jwe, recipientPrivateKey, TYP.caseKey, "case key");
  return wrapCaseKey(jwk, newRecipientPublicJwk);
}

// ---- recovery: escrow of the encryption key to the organisation recovery key ------------

/**
 * Escrow a user's encryption private JWK to the organisation recovery public JWK (compact JWE,
 * ECDH-ES+A256KW, typ custody-key-escrow+jwe). Only the encryption key: the signing key is never
 * escrowed, so nobody but its owner can ever sign as them.
 */
export async function escrowEncryptionKey(encryptionPrivateJwk: JWK, recoveryPublicJwk: JWK): Promise<string> {
  assertP521(encryptionPrivateJwk, "encryption private key", true);
  const { kty, crv, x, y, d } = encryptionPrivateJwk;
  return wrapJwk({ kty, crv, x, y, d }, recoveryPublicJwk, TYP.escrow);
}

/**
 * Recovery, the administrator's step: open an escrow (compact JWE) with the recovery private key
 * and re-wrap the encryption key to the user's one-time transport public JWK (typ
 * custody-key-transfer+jwe). The key is in the administrator's page memory only meanwhile.
 */
export async function releaseEscrowedKey(escrowJwe: string, recoveryPrivateKey: CryptoKey, transportPublicJwk: JWK): Promise<string> {
  const jwk = await unwrapJwk(escrowJwe, recoveryPrivateKey, TYP.escrow, "key escrow");
  assertP521(jwk, "escrowed encryption key", true);
  return wrapJwk(jwk, transportPublicJwk, TYP.transfer);
}

/** Recovery, the user's step: open the transfer (compact JWE) with the transport private key; returns the private JWK to re-seal. */
export async function receiveTransferredKey(transferJwe: string, transportPrivateKey: CryptoKey): Promise<JWK> {
  const jwk = await unwrapJwk(transferJwe, transportPrivateKey, TYP.transfer, "key transfer");
  assertP521(jwk, "transferred encryption key", true);
  return jwk;
}

/** The recovery key file downloaded at setup (JSON text) to its non-extractable ECDH private key. */
export async function importRecoveryKeyFile(text: string): Promise<UnlockedKey> {
  let file: { type?: unknown; privateJwk?: unknown };
  try {
    file = JSON.parse(text) as typeof file;
  } catch (cause) {
    throw new FormatError("recovery key file", "not JSON", { cause });
  }
  if (file.type !== "custody-recovery-key" || typeof file.privateJwk !== "object" || file.privateJwk === null) {
    throw new FormatError("recovery key file", "not a Custody recovery key file");
  }
  return importPrivateKey(file.privateJwk as JWK, "enc");
}

// ---- file keys ------------------------------------------------------------------------

/** A fresh random AES-256-GCM file key (one per file, never reused). */
export function generateFileKey(): Promise<CryptoKey> {
  // extractable: true, because it must be exported once to be wrapped to the case key.
  return crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]) as Promise<CryptoKey>;
}

/** Raw 32 file-key bytes to a non-extractable AES-256-GCM CryptoKey (test vectors, third-party tools). */
export function importFileKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== 32) throw new FormatError("file key", "must be 32 bytes");
  // extractable: false: a key that has been unwrapped is only ever used, never exported again.
  return crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Wrap an (extractable) file key to the case ECDH public JWK: compact JWE, ECDH-ES+A256KW, A256GCM. */
export async function wrapFileKey(fileKey: CryptoKey, casePublicJwk: JWK): Promise<string> {
  const raw = new Uint8Array((await crypto.subtle.exportKey("raw", fileKey)) as ArrayBuffer);
  const jwe = await wrapJwk({ kty: "oct", alg: ENC, k: toBase64url(raw) }, casePublicJwk, TYP.fileKey);
  raw.fill(0);
  return jwe;
}

/**
 * Unwrap a file key (compact JWE) to its 32 raw bytes. Only for a court package, which carries this
 * one item's key so a verifier can check metadata.json against the signed metadata (the caller zeroes it).
 */
export async function unwrapFileKeyBytes(jwe: string, privateKey: CryptoKey): Promise<Uint8Array> {
  const jwk = await unwrapJwk(jwe, privateKey, TYP.fileKey, "file key");
  if (jwk.kty !== "oct" || jwk.alg !== ENC || typeof jwk.k !== "string") throw new FormatError("file key", "not an A256GCM key");
  return fromBase64url(jwk.k);
}

/** Unwrap a file key (compact JWE) with the case ECDH private CryptoKey; returns it non-extractable. */
export async function unwrapFileKey(jwe: string, casePrivateKey: CryptoKey): Promise<CryptoKey> {
  const raw = await unwrapFileKeyBytes(jwe, casePrivateKey);
  try {
    return await importFileKey(raw);
  } finally {
    raw.fill(0);
  }
}

/** Re-wrap a file key (compact JWE in and out) to another ECDH public JWK, e.g. site key to case key on approval. */
export async function rewrapFileKey(jwe: string, privateKey: CryptoKey, newRecipientPublicJwk: JWK): Promise<string> {
  const raw = await unwrapFileKeyBytes(jwe, privateKey);
  try {
    const recipient = newRecipientPublicJwk;
    return await wrapJwk({ kty: "oct", alg: ENC, k: toBase64url(raw) }, recipient, TYP.fileKey);
  } finally {
    raw.fill(0);
  }
}
