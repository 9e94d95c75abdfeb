/** How audit events read, the same on the page and in the chain-of-custody report. */
import type { AuditEvent } from "../../../shared/audit/chain";

export { actorText, OUTCOME_LABELS, utcTime } from "../../../shared/audit/format";

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

