import { env } from "cloudflare:test";
import type { AuditEvent } from "../../worker/src/lib/audit-chain";

/** Every audit event of the (single) organisation, in chain order. */
export async function auditEvents(): Promise<AuditEvent[]> {
  const org = await env.DB.prepare("SELECT org_id FROM setup WHERE id = 1").first<{ org_id: string }>();
  if (!org) return [];
  return env.AUDIT.get(env.AUDIT.idFromName(org.org_id)).list(0, 10_000);
}
