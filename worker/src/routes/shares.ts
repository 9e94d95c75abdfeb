/**
 * Disclosure (docs/disclosure.md). Sharer side, for a case's leads: shares with guests and through
 * links, guest invitations, receipts. Recipient side (/api/shared): a guest's session or a link
 * session, each reaching one share's items only, until expiry or revocation. The server checks the
 * shape of every wrap it stores and never holds a key that opens one.
 */
import { Hono, type Context } from "hono";
import { decodeProtectedHeader } from "jose";
import { CaseIdParam } from "../../../shared/api/cases";
import type { PublicJwk } from "../../../shared/api/schemas";
import {
  AddShareCaseKeysRequest,
  CreatedShare,
  CreateShareRequest,
  GuestInvitation,
  GuestList,
  InviteGuestRequest,
  LinkSession,
  OpenLinkRequest,
  ReceiptDownload,
  ReceivedShare,
  ReceivedShareList,
  SHARE_MAX_DAYS,
  SharedAccessRequest,
  SharedFileKey,
  SharedItemParam,
  SharedPartParam,
  ShareIdParam,
  ShareList,
  ShareReceiptParam,
  SubmitReceiptRequest,
  UpdateShareRequest,
  type Guest,
  type ShareLevel,
  type ShareSummary,
} from "../../../shared/api/shares";
import { LINK_KID, PART_SIZE, TYP, verifyReceipt, type Manifest } from "../../../shared/crypto";
import { decodeJwt } from "jose";
import { caseKeysForUser } from "../db/cases";
import { invitationInsert } from "../db/invitations";
import { currentUserKeys, findSigningKey } from "../db/keys";
import {
  findReceipt,
  findShare,
  findShareSession,
  guestInsert,
  LINK_CODE_ATTEMPTS,
  listGuests,
  missingCaseKeys,
  receiptInsert,
  receiptsOf,
  shareCaseKeyInsert,
  shareCaseKeys,
  shareCodeFailed,
  shareCodeReset,
  shareCodeSucceeded,
  shareContext,
  sharedItem,
  sharedItems,
  sharedItemCount,
  shareInsert,
  storeShareItems,
  dropShareWraps,
  shareRevoke,
  sharesForGuest,
  shareSessionInsert,
  sharesOfCase,
  shareStatus,
  shareUpdate,
  type ShareRow,
} from "../db/shares";
import type { StoreEnv } from "../db/records";
import { findTimestamp } from "../db/timestamps";
import { findUserByEmail, findUserById } from "../db/users";
import type { AppEnv } from "../env";
import { audit, auditStatement, flushAudit } from "../lib/audit";
import { requireCaseRole } from "../lib/cases";
import { ApiError } from "../lib/errors";
import { checkPublicKey, checkWrappedTo } from "../lib/keys";
import { sendNotice } from "../lib/notify";
import { reserveAccessCodeAttempt } from "../lib/throttle";
import { attemptRelease } from "../db/identity";
import { guestInvitationNotice, shareNotice } from "../lib/share-notices";
import { describe } from "../lib/openapi";
import { hashPassword, verifyPassword } from "../lib/password";
import { publicOrigin } from "../lib/public-url";
import { clientIp } from "../lib/request";
import { newId, newToken, tokenHash } from "../lib/secrets";
import { requireSession } from "../lib/session";
import { jwsSignatureBytes, requestTimestamp, timestampStatus } from "../lib/timestamps";
import { validate } from "../lib/validate";
import { INVITATION_LIFETIME_MS } from "./users";
import { partLength } from "./evidence";
import { jsonLines } from "./audit";

const DAY_MS = 24 * 60 * 60 * 1000;
/** A link session lasts this long at most (and never past the share's expiry). */
const LINK_SESSION_MS = 12 * 60 * 60 * 1000;
/** How far a receipt's time may stand from the server's. */
const RECEIPT_CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Access codes: 10 characters from an alphabet without look-alikes (about 50 bits). */
const CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LENGTH = 10;

/** The app's address for links in messages: PUBLIC_URL, or the address the sharer uses. */
function originOf(c: Context<AppEnv>): string {
  try {
    return publicOrigin(c.env);
  } catch {
    return new URL(c.req.url).origin;
  }
}

function newAccessCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(CODE_LENGTH * 2));
  let code = "";
  // Rejection sampling keeps every character equally likely.
  for (const byte of bytes) {
    if (byte >= 256 - (256 % CODE_ALPHABET.length)) continue;
    code += CODE_ALPHABET[byte % CODE_ALPHABET.length];
    if (code.length === CODE_LENGTH) break;
  }
  return code.length === CODE_LENGTH ? code : newAccessCode();
}

/** Access codes are compared without spaces, dashes or case: as read out over the phone. */
const normaliseCode = (code: string) => code.replace(/[\s-]/g, "").toUpperCase();

function checkExpiry(expiresAt: string): string {
  const at = Date.parse(expiresAt);
  const now = Date.now();
  if (at <= now) throw new ApiError(400, "invalid_expiry", "The expiry must be in the future.");
  if (at > now + SHARE_MAX_DAYS * DAY_MS) throw new ApiError(400, "invalid_expiry", "A share can stay open for at most a year.");
  return new Date(at).toISOString();
}

