/** The audit trail's API calls: a page of events, every event of one target, export links. */
import { AuditPage, OfflineEventsAccepted, type OfflineEventsRequest } from "../../../shared/api/audit";
import type { AuditEvent } from "../../../shared/audit/chain";
import { client, readResponse } from "../api/client";
import { filterParams, type AuditFilter } from "./query";

/** Events per page on screen. */
export const PAGE_SIZE = 50;
/** The most the API hands out at once; used when fetching a whole target's history. */
const MAX_PAGE = 1000;

/**
 * One page of events matching `filter` from the cursor `after` (a previous page's `next`):
 * newest first on screen, chain order for a report. Every read is itself audited (`audit.read`).
 */
export function fetchAuditPage(
  filter: AuditFilter,
  after: number | null,
  limit = PAGE_SIZE,
  signal?: AbortSignal,
  order: "asc" | "desc" = "desc",
): Promise<AuditPage> {
  const query = Object.fromEntries(filterParams(filter, { order, limit, ...(after !== null ? { after } : {}) }));
  return readResponse(client.api.audit.events.$get({ query }, { init: { signal } }), AuditPage);
}

/**
 * Every event of one target (e.g. an evidence item), in chain order, a page at a time.
 * `onProgress` hears the running count.
 */
export async function fetchTargetHistory(
  target: { type: string; id: string },
  onProgress?: (count: number) => void,
  signal?: AbortSignal,
): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let after: number | null = null;
  for (;;) {
    const page = await fetchAuditPage({ targetType: target.type, targetId: target.id }, after, MAX_PAGE, signal, "asc");
    events.push(...page.events);
    onProgress?.(events.length);
    if (page.next === null) return events;
    after = page.next;
  }
}

/** Where the browser downloads an export of `filter` (the server names the file). */
export function exportHref(filter: AuditFilter, format: "csv" | "jsonl"): string {
  return `/api/audit/export?${filterParams(filter, { format }).toString()}`;
}

/** Sends events recorded on this device while offline; each id is recorded once however often it is sent. */
export function sendOfflineEvents(json: OfflineEventsRequest) {
  return readResponse(client.api.audit["offline-events"].$post({ json }), OfflineEventsAccepted);
}
