import { env } from "cloudflare:test";
import type { AuditEvent } from "../../shared/audit/chain";
import { flushAudit, listAuditEvents } from "../../worker/src/lib/audit";

/** Every audit event of the (single) organisation, in chain order (the outbox drained first). */
export async function auditEvents(): Promise<AuditEvent[]> {
  const org = await env.DB.prepare("SELECT org_id FROM setup WHERE id = 1").first<{ org_id: string }>();
  if (!org) return [];
  await flushAudit(env, org.org_id);
  return listAuditEvents(env, org.org_id, {}, 0, 5000);
}
