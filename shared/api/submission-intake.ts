/**
 * Intake of what arrives through submission links (docs/submissions.md §5): a case's members list
 * the submitted files, view them, accept them as evidence (the browser re-wraps the file key and
 * label from the submission key to the case key) or reject them (keys deleted first, then the object).
 */
import { z } from "zod";
import { Kid } from "./cases";
import { CompactJwe, Id, PublicJwk } from "./schemas";

export const SubmittedFile = z
  .object({
    id: Id,
    byteSize: z.number().int(),
    partCount: z.number().int(),
    fileKey: z.string().meta({ description: "The file key, custody-file-key+jwe to the link's submission key." }),
    label: z.string().meta({ description: "Name, type and capture time, custody-label+jwe to the link's submission key." }),
    manifest: z.string().meta({ description: "The manifest, signed by the submission's key (caseId = the link id, uploaderId = the submission id)." }),
    completedAt: z.string(),
  })
  .meta({ id: "SubmittedFile" });
export type SubmittedFile = z.infer<typeof SubmittedFile>;

export const IncomingSubmission = z
  .object({
    id: Id,
    link: z.object({ id: z.string(), label: z.string(), audience: z.enum(["person", "public"]) }),
    caseKid: Kid.meta({ description: "The case key the submission key is wrapped to." }),
    submissionKid: Kid,
    submissionKeyWrap: z.string().meta({ description: "The submission private key, custody-submission-key+jwe to case key `caseKid`." }),
    details: z.string().nullable().meta({ description: "Name, contact and statement: custody-submission-details+jwe to the submission key, or null." }),
    signer: z.object({ kid: Kid, publicJwk: PublicJwk }).meta({ description: "The key made in the submitter's browser for this submission: it signed every manifest." }),
    sentAt: z.string(),
    ip: z.string().nullable(),
    files: z.array(SubmittedFile),
  })
  .meta({ id: "IncomingSubmission" });
export type IncomingSubmission = z.infer<typeof IncomingSubmission>;

export const IncomingSubmissions = z.object({ submissions: z.array(IncomingSubmission) }).meta({ id: "IncomingSubmissions" });
export type IncomingSubmissions = z.infer<typeof IncomingSubmissions>;

export const SubmittedFileIdParam = z.strictObject({ id: Id });
export const SubmittedPartParam = z.strictObject({ id: Id, part: z.string().regex(/^(0|[1-9][0-9]{0,4})$/).transform(Number) });

export const SubmittedKeyRelease = z
  .object({
    caseKid: Kid,
    caseKeyWrap: z.string().meta({ description: "The case private key wrapped to your encryption key." }),
    submissionKeyWrap: z.string(),
    fileKey: z.string(),
  })
  .meta({ id: "SubmittedKeyRelease", description: "Everything needed to open a submitted file: case key -> submission key -> file key. Releasing it is the audited view." });
export type SubmittedKeyRelease = z.infer<typeof SubmittedKeyRelease>;

export const AcceptSubmittedFileRequest = z
  .strictObject({
    caseKid: Kid.meta({ description: "The case's current key, which the file key and label are now wrapped to." }),
    fileKey: CompactJwe.meta({ description: "The same file key, re-wrapped in the browser to the case key (custody-file-key+jwe). The ciphertext is not touched." }),
    label: CompactJwe.meta({ description: "The label, re-encrypted to the case key (custody-label+jwe)." }),
  })
  .meta({ id: "AcceptSubmittedFileRequest" });
export type AcceptSubmittedFileRequest = z.input<typeof AcceptSubmittedFileRequest>;

export { EvidenceSource } from "./cases";
