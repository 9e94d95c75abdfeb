import type { Context } from "hono";
import { getOrganisation } from "../db/organisations";
import type { AppEnv } from "../env";
import type { AuditEvent, AuditEventInput, AuditOutcome } from "./audit-chain";
import { clientIp, userAgent } from "./request";

export interface AuditRecord {
  action: string;
  target: AuditEventInput["target"];
  outcome?: AuditOutcome;
  details?: Record<string, unknown>;
  /** Who acted, when not the signed-in user (e.g. a failed sign-in). */
  actor?: AuditEventInput["actor"];
  /** The organisation, when there is no signed-in user to take it from. */
  orgId?: string;
}

/**
 * Writes an audit event to the organisation's chain, with the request's IP and user agent.
 * It is awaited: an action whose event cannot be written fails rather than going unrecorded.
 */
export async function audit(c: Context<AppEnv>, record: AuditRecord): Promise<AuditEvent | null> {
  const user = c.get("user") as AppEnv["Variables"]["user"] | undefined;
  const orgId = record.orgId ?? user?.orgId ?? (await getOrganisation(c.env.DB))?.id;
  if (!orgId) return null; // Before first-run setup there is no organisation and so no trail.
  const actor = record.actor ?? (user ? { type: "user" as const, id: user.id, label: user.email } : { type: "anonymous" as const, id: null });
  const stub = c.env.AUDIT.get(c.env.AUDIT.idFromName(orgId));
  return stub.append({
    actor,
    action: record.action,
    target: record.target,
    ip: clientIp(c),
    userAgent: userAgent(c),
    outcome: record.outcome ?? "success",
    details: record.details ?? {},
  });
}
