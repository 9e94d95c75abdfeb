/**
 * Submission links API shapes (docs/submissions.md): links through which people outside the
 * organisation send evidence, encrypted in their browser to a submission key whose private half
 * is wrapped to the case key. The public side of a link reveals its instructions, limits and
 * public key only: it can list or read nothing.
 */
import { z } from "zod";
import { Kid } from "./cases";
import { CompactJwe, Email, PublicJwk } from "./schemas";

/** Default and longest time a submission link stays open. */
export const SUBMISSION_DEFAULT_DAYS = 14;
export const SUBMISSION_MAX_DAYS = 366;
/** Default and highest limits of a link. */
export const SUBMISSION_DEFAULT_FILES = 20;
export const SUBMISSION_MAX_FILES = 1000;
export const GIB = 1024 ** 3;
export const SUBMISSION_DEFAULT_BYTES = 10 * GIB;
export const SUBMISSION_MAX_BYTES = 1024 * GIB;

/** The public side's sliding window, and what one address and one link may ask in it (docs/submissions.md). */
export const SUBMIT_WINDOW_MS = 10 * 60 * 1000;
export const SUBMIT_PER_ADDRESS = 60;
export const SUBMIT_PER_LINK = 600;

/** A link's id: 256 random bits, base64url (43 characters), made by the server. */
export const SubmissionLinkId = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "Not a valid submission link.");
export const SubmissionLinkIdParam = z.strictObject({ id: SubmissionLinkId });

export const CreateSubmissionLinkRequest = z
  .strictObject({
    audience: z.enum(["person", "public"]).meta({ description: "person: one witness or business; public: an appeal anyone with the link may answer." }),
    label: z.string().trim().min(1, "Say who the link is for.").max(200),
    email: Email.optional().meta({ description: "A person link: where to email it (when the organisation's mail is set up)." }),
    instructions: z.string().trim().min(1, "Tell the submitter what to send.").max(4000),
    expiresAt: z.iso.datetime({ offset: true }).meta({ description: "When the link closes (at most a year from now)." }),
    maxFiles: z.number().int().min(1).max(SUBMISSION_MAX_FILES),
    maxBytes: z.number().int().min(1).max(SUBMISSION_MAX_BYTES),
    submissionKey: PublicJwk.meta({ description: "The submission public key (ECDH P-521), made in the member's browser." }),
    submissionKeyWrap: CompactJwe.meta({ description: "The submission private key, wrapped (custody-submission-key+jwe, ECDH-ES+A256KW) to the case's current key." }),
    caseKid: Kid,
  })
  .refine((body) => body.audience === "person" || body.email === undefined, { message: "A public link is not sent to one address.", path: ["email"] })
  .meta({ id: "CreateSubmissionLinkRequest" });
export type CreateSubmissionLinkRequest = z.input<typeof CreateSubmissionLinkRequest>;

export const SubmissionLinkStatus = z.enum(["open", "expired", "revoked"]);

export const SubmissionLinkSummary = z
  .object({
    id: SubmissionLinkId,
    caseId: z.string(),
    audience: z.enum(["person", "public"]),
    label: z.string(),
    email: z.string().nullable(),
    instructions: z.string(),
    maxFiles: z.number().int(),
    maxBytes: z.number().int(),
    submissionKid: Kid,
    status: SubmissionLinkStatus,
    expiresAt: z.string(),
    createdAt: z.string(),
    createdBy: z.object({ id: z.string(), name: z.string() }),
    revokedAt: z.string().nullable(),
    url: z.string().meta({ description: "The link to give: /submit/<id>#<submission key id>. Not secret beyond its id; whoever has it may submit." }),
  })
  .meta({ id: "SubmissionLinkSummary" });
export type SubmissionLinkSummary = z.infer<typeof SubmissionLinkSummary>;

export const SubmissionLinkList = z.object({ links: z.array(SubmissionLinkSummary) }).meta({ id: "SubmissionLinkList" });
export type SubmissionLinkList = z.infer<typeof SubmissionLinkList>;

export const CreatedSubmissionLink = z
  .object({ link: SubmissionLinkSummary, emailed: z.boolean().meta({ description: "Whether the link went out by email." }) })
  .meta({ id: "CreatedSubmissionLink" });
export type CreatedSubmissionLink = z.infer<typeof CreatedSubmissionLink>;

/** What anyone holding the link sees: what to send, the limits, where it goes. Nothing of the case. */
export const PublicSubmissionLink = z
  .object({
    id: SubmissionLinkId,
    organisation: z.string(),
    instructions: z.string(),
    maxFiles: z.number().int(),
    maxBytes: z.number().int(),
    expiresAt: z.string(),
    submissionKey: PublicJwk.meta({ description: "Wrap every file key and the statement to this key; check its thumbprint against the link's fragment first." }),
  })
  .meta({ id: "PublicSubmissionLink" });
export type PublicSubmissionLink = z.infer<typeof PublicSubmissionLink>;
