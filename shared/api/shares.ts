/**
 * Disclosure API shapes (docs/disclosure.md): shares of a case's evidence with guests and through
 * links, guest invitations, and the recipient's side (/api/shared). No key here is ever unwrapped:
 * every key travels as a JWE to the share key, or the share key to its recipient.
 */
import { z } from "zod";
import { CompactJws, Kid, TimestampStatus } from "./cases";
import { CompactJwe, Email, Id, PersonName, PublicJwk } from "./schemas";

export const SHARE_LEVELS = ["view", "download", "export"] as const;
export const ShareLevel = z
  .enum(SHARE_LEVELS)
  .meta({ id: "ShareLevel", description: "view: in the app only; download: and the verified originals; export: and court packages. See docs/disclosure.md §2 for what a level cannot enforce." });
export type ShareLevel = z.infer<typeof ShareLevel>;

/** Default and longest time a share stays open. */
export const SHARE_DEFAULT_DAYS = 30;
export const SHARE_MAX_DAYS = 366;

const ExpiresAt = z.iso.datetime({ offset: true }).meta({ description: "When the share closes (required; at most a year from now)." });

export const CreateShareRequest = z
  .strictObject({
    id: Id.meta({ description: "Made by the sharer's browser: a link key is derived with it (HKDF info) before the server answers." }),
    recipient: z.discriminatedUnion("type", [
      z.strictObject({ type: z.literal("guest"), guestId: Id }),
      z.strictObject({ type: z.literal("link"), label: z.string().trim().min(1, "Say who the link is for.").max(200) }),
    ]),
    scope: z.enum(["case", "items"]),
    includeLater: z.boolean().default(false).meta({ description: "Whole-case shares: also items added to the case later." }),
    level: ShareLevel,
    expiresAt: ExpiresAt,
    shareKey: PublicJwk.meta({ description: "The share public key (ECDH P-521), made in the sharer's browser." }),
    shareKeyWrap: CompactJwe.meta({ description: "The share private key: to the guest's current encryption key (ECDH-ES+A256KW), or to the link key (A256KW, kid link)." }),
    items: z
      .array(z.strictObject({ evidenceId: Id, fileKey: CompactJwe, label: CompactJwe }))
      .max(1000)
      .default([])
      .meta({ description: "Chosen items: each file key and label re-wrapped to the share key. Empty for a whole-case share." }),
    caseKeys: z
      .array(z.strictObject({ caseKid: Kid, jwe: CompactJwe }))
      .max(100)
      .default([])
      .meta({ description: "Whole-case shares: every key of the case wrapped to the share key. Empty for chosen items." }),
  })
  .meta({ id: "CreateShareRequest" });
export type CreateShareRequest = z.input<typeof CreateShareRequest>;

export const UpdateShareRequest = z
  .strictObject({ level: ShareLevel.optional(), expiresAt: ExpiresAt.optional() })
  .refine((body) => body.level !== undefined || body.expiresAt !== undefined, "Nothing to change.")
  .meta({ id: "UpdateShareRequest" });
export type UpdateShareRequest = z.input<typeof UpdateShareRequest>;

export const ShareReceiptSummary = z
  .object({ id: Id, recipientName: z.string(), signerKid: z.string(), itemCount: z.number().int(), receivedAt: z.string(), recordedAt: z.string() })
  .meta({ id: "ShareReceiptSummary" });
export type ShareReceiptSummary = z.infer<typeof ShareReceiptSummary>;

export const ShareSummary = z
  .object({
    id: Id,
    caseId: Id,
    recipient: z.object({ type: z.enum(["guest", "link"]), label: z.string(), guestId: Id.nullable(), email: z.string().nullable() }),
    scope: z.enum(["case", "items"]),
    includeLater: z.boolean(),
    level: ShareLevel,
    status: z.enum(["active", "locked", "expired", "revoked"]),
    expiresAt: z.string(),
    createdAt: z.string(),
    createdBy: z.object({ id: Id, name: z.string() }),
    revokedAt: z.string().nullable(),
    itemCount: z.number().int(),
    receipts: z.array(ShareReceiptSummary),
    shareKey: PublicJwk.meta({ description: "The share public key, to wrap a case key to it." }),
    missingCaseKeys: z.array(z.string()).meta({ description: "Whole-case shares: the case's keys this share does not hold yet (the case key was rotated since): items under them open once a lead adds them." }),
  })
  .meta({ id: "ShareSummary" });
export type ShareSummary = z.infer<typeof ShareSummary>;

export const ShareList = z.object({ shares: z.array(ShareSummary) }).meta({ id: "ShareList" });
export type ShareList = z.infer<typeof ShareList>;

export const CreatedShare = z
  .object({
    share: ShareSummary,
    accessCode: z.string().nullable().meta({ description: "Link shares: the access code, shown this once; give it to the recipient separately from the link." }),
    notified: z.boolean().optional().meta({ description: "New guest shares: whether the guest was emailed a notice (false: no mail configured or it failed; tell them)." }),
  })
  .meta({ id: "CreatedShare" });
export type CreatedShare = z.infer<typeof CreatedShare>;

export const AddShareCaseKeysRequest = z
  .strictObject({ caseKeys: z.array(z.strictObject({ caseKid: Kid, jwe: CompactJwe })).min(1).max(100) })
  .meta({ id: "AddShareCaseKeysRequest", description: "Case keys the share does not hold yet, each wrapped to the share public key (ECDH-ES+A256KW)." });
