import { decodeProtectedHeader } from "jose";
import type { PublicJwk, PublicKeyInfo } from "../../../shared/api/schemas";
import { bundleSeal, FormatError, importEncryptionPublicKey, importSigningPublicKey, keyId, type BundleSeal } from "../../../shared/crypto";
import { ApiError } from "./errors";

/**
 * Checks that a submitted public JWK is a usable P-521 key for `use` (WebCrypto imports it,
 * which rejects points off the curve) and returns it normalised, with its RFC 7638 key id.
 */
export async function checkPublicKey(jwk: PublicJwk, use: "sig" | "enc", field: string): Promise<PublicKeyInfo> {
  const base = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  try {
    await (use === "sig" ? importSigningPublicKey(base) : importEncryptionPublicKey(base));
  } catch {
    throw new ApiError(400, "invalid_key", `${field} is not a valid P-521 public key.`);
  }
  const kid = await keyId(base);
  if (jwk.kid !== undefined && jwk.kid !== kid) {
    throw new ApiError(400, "invalid_key", `${field}: kid is not the key's RFC 7638 thumbprint.`);
  }
  const publicJwk: PublicJwk = { ...base, kid, alg: use === "sig" ? "ES512" : "ECDH-ES+A256KW", use };
  return { kid, publicJwk };
}

/**
 * Checks a key bundle's protected header (the server cannot open the bundle, only check it is
 * sealed as the format requires): version 2, by passphrase with Argon2id at or above the floor,
 * or (`passkeyId` given) by that passkey's PRF. Version 1 (PBES2) is never stored any more.
 */
export function checkBundle(jwe: string, passkeyId?: string): void {
  let seal: BundleSeal;
  try {
    seal = bundleSeal(jwe);
  } catch (error) {
    const why = error instanceof FormatError ? error.message : "not a key bundle";
    throw new ApiError(400, "invalid_bundle", `The key bundle is not valid (${why}).`);
  }
  if (passkeyId === undefined) {
    if (seal.kdf !== "argon2id") {
      throw new ApiError(400, "invalid_bundle", "The key bundle must be version 2, sealed with Argon2id (docs/evidence-format.md §3.1.1). Update the app and try again.");
    }
  } else if (seal.kdf !== "passkey" || seal.credentialId !== passkeyId) {
    throw new ApiError(400, "invalid_bundle", "The envelope must be sealed by this passkey (kdf webauthn-prf-hkdf-sha256 naming it).");
  }
}

/** Checks a JWE is ECDH-ES+A256KW / A256GCM of kind `typ`, addressed to the key `kid`. */
export function checkWrappedTo(jwe: string, typ: string, kid: string, field: string): void {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwe);
  } catch {
    throw new ApiError(400, "invalid_envelope", `${field} is not a valid JWE.`);
  }
  if (header.alg !== "ECDH-ES+A256KW" || header.enc !== "A256GCM" || header.typ !== typ) {
    throw new ApiError(400, "invalid_envelope", `${field} must be a ${typ} (ECDH-ES+A256KW, A256GCM).`);
  }
  if (header.kid !== kid) throw new ApiError(400, "invalid_envelope", `${field} is not wrapped to the expected key.`);
}
