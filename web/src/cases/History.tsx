/**
 * A case's history for its leads: every audited event of the case and its evidence (who
 * opened, downloaded or exported which item, and when), newest first. Reading it is itself
 * recorded. `evidenceId` narrows it to one item.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { AuditPage } from "../../../shared/api/audit";
import type { AuditEvent } from "../../../shared/audit/chain";
import { client, readResponse } from "../api/client";
import { actorText, localTime, OUTCOME_LABELS, utcTime } from "../audit/format";
import { LoadMore } from "../ui/paging";

/** How an action reads in a case's history. */
const ACTION_TEXT: Record<string, string> = {
  "case.create": "opened the case",
  "case.update": "edited the case",
  "case.close": "closed the case",
  "case.reopen": "reopened the case",
  "case.member_add": "added a member",
  "case.member_role": "changed a member's role",
  "case.member_remove": "removed a member (the case key was rotated)",
  "case.package_export": "exported a case package",
  "evidence.upload_start": "started an upload",
  "evidence.upload_complete": "added evidence",
  "evidence.upload_cancel": "cancelled an upload",
  "evidence.view": "opened evidence",
  "evidence.download": "downloaded an original",
  "evidence.export": "exported a court package (or this item in a case package)",
  "evidence.details_edit": "edited evidence details",
  "video.request_create": "requested video from a site",
  "video.export_start": "started exporting requested video (at the site)",
  "video.clip_held": "exported and encrypted a clip, held at the site",
  "video.clip_unavailable": "found no footage for a clip",
  "video.request_held": "holds the requested video, awaiting a decision",
  "video.request_unavailable": "reported the requested video unavailable",
  "video.request_approve": "approved the video request",
  "video.request_deny": "denied the video request",
  "video.request_expire": "expired the video request (no decision in time)",
  "video.delivery_start": "started sending requested video",
  "video.clip_delivered": "delivered requested video",
  "video.request_delivered": "completed the video request",
  "video.held_deleted": "deleted its held copy of the video",
  "retention.hold": "placed a legal hold",
  "retention.hold_lift": "lifted a legal hold",
  "retention.category_assign": "changed an item's retention category",
  "retention.deletion_request": "asked for an item to be deleted",
  "retention.due": "listed an item as past retention, due for deletion",
  "retention.due_cleared": "took an item off the due list (its retention is not over)",
  "retention.delete": "approved deleting an item (to the recycle bin)",
  "retention.restore": "restored an item from the recycle bin",
  "retention.shred": "destroyed an item's key (permanent deletion begun)",
  "retention.purge": "deleted an item permanently: nothing of it is stored",
  "share.create": "shared evidence",
  "share.update": "changed a share's level",
  "share.extend": "extended a share",
  "share.revoke": "revoked a share",
  "share.access_code": "set a new access code for a link",
  "share.guest_invite": "invited a guest",
  "share.open": "opened a shared link with its access code",
  "share.code_wrong": "entered a wrong access code",
  "share.locked": "locked a shared link (too many wrong codes)",
  "share.access": "opened a share",
  "share.view": "viewed shared evidence",
  "share.download": "downloaded a shared original",
  "share.export": "exported a court package from a share",
  "share.receipt": "signed a receipt",
  "audit.read": "read this history",
  "access.denied": "was refused",
};

/** Events per page of the history, newest first. */
const HISTORY_PAGE = "200";

export function CaseHistory(props: { caseId: string; evidenceId?: string; names?: Map<string, string> }) {
  const [events, setEvents] = useState<AuditEvent[]>();
  const [error, setError] = useState<string>();
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const generation = useRef(0);

  /** The newest page (`before` undefined) or the page of events older than seq `before`, newest first. */
  async function load(before?: number) {
    const mine = before === undefined ? ++generation.current : generation.current;
    setError(undefined);
    setLoading(true);
    try {
      const query = { order: "desc" as const, limit: HISTORY_PAGE, ...(before !== undefined ? { after: String(before) } : {}) };
      const page = await readResponse(client.api.cases[":id"].history.$get({ param: { id: props.caseId }, query }), AuditPage);
      if (mine !== generation.current) return;
      const all = (page.events as AuditEvent[]).filter((e) => e.action !== "evidence.part_upload");
      const shown = props.evidenceId ? all.filter((e) => e.details.evidenceId === props.evidenceId) : all;
      setEvents((current) => (before === undefined || !current ? shown : [...current, ...shown]));
      setNext(page.next);
    } catch (caught) {
      if (mine === generation.current) setError(caught instanceof Error ? caught.message : "Couldn't load the history.");
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }

  useEffect(() => void load(), [props.caseId, props.evidenceId]);

  return (
    <section aria-labelledby={`history-${props.evidenceId ?? props.caseId}`} class="card history">
      <h2 id={`history-${props.evidenceId ?? props.caseId}`}>{props.evidenceId ? "History of this item" : "Case history"}</h2>
      <p class="muted">Who did what, from the tamper-evident audit trail. Reading it is recorded too.</p>
      {error && (
        <p role="alert" class="alert">
          {error}{" "}
          <button type="button" class="link-button" onClick={() => void load()}>
            Retry
          </button>
        </p>
      )}
      {!events && !error && <p role="status">Loading the history…</p>}
      {events && events.length === 0 && next === null && <p>No events yet.</p>}
      {events && events.length > 0 && (
        <ol class="history-list" aria-label={props.evidenceId ? "History of this item" : "Case history"}>
          {events.map((event) => {
            const evidenceId = typeof event.details.evidenceId === "string" ? event.details.evidenceId : null;
            const item = evidenceId && !props.evidenceId ? (props.names?.get(evidenceId) ?? "an item") : null;
            return (
              <li key={event.id}>
                <time dateTime={event.at} title={utcTime(event.at)}>
                  {localTime(event.at)}
                </time>{" "}
                <strong>{actorText(event.actor)}</strong> {ACTION_TEXT[event.action] ?? event.action}
                {item ? ` (${item})` : ""}
                {typeof event.details.recipient === "string" && event.action.startsWith("share.") ? ` — ${event.details.recipient}` : ""}
                {event.outcome !== "success" ? ` — ${OUTCOME_LABELS[event.outcome]}` : ""}
                {event.recordedOffline ? ` — recorded offline at ${localTime(event.recordedOffline.at)}` : ""}
                {event.ip ? <span class="muted"> · {event.ip}</span> : null}
              </li>
            );
          })}
        </ol>
      )}
      {events && <LoadMore hasMore={next !== null} loading={loading} error={error} noun="events" onMore={() => next !== null && void load(next)} />}
    </section>
  );
}
