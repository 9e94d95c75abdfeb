import { decodeProtectedHeader } from "jose";
import type { PublicJwk, PublicKeyInfo } from "../../../shared/api/schemas";
import { importEncryptionPublicKey, importSigningPublicKey, keyId, PBES2_ITERATIONS, PBES2_MAX_ITERATIONS, TYP } from "../../../shared/crypto";
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
 * sealed as the format requires, with at least the required PBKDF2 work).
 */
export function checkBundle(jwe: string): void {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwe);
  } catch {
    throw new ApiError(400, "invalid_bundle", "The key bundle is not a valid JWE.");
  }
  const iterations = typeof header.p2c === "number" ? header.p2c : 0;
  if (header.alg !== "PBES2-HS512+A256KW" || header.enc !== "A256GCM" || header.typ !== TYP.keyBundle) {
    throw new ApiError(400, "invalid_bundle", "The key bundle must be a custody-key-bundle+jwe sealed with PBES2-HS512+A256KW and A256GCM.");
  }
  if (iterations < PBES2_ITERATIONS || iterations > PBES2_MAX_ITERATIONS) {
    throw new ApiError(400, "invalid_bundle", `The key bundle's PBKDF2 count must be between ${PBES2_ITERATIONS} and ${PBES2_MAX_ITERATIONS}.`);
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
