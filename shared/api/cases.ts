/** Cases and evidence API shapes. Content is never here in the clear: see docs/storage-schema.md. */
import { z } from "zod";
import { NextCursor, PageQuery } from "./paging";
import { CompactJwe, PublicJwk, Id } from "./schemas";
import { Disposition } from "./retention";

export const Kid = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "Not a valid key id.");
export const CompactJws = z
  .string()
  .max(64 * 1024)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, "Expected a compact JWS.");
const Tag = z.string().trim().min(1).max(40).regex(/^[^,]+$/, "A tag cannot contain a comma.");

export const CASE_ROLES = ["lead", "contributor", "viewer"] as const;
export const CaseRole = z.enum(CASE_ROLES).meta({ id: "CaseRole", description: "lead: manage the case and its members; contributor: add evidence; viewer: read." });
export type CaseRole = z.infer<typeof CaseRole>;

/** A case private key wrapped to one recipient (a member's encryption key, or the recovery key). */
export const KeyWrap = z
  .strictObject({ recipientKid: Kid, jwe: CompactJwe })
  .meta({ id: "KeyWrap" });
export type KeyWrap = z.infer<typeof KeyWrap>;

export const CaseMember = z
  .object({ userId: Id, name: z.string(), email: z.string(), role: CaseRole, addedAt: z.string() })
  .meta({ id: "CaseMember" });
export type CaseMember = z.infer<typeof CaseMember>;

export const CaseSummary = z
  .object({
    id: Id,
    number: z.string(),
    title: z.string(),
    status: z.enum(["open", "closed"]),
    disposition: z.string().nullable().meta({ description: "How the case ended (a Disposition), while it is closed." }),
    closedAt: z.string().nullable().meta({ description: "When it was closed: the start of the retention clocks counted from the close." }),
    tags: z.array(z.string()),
    myRole: CaseRole,
    oversight: z.boolean().meta({ description: "You read this case as a supervisor (oversight), not as a member: as a viewer." }),
    evidenceCount: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "CaseSummary" });
export type CaseSummary = z.infer<typeof CaseSummary>;

export const CaseList = z.object({ cases: z.array(CaseSummary), nextCursor: NextCursor }).meta({ id: "CaseList" });
export type CaseList = z.infer<typeof CaseList>;

/** A supervisor who oversees the case: they hold its keys without being a member (docs/security.md, Supervisor oversight). */
export const CaseOversight = z
  .object({ userId: Id, name: z.string(), email: z.string(), addedAt: z.string() })
  .meta({ id: "CaseOversight" });
export type CaseOversight = z.infer<typeof CaseOversight>;

export const CaseDetail = CaseSummary.extend({
  description: z.string(),
  members: z.array(CaseMember),
  overseers: z.array(CaseOversight).meta({ description: "Supervisors who oversee the case (shown as oversight beside the members)." }),
  caseKey: z.object({ kid: Kid, publicJwk: PublicJwk }).meta({ description: "The current case public key: new evidence is wrapped to it." }),
}).meta({ id: "CaseDetail" });
export type CaseDetail = z.infer<typeof CaseDetail>;

export const CaseListQuery = z
  .strictObject({
    q: z.string().trim().max(100).optional().meta({ description: "Matches number, title, description or a tag (part of any)." }),
    status: z.enum(["open", "closed"]).optional(),
    tag: Tag.optional(),
    ...PageQuery.shape,
  })
  .meta({ id: "CaseListQuery" });

export const CreateCaseRequest = z
  .strictObject({
    number: z.string().trim().min(1, "Enter the case number.").max(64),
    title: z.string().trim().min(1, "Enter a title.").max(200),
    description: z.string().trim().max(4000).default(""),
    tags: z.array(Tag).max(20).default([]),
    caseKey: PublicJwk.meta({ description: "The new case public key (ECDH P-521), made in the browser." }),
    wraps: z
      .array(KeyWrap)
      .min(2)
      .max(202)
      .meta({ description: "The case private key wrapped to your encryption key, to the organisation recovery key and to every current supervisor's encryption key (GET /api/supervisors)." }),
  })
  .meta({ id: "CreateCaseRequest" });
export type CreateCaseRequest = z.input<typeof CreateCaseRequest>;

