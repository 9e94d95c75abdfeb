/**
 * Submission links API shapes (docs/submissions.md): links through which people outside the
 * organisation send evidence, encrypted in their browser to a submission key whose private half
 * is wrapped to the case key. The public side of a link reveals its instructions, limits and
 * public key only: it can list or read nothing.
 */
import { z } from "zod";
import { Kid } from "./cases";
import { CompactJwe, Email, Id, PublicJwk } from "./schemas";

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
    requestId: Id.optional().meta({ description: "A video request of this case the link answers (docs/submissions.md §7): the site's contact sees its cameras, time range and reason, and sending through the link delivers it." }),
  })
  .refine((body) => body.audience === "person" || body.email === undefined, { message: "A public link is not sent to one address.", path: ["email"] })
  .refine((body) => body.audience === "person" || body.requestId === undefined, { message: "A video request's link is for the site's contact: make it for one person.", path: ["requestId"] })
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
    requestId: z.string().nullable().meta({ description: "The video request the link answers, if any." }),
  })
  .meta({ id: "SubmissionLinkSummary" });
export type SubmissionLinkSummary = z.infer<typeof SubmissionLinkSummary>;

export const SubmissionLinkList = z.object({ links: z.array(SubmissionLinkSummary) }).meta({ id: "SubmissionLinkList" });
export type SubmissionLinkList = z.infer<typeof SubmissionLinkList>;

export const CreatedSubmissionLink = z
  .object({ link: SubmissionLinkSummary, emailed: z.boolean().meta({ description: "Whether the link went out by email." }) })
  .meta({ id: "CreatedSubmissionLink" });
export type CreatedSubmissionLink = z.infer<typeof CreatedSubmissionLink>;

/** A video request's link (docs/submissions.md §7): what the request asks for, as its site's operators see it. Nothing else of the case. */
export const PublicRequestDetails = z
  .object({
    cameras: z.array(z.string()).meta({ description: "The names of the cameras asked for." }),
    start: z.string(),
    end: z.string(),
    reason: z.string().meta({ description: "The reason, as the request shows it to the camera owner." }),
  })
  .meta({ id: "PublicRequestDetails" });
export type PublicRequestDetails = z.infer<typeof PublicRequestDetails>;

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
    request: PublicRequestDetails.nullable().meta({ description: "For a video request's link: the cameras, time range and reason asked for; null otherwise." }),
  })
  .meta({ id: "PublicSubmissionLink" });
export type PublicSubmissionLink = z.infer<typeof PublicSubmissionLink>;

// ---- sending through a link (no account) --------------------------------------------------

const HexId = z.string().regex(/^[0-9a-f]{32}$/, "Not a valid id.");

export const StartSubmissionRequest = z
  .strictObject({
    submissionId: HexId.meta({ description: "Made by the submitter's browser." }),
    signerKey: PublicJwk.meta({ description: "The ECDSA P-521 public key made in the submitter's browser for this submission: it signs each file's manifest." }),
    details: CompactJwe.optional().meta({ description: "Name, contact and statement: a custody-submission-details+jwe to the link's submission key." }),
  })
  .meta({ id: "StartSubmissionRequest" });
export type StartSubmissionRequest = z.input<typeof StartSubmissionRequest>;

export const StartedSubmission = z
  .object({ token: z.string().meta({ description: "Sent as Authorization: Bearer to add, resume and finish this submission's files. Shown once; only its hash is stored." }) })
  .meta({ id: "StartedSubmission" });
export type StartedSubmission = z.infer<typeof StartedSubmission>;

export const SubmissionParam = z.strictObject({ id: SubmissionLinkId, submission: HexId });
export const SubmissionFileParam = z.strictObject({ id: SubmissionLinkId, submission: HexId, file: HexId });
export const SubmissionPartParam = z.strictObject({ id: SubmissionLinkId, submission: HexId, file: HexId, part: z.string().regex(/^(0|[1-9][0-9]{0,4})$/).transform(Number) });

export const AddSubmissionFileRequest = z
  .strictObject({
    fileId: HexId,
    byteSize: z.number().int().min(1).max(SUBMISSION_MAX_BYTES),
    fileKey: CompactJwe.meta({ description: "The file key, custody-file-key+jwe to the link's submission key." }),
    label: CompactJwe.meta({ description: "Name, type and capture time, custody-label+jwe to the link's submission key." }),
  })
  .meta({ id: "AddSubmissionFileRequest" });
export type AddSubmissionFileRequest = z.input<typeof AddSubmissionFileRequest>;

export const SubmissionFileState = z
  .object({ status: z.enum(["uploading", "complete"]), partCount: z.number().int(), received: z.array(z.number().int()) })
  .meta({ id: "SubmissionFileState" });
export type SubmissionFileState = z.infer<typeof SubmissionFileState>;

export const CompleteSubmissionFileRequest = z
  .strictObject({ manifest: z.string().max(64 * 1024).regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, "Expected a compact JWS.") })
  .meta({ id: "CompleteSubmissionFileRequest" });

export const SentSubmission = z
  .object({ files: z.array(z.object({ id: z.string(), byteSize: z.number().int(), sha512: z.string() })), sentAt: z.string() })
  .meta({ id: "SentSubmission" });
export type SentSubmission = z.infer<typeof SentSubmission>;
