/** How audit events read, the same on the page and in every PDF report (web and shared builders). */
import type { AuditEvent, AuditOutcome } from "./chain";

export const OUTCOME_LABELS: Record<AuditOutcome, string> = {
  success: "Success",
  denied: "Denied",
  failed: "Failed",
};

/** Who acted: the label recorded at the time (a user's email), or what kind of actor it was. */
export function actorText(actor: AuditEvent["actor"]): string {
  if (actor.type === "anonymous") return actor.label ? `anonymous (as ${actor.label})` : "anonymous";
  if (actor.type === "system") return actor.label ?? "system";
  if (actor.type === "agent") return `site agent ${actor.label ?? actor.id ?? ""}`.trim();
  return actor.label ?? actor.id ?? "unknown user";
}

/** "2026-03-12 14:05:33 UTC" (unambiguous, for reports). */
export function utcTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
