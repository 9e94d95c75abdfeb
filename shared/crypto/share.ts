/**
 * Shares (docs/disclosure.md): a share key pair per share, its private half wrapped to the guest's
 * encryption key or to the key derived from a link secret; receipts signed by the recipient.
 */
import { CompactEncrypt, CompactSign, calculateJwkThumbprint, compactDecrypt, compactVerify, decodeProtectedHeader, type JWK } from "jose";
import { z } from "zod";
import { FormatError, IntegrityError, KeyUnwrapError } from "./errors";
import { fromBase64url, fromUtf8, toBase64url, utf8 } from "./encoding";
import { importPrivateKey, importSigningPublicKey, KEY_ENVELOPE_VERSION, keyId, parseEnvelope, TYP, unwrapJwk, wrapJwk, type UnlockedKey } from "./keys";

/** Bytes of a link secret (256 bits), carried base64url in the URL fragment. */
export const LINK_SECRET_BYTES = 32;
/** HKDF salt of the link key: names the construction and its version. */
export const LINK_KEY_SALT = "custody-share-link/v1";
/** The `kid` of a share key wrapped to a link key. */
export const LINK_KID = "link";

/** A new random link secret, base64url (43 characters). */
export function newLinkSecret(): string {
  return toBase64url(crypto.getRandomValues(new Uint8Array(LINK_SECRET_BYTES)));
}

/** The link key: HKDF-SHA-512(ikm = secret bytes, salt = UTF-8 LINK_KEY_SALT, info = UTF-8 share id), 32 bytes. */
export async function deriveLinkKey(secret: string, shareId: string): Promise<Uint8Array> {
  let ikm: Uint8Array;
  try {
    ikm = fromBase64url(secret);
  } catch (cause) {
    throw new FormatError("link secret", "not base64url (the link was cut short?)", { cause });
  }
  if (ikm.length !== LINK_SECRET_BYTES) throw new FormatError("link secret", `must be ${LINK_SECRET_BYTES} bytes`);
  // extractable: false; only deriveBits is asked of it.
  const base = await crypto.subtle.importKey("raw", ikm as Uint8Array<ArrayBuffer>, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-512", salt: utf8(LINK_KEY_SALT) as Uint8Array<ArrayBuffer>, info: utf8(shareId) as Uint8Array<ArrayBuffer> },
    base,
    256,
  );
  ikm.fill(0);
  return new Uint8Array(bits);
}

function privateOnly(jwk: JWK): JWK {
  const { kty, crv, x, y, d } = jwk;
  if (kty !== "EC" || crv !== "P-521" || typeof d !== "string") throw new FormatError("share private key", "expected an EC P-521 private JWK");
  return { kty, crv, x, y, d };
}

/** Wrap a share private JWK to a guest's ECDH public JWK: compact JWE, ECDH-ES+A256KW, A256GCM, typ custody-share-key+jwe. */
export function wrapShareKeyToGuest(sharePrivateJwk: JWK, guestPublicJwk: JWK): Promise<string> {
  return wrapJwk(privateOnly(sharePrivateJwk), guestPublicJwk, TYP.shareKey);
}

/** Wrap a share private JWK to a link key (32 bytes): compact JWE, A256KW, A256GCM, kid "link", typ custody-share-key+jwe. */
export async function wrapShareKeyToLink(sharePrivateJwk: JWK, linkKey: Uint8Array): Promise<string> {
  const body = utf8(JSON.stringify({ v: KEY_ENVELOPE_VERSION, jwk: privateOnly(sharePrivateJwk) }));
  // A256KW with a fresh random content key and IV per JWE (jose draws them).
  const jwe = await new CompactEncrypt(body).setProtectedHeader({ alg: "A256KW", enc: "A256GCM", typ: TYP.shareKey, kid: LINK_KID }).encrypt(linkKey);
  body.fill(0);
  return jwe;
}

/** Open a share key wrapped to a guest (compact JWE) with their ECDH private CryptoKey; returns it non-extractable. */
export async function unwrapShareKeyAsGuest(jwe: string, guestPrivateKey: CryptoKey): Promise<UnlockedKey> {
  return importPrivateKey(await unwrapJwk(jwe, guestPrivateKey, TYP.shareKey, "share key"), "enc");
}

