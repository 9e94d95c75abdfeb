/**
 * The evidence label (docs/evidence-format.md §5.1): the original file name, media type and
 * capture time, encrypted to the CASE public key (compact JWE, ECDH-ES+A256KW, A256GCM,
 * typ custody-label+jwe, kid = case key id). Members list their evidence by name with the case
 * key they already hold; the file key, and so the content, is released only by the audited view.
 */
import type { JWK } from "jose";
import { z } from "zod";
import { TYP } from "./keys";
import { openJson, sealJson } from "./sealed-json";

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
  return sealJson(EvidenceLabel.parse({ v: LABEL_VERSION, ...label }), casePublicJwk, TYP.label);
}

/** Decrypt a label (compact JWE) with the case private CryptoKey. */
export async function decryptLabel(jwe: string, casePrivateKey: CryptoKey): Promise<EvidenceLabel> {
  return openJson(jwe, casePrivateKey, { typ: TYP.label, what: "label", wrongKey: "not encrypted to this case key, or damaged", schema: EvidenceLabel });
}
