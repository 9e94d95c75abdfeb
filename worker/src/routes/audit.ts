import { Hono, type Context } from "hono";
import { stream } from "hono/streaming";
import { AuditExportQuery, AuditExtractQuery, AuditPage, AuditQuery, AuditSigningKeys, OfflineEventsAccepted, OfflineEventsRequest } from "../../../shared/api/audit";
import type { AuditEvent } from "../../../shared/audit/chain";
import { eventLine } from "../../../shared/audit/export";
import type { AuditFilter } from "../durable/audit-log";
import type { AppEnv } from "../env";
import { findCaseForMember } from "../db/cases";
import { findEvidence } from "../db/evidence";
import { insertOfflineReceipt } from "../db/offline-events";
import { audit, auditLog, auditStatement, auditStatementIfChanged, flushAudit, listAuditEvents, markAudited } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { requireAdmin, requireSession } from "../lib/session";
import { KidParam } from "../../../shared/api/schemas";
import { EvidenceIdParam } from "../../../shared/api/cases";
import { findSigningKey } from "../db/keys";
import { findAgentSigningKey } from "../db/video";
import { validate } from "../lib/validate";
import { findSubmitterKey } from "../db/submission-intake";

const PAGE = 1000;

/** How far ahead of the server's clock a device's time may be (a fast clock), for an offline event. */
const OFFLINE_CLOCK_AHEAD_MS = 5 * 60 * 1000;

function filterOf(query: Record<string, unknown>): AuditFilter {
  const filter: AuditFilter = {};
  for (const key of ["actorId", "action", "targetType", "targetId", "caseId", "evidenceId", "outcome", "ip", "from", "to"] as const) {
    const value = query[key];
    // Times are compared as strings with the events' own (UTC, ms): written the same way.
    if (typeof value === "string" && value !== "") filter[key] = key === "from" || key === "to" ? new Date(value).toISOString() : value;
  }
  return filter;
}

const CSV_COLUMNS = [
  "seq", "at", "recorded_offline_at", "actor_type", "actor_id", "actor_label", "action", "target_type", "target_id",
  "outcome", "ip", "user_agent", "details", "prev_hash", "hash",
] as const;

