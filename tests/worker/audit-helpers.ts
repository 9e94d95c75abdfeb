import type { AuditEvent } from "../../shared/audit/chain";
import { backend, db } from "./backend";

/** Every audit event of the (single) organisation, in chain order (the outbox drained first). */
export async function auditEvents(): Promise<AuditEvent[]> {
  const org = await db.prepare("SELECT org_id FROM setup WHERE id = 1").first<{ org_id: string }>();
  if (!org) return [];
  return backend.auditEvents(org.org_id);
}
