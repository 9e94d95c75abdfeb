/**
 * Intake of submitted files (docs/submissions.md §5): what a member's browser does to accept one.
 * The file key and label were wrapped to the link's submission key; accepting re-wraps them to the
 * case key (the ciphertext is not touched): `rewrapFileKey` (keys.ts) and `rewrapLabel` here. The submitter's details are read with the submission key.
 */
import { CompactEncrypt, compactDecrypt, type JWK } from "jose";
import { z } from "zod";
import { FormatError, KeyUnwrapError } from "./errors";
import { fromUtf8, utf8 } from "./encoding";
import { importEncryptionPublicKey, keyId, TYP } from "./keys";
import { decryptLabel, encryptLabel } from "./label";

/** Re-encrypt a label (custody-label+jwe) from the submission private key to the case public JWK. */
export async function rewrapLabel(jwe: string, submissionPrivateKey: CryptoKey, casePublicJwk: JWK): Promise<string> {
  const { v: _v, ...label } = await decryptLabel(jwe, submissionPrivateKey);
  return encryptLabel(label, casePublicJwk);
}

export const SUBMISSION_DETAILS_VERSION = 1;
export const SubmitterDetails = z.strictObject({
  v: z.literal(SUBMISSION_DETAILS_VERSION),
  name: z.string().max(200).optional(),
  contact: z.string().max(500).optional(),
  statement: z.string().max(20_000).optional(),
});
export type SubmitterDetails = z.infer<typeof SubmitterDetails>;

/** Seal a submitter's details to the submission public JWK: compact JWE, ECDH-ES+A256KW, A256GCM, typ custody-submission-details+jwe, kid = the submission key's id. */
export async function sealSubmitterDetails(details: Omit<SubmitterDetails, "v">, submissionPublicJwk: JWK): Promise<string> {
  const body = SubmitterDetails.parse({ v: SUBMISSION_DETAILS_VERSION, ...details });
  return new CompactEncrypt(utf8(JSON.stringify(body)))
    .setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: TYP.submissionDetails, kid: await keyId(submissionPublicJwk) })
    .encrypt(await importEncryptionPublicKey(submissionPublicJwk));
}

/** Open a submitter's details (compact JWE) with the submission private CryptoKey. */
export async function openSubmitterDetails(jwe: string, submissionPrivateKey: CryptoKey): Promise<SubmitterDetails> {
  let plaintext: Uint8Array;
  let typ: unknown;
  try {
    const out = await compactDecrypt(jwe, submissionPrivateKey, { keyManagementAlgorithms: ["ECDH-ES+A256KW"], contentEncryptionAlgorithms: ["A256GCM"] });
    plaintext = out.plaintext;
    typ = out.protectedHeader.typ;
  } catch (cause) {
    throw new KeyUnwrapError("submitter details", "not encrypted to this submission key, or damaged", { cause });
  }
  if (typ !== TYP.submissionDetails) throw new FormatError("submitter details", `expected typ ${TYP.submissionDetails}`);
  const parsed = SubmitterDetails.safeParse(JSON.parse(fromUtf8(plaintext)));
  if (!parsed.success) throw new FormatError("submitter details", "unexpected content");
  return parsed.data;
}