async function toSummary(db: D1Database, row: ShareRow & { creator_name: string; guest_email: string | null; item_count: number }): Promise<ShareSummary> {
  return {
    id: row.id,
    caseId: row.case_id,
    recipient: { type: row.recipient_type, label: row.recipient_label, guestId: row.guest_id, email: row.guest_email },
    scope: row.scope,
    includeLater: row.include_later === 1,
    level: row.level,
    status: shareStatus(row),
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    createdBy: { id: row.created_by, name: row.creator_name },
    revokedAt: row.revoked_at,
    itemCount: row.item_count,
    receipts: await receiptsOf(db, row.id),
    shareKey: JSON.parse(row.share_public_jwk) as PublicJwk,
    missingCaseKeys: row.revoked_at ? [] : await missingCaseKeys(db, row),
  };
}

async function summaryOf(env: StoreEnv, caseId: string, shareId: string): Promise<ShareSummary> {
  const row = (await sharesOfCase(env, caseId)).find((s) => s.id === shareId);
  if (!row) throw new Error(`share ${shareId} vanished`);
  return toSummary(env.DB, row);
}

const noSuchShare = () => new ApiError(404, "not_found", "No such share, or you cannot manage it.");

/** A share of a case the signed-in user leads (a non-lead gets 404 or 403 as for the case). */
async function shareForLead(c: Context<AppEnv>, id: string): Promise<ShareRow> {
  const share = await findShare(c.env.DB, id);
  if (!share || share.org_id !== c.get("user").orgId) throw noSuchShare();
  try {
    await requireCaseRole(c, share.case_id, "lead");
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw noSuchShare();
    throw err;
  }
  return share;
}

const shareEvent = (share: Pick<ShareRow, "id" | "case_id" | "recipient_type" | "recipient_label">, details: Record<string, unknown> = {}) => ({
  target: { type: "share", id: share.id },
  details: { caseId: share.case_id, shareId: share.id, recipient: share.recipient_label, recipientType: share.recipient_type, ...details },
});

