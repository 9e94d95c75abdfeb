/**
 * Retention, legal hold and disposition (docs/retention.md): categories and settings
 * (administrators), holds (a case's leads place them, administrators place and lift them), the
 * "Due for deletion" report, approvals, the recycle bin and tombstones (administrators), an
 * uploader's request to delete their own item, and each item's retention status.
 */
import { Hono, type Context } from "hono";
import {
  ApproveDeletionRequest,
  ApproveDeletionResult,
  CategoryIdParam,
  CategoryList,
  ChangeCategoryRequest,
  CreateCategoryRequest,
  DeletionRequest,
  DisposalList,
  GoneList,
  GoneRequest,
  HoldIdParam,
  HoldList,
  ItemIdParam,
  NoQuery,
  LiftHoldRequest,
  PlaceHoldRequest,
  RestoreRequest,
  RetentionSettings,
  RetentionStatus,
  RunResult,
  Category,
  TombstoneList,
  UpdateCategoryRequest,
  UpdateRetentionSettingsRequest,
  describeRule,
  type DisposalItem,
  type Hold,
} from "../../../shared/api/retention";
import { findCaseForMember } from "../db/cases";
import {
  binInsert,
  binRestore,
  categoryInsert,
  categoryNameTaken,
  categoryUpdate,
  deletionRequestClear,
  deletionRequestSet,
  dueClearForCategory,
  evidenceCategoryUpdate,
  findCategory,
  findDisposalRow,
  findHold,
  findTombstone,
  holdInsert,
  holdLift,
  holdsFor,
  listBin,
  listCategories,
  listDue,
  listHolds,
  listTombstones,
  retentionSettings,
  ruleOf,
  settingsUpdate,
  toCategory,
  toDisposalItem,
  visibleTo,
  type DisposalRow,
} from "../db/retention";
import type { AppEnv } from "../env";
import { audit, auditStatement, auditStatementIfChanged, flushAudit, markAudited } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { clockStart, retentionEnd, runRetention } from "../lib/retention";
import { newId } from "../lib/secrets";
import { requireAdmin, requireRecentAuth, requireSession } from "../lib/session";
import { validate } from "../lib/validate";
import { CaseIdParam } from "../../../shared/api/cases";

const DAY_MS = 24 * 60 * 60 * 1000;
type Ctx = Context<AppEnv>;

const noSuchItem = () => new ApiError(404, "not_found", "No such evidence, or you are not a member of its case.");
const isAdmin = (c: Ctx) => c.get("user").role === "admin";

function item(row: DisposalRow): DisposalItem {
  return toDisposalItem(row, retentionEnd(row));
}

/** Refused: recorded as denied, then a 403. */
async function deny(c: Ctx, target: { type: string; id: string }, message: string, details: Record<string, unknown> = {}): Promise<never> {
  await audit(c, { action: "access.denied", target, outcome: "denied", details: { ...details, route: `${c.req.method} ${c.req.routePath}` } });
  throw new ApiError(403, "forbidden", message);
}

/** The item (in the caller's organisation), if the caller is an administrator or a member of its case with at least `minimum`. */
async function itemFor(c: Ctx, evidenceId: string, minimum: "viewer" | "contributor" | "lead" | "admin"): Promise<DisposalRow> {
  const me = c.get("user");
  await retentionSettings(c.env.DB, me.orgId);
  const row = await findDisposalRow(c.env.DB, me.orgId, evidenceId);
  if (!row) throw noSuchItem();
  if (isAdmin(c)) return row;
  const member = await findCaseForMember(c.env.DB, row.case_id, me.id);
  if (!member || (row.status !== "complete" && row.uploader_id !== me.id)) throw noSuchItem();
  const rank = { viewer: 0, contributor: 1, lead: 2, admin: 3 };
  if (rank[member.my_role] < rank[minimum]) {
    await deny(c, { type: "evidence", id: evidenceId }, minimum === "admin" ? "Only an administrator can do this." : "Only a lead of this case or an administrator can do this.", {
      caseId: row.case_id,
      evidenceId,
    });
  }
  return row;
}

