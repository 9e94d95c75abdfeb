import { Hono } from "hono";
import {
  AddMemberRequest,
  AddOversightRequest,
  CaseDetail,
  CaseIdParam,
  CaseList,
  CaseListQuery,
  CaseMemberParam,
  CasePackageRequest,
  CaseSummary,
  ChangeMemberRequest,
  CreateCaseRequest,
  MyCaseKeys,
  RemoveMemberRequest,
  UpdateCaseRequest,
  type KeyWrap,
} from "../../../shared/api/cases";
import { AuditPage, CaseHistoryQuery } from "../../../shared/api/audit";
import type { PublicJwk } from "../../../shared/api/schemas";
import { TYP } from "../../../shared/crypto";
import {
  caseInsert,
  caseKeyInsert,
  caseKeysForUser,
  caseKeysRetire,
  caseNumberTaken,
  caseUpdate,
  currentCaseKey,
  listMembers,
  listMyCases,
  listOversight,
  listSupervisors,
  oversightDelete,
  oversightInsert,
  memberDelete,
  memberInsert,
  memberRoleUpdate,
  toSummary,
  wrapInsert,
  wrapsDeleteForUser,
} from "../db/cases";
import { currentUserKeys, getRecoveryKey } from "../db/keys";
import { evidenceDueClearForCase } from "../db/retention";
import { findUserById } from "../db/users";
import { findEvidence } from "../db/evidence";
import type { AppEnv } from "../env";
import { audit, auditStatement, flushAudit, listAuditEvents } from "../lib/audit";
import { requireCaseRole, type MemberCase } from "../lib/cases";
import { ApiError } from "../lib/errors";
import { checkPublicKey, checkWrappedTo } from "../lib/keys";
import { describe } from "../lib/openapi";
import { decodeCursor, pageLimit, toPage } from "../lib/paging";
import { newId } from "../lib/secrets";
import { requireSession } from "../lib/session";
import { validate } from "../lib/validate";

async function detail(db: D1Database, found: MemberCase): Promise<CaseDetail> {
  const key = await currentCaseKey(db, found.id);
  if (!key) throw new Error(`case ${found.id} has no current key`);
  const [members, overseers] = await Promise.all([listMembers(db, found.id), listOversight(db, found.id)]);
  return { ...toSummary(found), description: found.description, members, overseers, caseKey: key };
}

/** The encryption key ids a wrap set must cover: each listed user's current key, and the recovery key. */
async function requiredRecipients(db: D1Database, orgId: string, userIds: string[]): Promise<Map<string, string | null>> {
  const recovery = await getRecoveryKey(db, orgId);
  if (!recovery) throw new ApiError(409, "no_recovery_key", "This organisation has no recovery key.");
  const required = new Map<string, string | null>([[recovery.kid, null]]);
  for (const userId of userIds) {
    const { encryption } = await currentUserKeys(db, userId);
    if (!encryption) throw new ApiError(409, "member_without_keys", "A member has no encryption key yet: they must sign in and create their keys first.");
    required.set(encryption.kid, userId);
  }
  return required;
}

/** Checks that `wraps` are case-key envelopes for exactly the `required` recipients; returns them with their user. */
function matchWraps(wraps: KeyWrap[], required: Map<string, string | null>): { wrap: KeyWrap; userId: string | null }[] {
  const given = new Set(wraps.map((w) => w.recipientKid));
  if (given.size !== wraps.length || given.size !== required.size || [...required.keys()].some((kid) => !given.has(kid))) {
    throw new ApiError(
      400,
      "wraps_mismatch",
      "The case key must be wrapped exactly once to each member's current encryption key, to each supervisor's and to the recovery key. If supervisors just changed, reload and try again.",
    );
  }
  return wraps.map((wrap) => {
    checkWrappedTo(wrap.jwe, TYP.caseKey, wrap.recipientKid, "wrap");
    return { wrap, userId: required.get(wrap.recipientKid) ?? null };
  });
}

/** Events per page of a case history when the client does not say. */
const HISTORY_PAGE = 500;