/** Sharer routes under a case: list and create. */
export const caseShares = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/:id/shares",
    describe({ summary: "The case's shares (leads): recipient, level, expiry, state and receipts.", access: "session", responses: { 200: { description: "Shares.", schema: ShareList } } }),
    validate("param", CaseIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      await requireCaseRole(c, id, "lead");
      const rows = await sharesOfCase(c.env, id);
      return c.json({ shares: await Promise.all(rows.map((row) => toSummary(c.env.DB, row))) } satisfies ShareList, 200);
    },
  )
  .post(
    "/:id/shares",
    describe({
      summary:
        "Share the case, or chosen items, with a guest or through a link (leads). The browser made the share key and wrapped it to the recipient, and wrapped the case keys or the chosen file keys and labels to it; the server checks their shapes and opens none.",
      access: "session",
      responses: { 201: { description: "Shared. A link share's access code is in the answer this once.", schema: CreatedShare } },
    }),
    validate("param", CaseIdParam),
    validate("json", CreateShareRequest),
    async (c) => {
      const { id: caseId } = c.req.valid("param");
      const body = c.req.valid("json");
      const me = c.get("user");
      const found = await requireCaseRole(c, caseId, "lead");
      if (await findShare(c.env.DB, body.id)) throw new ApiError(409, "share_exists", "This share id is already in use.");
      const expiresAt = checkExpiry(body.expiresAt);
      const shareKey = await checkPublicKey(body.shareKey, "enc", "shareKey");

      let recipientKid: string;
      let guestId: string | null = null;
      let label: string;
      let accessCode: string | null = null;
      if (body.recipient.type === "guest") {
        const guest = await findUserById(c.env.DB, body.recipient.guestId);
        if (!guest || guest.org_id !== me.orgId || guest.role !== "guest") throw new ApiError(404, "not_found", "No such guest. Invite them first.");
        if (guest.status !== "active") throw new ApiError(409, "guest_not_ready", `${guest.name} has not accepted the invitation yet.`);
        const { encryption } = await currentUserKeys(c.env.DB, guest.id);
        if (!encryption) throw new ApiError(409, "guest_without_keys", `${guest.name} has not set up their keys yet: share once they have signed in.`);
        checkWrappedTo(body.shareKeyWrap, TYP.shareKey, encryption.kid, "shareKeyWrap");
        recipientKid = encryption.kid;
        guestId = guest.id;
        label = guest.name;
      } else {
        let header: ReturnType<typeof decodeProtectedHeader>;
        try {
          header = decodeProtectedHeader(body.shareKeyWrap);
        } catch {
          throw new ApiError(400, "invalid_envelope", "shareKeyWrap is not a valid JWE.");
        }
        if (header.alg !== "A256KW" || header.enc !== "A256GCM" || header.typ !== TYP.shareKey || header.kid !== LINK_KID) {
          throw new ApiError(400, "invalid_envelope", `shareKeyWrap must be a ${TYP.shareKey} (A256KW, A256GCM, kid ${LINK_KID}) to the link key.`);
        }
        recipientKid = LINK_KID;
        label = body.recipient.label;
        accessCode = newAccessCode();
      }

      const statements: D1PreparedStatement[] = [];
      if (body.scope === "items") {
        if (body.items.length === 0) throw new ApiError(400, "no_items", "Choose at least one item to share.");
        if (body.caseKeys.length > 0) throw new ApiError(400, "wraps_mismatch", "A share of chosen items carries file keys, not case keys.");
        if (body.includeLater) throw new ApiError(400, "invalid_scope", "Only a whole-case share can include items added later.");
        const seen = new Set<string>();
        for (const [n, item] of body.items.entries()) {
          if (seen.has(item.evidenceId)) throw new ApiError(400, "duplicate_item", "An item is listed twice.");
          seen.add(item.evidenceId);
          const row = await c.env.DB.prepare("SELECT case_id, status FROM evidence WHERE id = ?").bind(item.evidenceId).first<{ case_id: string; status: string }>();
          if (!row || row.case_id !== caseId || row.status !== "complete") throw new ApiError(400, "not_in_case", `Item ${n + 1} is not complete evidence of this case.`);
          checkWrappedTo(item.fileKey, TYP.fileKey, shareKey.kid, `items.${n}.fileKey`);
          checkWrappedTo(item.label, TYP.label, shareKey.kid, `items.${n}.label`);
        }
      } else {
        if (body.items.length > 0) throw new ApiError(400, "wraps_mismatch", "A whole-case share carries case keys, not file keys.");
        const keys = await caseKeysForUser(c.env.DB, caseId, me.id);
        const kids = new Set(keys.map((k) => k.kid));
        const given = new Set(body.caseKeys.map((k) => k.caseKid));
        if (given.size !== body.caseKeys.length || given.size !== kids.size || [...kids].some((kid) => !given.has(kid))) {
          throw new ApiError(400, "wraps_mismatch", "Wrap every key of the case, once each, to the share key.");
        }
        for (const [n, key] of body.caseKeys.entries()) {
          checkWrappedTo(key.jwe, TYP.caseKey, shareKey.kid, `caseKeys.${n}.jwe`);
          statements.push(shareCaseKeyInsert(c.env.DB, { shareId: body.id, caseKid: key.caseKid, jwe: key.jwe }));
        }
      }
      // The share's items go to the case's object first; the batch below, which inserts the share, commits them.
      await storeShareItems(c.env, { id: body.id, caseId, shareKid: shareKey.kid }, body.scope === "items" ? body.items.map((i) => ({ evidenceId: i.evidenceId, fileKey: i.fileKey, label: i.label })) : "whole case");
      const now = new Date().toISOString();
      const share = {
        id: body.id, case_id: caseId, recipient_type: body.recipient.type, recipient_label: label,
      } as const;
      try {
        await c.env.DB.batch([
          shareInsert(c.env.DB, {
            id: body.id, orgId: me.orgId, caseId, scope: body.scope, includeLater: body.includeLater ?? false, level: body.level, recipientType: body.recipient.type, guestId,
            recipientLabel: label, shareKid: shareKey.kid, sharePublicJwk: JSON.stringify(shareKey.publicJwk), shareKeyWrap: body.shareKeyWrap, recipientKid,
            accessCodeHash: accessCode ? await hashPassword(accessCode) : null, expiresAt, createdBy: me.id, now,
          }),
          ...statements,
          auditStatement(c, me.orgId, { action: "share.create", ...shareEvent(share, { scope: body.scope, includeLater: body.includeLater ?? false, level: body.level, expiresAt, items: body.items.length, caseNumber: found.number }) }),
        ]);
      } catch (err) {
        if (/UNIQUE constraint failed/i.test(String(err))) throw new ApiError(409, "share_exists", "This share id is already in use.");
        throw err;
      }
      await flushAudit(c.env, me.orgId);
      let notified = false;
      if (guestId) {
        const guest = (await findUserById(c.env.DB, guestId))!;
        notified = await sendNotice(c, shareNotice({ to: guest.email, guestName: guest.name, sharerName: me.name, caseNumber: found.number, expiresAt, origin: originOf(c) }));
      }
      return c.json({ share: await summaryOf(c.env, caseId, body.id), accessCode, notified } satisfies CreatedShare, 201);
    },
  )
  .post(
    "/:id/guests",
    describe({
      summary: "Invite a guest by email address (leads): an outside recipient who sees only what is shared with them. The one-time invitation is in the answer (shown once) when no message could be sent.",
      access: "session",
      responses: { 201: { description: "Invited.", schema: GuestInvitation }, 200: { description: "Already a guest: a new invitation if they have not accepted one.", schema: GuestInvitation }, 409: { description: "The address belongs to a member." } },
    }),
    validate("param", CaseIdParam),
    validate("json", InviteGuestRequest),
    async (c) => {
      const { id: caseId } = c.req.valid("param");
      const body = c.req.valid("json");
      const me = c.get("user");
      await requireCaseRole(c, caseId, "lead");
      const existing = await findUserByEmail(c.env.DB, body.email);
      if (existing && (existing.role !== "guest" || existing.org_id !== me.orgId)) {
        throw new ApiError(409, "email_taken", "This address belongs to a user of the organisation: add them to the case as a member instead.");
      }
      const now = new Date();
      const guestId = existing?.id ?? newId();
      let invitation: { token: string; expiresAt: string } | null = null;
      const statements: D1PreparedStatement[] = [];
      if (!existing) statements.push(guestInsert(c.env.DB, { id: guestId, orgId: me.orgId, email: body.email, name: body.name, now: now.toISOString() }));
      if (!existing || existing.status === "invited") {
        const token = newToken();
        invitation = { token, expiresAt: new Date(now.getTime() + INVITATION_LIFETIME_MS).toISOString() };
        statements.push(invitationInsert(c.env.DB, { tokenHash: await tokenHash(token), userId: guestId, createdBy: me.id, now: now.toISOString(), expiresAt: invitation.expiresAt }));
      }
      if (statements.length > 0) {
        statements.push(auditStatement(c, me.orgId, { action: "share.guest_invite", target: { type: "user", id: guestId }, details: { caseId, email: body.email, name: existing?.name ?? body.name } }));
        try {
          await c.env.DB.batch(statements);
        } catch (err) {
          if (/UNIQUE constraint failed/i.test(String(err))) throw new ApiError(409, "email_taken", "This address was just taken. Try again.");
          throw err;
        }
        await flushAudit(c.env, me.orgId);
      }
      const guest = (await listGuests(c.env.DB, me.orgId)).find((g) => g.id === guestId)!;
      const sent = invitation
        ? await sendNotice(c, guestInvitationNotice({ to: body.email, guestName: existing?.name ?? body.name, sharerName: me.name, token: invitation.token, expiresAt: invitation.expiresAt, origin: originOf(c) }))
        : false;
      return c.json({ guest: toGuest(guest), invitation: sent ? null : invitation, sent } satisfies GuestInvitation, existing ? 200 : 201);
    },
  );

