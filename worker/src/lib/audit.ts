import type { Context } from "hono";
import type { AuditEvent, AuditEventInput, AuditOutcome } from "../../../shared/audit/chain";
import { getOrganisation } from "../db/organisations";
import type { AuditFilter, PendingEvent } from "../durable/audit-log";
import type { AppEnv } from "../env";
import { clientIp, userAgent } from "./request";
import { newId } from "./secrets";

export interface AuditRecord {
  action: string;
  target: AuditEventInput["target"];
  outcome?: AuditOutcome;
  details?: Record<string, unknown>;
  /** Who acted, when not the signed-in user (e.g. a failed sign-in). */
  actor?: AuditEventInput["actor"];
  /** The organisation, when there is no signed-in user to take it from. */
  orgId?: string;
  /** For an event recorded on a device while offline: the device's time of the action. */
  recordedOfflineAt?: string;
}

/** The organisation an event belongs to: given, the signed-in user's, or the installation's (null before setup). */
export async function orgOf(c: Context<AppEnv>, record: AuditRecord): Promise<string | null> {
  const user = c.get("user") as AppEnv["Variables"]["user"] | undefined;
  return record.orgId ?? user?.orgId ?? (await getOrganisation(c.env.DB))?.id ?? null;
}

function pendingEvent(c: Context<AppEnv>, record: AuditRecord): PendingEvent {
  const user = c.get("user") as AppEnv["Variables"]["user"] | undefined;
  // A site's agent acts by signed request, with no user (worker/src/lib/agent-auth.ts).
  const agent = c.get("agent") as AppEnv["Variables"]["agent"] | undefined;
  const contextActor: PendingEvent["actor"] = user
    ? { type: "user", id: user.id, label: user.email }
    : agent
      ? { type: "agent", id: agent.siteId, label: agent.siteName }
      : { type: "anonymous", id: null };
  return {
    id: newId(),
    at: new Date().toISOString(),
    actor: record.actor ?? contextActor,
    action: record.action,
    target: record.target,
    ip: clientIp(c),
    userAgent: userAgent(c),
    outcome: record.outcome ?? "success",
    details: record.details ?? {},
    ...(record.recordedOfflineAt ? { recordedOffline: { at: record.recordedOfflineAt } } : {}),
  };
}

function outboxInsert(db: D1Database, orgId: string, event: PendingEvent): D1PreparedStatement {
  return db
    .prepare("INSERT INTO audit_outbox (id, org_id, event, created_at) VALUES (?, ?, ?, ?)")
    .bind(event.id, orgId, JSON.stringify(event), event.at);
}

/**
 * The statement that records an event, to put in the same `DB.batch` as the change it records:
 * the change and its event commit together or not at all. Call `flushAudit` after the batch.
 */
export function auditStatement(c: Context<AppEnv>, orgId: string, record: AuditRecord): D1PreparedStatement {
  c.set("audited", true);
  return outboxInsert(c.env.DB, orgId, pendingEvent(c, record));
}

/**
 * The statement that records an event of the system itself (no request: a Durable Object's
 * alarm, such as a video request expiring), for the batch that makes the change. With
 * `onlyIfChanged`, written only if the statement just before it changed a row (as
 * `auditStatementIfChanged`).
 */
export function systemAuditStatement(
  db: D1Database,
  orgId: string,
  record: Omit<AuditRecord, "actor" | "orgId" | "recordedOfflineAt">,
  options: { onlyIfChanged?: boolean } = {},
): D1PreparedStatement {
  const event: PendingEvent = {
    id: newId(),
    at: new Date().toISOString(),
    actor: { type: "system", id: null },
    action: record.action,
    target: record.target,
    ip: null,
    userAgent: null,
    outcome: record.outcome ?? "success",
    details: record.details ?? {},
  };
  if (!options.onlyIfChanged) return outboxInsert(db, orgId, event);
  return db
    .prepare("INSERT INTO audit_outbox (id, org_id, event, created_at) SELECT ?, ?, ?, ? WHERE changes() > 0")
    .bind(event.id, orgId, JSON.stringify(event), event.at);
}

/** An event statement that may not write its event, and the event's id (see `eventWitness`). */
export interface ConditionalEvent {
  statement: D1PreparedStatement;
  eventId: string;
}