export type AddShareCaseKeysRequest = z.input<typeof AddShareCaseKeysRequest>;

export const ShareIdParam = z.strictObject({ id: Id });
export const ShareReceiptParam = z.strictObject({ id: Id, receiptId: Id });

export const ReceiptDownload = z
  .object({ jws: z.string(), timestamp: TimestampStatus, token: z.string().nullable().meta({ description: "The RFC 3161 TimeStampToken (DER, base64) once stamped." }) })
  .meta({ id: "ReceiptDownload" });
export type ReceiptDownload = z.infer<typeof ReceiptDownload>;

// ---- guests

export const InviteGuestRequest = z.strictObject({ email: Email, name: PersonName }).meta({ id: "InviteGuestRequest" });
export type InviteGuestRequest = z.input<typeof InviteGuestRequest>;

export const Guest = z
  .object({
    id: Id,
    name: z.string(),
    email: z.string(),
    status: z.enum(["active", "invited", "disabled"]),
    encryptionKey: z.object({ kid: z.string(), publicJwk: PublicJwk }).nullable().meta({ description: "The guest's current encryption key; null until they have set up their keys." }),
  })
  .meta({ id: "Guest" });
export type Guest = z.infer<typeof Guest>;

export const GuestList = z.object({ guests: z.array(Guest) }).meta({ id: "GuestList" });
export type GuestList = z.infer<typeof GuestList>;

export const GuestInvitation = z
  .object({
    guest: Guest,
    invitation: z.object({ token: z.string(), expiresAt: z.string() }).nullable().meta({ description: "A new one-time invitation (shown once); null when the guest has already accepted one." }),
    sent: z.boolean().meta({ description: "Whether a message was sent to the guest; false: show the link to copy." }),
  })
  .meta({ id: "GuestInvitation" });
export type GuestInvitation = z.infer<typeof GuestInvitation>;

// ---- the recipient's side

export const OpenLinkRequest = z.strictObject({ accessCode: z.string().trim().min(1, "Enter the access code.").max(64) }).meta({ id: "OpenLinkRequest" });
export type OpenLinkRequest = z.input<typeof OpenLinkRequest>;

export const LinkSession = z
  .object({ token: z.string().meta({ description: "Send as Authorization: Bearer on the /api/shared routes of this share." }), expiresAt: z.string() })
  .meta({ id: "LinkSession" });
export type LinkSession = z.infer<typeof LinkSession>;

export const ReceivedShareSummary = z
  .object({
    id: Id,
    case: z.object({ id: Id, number: z.string(), title: z.string() }),
    from: z.object({ name: z.string(), organisation: z.string() }),
    level: ShareLevel,
    expiresAt: z.string(),
    itemCount: z.number().int(),
  })
  .meta({ id: "ReceivedShareSummary" });
export type ReceivedShareSummary = z.infer<typeof ReceivedShareSummary>;

export const ReceivedShareList = z.object({ shares: z.array(ReceivedShareSummary) }).meta({ id: "ReceivedShareList" });
export type ReceivedShareList = z.infer<typeof ReceivedShareList>;

export const SharedItem = z
  .object({
    id: Id,
    byteSize: z.number().int(),
    partCount: z.number().int(),
    manifest: z.string().meta({ description: "The signed manifest (ES512)." }),
    signerKid: z.string(),
    signerJwk: PublicJwk.nullable().meta({ description: "The manifest signer's registered public key, to verify the manifest." }),
    keyKid: z.string().meta({ description: "The key the label and file key are wrapped to: the share key (chosen items) or a case key (whole case)." }),
    label: z.string().nullable(),
    details: z.string().nullable().meta({ description: "The latest details JWE (under the file key)." }),
    uploader: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: "SharedItem" });
export type SharedItem = z.infer<typeof SharedItem>;

export const ReceivedShare = ReceivedShareSummary.extend({
  recipient: z.object({ type: z.enum(["guest", "link"]), label: z.string(), guestId: Id.nullable() }),
  shareKid: z.string(),
  shareKeyWrap: z.string(),
  caseKeys: z.array(z.object({ caseKid: z.string(), jwe: z.string() })),
  items: z.array(SharedItem),
  receipts: z.array(ShareReceiptSummary),
}).meta({ id: "ReceivedShare" });
export type ReceivedShare = z.infer<typeof ReceivedShare>;

export const SharedItemParam = z.strictObject({ id: Id, evidenceId: Id });
export const SharedPartParam = z.strictObject({ id: Id, evidenceId: Id, part: z.string().regex(/^(0|[1-9][0-9]{0,5})$/, "Not a plain decimal number.").transform(Number) });

export const SharedFileKey = z
  .object({ keyKid: z.string(), fileKey: z.string().meta({ description: "The file key JWE, to the share key or to case key keyKid." }) })
  .meta({ id: "SharedFileKey" });
export type SharedFileKey = z.infer<typeof SharedFileKey>;

export const SharedAccessRequest = z.strictObject({ action: z.enum(["download", "export"]) }).meta({ id: "SharedAccessRequest" });

export const SubmitReceiptRequest = z.strictObject({ jws: CompactJws }).meta({ id: "SubmitReceiptRequest" });
export type SubmitReceiptRequest = z.input<typeof SubmitReceiptRequest>;
