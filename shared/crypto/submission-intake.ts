/**
 * Intake of submitted files (docs/submissions.md §5): what a member's browser does to accept one.
 * The file key and label were wrapped to the link's submission key; accepting re-wraps them to the
 * case key (the ciphertext is not touched): `rewrapFileKey` (keys.ts) and `rewrapLabel` here. The submitter's details are read with the submission key (`decryptSubmissionDetails`, submission.ts).
 */
import type { JWK } from "jose";
import { decryptLabel, encryptLabel } from "./label";

/** Re-encrypt a label (custody-label+jwe) from the submission private key to the case public JWK. */
export async function rewrapLabel(jwe: string, submissionPrivateKey: CryptoKey, casePublicJwk: JWK): Promise<string> {
  const { v: _v, ...label } = await decryptLabel(jwe, submissionPrivateKey);
  return encryptLabel(label, casePublicJwk);
}
