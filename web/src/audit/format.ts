/** How audit events read, the same on the page and in the chain-of-custody report. */
import type { AuditEvent, AuditOutcome } from "../../../shared/audit/chain";

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

export function targetText(target: AuditEvent["target"]): string {
  return target.id ? `${target.type} ${target.id}` : target.type;
}

/** "1a2b3c4d5e6f7a8b…9c0d1e2f": enough to compare by eye; the full value is in the export. */
export function shortHash(hash: string): string {
  return hash.length > 28 ? `${hash.slice(0, 16)}…${hash.slice(-8)}` : hash;
}

/** Date and time with seconds in the device's locale and time zone. */
export function localTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** "2026-03-12 14:05:33 UTC" (unambiguous, for reports). */
export function utcTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
