/**
 * Key hierarchy (docs/evidence-format.md §2): organisation recovery key, user signing and
 * encryption keys, case keys, file keys. All P-521; every envelope is a compact JOSE
 * object with a `typ` naming its kind and a `"v": 1` inside its plaintext.
 */
import { calculateJwkThumbprint, CompactEncrypt, compactDecrypt, type JWK } from "jose";
import { FormatError, KeyUnwrapError } from "./errors";
import { fromBase64url, toBase64url, utf8, fromUtf8 } from "./encoding";

/** Version written into (and required inside) every key envelope's plaintext. */
export const KEY_ENVELOPE_VERSION = 1;
/** PBKDF2-HMAC-SHA512 iterations for new key bundles: OWASP's current figure (2023 cheat sheet). */
export const PBES2_ITERATIONS = 210_000;
/** Largest PBES2 count accepted when opening a bundle, so a forged bundle cannot pin the CPU. */
export const PBES2_MAX_ITERATIONS = 10_000_000;

/** `typ` header of each envelope kind. */
export const TYP = {
  keyBundle: "custody-key-bundle+jwe",
  caseKey: "custody-case-key+jwe",
  fileKey: "custody-file-key+jwe",
  metadata: "custody-metadata+jwe",
  manifest: "custody-manifest+jws",
  escrow: "custody-key-escrow+jwe",
  label: "custody-label+jwe",
  transfer: "custody-key-transfer+jwe",
  shareKey: "custody-share-key+jwe",
  receipt: "custody-receipt+jws",
} as const;

const ECDH = { name: "ECDH", namedCurve: "P-521" };
const ECDSA = { name: "ECDSA", namedCurve: "P-521" };
const WRAP_ALG = "ECDH-ES+A256KW";
const BUNDLE_ALG = "PBES2-HS512+A256KW";
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

// ---- key bundle (PBES2) -------------------------------------------------------------

/** The private halves of a user's keys, as private JWKs. */
export interface UserPrivateKeys {
  signing: JWK;
  encryption: JWK;
}

function passphraseBytes(passphrase: string): Uint8Array {
  // NFC so the same passphrase typed on different keyboards/OSes gives the same bytes.
  return utf8(passphrase.normalize("NFC"));
}

/** Seal private JWKs under a passphrase: compact JWE, PBES2-HS512+A256KW (p2c = PBES2_ITERATIONS), A256GCM. */
export async function sealKeyBundle(keys: UserPrivateKeys, passphrase: string): Promise<string> {
  assertP521(keys.signing, "signing private key", true);
  assertP521(keys.encryption, "encryption private key", true);
  const body = { v: KEY_ENVELOPE_VERSION, signing: keys.signing, encryption: keys.encryption };
  // p2s: jose draws a fresh random 16-byte salt per bundle.
  return new CompactEncrypt(utf8(JSON.stringify(body)))
    .setProtectedHeader({ alg: BUNDLE_ALG, enc: ENC, typ: TYP.keyBundle })
    .setKeyManagementParameters({ p2c: PBES2_ITERATIONS })
    .encrypt(passphraseBytes(passphrase));
}

async function decryptBundle(jwe: string, passphrase: string): Promise<UserPrivateKeys> {
  let plaintext: Uint8Array;
  let typ: unknown;
  try {
    const out = await compactDecrypt(jwe, passphraseBytes(passphrase), {
      keyManagementAlgorithms: [BUNDLE_ALG],
      contentEncryptionAlgorithms: [ENC],
      maxPBES2Count: PBES2_MAX_ITERATIONS,
    });
    plaintext = out.plaintext;
    typ = out.protectedHeader.typ;
  } catch (cause) {
    throw new KeyUnwrapError("key bundle", "wrong passphrase, or the bundle is damaged", { cause });
  }
  if (typ !== TYP.keyBundle) throw new FormatError("key bundle", "not a key bundle");
  const body = parseEnvelope(plaintext, "key bundle") as { signing?: JWK; encryption?: JWK };
  plaintext.fill(0);
  if (!body.signing || !body.encryption) throw new FormatError("key bundle", "missing a key");
  return { signing: body.signing, encryption: body.encryption };
}

/** Unlock a key bundle (compact JWE) with the passphrase; returns non-extractable CryptoKeys (see importPrivateKey). */
export async function openKeyBundle(
  jwe: string,
  passphrase: string,
): Promise<{ signing: UnlockedKey; encryption: UnlockedKey }> {
  const keys = await decryptBundle(jwe, passphrase);
  return { signing: await importPrivateKey(keys.signing, "sign"), encryption: await importPrivateKey(keys.encryption, "enc") };
}

/** Re-seal a key bundle (compact JWE in and out) under a new passphrase, with a fresh salt and current p2c. */
export async function changeKeyBundlePassphrase(jwe: string, oldPassphrase: string, newPassphrase: string): Promise<string> {
  return sealKeyBundle(await decryptBundle(jwe, oldPassphrase), newPassphrase);
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