/** Open a share key wrapped to a link key (compact JWE, A256KW); returns it non-extractable. */
export async function unwrapShareKeyWithLink(jwe: string, linkKey: Uint8Array): Promise<UnlockedKey> {
  let plaintext: Uint8Array;
  let typ: unknown;
  try {
    const out = await compactDecrypt(jwe, linkKey, { keyManagementAlgorithms: ["A256KW"], contentEncryptionAlgorithms: ["A256GCM"] });
    plaintext = out.plaintext;
    typ = out.protectedHeader.typ;
  } catch (cause) {
    throw new KeyUnwrapError("share key", "this link's secret does not open it (the link is incomplete or for another share)", { cause });
  }
  if (typ !== TYP.shareKey) throw new FormatError("share key", `expected typ ${TYP.shareKey}`);
  const body = parseEnvelope(plaintext, "share key");
  plaintext.fill(0);
  return importPrivateKey(body.jwk as JWK, "enc");
}

// ---- receipts ------------------------------------------------------------------------

export const RECEIPT_VERSION = 1;
const Sha512Hex = z.string().regex(/^[0-9a-f]{128}$/);

export const Receipt = z.strictObject({
  v: z.literal(RECEIPT_VERSION),
  shareId: z.string().min(1).max(64),
  recipient: z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("guest"), userId: z.string().min(1).max(64), name: z.string().min(1).max(200) }),
    z.strictObject({ type: z.literal("link"), name: z.string().min(1).max(200) }),
  ]),
  items: z.array(z.strictObject({ id: z.string().min(1).max(64), sha512: Sha512Hex })).min(1).max(10_000),
  receivedAt: z.iso.datetime(),
});
export type Receipt = z.infer<typeof Receipt>;

/**
 * Sign a receipt: compact JWS, ES512, protected header `{ alg, typ: custody-receipt+jws, kid, jwk }`
 * (the signer's public JWK rides along, so the receipt verifies offline); payload JSON in UTF-8.
 */
export async function signReceipt(receipt: Omit<Receipt, "v">, signer: UnlockedKey): Promise<string> {
  const payload = Receipt.parse({ v: RECEIPT_VERSION, ...receipt });
  const { kty, crv, x, y } = signer.publicJwk;
  return new CompactSign(utf8(JSON.stringify(payload)))
    .setProtectedHeader({ alg: "ES512", typ: TYP.receipt, kid: signer.kid, jwk: { kty: kty!, crv: crv!, x: x!, y: y! } })
    .sign(signer.privateKey);
}

/** A new ECDSA P-521 key made for one receipt (a link recipient has no account key); non-extractable private half. */
export async function receiptSigningKey(): Promise<UnlockedKey> {
  // extractable: false: the key signs this receipt and is never kept.
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, false, ["sign", "verify"])) as CryptoKeyPair;
  const full = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JWK;
  const publicJwk = { kty: "EC", crv: "P-521", x: full.x!, y: full.y! };
  return { kid: await keyId(publicJwk), privateKey: pair.privateKey, publicJwk: { ...publicJwk, alg: "ES512", use: "sig" } };
}

/**
 * Verify a receipt (compact JWS) by the public JWK it carries: ES512 only, `kid` must be that key's
 * RFC 7638 thumbprint. Who the key belongs to is the caller's question (a guest's registered key,
 * or a link recipient's key named in the receipt).
 */
export async function verifyReceipt(jws: string): Promise<{ receipt: Receipt; kid: string; jwk: JWK }> {
  let header;
  try {
    header = decodeProtectedHeader(jws);
  } catch (cause) {
    throw new FormatError("receipt", "not a compact JWS", { cause });
  }
  if (header.typ !== TYP.receipt) throw new FormatError("receipt", `expected typ ${TYP.receipt}`);
  if (header.alg !== "ES512" || typeof header.jwk !== "object" || typeof header.kid !== "string") throw new FormatError("receipt", "expected ES512 with kid and jwk headers");
  const jwk = header.jwk as JWK;
  const key = await importSigningPublicKey(jwk);
  if ((await calculateJwkThumbprint({ kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! }, "sha256")) !== header.kid) {
    throw new IntegrityError("receipt signer", "kid is not the thumbprint of the key in the receipt");
  }
  let out;
  try {
    out = await compactVerify(jws, key, { algorithms: ["ES512"] });
  } catch (cause) {
    throw new IntegrityError("receipt signature", "does not verify: the receipt was changed after signing", { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(out.payload));
  } catch (cause) {
    throw new FormatError("receipt", "payload is not JSON", { cause });
  }
  const parsed = Receipt.safeParse(json);
  if (!parsed.success) throw new FormatError("receipt", "unsupported version or malformed payload", { cause: parsed.error });
  return { receipt: parsed.data, kid: header.kid, jwk: { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! } };
}