/**
 * Like `auditStatement`, but the event is written only if the statement just before it in the
 * batch changed a row (SQLite `changes()`): for a change guarded in SQL (a code used once, a
 * request still pending…), the event is recorded exactly when the change happened. Statements
 * that must happen only with the change take `eventId` as their witness (`eventWitness`). After
 * the batch, `results[i].meta.changes` of this statement says whether it was written; the route
 * calls `markAudited` then.
 */
export function auditStatementIfChanged(c: Context<AppEnv>, orgId: string, record: AuditRecord): ConditionalEvent {
  const event = pendingEvent(c, record);
  const statement = c.env.DB
    .prepare("INSERT INTO audit_outbox (id, org_id, event, created_at) SELECT ?, ?, ?, ? WHERE changes() > 0")
    .bind(event.id, orgId, JSON.stringify(event), event.at);
  return { statement, eventId: event.id };
}

/**
 * Like `auditStatement`, but written only if the event `witnessId` was written earlier in the
 * same batch: a second event of the same guarded change.
 */
export function auditStatementIfRecorded(c: Context<AppEnv>, orgId: string, record: AuditRecord, witnessId: string): D1PreparedStatement {
  const event = pendingEvent(c, record);
  return c.env.DB
    .prepare("INSERT INTO audit_outbox (id, org_id, event, created_at) SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?5)")
    .bind(event.id, orgId, JSON.stringify(event), event.at, witnessId);
}

/**
 * Like `auditStatement`, with the number of rows the statement just before it changed written
 * into `details[countKey]` (e.g. how many sessions a sign-out-everywhere ended): the event
 * states what the change actually did, in the same transaction.
 */
export function auditStatementCounting(c: Context<AppEnv>, orgId: string, record: AuditRecord, countKey: string): D1PreparedStatement {
  c.set("audited", true);
  const event = pendingEvent(c, { ...record, details: { ...record.details, [countKey]: 0 } });
  return c.env.DB
    .prepare("INSERT INTO audit_outbox (id, org_id, event, created_at) VALUES (?1, ?2, json_set(?3, ?4, changes()), ?5)")
    .bind(event.id, orgId, JSON.stringify(event), `$.details.${JSON.stringify(countKey)}`, event.at);
}

/** Notes that the request recorded its event, once a batch's `result` shows a conditional event was written. */
export function markAudited(c: Context<AppEnv>, result: D1Result | undefined): boolean {
  const written = (result?.meta.changes ?? 0) > 0;
  if (written) c.set("audited", true);
  return written;
}

/**
 * Moves the organisation's outbox into its hash chain (the `AuditLog` Durable Object). The
 * events are already durable in the outbox, so if the object cannot be reached now they are
 * chained at the next drain (any later event, any read of the trail, or the hourly alarm).
 */
export async function flushAudit(env: Env, orgId: string): Promise<void> {
  try {
    await auditLog(env, orgId).drain(orgId);
  } catch (err) {
    console.error(`audit: outbox of ${orgId} not drained now; it will be at the next drain`, err);
  }
}

/** The organisation's audit Durable Object. */
export function auditLog(env: Env, orgId: string) {
  return env.AUDIT.get(env.AUDIT.idFromName(orgId));
}

/**
 * Events of the organisation's chain matching `filter`, after `afterSeq`, at most `limit`.
 * (The RPC stub cannot type `details: Record<string, unknown>`; the object returns AuditEvents.)
 */
export async function listAuditEvents(
  env: Env,
  orgId: string,
  filter: AuditFilter,
  cursor: number,
  limit: number,
  order: "asc" | "desc" = "asc",
): Promise<AuditEvent[]> {
  return (await auditLog(env, orgId).list(filter, cursor, limit, order)) as unknown as AuditEvent[];
}

/**
 * Records an event that goes with no other write (a refusal, a failed sign-in with nothing to
 * count, a read such as a key release): written durably to the outbox, then chained. Awaited: if
 * the event cannot be written, the request fails rather than going unrecorded. An event that
 * records a change is never written this way, but in the change's batch (`auditStatement`).
 */
export async function audit(c: Context<AppEnv>, record: AuditRecord): Promise<void> {
  const orgId = await orgOf(c, record);
  if (!orgId) return; // Before first-run setup there is no organisation and so no trail.
  await outboxInsert(c.env.DB, orgId, pendingEvent(c, record)).run();
  c.set("audited", true);
  await flushAudit(c.env, orgId);
}

export type { AuditEvent };
