/**
 * A small JSON body sealed to one P-521 public key (docs/evidence-format.md §5.1, §5.2, §12):
 * compact JWE, ECDH-ES+A256KW, A256GCM, with an explicit `typ` and `kid` = the key's RFC 7638
 * thumbprint. Labels and thumbnails are sealed to the case key, a submitter's details to the
 * link's submission key; only the holder of the private key opens them.
 */
import { CompactEncrypt, compactDecrypt, type JWK } from "jose";
import type { z } from "zod";
import { FormatError, KeyUnwrapError } from "./errors";
import { fromUtf8, utf8 } from "./encoding";
import { importEncryptionPublicKey, keyId } from "./keys";

/** Seals `body` (already checked by its schema) as JSON to `publicJwk`, typed `typ`. */
export async function sealJson(body: unknown, publicJwk: JWK, typ: string): Promise<string> {
  return new CompactEncrypt(utf8(JSON.stringify(body)))
    .setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ, kid: await keyId(publicJwk) })
    .encrypt(await importEncryptionPublicKey(publicJwk));
}

/**
 * Opens a sealed body with the private key and checks it: a KeyUnwrapError (`what`, `wrongKey`)
 * if it is not sealed to this key or was changed, a FormatError if its `typ` is not `typ` or its
 * content does not match `schema`.
 */
export async function openJson<T>(jwe: string, privateKey: CryptoKey, expected: { typ: string; what: string; wrongKey: string; schema: z.ZodType<T> }): Promise<T> {
  let out: Awaited<ReturnType<typeof compactDecrypt>>;
  try {
    out = await compactDecrypt(jwe, privateKey, { keyManagementAlgorithms: ["ECDH-ES+A256KW"], contentEncryptionAlgorithms: ["A256GCM"] });
  } catch (cause) {
    throw new KeyUnwrapError(expected.what, expected.wrongKey, { cause });
  }
  if (out.protectedHeader.typ !== expected.typ) throw new FormatError(expected.what, `expected typ ${expected.typ}`);
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(out.plaintext));
  } catch {
    throw new FormatError(expected.what, "unexpected content");
  }
  const parsed = expected.schema.safeParse(json);
  if (!parsed.success) throw new FormatError(expected.what, "unexpected content");
  return parsed.data;
}