function explain(state: RetentionStatus["state"], row: DisposalRow | null, dueAt: string | null, holds: Hold[]): string {
  const active = holds.filter((h) => h.liftedAt === null);
  const held = active.length > 0 ? ` It is under legal hold (${active.map((h) => `“${h.reason}”, ${h.evidenceId ? "on the item" : `on case ${h.caseNumber}`}`).join("; ")}), so it cannot be deleted.` : "";
  if (!row) return "";
  const rule = describeRule(ruleOf(row));
  switch (state) {
    case "kept":
      if (row.basis === "indefinite") return `Kept: its category, ${row.category_name}, is kept indefinitely.${held}`;
      if (!dueAt) return `Kept: ${rule.toLowerCase()} (${row.category_name}), and its case is still open.${held}`;
      if (dueAt <= new Date().toISOString()) return `Past retention since ${dueAt.slice(0, 10)} (${rule.toLowerCase()}, ${row.category_name}); the daily check lists it for deletion at its next run.${held}`;
      return `Kept until ${dueAt.slice(0, 10)}: ${rule.toLowerCase()} (${row.category_name}).${held}`;
    case "due":
      return `Past retention since ${dueAt?.slice(0, 10)} (${rule.toLowerCase()}, ${row.category_name}); listed for deletion on ${row.due_at?.slice(0, 10)}, awaiting an administrator's approval.${held}`;
    case "requested":
      return `Its uploader asked for it to be deleted (“${row.deletion_reason}”); awaiting an administrator's approval.${held}`;
    case "in_bin":
      return `Deleted ${row.deleted_at?.slice(0, 10)} ${row.deleted_by ? `(approved by ${row.deleter_name})` : "(automatic deletion)"}; in the recycle bin until ${row.purge_after?.slice(0, 10)}, then purged.${held}`;
    case "purging":
      return "Its file key is destroyed (crypto-shredded); the rest of its stored data is being removed.";
    default:
      return "";
  }
}