export const cases = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/",
    describe({
      summary: "Your cases (you are a member of, or oversee as a supervisor), searchable by number, title, description or tag (`q`), status and tag; last changed first, a page at a time.",
      access: "session",
      responses: { 200: { description: "A page of cases.", schema: CaseList } },
    }),
    validate("query", CaseListQuery),
    async (c) => {
      const { cursor, limit: asked, ...filter } = c.req.valid("query");
      const limit = pageLimit(asked);
      const rows = await listMyCases(c.env.DB, c.get("user").id, filter, decodeCursor(cursor, ["s", "s"]), limit + 1);
      const page = toPage(rows, limit, (row) => [row.updated_at, row.id]);
      return c.json({ cases: page.items.map(toSummary), nextCursor: page.nextCursor } satisfies CaseList, 200);
    },
  )
  .post(
    "/",
    describe({
      summary: "Open a case. The browser makes the case key pair and wraps the private half to you, to the recovery key and to every supervisor (GET /api/directory/supervisors); you become its lead and the supervisors oversee it.",
      access: "session",
      responses: { 201: { description: "Created.", schema: CaseDetail }, 409: { description: "A case with this number exists." } },
    }),
    validate("json", CreateCaseRequest),
    async (c) => {
      const body = c.req.valid("json");
      const user = c.get("user");
      if (user.role === "site_operator") throw new ApiError(403, "forbidden", "Site operators cannot open cases.");
      if (await caseNumberTaken(c.env.DB, user.orgId, body.number)) throw new ApiError(409, "case_number_taken", `Case ${body.number} already exists.`);
      const caseKey = await checkPublicKey(body.caseKey, "enc", "caseKey");
      // Every current supervisor oversees a new case: the browser must have wrapped its key to each.
      const supervisors = (await listSupervisors(c.env.DB, user.orgId)).filter((s) => s.userId !== user.id);
      const wraps = matchWraps(body.wraps, await requiredRecipients(c.env.DB, user.orgId, [user.id, ...supervisors.map((s) => s.userId)]));
      const id = newId();
      const now = new Date().toISOString();
      try {
        await c.env.DB.batch([
          caseInsert(c.env.DB, { id, orgId: user.orgId, number: body.number, title: body.title, description: body.description, tags: body.tags, createdBy: user.id, now }),
          memberInsert(c.env.DB, { caseId: id, userId: user.id, role: "lead", addedBy: user.id, now }),
          caseKeyInsert(c.env.DB, { kid: caseKey.kid, caseId: id, publicJwk: caseKey.publicJwk, now }),
          ...wraps.map(({ wrap, userId }) => wrapInsert(c.env.DB, { caseKid: caseKey.kid, wrap, userId, now })),
          auditStatement(c, user.orgId, { action: "case.create", target: { type: "case", id }, details: { caseId: id, number: body.number, caseKid: caseKey.kid } }),
          ...supervisors.flatMap((s) => [
            oversightInsert(c.env.DB, { caseId: id, userId: s.userId, addedBy: user.id, now }),
            auditStatement(c, user.orgId, { action: "case.oversight_add", target: { type: "user", id: s.userId }, details: { caseId: id, caseKids: [caseKey.kid] } }),
          ]),
        ]);
      } catch (err) {
        if (await caseNumberTaken(c.env.DB, user.orgId, body.number)) throw new ApiError(409, "case_number_taken", `Case ${body.number} already exists.`);
        throw err;
      }
      await flushAudit(c.env, user.orgId);
      const created = await requireCaseRole(c, id, "viewer");
      return c.json(await detail(c.env.DB, created), 201);
    },
  )
  .get(
    "/:id",
    describe({ summary: "A case you are a member of: its details, members and current key.", access: "session", responses: { 200: { description: "The case.", schema: CaseDetail }, 404: { description: "No such case, or not a member." } } }),
    validate("param", CaseIdParam),
    async (c) => c.json(await detail(c.env.DB, await requireCaseRole(c, c.req.valid("param").id, "viewer")), 200),
  )
  .patch(
    "/:id",
    describe({ summary: "Edit a case's title, description or tags, or close it with its disposition (which starts the retention clocks counted from the close) or reopen it (leads).", access: "session", responses: { 200: { description: "Changed.", schema: CaseSummary } } }),
    validate("param", CaseIdParam),
    validate("json", UpdateCaseRequest),
    async (c) => {
      const { id } = c.req.valid("param");
      const changes = c.req.valid("json");
      const found = await requireCaseRole(c, id, "lead");
      const action = changes.status && changes.status !== found.status ? (changes.status === "closed" ? "case.close" : "case.reopen") : "case.update";
      const disposition = changes.disposition ? { disposition: changes.disposition, ...(changes.dispositionNote ? { dispositionNote: changes.dispositionNote } : {}) } : {};
      await c.env.DB.batch([
        caseUpdate(c.env.DB, id, changes, new Date().toISOString()),
        // Reopened: the clocks counted from the close stop, so nothing of the case stays due (the daily job looks again).
        ...(action === "case.reopen" ? [evidenceDueClearForCase(c.env.DB, id)] : []),
        auditStatement(c, c.get("user").orgId, { action, target: { type: "case", id }, details: { caseId: id, fields: Object.keys(changes), ...disposition } }),
      ]);
      await flushAudit(c.env, c.get("user").orgId);
      return c.json(toSummary(await requireCaseRole(c, id, "viewer")), 200);
    },
  )
  .get(
    "/:id/keys",
    describe({ summary: "Every key of the case with its wrap to your encryption key, to open the case's evidence.", access: "session", responses: { 200: { description: "Keys.", schema: MyCaseKeys } } }),
    validate("param", CaseIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      await requireCaseRole(c, id, "viewer");
      const rows = await caseKeysForUser(c.env.DB, id, c.get("user").id);
      const keys = rows.map((row) => ({ kid: row.kid, publicJwk: JSON.parse(row.public_jwk) as PublicJwk, current: row.retired_at === null, wrap: row.wrap }));
      return c.json({ keys } satisfies MyCaseKeys, 200);
    },
  )
  .post(
    "/:id/members",
    describe({
      summary: "Add a member (leads). The browser wraps every case key to the new member's encryption key; no file is touched.",
      access: "session",
      responses: { 201: { description: "Added.", schema: CaseDetail }, 409: { description: "Already a member." } },
    }),
    validate("param", CaseIdParam),
    validate("json", AddMemberRequest),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const me = c.get("user");
      const found = await requireCaseRole(c, id, "lead");
      const target = await findUserById(c.env.DB, body.userId);
      if (!target || target.org_id !== me.orgId || target.status !== "active") throw new ApiError(404, "not_found", "No such active user.");
      if (target.role === "site_operator") throw new ApiError(400, "not_allowed", "Site operators cannot be case members.");
      const { encryption } = await currentUserKeys(c.env.DB, target.id);
      if (!encryption) throw new ApiError(409, "member_without_keys", `${target.name} has no keys yet: they must sign in and create their keys first.`);
      const keys = await caseKeysForUser(c.env.DB, id, me.id);
      const byKid = new Set(keys.map((k) => k.kid));
      if (body.wraps.length !== keys.length || body.wraps.some((w) => !byKid.has(w.caseKid) || w.recipientKid !== encryption.kid)) {
        throw new ApiError(400, "wraps_mismatch", "Wrap every key of the case, once each, to the new member's current encryption key.");
      }
      for (const wrap of body.wraps) checkWrappedTo(wrap.jwe, TYP.caseKey, encryption.kid, "wrap");
      const now = new Date().toISOString();
      // A supervisor who oversees the case becomes a member: their oversight (and its wraps) gives way to the membership's.
      const overseeing = (await listOversight(c.env.DB, id)).some((o) => o.userId === target.id);
      try {
        await c.env.DB.batch([
          ...(overseeing ? [wrapsDeleteForUser(c.env.DB, id, target.id), oversightDelete(c.env.DB, id, target.id)] : []),
          memberInsert(c.env.DB, { caseId: id, userId: target.id, role: body.role, addedBy: me.id, now }),
          ...body.wraps.map((w) => wrapInsert(c.env.DB, { caseKid: w.caseKid, wrap: { recipientKid: w.recipientKid, jwe: w.jwe }, userId: target.id, now })),
          auditStatement(c, me.orgId, { action: "case.member_add", target: { type: "user", id: target.id }, details: { caseId: id, role: body.role, ...(overseeing ? { wasOversight: true } : {}) } }),
        ]);
      } catch (err) {
        if (/UNIQUE constraint failed/i.test(String(err))) throw new ApiError(409, "already_member", `${target.name} is already a member of this case.`);
        throw err;
      }
      await flushAudit(c.env, me.orgId);
      return c.json(await detail(c.env.DB, found), 201);
    },
  )
  .post(
    "/:id/oversight",
    describe({
      summary: "Give supervisors access to a case (leads): the lead's browser wraps every key of the case to each supervisor who does not oversee it yet; the server never sees a key.",
      access: "session",
      responses: { 201: { description: "Given.", schema: CaseDetail }, 400: { description: "The wraps do not cover every key of the case once for each named supervisor (`wraps_mismatch`)." } },
    }),
    validate("param", CaseIdParam),
    validate("json", AddOversightRequest),
    async (c) => {
      const { id } = c.req.valid("param");
      const { wraps } = c.req.valid("json");
      const me = c.get("user");
      const found = await requireCaseRole(c, id, "lead");
      const [supervisors, members, oversight, keys] = await Promise.all([
        listSupervisors(c.env.DB, me.orgId),
        listMembers(c.env.DB, id),
        listOversight(c.env.DB, id),
        caseKeysForUser(c.env.DB, id, me.id),
      ]);
      const byKid = new Map(supervisors.map((s) => [s.encryption.kid, s]));
      const caseKids = new Set(keys.map((k) => k.kid));
      const named = new Map<string, Set<string>>();
      for (const wrap of wraps) {
        const supervisor = byKid.get(wrap.recipientKid);
        if (!supervisor) throw new ApiError(400, "wraps_mismatch", "A wrap is not to a current supervisor's encryption key. Reload and try again.");
        if (members.some((m) => m.userId === supervisor.userId) || oversight.some((o) => o.userId === supervisor.userId)) {
          throw new ApiError(409, "already_overseen", `${supervisor.name} can already open this case.`);
        }
        const kids = named.get(supervisor.userId) ?? new Set<string>();
        if (!caseKids.has(wrap.caseKid) || kids.has(wrap.caseKid)) throw new ApiError(400, "wraps_mismatch", "Wrap every key of the case, once each, to each supervisor.");
        kids.add(wrap.caseKid);
        named.set(supervisor.userId, kids);
        checkWrappedTo(wrap.jwe, TYP.caseKey, wrap.recipientKid, "wrap");
      }
      if ([...named.values()].some((kids) => kids.size !== caseKids.size)) throw new ApiError(400, "wraps_mismatch", "Wrap every key of the case, once each, to each supervisor.");
      const now = new Date().toISOString();
      try {
        await c.env.DB.batch([
          ...wraps.map((w) => wrapInsert(c.env.DB, { caseKid: w.caseKid, wrap: { recipientKid: w.recipientKid, jwe: w.jwe }, userId: byKid.get(w.recipientKid)!.userId, now })),
          ...[...named.entries()].flatMap(([userId, kids]) => [
            oversightInsert(c.env.DB, { caseId: id, userId, addedBy: me.id, now }),
            auditStatement(c, me.orgId, { action: "case.oversight_add", target: { type: "user", id: userId }, details: { caseId: id, caseKids: [...kids] } }),
          ]),
        ]);
      } catch (err) {
        if (/UNIQUE constraint failed/i.test(String(err))) throw new ApiError(409, "already_overseen", "A supervisor can already open this case. Reload the case.");
        throw err;
      }
      await flushAudit(c.env, me.orgId);
      return c.json(await detail(c.env.DB, found), 201);
    },
  )
  .patch(
    "/:id/members/:userId",
    describe({ summary: "Change a member's role (leads). A case always keeps at least one lead.", access: "session", responses: { 200: { description: "Changed.", schema: CaseDetail } } }),
    validate("param", CaseMemberParam),
    validate("json", ChangeMemberRequest),
    async (c) => {
      const { id, userId } = c.req.valid("param");
      const { role } = c.req.valid("json");
      const found = await requireCaseRole(c, id, "lead");
      const members = await listMembers(c.env.DB, id);
      const member = members.find((m) => m.userId === userId);
      if (!member) throw new ApiError(404, "not_found", "Not a member of this case.");
      if (member.role === "lead" && role !== "lead" && members.filter((m) => m.role === "lead").length === 1) {
        throw new ApiError(409, "last_lead", "A case needs at least one lead. Make someone else lead first.");
      }
      await c.env.DB.batch([
        memberRoleUpdate(c.env.DB, id, userId, role),
        auditStatement(c, c.get("user").orgId, { action: "case.member_role", target: { type: "user", id: userId }, details: { caseId: id, from: member.role, to: role } }),
      ]);
      await flushAudit(c.env, c.get("user").orgId);
      return c.json(await detail(c.env.DB, found), 200);
    },
  )
  .post(
    "/:id/members/:userId/remove",
    describe({
      summary: "Remove a member (leads). The case key is rotated: new evidence is wrapped to a new key the removed member never gets.",
      access: "session",
      responses: { 200: { description: "Removed.", schema: CaseDetail } },
    }),
    validate("param", CaseMemberParam),
    validate("json", RemoveMemberRequest),
    async (c) => {
      const { id, userId } = c.req.valid("param");
      const body = c.req.valid("json");
      const me = c.get("user");
      const found = await requireCaseRole(c, id, "lead");
      const members = await listMembers(c.env.DB, id);
      const member = members.find((m) => m.userId === userId);
      if (!member) throw new ApiError(404, "not_found", "Not a member of this case.");
      const remaining = members.filter((m) => m.userId !== userId);
      if (!remaining.some((m) => m.role === "lead")) throw new ApiError(409, "last_lead", "A case needs at least one lead. Make someone else lead first.");
      const caseKey = await checkPublicKey(body.caseKey, "enc", "caseKey");
      // The new key goes to everyone who stays: members, and supervisors who oversee the case.
      const overseers = (await listOversight(c.env.DB, id)).map((o) => o.userId);
      const wraps = matchWraps(body.wraps, await requiredRecipients(c.env.DB, me.orgId, [...remaining.map((m) => m.userId), ...overseers]));
      const now = new Date().toISOString();
      await c.env.DB.batch([
        memberDelete(c.env.DB, id, userId),
        wrapsDeleteForUser(c.env.DB, id, userId),
        caseKeysRetire(c.env.DB, id, now),
        caseKeyInsert(c.env.DB, { kid: caseKey.kid, caseId: id, publicJwk: caseKey.publicJwk, now }),
        ...wraps.map(({ wrap, userId: recipient }) => wrapInsert(c.env.DB, { caseKid: caseKey.kid, wrap, userId: recipient, now })),
        auditStatement(c, me.orgId, { action: "case.member_remove", target: { type: "user", id: userId }, details: { caseId: id, newCaseKid: caseKey.kid } }),
      ]);
      await flushAudit(c.env, me.orgId);
      return c.json(await detail(c.env.DB, found), 200);
    },
  )
  .post(
    "/:id/package",
    describe({
      summary: "Record a case package export (built in a lead's browser, which holds the keys): a case.package_export event, and an evidence.export event per item. Recorded before the browser fetches the items' audit extracts, so each extract shows its own export.",
      access: "session",
      responses: { 204: { description: "Recorded." }, 404: { description: "An item is not complete evidence of this case (`not_found`); nothing is recorded." } },
    }),
    validate("param", CaseIdParam),
    validate("json", CasePackageRequest),
    async (c) => {
      const { id } = c.req.valid("param");
      const { evidenceIds } = c.req.valid("json");
      // Leads only: the package carries each item's audit extract, which is the case's history.
      await requireCaseRole(c, id, "lead");
      for (const evidenceId of evidenceIds) {
        const row = await findEvidence(c.env, evidenceId);
        if (!row || row.case_id !== id || row.status !== "complete") throw new ApiError(404, "not_found", `Evidence ${evidenceId} is not a complete item of this case. Nothing was recorded; reload the case and try again.`);
      }
      const orgId = c.get("user").orgId;
      await c.env.DB.batch([
        auditStatement(c, orgId, { action: "case.package_export", target: { type: "case", id }, details: { caseId: id, evidenceIds, items: evidenceIds.length } }),
        ...evidenceIds.map((evidenceId) => auditStatement(c, orgId, { action: "evidence.export", target: { type: "evidence", id: evidenceId }, details: { caseId: id, evidenceId, casePackage: true } })),
      ]);
      await flushAudit(c.env, orgId);
      return c.body(null, 204);
    },
  )
  .get(
    "/:id/history",
    describe({
      summary: "The case's audit history, its evidence's included (who viewed what, when), for its leads: oldest first (or newest first with order=desc), a page at a time (at most 1000). Reading it is audited, except a follow-up read (oldest first, after a seq) that finds nothing but other reads of it.",
      access: "session",
      responses: { 200: { description: "A page of events.", schema: AuditPage } },
    }),
    validate("param", CaseIdParam),
    validate("query", CaseHistoryQuery),
    async (c) => {
      const { id } = c.req.valid("param");
      const { after, limit: asked, order } = c.req.valid("query");
      await requireCaseRole(c, id, "lead");
      const orgId = c.get("user").orgId;
      const limit = asked ?? HISTORY_PAGE;
      const events = await listAuditEvents(c.env, orgId, { caseId: id }, after ?? 0, limit + 1, order ?? "asc");
      const page = events.slice(0, limit);
      // Every read is recorded, except a follow-up (oldest first, after what the reader has) that
      // shows nothing but reads of the history: an open page asking "anything new?" adds no noise.
      const followUp = after !== undefined && (order ?? "asc") === "asc";
      if (!followUp || page.some((event) => event.action !== "audit.read")) {
        await audit(c, { action: "audit.read", target: { type: "case", id }, details: { caseId: id } });
      }
      return c.json({ events: page, next: events.length > limit ? page.at(-1)!.seq : null } satisfies AuditPage, 200);
    },
  );
