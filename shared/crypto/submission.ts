/**
 * Submission links (docs/submissions.md): a submission key pair made for each link in the
 * creating member's browser. The public half goes to submitters (what they send is wrapped to
 * it); the private half is wrapped to the case key, so the case's members can open it and the
 * server cannot.
 */
import type { JWK } from "jose";
import { z } from "zod";
import { FormatError } from "./errors";
import { generateShareKeyPair, importPrivateKey, keyId, TYP, unwrapJwk, wrapJwk, type KeyPairJwk, type UnlockedKey } from "./keys";
import { openJson, sealJson } from "./sealed-json";

/** New submission key pair (ECDH P-521), as JWKs. */
export function generateSubmissionKeyPair(): Promise<KeyPairJwk> {
  return generateShareKeyPair();
}

/** Wrap a submission private JWK to a case public JWK: compact JWE, ECDH-ES+A256KW, A256GCM, typ custody-submission-key+jwe, kid = the case key's. */
export async function wrapSubmissionKey(submissionPrivateJwk: JWK, casePublicJwk: JWK): Promise<string> {
  const { kty, crv, x, y, d } = submissionPrivateJwk;
  if (kty !== "EC" || crv !== "P-521" || typeof d !== "string") throw new FormatError("submission private key", "expected an EC P-521 private JWK");
  return wrapJwk({ kty, crv, x, y, d }, casePublicJwk, TYP.submissionKey);
}

/** Open a submission key (compact JWE) with a case private CryptoKey; returns it non-extractable. */
export async function unwrapSubmissionKey(jwe: string, casePrivateKey: CryptoKey): Promise<UnlockedKey> {
  return importPrivateKey(await unwrapJwk(jwe, casePrivateKey, TYP.submissionKey, "submission key"), "enc");
}

/**
 * The fragment of a submission link: the submission key's id (RFC 7638 thumbprint). The submitter's
 * browser checks the public key the server hands out against it before wrapping anything, so a
 * server that swapped the key would be caught.
 */
export async function submissionKeyMatches(publicJwk: JWK, expectedKid: string): Promise<boolean> {
  try {
    return (await keyId({ kty: publicJwk.kty!, crv: publicJwk.crv!, x: publicJwk.x!, y: publicJwk.y! })) === expectedKid;
  } catch {
    return false;
  }
}

export const SUBMISSION_DETAILS_VERSION = 1;

/** What a submitter says of themselves (evidence-format.md §12): all optional, sent encrypted to the submission key. */
export const SubmissionDetails = z.strictObject({
  v: z.literal(SUBMISSION_DETAILS_VERSION),
  name: z.string().max(200).optional(),
  contact: z.string().max(500).optional(),
  statement: z.string().max(20_000).optional(),
});
export type SubmissionDetails = z.infer<typeof SubmissionDetails>;

/** Encrypt a submitter's details to the link's submission public JWK: compact JWE, ECDH-ES+A256KW, A256GCM, typ custody-submission-details+jwe, kid = the submission key's. */
export async function encryptSubmissionDetails(details: Omit<SubmissionDetails, "v">, submissionPublicJwk: JWK): Promise<string> {
  return sealJson(SubmissionDetails.parse({ v: SUBMISSION_DETAILS_VERSION, ...details }), submissionPublicJwk, TYP.submissionDetails);
}

/** Decrypt a submitter's details (compact JWE) with the submission private CryptoKey. */
export async function decryptSubmissionDetails(jwe: string, submissionPrivateKey: CryptoKey): Promise<SubmissionDetails> {
  return openJson(jwe, submissionPrivateKey, { typ: TYP.submissionDetails, what: "submission details", wrongKey: "not encrypted to this submission key, or damaged", schema: SubmissionDetails });
}