function toGuest(row: Awaited<ReturnType<typeof listGuests>>[number]): Guest {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    status: row.status,
    encryptionKey: row.kid && row.public_jwk ? { kid: row.kid, publicJwk: JSON.parse(row.public_jwk) as PublicJwk } : null,
  };
}

/** The organisation's guests, for a lead choosing a recipient. */
export const guests = new Hono<AppEnv>().use(requireSession).get(
  "/",
  describe({ summary: "The organisation's guests and their encryption keys, to share with (investigators and admins).", access: "session", responses: { 200: { description: "Guests.", schema: GuestList } } }),
  async (c) => {
    const me = c.get("user");
    if (me.role === "site_operator") throw new ApiError(403, "forbidden", "Site operators cannot share.");
    return c.json({ guests: (await listGuests(c.env.DB, me.orgId)).map(toGuest) } satisfies GuestList, 200);
  },
);

/** Sharer routes on one share. */
export const shares = new Hono<AppEnv>()
  .use(requireSession)
  .patch(
    "/:id",
    describe({ summary: "Change a share's level or extend its expiry (leads of its case).", access: "session", responses: { 200: { description: "Changed.", schema: CreatedShare } } }),
    validate("param", ShareIdParam),
    validate("json", UpdateShareRequest),
    async (c) => {
      const share = await shareForLead(c, c.req.valid("param").id);
      const body = c.req.valid("json");
      if (share.revoked_at) throw new ApiError(409, "share_revoked", "This share was revoked. Make a new one.");
      const expiresAt = body.expiresAt === undefined ? undefined : checkExpiry(body.expiresAt);
      const me = c.get("user");
      const now = new Date().toISOString();
      const events = [];
      if (body.level !== undefined && body.level !== share.level) events.push(auditStatement(c, me.orgId, { action: "share.update", ...shareEvent(share, { from: share.level, to: body.level }) }));
      if (expiresAt !== undefined && expiresAt !== share.expires_at) events.push(auditStatement(c, me.orgId, { action: "share.extend", ...shareEvent(share, { from: share.expires_at, to: expiresAt }) }));
      if (events.length > 0) {
        await c.env.DB.batch([shareUpdate(c.env.DB, share.id, { level: body.level as ShareLevel | undefined, expiresAt }, now), ...events]);
        await flushAudit(c.env, me.orgId);
      }
      return c.json({ share: await summaryOf(c.env, share.case_id, share.id), accessCode: null } satisfies CreatedShare, 200);
    },
  )
  .post(
    "/:id/revoke",
    describe({ summary: "Revoke a share at once (leads of its case): its wraps are deleted and its link sessions end.", access: "session", responses: { 200: { description: "Revoked.", schema: CreatedShare } } }),
    validate("param", ShareIdParam),
    async (c) => {
      const share = await shareForLead(c, c.req.valid("param").id);
      const me = c.get("user");
      if (!share.revoked_at) {
        await c.env.DB.batch([...shareRevoke(c.env.DB, share.id, me.id, new Date().toISOString()), auditStatement(c, me.orgId, { action: "share.revoke", ...shareEvent(share) })]);
        await flushAudit(c.env, me.orgId);
      }
      // Its wraps in the case's object (again, if an earlier revocation was cut short before this).
      await dropShareWraps(c.env, share);
      return c.json({ share: await summaryOf(c.env, share.case_id, share.id), accessCode: null } satisfies CreatedShare, 200);
    },
  )
  .post(
    "/:id/case-keys",
    describe({
      summary: "Give a whole-case share the case keys it does not hold yet (leads): after a member's removal rotated the case key, items added since open for the recipient. Each is wrapped to the share key in the browser.",
      access: "session",
      responses: { 200: { description: "Added.", schema: CreatedShare } },
    }),
    validate("param", ShareIdParam),
    validate("json", AddShareCaseKeysRequest),
    async (c) => {
      const share = await shareForLead(c, c.req.valid("param").id);
      const { caseKeys } = c.req.valid("json");
      const me = c.get("user");
      if (share.revoked_at) throw new ApiError(409, "share_revoked", "This share was revoked. Make a new one.");
      if (share.scope !== "case") throw new ApiError(400, "invalid_scope", "Only a whole-case share holds case keys.");
      const missing = new Set(await missingCaseKeys(c.env.DB, share));
      const given = new Set(caseKeys.map((k) => k.caseKid));
      if (given.size !== caseKeys.length || caseKeys.some((k) => !missing.has(k.caseKid))) {
        throw new ApiError(400, "wraps_mismatch", "Wrap only keys of the case this share does not hold yet, once each.");
      }
      for (const [n, key] of caseKeys.entries()) checkWrappedTo(key.jwe, TYP.caseKey, share.share_kid, `caseKeys.${n}.jwe`);
      try {
        await c.env.DB.batch([
          ...caseKeys.map((key) => shareCaseKeyInsert(c.env.DB, { shareId: share.id, caseKid: key.caseKid, jwe: key.jwe })),
          auditStatement(c, me.orgId, { action: "share.keys_add", ...shareEvent(share, { caseKids: [...given] }) }),
        ]);
      } catch (err) {
        if (!/UNIQUE constraint failed/i.test(String(err))) throw err;
        c.set("audited", false); // nothing was written: the refusal is recorded as any other
        throw new ApiError(409, "already_added", "Another lead added these keys to the share just now. Reload the case.");
      }
      await flushAudit(c.env, me.orgId);
      return c.json({ share: await summaryOf(c.env, share.case_id, share.id), accessCode: null } satisfies CreatedShare, 200);
    },
  )
  .post(
    "/:id/access-code",
    describe({ summary: "A new access code for a link share (leads): the old one stops working and a locked link opens again. The code is in the answer this once.", access: "session", responses: { 200: { description: "New code.", schema: CreatedShare } } }),
    validate("param", ShareIdParam),
    async (c) => {
      const share = await shareForLead(c, c.req.valid("param").id);
      const me = c.get("user");
      if (share.recipient_type !== "link") throw new ApiError(400, "not_a_link", "Only link shares have an access code.");
      if (share.revoked_at) throw new ApiError(409, "share_revoked", "This share was revoked. Make a new one.");
      const code = newAccessCode();
      await c.env.DB.batch([
        shareCodeReset(c.env.DB, share.id, await hashPassword(code), new Date().toISOString()),
        auditStatement(c, me.orgId, { action: "share.access_code", ...shareEvent(share, { unlocked: share.locked_at !== null }) }),
      ]);
      await flushAudit(c.env, me.orgId);
      return c.json({ share: await summaryOf(c.env, share.case_id, share.id), accessCode: code } satisfies CreatedShare, 200);
    },
  )
  .get(
    "/:id/receipts/:receiptId",
    describe({ summary: "A receipt (leads of the case): the signed JWS and its timestamp, to keep or verify offline.", access: "session", responses: { 200: { description: "The receipt.", schema: ReceiptDownload } } }),
    validate("param", ShareReceiptParam),
    async (c) => {
      const { id, receiptId } = c.req.valid("param");
      const share = await shareForLead(c, id);
      return c.json(await receiptDownload(c.env, share, receiptId), 200);
    },
  );