export const UpdateCaseRequest = z
  .strictObject({
    title: z.string().trim().min(1).max(200).optional(),
    description: z.string().trim().max(4000).optional(),
    tags: z.array(Tag).max(20).optional(),
    status: z.enum(["open", "closed"]).optional(),
    disposition: Disposition.optional().meta({ description: "Required when closing the case: how it ended." }),
    dispositionNote: z.string().trim().max(500).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "Nothing to change.")
  .refine((b) => b.status !== "closed" || b.disposition !== undefined, { message: "Choose the case's disposition to close it.", path: ["disposition"] })
  .refine((b) => b.disposition === undefined || b.status === "closed", { message: "A disposition goes with closing the case.", path: ["disposition"] })
  .meta({ id: "UpdateCaseRequest" });
export type UpdateCaseRequest = z.input<typeof UpdateCaseRequest>;

export const AddMemberRequest = z
  .strictObject({
    userId: Id,
    role: CaseRole,
    wraps: z
      .array(z.strictObject({ caseKid: Kid, recipientKid: Kid, jwe: CompactJwe }))
      .min(1)
      .max(100)
      .meta({ description: "Every key of the case (current and retired, so older evidence opens too) wrapped to the new member's encryption key." }),
  })
  .meta({ id: "AddMemberRequest" });
export type AddMemberRequest = z.input<typeof AddMemberRequest>;

export const AddOversightRequest = z
  .strictObject({
    wraps: z
      .array(z.strictObject({ caseKid: Kid, recipientKid: Kid, jwe: CompactJwe }))
      .min(1)
      .max(1000)
      .meta({ description: "Every key of the case wrapped to each supervisor who does not oversee it yet (their current encryption key)." }),
  })
  .meta({ id: "AddOversightRequest" });
export type AddOversightRequest = z.input<typeof AddOversightRequest>;

/** The organisation's supervisors and their encryption keys, for the browser that makes or re-wraps a case key. */
export const SupervisorList = z
  .object({ supervisors: z.array(z.object({ userId: Id, name: z.string(), email: z.string(), encryption: z.object({ kid: Kid, publicJwk: PublicJwk }) })) })
  .meta({ id: "SupervisorList", description: "Active supervisors with keys: every new case key must also be wrapped to each." });
export type SupervisorList = z.infer<typeof SupervisorList>;

export const ChangeMemberRequest = z.strictObject({ role: CaseRole }).meta({ id: "ChangeMemberRequest" });

export const RemoveMemberRequest = z
  .strictObject({
    caseKey: PublicJwk.meta({ description: "A new case public key: evidence added from now on is out of the removed member's reach." }),
    wraps: z.array(KeyWrap).min(2).max(500).meta({ description: "The new case private key wrapped to every remaining member, to every supervisor who oversees the case, and to the recovery key." }),
  })
  .meta({ id: "RemoveMemberRequest" });
export type RemoveMemberRequest = z.input<typeof RemoveMemberRequest>;

export const MyCaseKeys = z
  .object({ keys: z.array(z.object({ kid: Kid, publicJwk: PublicJwk, current: z.boolean(), wrap: z.string().nullable() })) })
  .meta({ id: "MyCaseKeys", description: "Every key of the case with its wrap to your encryption key (null where you have none)." });
export type MyCaseKeys = z.infer<typeof MyCaseKeys>;

export const DirectoryQuery = z.strictObject({ q: z.string().trim().max(100).optional() }).meta({ id: "DirectoryQuery" });

export const Directory = z
  .object({ people: z.array(z.object({ id: Id, name: z.string(), email: z.string(), hasKeys: z.boolean() })) })
  .meta({ id: "Directory", description: "Active colleagues who can be case members (investigators and administrators)." });
export type Directory = z.infer<typeof Directory>;

export const CaseIdParam = z.strictObject({ id: Id });
export const CaseMemberParam = z.strictObject({ id: Id, userId: Id });

// ---- evidence

const Sha512Hex = z.string().regex(/^[0-9a-f]{128}$/).meta({ description: "SHA-512, lowercase hex." });

export const CreateEvidenceRequest = z
  .strictObject({
    evidenceId: Id.meta({ description: "Made by the device (so it can encrypt and sign before it is online)." }),
    manifest: CompactJws.optional().meta({ description: "The signed manifest (ES512, by your signing key), when the file is already encrypted. Leave it out (and give byteSize) to start sending parts as they are encrypted; the manifest then comes with the completion." }),
    byteSize: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().meta({ description: "The plaintext's size in bytes, for an upload started before its manifest is signed (fixes the part count and lengths)." }),
    fileKey: z.strictObject({ caseKid: Kid, jwe: CompactJwe }).meta({ description: "The file key wrapped to that case key." }),
    label: CompactJwe.meta({ description: "File name, media type, capture time: a JWE (ECDH-ES+A256KW, typ custody-label+jwe) to the same case key." }),
    thumbnail: CompactJwe.optional()
      .meta({ description: "A small picture made on the device (photo downscaled, video poster frame): a JWE (ECDH-ES+A256KW, typ custody-thumbnail+jwe) to the same case key. Left out for other file types." }),
    details: CompactJwe.optional().meta({ description: "Title, description, tags, location: a JWE under the file key." }),
    categoryId: Id.optional().meta({ description: "The item's retention category; the organisation's default when absent." }),
  })
  .refine((body) => (body.manifest === undefined) !== (body.byteSize === undefined), { message: "Give either the signed manifest or byteSize (to send the manifest at completion), not both." })
  .meta({ id: "CreateEvidenceRequest" });
export type CreateEvidenceRequest = z.input<typeof CreateEvidenceRequest>;

/** Where evidence accepted from a submission link came from, on its summary (docs/submissions.md §5). */
export const EvidenceSource = z
  .object({
    type: z.literal("submission"),
    linkId: z.string(),
    linkLabel: z.string(),
    submissionId: Id,
    signerKid: Kid,
    caseKid: Kid.meta({ description: "The case key `submissionKeyWrap` is wrapped to." }),
    submissionKeyWrap: z.string().meta({ description: "The submission private key, to read `details`." }),
    details: z.string().nullable().meta({ description: "The submitter's name, contact and statement (custody-submission-details+jwe), still encrypted." }),
    sentAt: z.string(),
    ip: z.string().nullable(),
    acceptedBy: z.object({ id: Id, name: z.string() }),
    acceptedAt: z.string(),
  })
  .meta({ id: "EvidenceSource" });
export type EvidenceSource = z.infer<typeof EvidenceSource>;

export const EvidenceSummary = z
  .object({
    id: Id,
    caseId: Id,
    status: z.enum(["uploading", "complete"]),
    byteSize: z.number().int(),
    partCount: z.number().int(),
    partsReceived: z.number().int(),
    manifest: z.string(),
    signerKid: z.string(),
    caseKid: z.string(),
    label: z.string().nullable().meta({ description: "The label JWE, to the case key `caseKid`." }),
    hasThumbnail: z.boolean().meta({ description: "Whether the item has a thumbnail (false for other file types and older items, shown with a type icon). Lists leave the thumbnail itself out: it is most of an item's bytes; fetch it with `GET /api/cases/{id}/thumbnails`." }),
    details: z
      .object({
        version: z.number().int(),
        jwe: z.string(),
        editedBy: z.string(),
        editedAt: z.string(),
        caseCopy: z
          .object({ caseKid: z.string(), jwe: z.string() })
          .nullable()
          .meta({ description: "The same fields as a JWE (ECDH-ES+A256KW, typ custody-details+jwe) to the case key `caseKid`: members list and search by it without opening the item." }),
      })
      .nullable(),
    uploader: z.object({ id: Id, name: z.string() }),
    filing: z.string().optional().meta({ description: "For a capture filed into this case: the filing record (compact JWS by the uploader, typ custody-filing+jws) that moves it from the holding place its manifest names (docs/evidence-format.md §6.2)." }),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
    source: EvidenceSource.nullable().optional().meta({ description: "Accepted from a submission link: its provenance (the uploader is then the member who accepted it, the signer the submitter)." }),
  })
  .meta({ id: "EvidenceSummary" });
export type EvidenceSummary = z.infer<typeof EvidenceSummary>;

export const EvidenceList = z.object({ evidence: z.array(EvidenceSummary), nextCursor: NextCursor }).meta({ id: "EvidenceList" });
export type EvidenceList = z.infer<typeof EvidenceList>;

/** At most this many thumbnails per request: a page of a list, as the app shows it. */
export const THUMBNAILS_MAX = 50;

export const ThumbnailsQuery = z.strictObject({
  ids: z
    .string()
    .transform((ids) => ids.split(","))
    .pipe(z.array(Id).min(1).max(THUMBNAILS_MAX, `At most ${THUMBNAILS_MAX} items at a time.`))
    .meta({ description: `Evidence ids, comma-separated, at most ${THUMBNAILS_MAX}.` }),
});

export const EvidenceThumbnails = z
  .object({
    thumbnails: z
      .array(z.object({ id: Id, thumbnail: z.string().meta({ description: "The thumbnail JWE (typ custody-thumbnail+jwe), to the item's case key `caseKid`." }) }))
      .meta({ description: "The thumbnails of the items asked for that have one and that you see in the case's list; the others are left out." }),
  })
  .meta({ id: "EvidenceThumbnails" });
export type EvidenceThumbnails = z.infer<typeof EvidenceThumbnails>;

export const PartUrlsRequest = z
  .strictObject({
    parts: z.array(z.number().int().min(0)).min(1).max(64),
    sha512: z.array(Sha512Hex).max(64).optional().meta({ description: "Each listed part's SHA-512, in the same order: needed when the upload started without its manifest (each URL is bound to it, and the manifest sent at completion must list the same)." }),
  })
  .refine((body) => body.sha512 === undefined || body.sha512.length === body.parts.length, { message: "sha512 must list one hash per part." })
  .meta({ id: "PartUrlsRequest" });
export type PartUrlsRequest = z.input<typeof PartUrlsRequest>;

export const PartUrls = z
  .object({
    urls: z.array(z.object({ part: z.number().int(), url: z.string(), byteLength: z.number().int(), sha512: z.string() })),
    expiresAt: z.string(),
  })
  .meta({ id: "PartUrls", description: "Signed, short-lived URLs, each bound to the evidence, the part number, its length and its SHA-512." });
export type PartUrls = z.infer<typeof PartUrls>;

export const UploadState = z
  .object({ status: z.enum(["uploading", "complete"]), partCount: z.number().int(), received: z.array(z.number().int()) })
  .meta({ id: "UploadState" });
export type UploadState = z.infer<typeof UploadState>;

export const FileKeyRelease = z
  .object({
    caseKid: z.string(),
    fileKey: z.string().meta({ description: "The file key wrapped to the case key." }),
    caseKeyWrap: z.string().meta({ description: "The case private key wrapped to your encryption key." }),
  })
  .meta({ id: "FileKeyRelease", description: "Everything needed to decrypt, for a member: releasing it is the audited view." });
export type FileKeyRelease = z.infer<typeof FileKeyRelease>;

export const FileCaptureRequest = z
  .strictObject({
    caseId: Id.meta({ description: "The case to file the capture into (you must be a contributor or lead of it, and it must be open)." }),
    fileKey: z.strictObject({ caseKid: Kid, jwe: CompactJwe }).meta({ description: "The capture's file key, re-wrapped in your browser to the case's current key (the ciphertext is not re-encrypted)." }),
    label: CompactJwe.meta({ description: "File name, media type, capture time: a JWE to the same case key." }),
    details: CompactJwe.optional().meta({ description: "Title, description, tags: a JWE under the file key (the first version of the item's details)." }),
    detailsCaseCopy: z
      .strictObject({ caseKid: Kid, jwe: CompactJwe })
      .optional()
      .meta({ description: "The same details to the case's current key (the members' copy, as on PATCH /api/evidence/{id}/details): members list and search the item by its title and tags." }),
    categoryId: Id.optional().meta({ description: "The item's retention category; the organisation's default when absent." }),
    filing: CompactJws.meta({ description: "The filing record (ES512 by your current signing key, typ custody-filing+jws) naming this item, its manifest, your holding place and the case." }),
  })
  .meta({ id: "FileCaptureRequest" });
export type FileCaptureRequest = z.input<typeof FileCaptureRequest>;

export const UpdateDetailsRequest = z
  .strictObject({
    jwe: CompactJwe,
    baseVersion: z.number().int().min(0).meta({ description: "The version you edited (0 for none): a stale edit is refused with 409." }),
    caseCopy: z
      .strictObject({ caseKid: Kid, jwe: CompactJwe })
      .optional()
      .meta({ description: "The same details as a JWE to one of the case's keys (normally the current one), so members can list and search by them." }),
  })
  .meta({ id: "UpdateDetailsRequest" });
export type UpdateDetailsRequest = z.input<typeof UpdateDetailsRequest>;

export const DetailsVersions = z
  .object({ versions: z.array(z.object({ version: z.number().int(), jwe: z.string(), editedBy: z.object({ id: z.string(), name: z.string() }), editedAt: z.string() })) })
  .meta({ id: "DetailsVersions" });

export const EvidenceAccessRequest = z
  .strictObject({ action: z.enum(["download", "export"]) })
  .meta({ id: "EvidenceAccessRequest", description: "Records that you downloaded the original or exported a court package." });

/** Records a case package export (built in the lead's browser): the items it holds. */
export const CasePackageRequest = z
  .strictObject({
    evidenceIds: z
      .array(Id)
      .min(1)
      .max(1000)
      .refine((ids) => new Set(ids).size === ids.length, "Each item at most once."),
  })
  .meta({ id: "CasePackageRequest", description: "Records that you exported a case package of these complete items of the case (each item's export is recorded too)." });
export type CasePackageRequest = z.infer<typeof CasePackageRequest>;

export const EvidenceIdParam = z.strictObject({ id: Id });
/**
 * A whole number in a URL, written as plain decimal digits: no sign, space, exponent, hex or leading
 * zero. (`Number()` reads " ", "+0", "0x0" and "1e0" as numbers, so a coerced part number had many
 * spellings, " " among them read as part 0.) One spelling per number, as a signed URL needs.
 */
const decimalInteger = (max: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, "Not a plain decimal number.")
    .transform(Number)
    .pipe(z.number().int().min(0).max(max));

export const EvidencePartParam = z.strictObject({ id: Id, part: decimalInteger(100_000) });
export const UploadQuery = z.strictObject({
  exp: decimalInteger(Number.MAX_SAFE_INTEGER),
  sig: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  /** The part's SHA-512, for an upload started before its manifest (the signature covers it). */
  h: Sha512Hex.optional(),
});

export const CompleteUploadRequest = z
  .strictObject({
    manifest: CompactJws.optional().meta({ description: "The signed manifest, for an upload started without one: checked against your signing key, the planned size, and every stored part's SHA-512." }),
    thumbnail: CompactJwe.optional().meta({
      description: "The thumbnail, for an upload started without one (its first part is sent before the thumbnail is made): a JWE (ECDH-ES+A256KW, typ custody-thumbnail+jwe) to the case key the upload's file key is wrapped to. An upload started with a thumbnail keeps it; another one is refused.",
    }),
  })
  .meta({ id: "CompleteUploadRequest" });
export type CompleteUploadRequest = z.input<typeof CompleteUploadRequest>;

// ---- Trusted timestamps (RFC 3161)

export const TimestampStatus = z
  .discriminatedUnion("state", [
    z.object({ state: z.literal("unconfigured").meta({ description: "No time-stamping authority was configured when this was signed." }) }),
    z.object({
      state: z.literal("pending").meta({ description: "Awaiting a timestamp: the TSA was not reached or answered badly; retried." }),
      attempts: z.number().int(),
      lastError: z.string().nullable(),
      nextAttemptAt: z.string().nullable(),
    }),
    z.object({
      state: z.literal("stamped"),
      tsaName: z.string().meta({ description: "Subject of the TSA certificate that signed the token." }),
      genTime: z.string().meta({ description: "The time the TSA vouches for (ISO 8601, UTC)." }),
      serial: z.string(),
      token: z.string().meta({ description: "The RFC 3161 TimeStampToken, DER, base64." }),
      caPem: z.string().nullable().meta({ description: "The CA certificate(s) the token was checked against; null: none configured." }),
      tsaUrl: z.string(),
    }),
    z.object({ state: z.literal("failed"), attempts: z.number().int(), lastError: z.string().nullable() }),
  ])
  .meta({ id: "TimestampStatus" });
export type TimestampStatus = z.infer<typeof TimestampStatus>;