export const retention = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/categories",
    describe({ summary: "The organisation's evidence categories and their retention rules (for choosing one at upload).", access: "session", responses: { 200: { description: "Categories.", schema: CategoryList } } }),
    async (c) => {
      const orgId = c.get("user").orgId;
      const settings = await retentionSettings(c.env.DB, orgId);
      return c.json({ categories: (await listCategories(c.env.DB, orgId)).map((row) => toCategory(row, settings.default_category_id)) } satisfies CategoryList, 200);
    },
  )
  .post(
    "/categories",
    describe({ summary: "Define an evidence category and its retention rule.", access: "admin", responses: { 201: { description: "Created.", schema: Category }, 409: { description: "A category of that name exists." } } }),
    requireAdmin,
    validate("json", CreateCategoryRequest),
    async (c) => {
      const me = c.get("user");
      const body = c.req.valid("json");
      const settings = await retentionSettings(c.env.DB, me.orgId);
      if (await categoryNameTaken(c.env.DB, me.orgId, body.name)) throw new ApiError(409, "category_exists", `A category named “${body.name}” exists already.`);
      const id = newId();
      const now = new Date().toISOString();
      await c.env.DB.batch([
        categoryInsert(c.env.DB, { id, orgId: me.orgId, name: body.name, rule: body.rule, by: me.id, now }),
        auditStatement(c, me.orgId, { action: "retention.category_create", target: { type: "retention_category", id }, details: { name: body.name, rule: body.rule } }),
      ]);
      await flushAudit(c.env, me.orgId);
      return c.json(toCategory((await findCategory(c.env.DB, me.orgId, id))!, settings.default_category_id), 201);
    },
  )
  .patch(
    "/categories/:id",
    describe({ summary: "Rename a category or change its rule, with a reason. Its items are listed as due again only as the new rule says.", access: "admin", responses: { 200: { description: "Changed.", schema: Category } } }),
    requireAdmin,
    validate("param", CategoryIdParam),
    validate("json", UpdateCategoryRequest),
    async (c) => {
      const me = c.get("user");
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const settings = await retentionSettings(c.env.DB, me.orgId);
      const before = await findCategory(c.env.DB, me.orgId, id);
      if (!before) throw new ApiError(404, "not_found", "No such category.");
      const name = body.name ?? before.name;
      if (name !== before.name && (await categoryNameTaken(c.env.DB, me.orgId, name, id))) throw new ApiError(409, "category_exists", `A category named “${name}” exists already.`);
      const rule = body.rule ?? ruleOf(before);
      const ruleChanged = JSON.stringify(rule) !== JSON.stringify(ruleOf(before));
      const now = new Date().toISOString();
      await c.env.DB.batch([
        categoryUpdate(c.env.DB, id, { name, rule, now }),
        ...(ruleChanged ? [dueClearForCategory(c.env.DB, id, me.orgId)] : []),
        auditStatement(c, me.orgId, {
          action: "retention.category_change",
          target: { type: "retention_category", id },
          details: { reason: body.reason, ...(name !== before.name ? { name: { from: before.name, to: name } } : {}), ...(ruleChanged ? { rule: { from: ruleOf(before), to: rule } } : {}) },
        }),
      ]);
      await flushAudit(c.env, me.orgId);
      return c.json(toCategory((await findCategory(c.env.DB, me.orgId, id))!, settings.default_category_id), 200);
    },
  )
  .get(
    "/settings",
    describe({ summary: "The organisation's retention settings: default category, automatic deletion, recycle bin period.", access: "admin", responses: { 200: { description: "Settings.", schema: RetentionSettings } } }),
    requireAdmin,
    async (c) => {
      const s = await retentionSettings(c.env.DB, c.get("user").orgId);
      return c.json({ defaultCategoryId: s.default_category_id, autoDeleteAfterDays: s.auto_delete_days, binDays: s.bin_days } satisfies RetentionSettings, 200);
    },
  )
  .put(
    "/settings",
    describe({ summary: "Change the retention settings (needs a recent authentication).", access: "admin", responses: { 200: { description: "Settings now.", schema: RetentionSettings } } }),
    validate("json", UpdateRetentionSettingsRequest),
    requireAdmin,
    requireRecentAuth,
    async (c) => {
      const me = c.get("user");
      const body = c.req.valid("json");
      const s = await retentionSettings(c.env.DB, me.orgId);
      const before: RetentionSettings = { defaultCategoryId: s.default_category_id, autoDeleteAfterDays: s.auto_delete_days, binDays: s.bin_days };
      const after: RetentionSettings = { ...before, ...Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) };
      if (!(await findCategory(c.env.DB, me.orgId, after.defaultCategoryId))) throw new ApiError(404, "not_found", "No such category.");
      const changed = Object.fromEntries((Object.keys(after) as (keyof RetentionSettings)[]).filter((k) => after[k] !== before[k]).map((k) => [k, { from: before[k], to: after[k] }]));
      await c.env.DB.batch([
        settingsUpdate(c.env.DB, me.orgId, after, me.id, new Date().toISOString()),
        auditStatement(c, me.orgId, { action: "retention.settings_change", target: { type: "organisation", id: me.orgId }, details: { changed } }),
      ]);
      await flushAudit(c.env, me.orgId);
      return c.json(after, 200);
    },
  )
  .get(
    "/holds",
    describe({ summary: "Every legal hold of the organisation, active first.", access: "admin", responses: { 200: { description: "Holds.", schema: HoldList } } }),
    requireAdmin,
    async (c) => c.json({ holds: await listHolds(c.env.DB, c.get("user").orgId) } satisfies HoldList, 200),
  )
  .post(
    "/holds",
    describe({ summary: "Place a legal hold on a case or one of its items, with a reason (the case's leads and administrators). Nothing held is deleted.", access: "session", responses: { 201: { description: "Placed.", schema: HoldList } } }),
    validate("json", PlaceHoldRequest),
    async (c) => {
      const me = c.get("user");
      const body = c.req.valid("json");
      const found = await c.env.DB.prepare("SELECT id, org_id FROM cases WHERE id = ?").bind(body.caseId).first<{ id: string; org_id: string }>();
      const member = await findCaseForMember(c.env.DB, body.caseId, me.id);
      if (!found || found.org_id !== me.orgId || (!member && !isAdmin(c))) throw new ApiError(404, "not_found", "No such case, or you are not a member of it.");
      if (!isAdmin(c) && member?.my_role !== "lead") await deny(c, { type: "case", id: body.caseId }, "Only a lead of this case or an administrator can place a legal hold.", { caseId: body.caseId });
      if (body.evidenceId) {
        const row = await c.env.DB.prepare("SELECT id FROM evidence WHERE id = ? AND case_id = ? AND status = 'complete'").bind(body.evidenceId, body.caseId).first();
        if (!row) throw noSuchItem();
      }
      const id = newId();
      await c.env.DB.batch([
        holdInsert(c.env.DB, { id, orgId: me.orgId, caseId: body.caseId, evidenceId: body.evidenceId ?? null, reason: body.reason, by: me.id, now: new Date().toISOString() }),
        auditStatement(c, me.orgId, {
          action: "retention.hold",
          target: body.evidenceId ? { type: "evidence", id: body.evidenceId } : { type: "case", id: body.caseId },
          details: { holdId: id, caseId: body.caseId, ...(body.evidenceId ? { evidenceId: body.evidenceId } : {}), reason: body.reason },
        }),
      ]);
      await flushAudit(c.env, me.orgId);
      return c.json({ holds: await holdsFor(c.env.DB, body.caseId) } satisfies HoldList, 201);
    },
  )
  .post(
    "/holds/:id/lift",
    describe({ summary: "Lift a legal hold, with a reason (administrators only; needs a recent authentication).", access: "admin", responses: { 200: { description: "Lifted.", schema: HoldList }, 409: { description: "Lifted already." } } }),
    requireAdmin,
    requireRecentAuth,
    validate("param", HoldIdParam),
    validate("json", LiftHoldRequest),
    async (c) => {
      const me = c.get("user");
      const hold = await findHold(c.env.DB, me.orgId, c.req.valid("param").id);
      if (!hold) throw new ApiError(404, "not_found", "No such hold.");
      const { reason } = c.req.valid("json");
      const lifted = auditStatementIfChanged(c, me.orgId, {
        action: "retention.hold_lift",
        target: hold.evidenceId ? { type: "evidence", id: hold.evidenceId } : { type: "case", id: hold.caseId },
        details: { holdId: hold.id, caseId: hold.caseId, ...(hold.evidenceId ? { evidenceId: hold.evidenceId } : {}), reason, heldSince: hold.setAt, heldFor: hold.reason },
      });
      const results = await c.env.DB.batch([holdLift(c.env.DB, hold.id, { by: me.id, reason, now: new Date().toISOString() }), lifted.statement]);
      if (!markAudited(c, results[1])) throw new ApiError(409, "hold_lifted", "This hold was lifted already.");
      await flushAudit(c.env, me.orgId);
      return c.json({ holds: await holdsFor(c.env.DB, hold.caseId) } satisfies HoldList, 200);
    },
  )
  .get(
    "/cases/:id/holds",
    describe({ summary: "The legal holds on a case and its items (its members and administrators).", access: "session", responses: { 200: { description: "Holds.", schema: HoldList } } }),
    validate("param", CaseIdParam),
    async (c) => {
      const me = c.get("user");
      const { id } = c.req.valid("param");
      const found = await c.env.DB.prepare("SELECT org_id FROM cases WHERE id = ?").bind(id).first<{ org_id: string }>();
      if (!found || found.org_id !== me.orgId || (!isAdmin(c) && !(await findCaseForMember(c.env.DB, id, me.id)))) throw new ApiError(404, "not_found", "No such case, or you are not a member of it.");
      return c.json({ holds: await holdsFor(c.env.DB, id) } satisfies HoldList, 200);
    },
  )
  .get(
    "/evidence/:id",
    describe({
      summary: "Why the item still exists (its category, rule, clock, holds) or the proof it was destroyed (its tombstone): its case's members and administrators.",
      access: "session",
      responses: { 200: { description: "The item's retention status.", schema: RetentionStatus } },
    }),
    validate("param", ItemIdParam),
    async (c) => {
      const me = c.get("user");
      const { id } = c.req.valid("param");
      await retentionSettings(c.env.DB, me.orgId);
      const row = await findDisposalRow(c.env.DB, me.orgId, id);
      if (!row) {
        const tombstone = await findTombstone(c.env.DB, me.orgId, id);
        if (!tombstone || (!isAdmin(c) && !(await findCaseForMember(c.env.DB, tombstone.caseId, me.id)))) throw noSuchItem();
        const explanation = `Destroyed: its file key was deleted ${tombstone.shreddedAt.slice(0, 10)} and every stored byte ${tombstone.purgedAt ? `by ${tombstone.purgedAt.slice(0, 10)}` : "is being removed"}; deletion ${tombstone.approvedBy ? `approved by ${tombstone.approvedBy.name}` : "automatic"} on ${tombstone.deletedAt.slice(0, 10)}.`;
        return c.json({ evidenceId: id, state: tombstone.purgedAt ? "purged" : "purging", explanation, category: null, clockStartsAt: null, dueAt: null, holds: [], item: null, tombstone } satisfies RetentionStatus, 200);
      }
      const checked = await itemFor(c, id, "viewer");
      const rule = ruleOf(checked);
      const dueAt = retentionEnd(checked);
      const state: RetentionStatus["state"] = checked.purge_started_at ? "purging" : checked.deleted_at ? "in_bin" : checked.due_at ? "due" : checked.deletion_requested_at ? "requested" : "kept";
      const holds = await holdsFor(c.env.DB, checked.case_id, checked.id);
      return c.json(
        {
          evidenceId: id,
          state,
          explanation: explain(state, checked, dueAt, holds),
          category: { id: checked.category_id, name: checked.category_name, rule },
          clockStartsAt: clockStart(checked, rule),
          dueAt,
          holds,
          item: item(checked),
          tombstone: null,
        } satisfies RetentionStatus,
        200,
      );
    },
  )
  .put(
    "/evidence/:id/category",
    describe({ summary: "Change an item's category, with a reason (the case's leads and administrators).", access: "session", responses: { 200: { description: "Changed: the item's status.", schema: DisposalList } } }),
    validate("param", ItemIdParam),
    validate("json", ChangeCategoryRequest),
    async (c) => {
      const me = c.get("user");
      const row = await itemFor(c, c.req.valid("param").id, "lead");
      const { categoryId, reason } = c.req.valid("json");
      if (row.deleted_at) throw new ApiError(409, "deleted", "This item is in the recycle bin. Restore it first.");
      const category = await findCategory(c.env.DB, me.orgId, categoryId);
      if (!category) throw new ApiError(404, "not_found", "No such category.");
      if (category.id === row.category_id) throw new ApiError(409, "same_category", `The item is in “${category.name}” already.`);
      await c.env.DB.batch([
        evidenceCategoryUpdate(c.env.DB, row.id, category.id),
        auditStatement(c, me.orgId, {
          action: "retention.category_assign",
          target: { type: "evidence", id: row.id },
          details: { caseId: row.case_id, evidenceId: row.id, from: { id: row.category_id, name: row.category_name }, to: { id: category.id, name: category.name }, reason },
        }),
      ]);
      await flushAudit(c.env, me.orgId);
      return c.json({ items: [item((await findDisposalRow(c.env.DB, me.orgId, row.id))!)] } satisfies DisposalList, 200);
    },
  )
  .post(
    "/evidence/:id/deletion-request",
    describe({
      summary: "Ask for your own upload to be deleted (added by mistake), with a reason: it goes on the \"Due for deletion\" report for an administrator's approval. Refused while held.",
      access: "session",
      responses: { 200: { description: "Asked.", schema: DisposalList }, 409: { description: "Held, deleted, or asked already." } },
    }),
    validate("param", ItemIdParam),
    validate("json", DeletionRequest),
    async (c) => {
      const me = c.get("user");
      const row = await itemFor(c, c.req.valid("param").id, "contributor");
      if (row.uploader_id !== me.id) await deny(c, { type: "evidence", id: row.id }, "Only the person who uploaded an item can ask for it to be deleted.", { caseId: row.case_id, evidenceId: row.id });
      if (row.status !== "complete") throw new ApiError(409, "not_complete", "This upload is not finished: cancel it instead.");
      if (row.deleted_at) throw new ApiError(409, "deleted", "This item is deleted already.");
      if (row.deletion_requested_at) throw new ApiError(409, "requested", "You asked for this item's deletion already.");
      const { reason } = c.req.valid("json");
      const asked = auditStatementIfChanged(c, me.orgId, { action: "retention.deletion_request", target: { type: "evidence", id: row.id }, details: { caseId: row.case_id, evidenceId: row.id, reason } });
      const results = await c.env.DB.batch([deletionRequestSet(c.env.DB, row.id, { by: me.id, reason, now: new Date().toISOString() }), asked.statement]);
      if (!markAudited(c, results[1])) throw new ApiError(409, "held", "This item is under legal hold: it cannot be deleted. Ask the case lead or an administrator.");
      await flushAudit(c.env, me.orgId);
      return c.json({ items: [item((await findDisposalRow(c.env.DB, me.orgId, row.id))!)] } satisfies DisposalList, 200);
    },
  )
  .post(
    "/evidence/:id/decline",
    describe({
      summary: "Decline an uploader's request to delete their item, with a reason: it is kept, and leaves the report (unless past retention).",
      access: "admin",
      responses: { 200: { description: "Declined: the item's status.", schema: DisposalList }, 409: { description: "No request to decline." } },
    }),
    requireAdmin,
    validate("param", ItemIdParam),
    validate("json", DeletionRequest),
    async (c) => {
      const me = c.get("user");
      const row = await itemFor(c, c.req.valid("param").id, "admin");
      const { reason } = c.req.valid("json");
      const declined = auditStatementIfChanged(c, me.orgId, {
        action: "retention.deletion_declined",
        target: { type: "evidence", id: row.id },
        details: { caseId: row.case_id, evidenceId: row.id, reason, requestedBy: row.deletion_requested_by, requestReason: row.deletion_reason },
      });
      const results = await c.env.DB.batch([deletionRequestClear(c.env.DB, row.id), declined.statement]);
      if (!markAudited(c, results[1])) throw new ApiError(409, "no_request", "Nobody has asked for this item to be deleted (or it is deleted already).");
      await flushAudit(c.env, me.orgId);
      return c.json({ items: [item((await findDisposalRow(c.env.DB, me.orgId, row.id))!)] } satisfies DisposalList, 200);
    },
  )
  .get(
    "/due",
    describe({ summary: "The \"Due for deletion\" report: items past retention (as the daily job listed them) and items their uploader asked to delete. Reading it is audited.", access: "admin", responses: { 200: { description: "Items.", schema: DisposalList } } }),
    requireAdmin,
    validate("query", NoQuery),
    async (c) => {
      const me = c.get("user");
      await retentionSettings(c.env.DB, me.orgId);
      const items = (await listDue(c.env.DB, me.orgId)).map(item);
      await audit(c, { action: "retention.due_list", target: { type: "organisation", id: me.orgId }, details: { count: items.length, held: items.filter((i) => i.held).length } });
      return c.json({ items } satisfies DisposalList, 200);
    },
  )
  .post(
    "/approve",
    describe({
      summary: "Approve the deletion of items on the due report: each goes to the recycle bin, unless held (needs a recent authentication).",
      access: "admin",
      responses: { 200: { description: "What was deleted and what was refused, and why.", schema: ApproveDeletionResult } },
    }),
    requireAdmin,
    requireRecentAuth,
    validate("json", ApproveDeletionRequest),
    async (c) => {
      const me = c.get("user");
      const settings = await retentionSettings(c.env.DB, me.orgId);
      const now = new Date();
      const purgeAfter = new Date(now.getTime() + settings.bin_days * DAY_MS).toISOString();
      const result: ApproveDeletionResult = { deleted: [], refused: [] };
      for (const id of new Set(c.req.valid("json").evidenceIds)) {
        const row = await findDisposalRow(c.env.DB, me.orgId, id);
        if (!row) {
          result.refused.push({ evidenceId: id, code: "not_found", message: "No such item." });
          continue;
        }
        const approved = auditStatementIfChanged(c, me.orgId, {
          action: "retention.delete",
          target: { type: "evidence", id },
          details: { caseId: row.case_id, evidenceId: id, approvedBy: me.id, why: row.due_at ? "retention" : "request", category: { id: row.category_id, name: row.category_name, rule: describeRule(ruleOf(row)) }, purgeAfter },
        });
        const results = await c.env.DB.batch([binInsert(c.env.DB, id, { by: me.id, now: now.toISOString(), purgeAfter }), approved.statement]);
        if (markAudited(c, results[1])) {
          result.deleted.push(id);
          continue;
        }
        const after = await findDisposalRow(c.env.DB, me.orgId, id);
        const [code, message] = after?.held
          ? ["held", "Under legal hold: it cannot be deleted."]
          : after?.deleted_at
            ? ["deleted", "Deleted already."]
            : ["not_due", "Neither past retention nor asked to be deleted."];
        result.refused.push({ evidenceId: id, code, message });
      }
      if (result.refused.length > 0) {
        await audit(c, { action: "retention.delete", target: { type: "organisation", id: me.orgId }, outcome: "failed", details: { refused: result.refused } });
      }
      await flushAudit(c.env, me.orgId);
      return c.json(result, 200);
    },
  )
  .get(
    "/bin",
    describe({ summary: "The recycle bin: deleted items and when each is purged.", access: "admin", responses: { 200: { description: "Items.", schema: DisposalList } } }),
    requireAdmin,
    async (c) => {
      await retentionSettings(c.env.DB, c.get("user").orgId);
      return c.json({ items: (await listBin(c.env.DB, c.get("user").orgId)).map(item) } satisfies DisposalList, 200);
    },
  )
  .post(
    "/bin/:id/restore",
    describe({ summary: "Restore an item from the recycle bin (before its purge begins).", access: "admin", responses: { 200: { description: "Restored.", schema: DisposalList }, 409: { description: "Not in the bin, or its purge has begun." } } }),
    requireAdmin,
    validate("param", ItemIdParam),
    validate("json", RestoreRequest),
    async (c) => {
      const me = c.get("user");
      await retentionSettings(c.env.DB, me.orgId);
      const row = await findDisposalRow(c.env.DB, me.orgId, c.req.valid("param").id);
      if (!row) throw noSuchItem();
      const { reason } = c.req.valid("json");
      const restored = auditStatementIfChanged(c, me.orgId, {
        action: "retention.restore",
        target: { type: "evidence", id: row.id },
        details: { caseId: row.case_id, evidenceId: row.id, deletedAt: row.deleted_at, reason },
      });
      const results = await c.env.DB.batch([binRestore(c.env.DB, row.id), restored.statement]);
      if (!markAudited(c, results[1])) {
        throw row.purge_started_at
          ? new ApiError(409, "purging", "Its purge has begun: the file key is destroyed and it cannot be restored.")
          : new ApiError(409, "not_in_bin", "This item is not in the recycle bin.");
      }
      await flushAudit(c.env, me.orgId);
      return c.json({ items: [item((await findDisposalRow(c.env.DB, me.orgId, row.id))!)] } satisfies DisposalList, 200);
    },
  )
  .get(
    "/tombstones",
    describe({ summary: "What was destroyed: each purged item's tombstone (manifest SHA-512, category, who approved and when).", access: "admin", responses: { 200: { description: "Tombstones.", schema: TombstoneList } } }),
    requireAdmin,
    async (c) => c.json({ tombstones: await listTombstones(c.env.DB, c.get("user").orgId) } satisfies TombstoneList, 200),
  )
  .post(
    "/run",
    describe({ summary: "Run the daily retention job now for the organisation (list what is due, delete what automatic deletion allows, purge what has had its time in the bin).", access: "admin", responses: { 200: { description: "What it did.", schema: RunResult } } }),
    requireAdmin,
    async (c) => {
      const me = c.get("user");
      await audit(c, { action: "retention.run", target: { type: "organisation", id: me.orgId } });
      return c.json(await runRetention(c.env, new Date(), me.orgId), 200);
    },
  )
  .post(
    "/gone",
    describe({
      summary: "Of the evidence ids a device holds copies of, those you can no longer open (deleted, purged, or not yours to see): the device drops its copies.",
      access: "session",
      mutates: false,
      responses: { 200: { description: "Ids to drop.", schema: GoneList } },
    }),
    validate("json", GoneRequest),
    async (c) => {
      const ids = [...new Set(c.req.valid("json").evidenceIds)];
      const visible = await visibleTo(c.env.DB, c.get("user").id, ids);
      return c.json({ gone: ids.filter((id) => !visible.has(id)) } satisfies GoneList, 200);
    },
  );
