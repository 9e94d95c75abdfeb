/**
 * The evidence label (docs/evidence-format.md §5.1): the original file name, media type and
 * capture time, encrypted to the CASE public key (compact JWE, ECDH-ES+A256KW, A256GCM,
 * typ custody-label+jwe, kid = case key id). Members list their evidence by name with the case
 * key they already hold; the file key, and so the content, is released only by the audited view.
 */
import { CompactEncrypt, compactDecrypt, type JWK } from "jose";
import { z } from "zod";
import { FormatError, KeyUnwrapError } from "./errors";
import { fromUtf8, utf8 } from "./encoding";
import { importEncryptionPublicKey, keyId, TYP } from "./keys";

export const LABEL_VERSION = 1;

export const EvidenceLabel = z.strictObject({
  v: z.literal(LABEL_VERSION),
  fileName: z.string().min(1).max(1024),
  mediaType: z.string().min(1).max(255),
  capturedAt: z.iso.datetime({ offset: true }).optional(),
});
export type EvidenceLabel = z.infer<typeof EvidenceLabel>;

/** Encrypt a label to the case public JWK: compact JWE, ECDH-ES+A256KW, A256GCM, `kid` = the case key id. */
export async function encryptLabel(label: Omit<EvidenceLabel, "v">, casePublicJwk: JWK): Promise<string> {
  const body = EvidenceLabel.parse({ v: LABEL_VERSION, ...label });
  const recipient = await importEncryptionPublicKey(casePublicJwk);
  return new CompactEncrypt(utf8(JSON.stringify(body)))
    .setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: TYP.label, kid: await keyId(casePublicJwk) })
    .encrypt(recipient);
}

/** Decrypt a label (compact JWE) with the case private CryptoKey. */
export async function decryptLabel(jwe: string, casePrivateKey: CryptoKey): Promise<EvidenceLabel> {
  let plaintext: Uint8Array;
  let typ: unknown;
  try {
    const out = await compactDecrypt(jwe, casePrivateKey, { keyManagementAlgorithms: ["ECDH-ES+A256KW"], contentEncryptionAlgorithms: ["A256GCM"] });
    plaintext = out.plaintext;
    typ = out.protectedHeader.typ;
  } catch (cause) {
    throw new KeyUnwrapError("label", "not encrypted to this case key, or damaged", { cause });
  }
  if (typ !== TYP.label) throw new FormatError("label", `expected typ ${TYP.label}`);
  const parsed = EvidenceLabel.safeParse(JSON.parse(fromUtf8(plaintext)));
  if (!parsed.success) throw new FormatError("label", "unexpected content");
  return parsed.data;
}
