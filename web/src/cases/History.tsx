/**
 * A case's history for its leads: every audited event of the case and its evidence (who
 * opened, downloaded or exported which item, and when), newest first, in plain words: people
 * by name and email, items by the names this device can decrypt ("an item you cannot open"
 * otherwise). It follows new events by itself while shown. Reading it is itself recorded (the
 * first read; the follow-up reads ask only for what is newer). `evidenceId` narrows it to one item.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { AuditPage } from "../../../shared/api/audit";
import type { AuditEvent } from "../../../shared/audit/chain";
import { client, readResponse } from "../api/client";
import { describeAction, personText, type AuditNames } from "../../../shared/audit/format";
import { localTime, OUTCOME_LABELS, utcTime } from "../audit/format";
import { LoadMore } from "../ui/paging";

/** Events per page of the history, newest first. */
const HISTORY_PAGE = "200";
/** How often a shown history looks for new events. */
const FOLLOW_MS = 5_000;

export function CaseHistory(props: {
  caseId: string;
  evidenceId?: string;
  /** Item names by evidence id, as this device decrypted them. */
  names?: Map<string, string>;
  /** People by user id (the case's members). */
  people?: Map<string, { name: string; email: string }>;
}) {
  const [events, setEvents] = useState<AuditEvent[]>();
  const [error, setError] = useState<string>();
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const generation = useRef(0);
  /** The newest seq fetched (shown or not): follow-up reads ask for what comes after it. */
  const seen = useRef(0);

  /** The newest page (`before` undefined) or the page of events older than seq `before`, newest first. */
  async function load(before?: number) {
    const mine = before === undefined ? ++generation.current : generation.current;
    setError(undefined);
    setLoading(true);
    try {
      const query = { order: "desc" as const, limit: HISTORY_PAGE, ...(before !== undefined ? { after: String(before) } : {}) };
      const page = await readResponse(client.api.cases[":id"].history.$get({ param: { id: props.caseId }, query }), AuditPage);
      if (mine !== generation.current) return;
      if (before === undefined) seen.current = page.events[0]?.seq ?? 0;
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

  // New events appear by themselves: the newest page is fetched again while the page is visible, and what is new is put on top.
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState !== "visible" || seen.current === 0) return;
      void (async () => {
        const mine = generation.current;
        try {
          // Oldest first after the newest seen: the server records this read only when it shows something new.
          const query = { order: "asc" as const, after: String(seen.current), limit: HISTORY_PAGE };
          const page = await readResponse(client.api.cases[":id"].history.$get({ param: { id: props.caseId }, query }), AuditPage);
          if (mine !== generation.current) return;
          const all = page.events as AuditEvent[];
          if (all.length > 0) seen.current = Math.max(seen.current, all.at(-1)!.seq);
          const fresh = all
            .filter((e) => e.action !== "evidence.part_upload" && e.action !== "audit.read" && (!props.evidenceId || e.details.evidenceId === props.evidenceId))
            .reverse();
          if (fresh.length > 0) setEvents((current) => [...fresh, ...(current ?? [])]);
        } catch {
          // The next tick tries again; the page already says when the server cannot be reached.
        }
      })();
    }, FOLLOW_MS);
    return () => clearInterval(timer);
  }, [props.caseId, props.evidenceId]);

  const names: AuditNames = {
    person: (id) => props.people?.get(id),
    item: (id) => props.names?.get(id),
  };

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
            return (
              <li key={event.id}>
                <time dateTime={event.at} title={utcTime(event.at)}>
                  {localTime(event.at)}
                </time>{" "}
                <strong>{personText(event.actor, names)}</strong> {describeAction(event, names, { inCase: true })}
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
