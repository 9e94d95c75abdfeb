import { serverSecret } from "../db/evidence";

/**
 * Signed upload URLs (ARCHITECTURE.md "Upload"): HMAC-SHA256 over the evidence id, part
 * number, byte length, SHA-512 and expiry, under a server secret. A URL is good for exactly
 * one part of one evidence item, of one length and one digest, for a short time.
 */

/** How long a signed part URL stays valid. */
export const PART_URL_LIFETIME_MS = 15 * 60 * 1000;

const encoder = new TextEncoder();

async function hmacKey(db: D1Database): Promise<CryptoKey> {
  const secret = await serverSecret(db, "upload-url-hmac");
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

function message(p: { evidenceId: string; part: number; byteLength: number; sha512: string; exp: number }): Uint8Array {
  return encoder.encode(`custody-upload-v1\n${p.evidenceId}\n${p.part}\n${p.byteLength}\n${p.sha512}\n${p.exp}`);
}

function toBase64Url(bytes: ArrayBuffer): string {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (ch) => ch.charCodeAt(0));
}

/** The signature for a part URL (base64url). */
export async function signPart(
  db: D1Database,
  p: { evidenceId: string; part: number; byteLength: number; sha512: string; exp: number },
): Promise<string> {
  return toBase64Url(await crypto.subtle.sign("HMAC", await hmacKey(db), message(p)));
}

/** Checks a part URL's signature in constant time (WebCrypto HMAC verify). */
export async function partSignatureIsValid(
  db: D1Database,
  p: { evidenceId: string; part: number; byteLength: number; sha512: string; exp: number },
  sig: string,
): Promise<boolean> {
  return crypto.subtle.verify("HMAC", await hmacKey(db), fromBase64Url(sig), message(p));
}