async function receiptDownload(env: Env, share: ShareRow, receiptId: string): Promise<ReceiptDownload> {
  const receipt = await findReceipt(env.DB, share.id, receiptId);
  if (!receipt) throw new ApiError(404, "not_found", "No such receipt.");
  const timestamp = await timestampStatus(env, { type: "receipt", id: receipt.id });
  const row = await findTimestamp(env.DB, { type: "receipt", id: receipt.id });
  return { jws: receipt.jws, timestamp, token: row?.state === "stamped" ? row.token : null };
}

// ---- the recipient's side --------------------------------------------------------------

type Recipient = { share: ShareRow; kind: "guest" | "link" };
const unavailable = () => new ApiError(404, "share_unavailable", "This share does not exist, has expired or was revoked. Ask the sender for a new one.");

/**
 * The share a request may reach: by a link session (Authorization: Bearer) for that share, or by
 * the session of the guest it was made to. Expired, revoked and other shares answer 404 alike.
 */
async function recipientOf(c: Context<AppEnv>, shareId: string): Promise<Recipient> {
  const now = new Date().toISOString();
  const bearer = c.req.header("Authorization")?.match(/^Bearer ([A-Za-z0-9_-]{20,200})$/)?.[1];
  let share: ShareRow | null;
  let kind: Recipient["kind"];
  if (bearer) {
    const session = await findShareSession(c.env.DB, await tokenHash(bearer));
    if (!session || session.share_id !== shareId || session.revoked_at || session.expires_at <= now) throw new ApiError(401, "link_session_ended", "This link's session has ended. Open the link and enter the access code again.");
    share = await findShare(c.env.DB, shareId);
    kind = "link";
  } else {
    await requireSession(c, async () => undefined);
    const me = c.get("user");
    share = await findShare(c.env.DB, shareId);
    if (share && share.guest_id !== me.id) share = null;
    kind = "guest";
  }
  if (!share || share.revoked_at || share.expires_at <= now) throw unavailable();
  return { share, kind };
}

/** The audit actor of a recipient's request: the guest (signed in), or the link by its recipient's name. */
function recipientEvent(c: Context<AppEnv>, r: Recipient, action: string, details: Record<string, unknown> = {}) {
  return {
    action,
    orgId: r.share.org_id,
    ...(r.kind === "link" ? { actor: { type: "anonymous" as const, id: null, label: `link: ${r.share.recipient_label}` } } : {}),
    ...shareEvent(r.share, details),
  };
}