/** One CSV field: quoted when needed; a leading = + - @ is defused so spreadsheets do not run it. */
function csvField(value: unknown): string {
  let text = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvRow(event: AuditEvent): string {
  return [
    event.seq, event.at, event.recordedOffline?.at ?? "", event.actor.type, event.actor.id, event.actor.label ?? "", event.action,
    event.target.type, event.target.id, event.outcome, event.ip, event.userAgent, event.details, event.prevHash, event.hash,
  ].map(csvField).join(",");
}

/**
 * A JSON-lines export (docs/audit.md §4): the signed statement, the events up to the checkpoint
 * it names, each with its inclusion proof, then the checkpoints, the final one last.
 */
export async function jsonLines(c: Context<AppEnv>, orgId: string, filter: AuditFilter, keptSize?: number): Promise<Response> {
  const log = auditLog(c.env, orgId);
  const plan = await log.exportStart(filter, new Date().toISOString(), keptSize);
  return stream(c, async (out) => {
    await out.write(`${plan.header}\n`);
    for (let after = 0; ; ) {
      const page = (await log.exportPage(filter, after, PAGE, plan.treeSize)) as unknown as { event: AuditEvent; inclusion: string[] }[];
      for (const { event, inclusion } of page) await out.write(`${eventLine(event, inclusion)}\n`);
      if (page.length < PAGE) break;
      after = page.at(-1)!.event.seq;
    }
    for (const line of plan.checkpoints) await out.write(`${line}\n`);
  });
}

export const auditRoutes = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/events",
    describe({ summary: "Audit events matching a filter, in chain order, a page at a time. Reading is itself audited.", access: "admin", responses: { 200: { description: "A page of events.", schema: AuditPage } } }),
    requireAdmin,
    validate("query", AuditQuery),
    async (c) => {
      const query = c.req.valid("query");
      const orgId = c.get("user").orgId;
      const filter = filterOf(query);
      await audit(c, { action: "audit.read", target: { type: "organisation", id: orgId }, details: { filter } });
      const limit = query.limit ?? 100;
      const events = await listAuditEvents(c.env, orgId, filter, query.after ?? 0, limit + 1, query.order ?? "asc");
      const page = events.slice(0, limit);
      return c.json({ events: page, next: events.length > limit ? page.at(-1)!.seq : null } satisfies AuditPage, 200);
    },
  )
  .get(
    "/export",
    describe({
      summary: "Export the events matching a filter as JSON lines (verifiable with `npm run audit:verify`) or CSV. Exporting is itself audited.",
      access: "admin",
      responses: { 200: { description: "The export file (application/x-ndjson or text/csv)." } },
    }),
    requireAdmin,
    validate("query", AuditExportQuery),
    async (c) => {
      const query = c.req.valid("query");
      const orgId = c.get("user").orgId;
      const filter = filterOf(query);
      await audit(c, { action: "audit.export", target: { type: "organisation", id: orgId }, details: { filter, format: query.format } });
      const stamp = new Date().toISOString().replaceAll(":", "-").slice(0, 19);
      c.header("Content-Type", query.format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8");
      c.header("Content-Disposition", `attachment; filename="custody-audit-${stamp}.${query.format === "csv" ? "csv" : "jsonl"}"`);
      if (query.format === "csv") {
        return stream(c, async (out) => {
          await out.write(`${CSV_COLUMNS.join(",")}\r\n`);
          for (let after = 0; ; ) {
            const events = await listAuditEvents(c.env, orgId, filter, after, PAGE);
            for (const event of events) await out.write(`${csvRow(event)}\r\n`);
            if (events.length < PAGE) break;
            after = events.at(-1)!.seq;
          }
        });
      }
      return jsonLines(c, orgId, filter, query.checkpoint);
    },
  )
  .get(
    "/signers/:kid",
    describe({
      summary: "A signing key's register entries (registered, retired: docs/audit.md §9) as a verifiable filtered export, for a court package to prove who signed.",
      access: "session",
      responses: { 200: { description: "A JSON-lines audit export filtered to the key (targetType signing_key, targetId kid)." }, 404: { description: "No such signing key in this organisation." } },
    }),
    validate("param", KidParam),
    async (c) => {
      const { kid } = c.req.valid("param");
      const orgId = c.get("user").orgId;
      const user = await findSigningKey(c.env.DB, kid);
      const agentKey = user && user.org_id === orgId ? null : await findAgentSigningKey(c.env.DB, kid);
      const submitter = (user && user.org_id === orgId) || (agentKey && agentKey.org_id === orgId) ? null : await findSubmitterKey(c.env.DB, kid);
      if (!(user && user.org_id === orgId) && !(agentKey && agentKey.org_id === orgId) && !(submitter && submitter.org_id === orgId)) throw new ApiError(404, "not_found", "No signing key with this id.");
      const filter: AuditFilter = { targetType: "signing_key", targetId: kid };
      await audit(c, { action: "audit.read", target: { type: "signing_key", id: kid }, details: { filter } });
      c.header("Content-Type", "application/x-ndjson; charset=utf-8");
      return jsonLines(c, orgId, filter);
    },
  )
  .get(
    "/evidence/:id",
    describe({
      summary: "An evidence item's audit extract: every event about it, each with its inclusion proof, and the signed checkpoints that cover them, as a verifiable filtered export (docs/audit.md §4), for a case package. For the leads of its case; reading it is audited.",
      access: "session",
      responses: { 200: { description: "A JSON-lines audit export filtered to the item (evidenceId)." }, 404: { description: "No such evidence in a case you lead." } },
    }),
    validate("param", EvidenceIdParam),
    validate("query", AuditExtractQuery),
    async (c) => {
      const { id } = c.req.valid("param");
      const { checkpoint } = c.req.valid("query");
      const user = c.get("user");
      const row = await findEvidence(c.env, id);
      const member = row && row.status === "complete" ? await findCaseForMember(c.env.DB, row.case_id, user.id) : null;
      if (!row || !member) throw new ApiError(404, "not_found", "No such evidence, or you are not a member of its case.");
      if (member.my_role !== "lead") {
        await audit(c, { action: "access.denied", target: { type: "evidence", id }, outcome: "denied", details: { caseId: row.case_id, evidenceId: id, need: "lead", have: member.my_role, route: `${c.req.method} ${c.req.routePath}` } });
        throw new ApiError(403, "case_role", "Only a lead of this case can read an item's audit extract.");
      }
      await audit(c, { action: "audit.read", target: { type: "evidence", id }, details: { caseId: row.case_id, evidenceId: id, filter: { evidenceId: id } } });
      await flushAudit(c.env, user.orgId); // the events just recorded (this read, a package export) are in the extract
      c.header("Content-Type", "application/x-ndjson; charset=utf-8");
      return jsonLines(c, user.orgId, { evidenceId: id }, checkpoint);
    },
  )
  .get(
    "/signing-keys",
    describe({ summary: "Public keys that sign the audit chain's checkpoints.", access: "session", responses: { 200: { description: "The keys.", schema: AuditSigningKeys } } }),
    async (c) => c.json({ keys: await auditLog(c.env, c.get("user").orgId).signingKeys() }, 200),
  )
  .post(
    "/offline-events",
    describe({
      summary:
        "Events a device recorded while offline (views of evidence kept offline), sent when it is back online. Stored marked as recorded offline. " +
        "Only for evidence the user could open then (a member of its case, its key released to them before the event's time), at most 5 minutes ahead of the server; the whole batch, or none of it.",
      access: "session",
      responses: {
        202: { description: "Recorded.", schema: OfflineEventsAccepted },
        400: { description: "An event's time is more than 5 minutes ahead of the server (`future_time`); nothing recorded but the refusal." },
        403: { description: "An event names evidence the user could not open at that time (`offline_event_refused`); nothing recorded but the refusal." },
      },
    }),
    validate("json", OfflineEventsRequest),
    async (c) => {
      const { events } = c.req.valid("json");
      const user = c.get("user");
      const now = Date.now();
      // Every event is checked before anything is written: one bad event refuses the batch, and
      // only the refusal is recorded. The case is the evidence's own, whatever the device said.
      await flushAudit(c.env, user.orgId); // key releases still in the outbox count too
      const caseOf = new Map<string, string | null>();
      const released = new Map<string, string | null>();
      const refuse = async (index: number, reason: string, error: ApiError): Promise<never> => {
        const event = events[index]!;
        await audit(c, {
          action: "audit.offline_refused",
          target: { type: "evidence", id: event.target.id },
          outcome: "denied",
          details: { reason, index, claimedAction: event.action, claimedAt: event.at, batchSize: events.length },
        });
        throw error;
      };
      for (const [index, event] of events.entries()) {
        const n = index + 1;
        if (Date.parse(event.at) > now + OFFLINE_CLOCK_AHEAD_MS) {
          await refuse(index, "future_time", new ApiError(400, "future_time", `Event ${n} is in the future. Check the device's clock; nothing of this batch was recorded.`));
        }
        const evidenceId = event.target.id;
        if (!caseOf.has(evidenceId)) {
          const row = await findEvidence(c.env, evidenceId);
          const member = row ? await findCaseForMember(c.env.DB, row.case_id, user.id) : null;
          caseOf.set(evidenceId, row && member ? row.case_id : null);
          released.set(evidenceId, row && member ? await auditLog(c.env, user.orgId).firstKeyRelease(user.id, evidenceId) : null);
        }
        const release = released.get(evidenceId) ?? null;
        const reason = caseOf.get(evidenceId) === null ? "no_access" : release === null ? "no_key_release" : Date.parse(event.at) < Date.parse(release) ? "before_key_release" : null;
        if (reason) {
          await refuse(
            index,
            reason,
            new ApiError(403, "offline_event_refused", `Event ${n} names evidence you could not open at that time: you are not a member of its case, or its key had not been released to you by then. Nothing of this batch was recorded.`),
          );
        }
      }
      // All of them, or none: one batch. An event with an id is recorded only if its receipt is new
      // (sent again after a lost answer, it changes nothing): exactly once in the audit trail.
      const receivedAt = new Date(now).toISOString();
      const statements: D1PreparedStatement[] = [];
      const conditional: number[] = [];
      for (const event of events) {
        const details = { ...event.details, caseId: caseOf.get(event.target.id)!, evidenceId: event.target.id };
        const record = { action: event.action, target: event.target, details, recordedOfflineAt: event.at };
        if (event.id === undefined) {
          statements.push(auditStatement(c, user.orgId, record));
          continue;
        }
        statements.push(insertOfflineReceipt(c.env.DB, user.id, event.id, receivedAt));
        conditional.push(statements.length);
        statements.push(auditStatementIfChanged(c, user.orgId, record).statement);
      }
      const results = await c.env.DB.batch(statements);
      let duplicates = 0;
      for (const index of conditional) if (!markAudited(c, results[index])) duplicates++;
      await flushAudit(c.env, user.orgId);
      return c.json({ accepted: events.length - duplicates, duplicates }, 202);
    },
  );