const LEVEL_RANK: Record<ShareLevel, number> = { view: 0, download: 1, export: 2 };

async function itemOf(c: Context<AppEnv>, r: Recipient, evidenceId: string) {
  const item = await sharedItem(c.env, r.share, evidenceId);
  if (!item) throw new ApiError(404, "not_found", "No such item in this share.");
  return item;
}

export const shared = new Hono<AppEnv>()
  .post(
    "/links/:id/open",
    describe({
      summary: "Open a link share with its access code: a link session for this share. Five wrong codes in a row lock the link until the sender sets a new code; 20 wrong codes from one address within 10 minutes, over all links, refuse further attempts from it (429).",
      access: "public",
      responses: { 200: { description: "Opened.", schema: LinkSession }, 403: { description: "Wrong code, or the link is locked." }, 429: { description: "Too many wrong codes from this address lately." }, 404: { description: "No such share, expired or revoked." } },
    }),
    validate("param", ShareIdParam),
    validate("json", OpenLinkRequest),
    async (c) => {
      const { id } = c.req.valid("param");
      const { accessCode } = c.req.valid("json");
      const share = await findShare(c.env.DB, id);
      const now = new Date();
      if (!share || share.recipient_type !== "link" || share.revoked_at || share.expires_at <= now.toISOString()) throw unavailable();
      const r: Recipient = { share, kind: "link" };
      if (share.locked_at) {
        await audit(c, { ...recipientEvent(c, r, "share.open"), outcome: "denied", details: { ...shareEvent(share).details, reason: "locked" } });
        throw new ApiError(403, "link_locked", "This link is locked after too many wrong access codes. Ask the sender for a new code.");
      }
      // The address's own limit, over every link: a place is taken before the code is checked, and given back if it is right.
      const attempt = await reserveAccessCodeAttempt(c);
      if (attempt === false) throw new ApiError(429, "too_many_attempts", "Too many wrong access codes from your network. Wait 10 minutes and try again.");
      // Given back unless the wrong code was recorded, or the success released it: a request that
      // stops for any other reason (its event could not be written, say) counts nothing.
      let settled = false;
      try {
        if (!(await verifyPassword(normaliseCode(accessCode), share.access_code_hash))) {
          // The count and its event commit together: a wrong code that cannot be recorded counts nothing.
          const failures = share.code_failures + 1;
          const locks = failures >= LINK_CODE_ATTEMPTS;
          await c.env.DB.batch([
            shareCodeFailed(c.env.DB, share.id, now.toISOString()),
            auditStatement(c, share.org_id, { ...recipientEvent(c, r, locks ? "share.locked" : "share.code_wrong"), outcome: "denied", details: { ...shareEvent(share).details, failures } }),
          ]);
          settled = true; // the wrong code is on the record: its place in the window stays
          await flushAudit(c.env, share.org_id);
          const after = await findShare(c.env.DB, share.id);
          if (after?.locked_at) throw new ApiError(403, "link_locked", "This link is now locked after too many wrong access codes. Ask the sender for a new code.");
          const left = LINK_CODE_ATTEMPTS - (after?.code_failures ?? failures);
          throw new ApiError(403, "wrong_access_code", `That access code is not right. ${left} ${left === 1 ? "try" : "tries"} left before the link locks.`);
        }
        const token = newToken();
        const expiresAt = new Date(Math.min(now.getTime() + LINK_SESSION_MS, Date.parse(share.expires_at))).toISOString();
        await c.env.DB.batch([
          shareCodeSucceeded(c.env.DB, share.id),
          attemptRelease(c.env.DB, attempt),
          shareSessionInsert(c.env.DB, { tokenHash: await tokenHash(token), shareId: share.id, now: now.toISOString(), expiresAt, ip: clientIp(c) }),
          auditStatement(c, share.org_id, recipientEvent(c, r, "share.open")),
        ]);
        settled = true; // given back in the same transaction
        await flushAudit(c.env, share.org_id);
        return c.json({ token, expiresAt } satisfies LinkSession, 200);
      } finally {
        if (!settled) await attemptRelease(c.env.DB, attempt).run().catch((err: unknown) => console.error("throttle: an access-code attempt could not be given back", err));
      }
    },
  )
  .get(
    "/",
    describe({ summary: "The shares made to you (guests): case, sender, level, expiry.", access: "session", responses: { 200: { description: "Your shares.", schema: ReceivedShareList } } }),
    requireSession,
    async (c) => {
      const me = c.get("user");
      const rows = await sharesForGuest(c.env.DB, me.id, new Date().toISOString());
      const out = [];
      for (const row of rows) {
        out.push({
          id: row.id, case: { id: row.case_id, number: row.case_number, title: row.case_title }, from: { name: row.creator_name, organisation: row.org_name },
          level: row.level, expiresAt: row.expires_at, itemCount: await sharedItemCount(c.env, row),
        });
      }
      return c.json({ shares: out }, 200);
    },
  )
  .get(
    "/:id",
    describe({
      summary: "One share as its recipient sees it (a guest's session or the link's session): the wrapped share key, the items with their manifests, labels and details. Recorded as an access.",
      access: "session",
      responses: { 200: { description: "The share.", schema: ReceivedShare } },
    }),
    validate("param", ShareIdParam),
    async (c) => {
      const r = await recipientOf(c, c.req.valid("param").id);
      const { share } = r;
      const context = (await shareContext(c.env.DB, share))!;
      const items = await sharedItems(c.env, share);
      await audit(c, recipientEvent(c, r, "share.access"));
      const body: ReceivedShare = {
        id: share.id,
        case: { id: share.case_id, number: context.case_number, title: context.case_title },
        from: { name: context.creator_name, organisation: context.org_name },
        level: share.level,
        expiresAt: share.expires_at,
        itemCount: items.length,
        recipient: { type: share.recipient_type, label: share.recipient_label, guestId: share.guest_id },
        shareKid: share.share_kid,
        shareKeyWrap: share.share_key_wrap!,
        caseKeys: share.scope === "case" ? await shareCaseKeys(c.env.DB, share.id) : [],
        items: items.map((item) => ({
          id: item.id, byteSize: item.byte_size, partCount: item.part_count, manifest: item.manifest, signerKid: item.signer_kid,
          signerJwk: item.signer_jwk ? (JSON.parse(item.signer_jwk) as PublicJwk) : null,
          keyKid: share.scope === "items" ? share.share_kid : item.case_kid,
          label: share.scope === "items" ? item.share_label : item.evidence_label,
          details: item.details, uploader: item.uploader, createdAt: item.created_at,
        })),
        receipts: await receiptsOf(c.env.DB, share.id),
      };
      return c.json(body, 200);
    },
  )
  .get(
    "/:id/items/:evidenceId/key",
    describe({ summary: "An item's file key, wrapped to the share key (chosen items) or to its case key (whole case): the audited view.", access: "session", responses: { 200: { description: "The wrapped file key.", schema: SharedFileKey } } }),
    validate("param", SharedItemParam),
    async (c) => {
      const { id, evidenceId } = c.req.valid("param");
      const r = await recipientOf(c, id);
      const item = await itemOf(c, r, evidenceId);
      const fileKey = r.share.scope === "items" ? item.share_file_key : item.file_key;
      if (!fileKey) throw unavailable();
      await audit(c, recipientEvent(c, r, "share.view", { evidenceId }));
      return c.json({ keyKid: r.share.scope === "items" ? r.share.share_kid : item.case_kid, fileKey } satisfies SharedFileKey, 200);
    },
  )
  .get(
    "/:id/items/:evidenceId/parts/:part",
    describe({ summary: "Ciphertext part `part` of a shared item.", access: "session", responses: { 200: { description: "application/octet-stream ciphertext." } } }),
    validate("param", SharedPartParam),
    async (c) => {
      const { id, evidenceId, part } = c.req.valid("param");
      const r = await recipientOf(c, id);
      const item = await itemOf(c, r, evidenceId);
      if (part >= item.part_count) throw new ApiError(404, "no_such_part", `Part ${part} does not exist.`);
      const length = partLength(item.ciphertext_size, part);
      const object = await c.env.EVIDENCE.get(item.r2_key, { range: { offset: part * PART_SIZE, length } });
      if (!object) throw new Error(`evidence ${item.id}: object missing from storage`);
      return new Response(object.body, { status: 200, headers: { "Content-Type": "application/octet-stream", "Content-Length": String(length), "Cache-Control": "private, no-store" } });
    },
  )
  .get(
    "/:id/items/:evidenceId/timestamp",
    describe({ summary: "A shared item's trusted timestamp over its manifest signature.", access: "session", responses: { 200: { description: "The timestamp's state." } } }),
    validate("param", SharedItemParam),
    async (c) => {
      const { id, evidenceId } = c.req.valid("param");
      const r = await recipientOf(c, id);
      const item = await itemOf(c, r, evidenceId);
      return c.json(await timestampStatus(c.env, { type: "manifest", id: item.id }, item.timestamp), 200);
    },
  )
  .get(
    "/:id/items/:evidenceId/signer-register",
    describe({
      summary: "The shared item's signer's key-register entries (docs/audit.md §9) as a verifiable filtered audit export, for a court package (shares at level export).",
      access: "session",
      responses: { 200: { description: "A JSON-lines audit export filtered to the signing key." }, 403: { description: "The share's level does not allow exports." } },
    }),
    validate("param", SharedItemParam),
    async (c) => {
      const { id, evidenceId } = c.req.valid("param");
      const r = await recipientOf(c, id);
      const item = await itemOf(c, r, evidenceId);
      if (r.share.level !== "export") throw new ApiError(403, "share_level", "This share does not allow exporting court packages.");
      c.header("Content-Type", "application/x-ndjson; charset=utf-8");
      return jsonLines(c, r.share.org_id, { targetType: "signing_key", targetId: item.signer_kid });
    },
  )
  .get(
    "/:id/items/:evidenceId/audit",
    describe({
      summary: "A shared item's audit extract (every event about it, with inclusion proofs and signed checkpoints; docs/audit.md §4), for a case package (shares at level export). Recorded as a share export.",
      access: "session",
      responses: { 200: { description: "A JSON-lines audit export filtered to the item (evidenceId)." }, 403: { description: "The share's level does not allow exports." } },
    }),
    validate("param", SharedItemParam),
    async (c) => {
      const { id, evidenceId } = c.req.valid("param");
      const r = await recipientOf(c, id);
      await itemOf(c, r, evidenceId);
      if (r.share.level !== "export") {
        await audit(c, { ...recipientEvent(c, r, "share.export", { evidenceId, part: "audit_extract", level: r.share.level }), outcome: "denied" });
        throw new ApiError(403, "share_level", "This share does not allow exporting court packages.");
      }
      await audit(c, recipientEvent(c, r, "share.export", { evidenceId, part: "audit_extract" }));
      await flushAudit(c.env, r.share.org_id); // this read is in the extract
      c.header("Content-Type", "application/x-ndjson; charset=utf-8");
      return jsonLines(c, r.share.org_id, { evidenceId });
    },
  )
  .post(
    "/:id/items/:evidenceId/access",
    describe({ summary: "Record a download of the original or a court package export, as the share's level allows (refused beyond it).", access: "session", responses: { 204: { description: "Recorded." }, 403: { description: "The share's level does not allow it." } } }),
    validate("param", SharedItemParam),
    validate("json", SharedAccessRequest),
    async (c) => {
      const { id, evidenceId } = c.req.valid("param");
      const { action } = c.req.valid("json");
      const r = await recipientOf(c, id);
      await itemOf(c, r, evidenceId);
      const need: ShareLevel = action === "download" ? "download" : "export";
      if (LEVEL_RANK[r.share.level] < LEVEL_RANK[need]) {
        await audit(c, { ...recipientEvent(c, r, `share.${action}`, { evidenceId, level: r.share.level }), outcome: "denied" });
        throw new ApiError(403, "share_level", action === "download" ? "This share is for viewing only: downloads are not allowed." : "This share does not allow exporting court packages.");
      }
      await audit(c, recipientEvent(c, r, `share.${action}`, { evidenceId }));
      return c.body(null, 204);
    },
  )
  .post(
    "/:id/receipts",
    describe({
      summary: "Sign for what you received: an ES512 receipt (custody-receipt+jws) over the share, each item's id and SHA-512, and the time. Checked, stored, timestamped and recorded.",
      access: "session",
      responses: { 201: { description: "Recorded.", schema: ReceiptDownload } },
    }),
    validate("param", ShareIdParam),
    validate("json", SubmitReceiptRequest),
    async (c) => {
      const r = await recipientOf(c, c.req.valid("param").id);
      const { jws } = c.req.valid("json");
      let verified: Awaited<ReturnType<typeof verifyReceipt>>;
      try {
        verified = await verifyReceipt(jws);
      } catch (err) {
        throw new ApiError(400, "invalid_receipt", `The receipt does not verify: ${err instanceof Error ? err.message : "malformed"}.`);
      }
      const { receipt, kid } = verified;
      if (receipt.shareId !== r.share.id) throw new ApiError(400, "invalid_receipt", "The receipt names another share.");
      if (Math.abs(Date.parse(receipt.receivedAt) - Date.now()) > RECEIPT_CLOCK_SKEW_MS) throw new ApiError(400, "invalid_receipt", "The receipt's time is more than five minutes from the server's: check this device's clock.");
      if (r.kind === "guest") {
        const me = c.get("user");
        const signer = await findSigningKey(c.env.DB, kid);
        if (!signer || signer.user_id !== me.id || signer.retired_at !== null) throw new ApiError(400, "invalid_receipt", "A guest signs a receipt with their own current signing key.");
        if (receipt.recipient.type !== "guest" || receipt.recipient.userId !== me.id) throw new ApiError(400, "invalid_receipt", "The receipt names another recipient.");
      } else if (receipt.recipient.type !== "link") {
        throw new ApiError(400, "invalid_receipt", "A link's receipt names a link recipient.");
      }
      const items = await sharedItems(c.env, r.share);
      const expected = new Map(items.map((item) => [item.id, (decodeJwt(item.manifest) as unknown as Manifest).sha512]));
      if (receipt.items.length !== expected.size || receipt.items.some((item) => expected.get(item.id) !== item.sha512)) {
        throw new ApiError(400, "invalid_receipt", "The receipt must list exactly the share's items, each with its signed SHA-512. Reload the share and sign again.");
      }
      const id = newId();
      const now = new Date().toISOString();
      await c.env.DB.batch([
        receiptInsert(c.env.DB, { id, shareId: r.share.id, jws, signerKid: kid, recipientName: receipt.recipient.name, itemCount: receipt.items.length, receivedAt: receipt.receivedAt, now }),
        auditStatement(c, r.share.org_id, recipientEvent(c, r, "share.receipt", { receiptId: id, signerKid: kid, signedBy: receipt.recipient.name, items: receipt.items.length })),
      ]);
      await flushAudit(c.env, r.share.org_id);
      await requestTimestamp(c.env, r.share.org_id, { type: "receipt", id }, jwsSignatureBytes(jws));
      return c.json(await receiptDownload(c.env, r.share, id), 201);
    },
  )
  .get(
    "/:id/receipts/:receiptId",
    describe({ summary: "A receipt you signed for this share, with its timestamp.", access: "session", responses: { 200: { description: "The receipt.", schema: ReceiptDownload } } }),
    validate("param", ShareReceiptParam),
    async (c) => {
      const { id, receiptId } = c.req.valid("param");
      const r = await recipientOf(c, id);
      return c.json(await receiptDownload(c.env, r.share, receiptId), 200);
    },
  );
