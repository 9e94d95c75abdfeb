/**
 * Video requests. For a site operator: the inbox of their site's requests, those awaiting a
 * decision first, each with Approve and Deny (no case is ever shown to them). For investigators:
 * the requests for their cases with their status, refreshed every few seconds while the page is
 * open, and links to the delivered clips.
 */
import type { TargetedEvent } from "preact";
import { useState } from "preact/hooks";
import type { SessionInfo } from "../../../shared/api/schemas";
import type { RequestStatus, VideoRequest } from "../../../shared/api/video";
import { formatDateTime } from "../ui/format";
import { PageHeading } from "../ui/layout";
import { REQUEST_STATUS_LABELS, videoApi } from "./api";
import { useLiveRefresh } from "./live";
import { messageOf } from "../ui/messages";
import { caseHref } from "../ui/router";
import "./video.css";
import { allPages, LoadMore, usePaged } from "../ui/paging";
import { RequestLink } from "./RequestLink";

const OPEN: readonly RequestStatus[] = ["requested", "exporting", "approved"];

function range(r: { start: string; end: string }): string {
  const minutes = Math.round((Date.parse(r.end) - Date.parse(r.start)) / 60_000);
  return `${formatDateTime(r.start)} to ${formatDateTime(r.end)} (${minutes} min)`;
}

export function RequestsPage(props: { session: SessionInfo }) {
  const isOperator = props.session.user.role === "site_operator";
  // Every request awaiting a decision, however old (they are few, and each one is due), and the
  // rest newest first a page at a time.
  const [held, setHeld] = useState<VideoRequest[]>();
  const [heldError, setHeldError] = useState<string>();
  const paged = usePaged<VideoRequest>((cursor) => videoApi.requests(cursor ? { cursor } : {}).then((page) => ({ items: page.requests, nextCursor: page.nextCursor })), []);
  const reload = useLiveRefresh(async () => {
    paged.refresh();
    try {
      setHeld(await allPages((cursor) => videoApi.requests({ status: "held", limit: "200", ...(cursor ? { cursor } : {}) }).then((page) => ({ items: page.requests, nextCursor: page.nextCursor }))));
      setHeldError(undefined);
    } catch (caught) {
      setHeldError(messageOf(caught));
    }
  });
  const error = heldError ?? (paged.items ? undefined : paged.error);
  const requests = paged.items && held ? paged.items : undefined;

  const awaiting = held ?? [];
  const open = requests?.filter((r) => OPEN.includes(r.status)) ?? [];
  const closed = requests?.filter((r) => r.status !== "held" && !OPEN.includes(r.status)) ?? [];

  return (
    <>
      <PageHeading>{isOperator ? "Requests inbox" : "Requests"}</PageHeading>
      {!isOperator && (
        <p>
          <a class="button-like primary" href="/cameras">
            New request
          </a>
        </p>
      )}
      {error && (
        <p role="alert" class="alert">
          Couldn't load the requests. {error}
        </p>
      )}
      {!requests && !error && <p class="muted">Loading requests…</p>}
      {requests && requests.length === 0 && awaiting.length === 0 && (
        <p class="empty">{isOperator ? "No video requests for your site." : "No video requests yet. Find cameras to ask a site for video."}</p>
      )}
      {requests && (requests.length > 0 || awaiting.length > 0) && (
        <>
          <RequestSection title={isOperator ? "Awaiting your decision" : "Held, awaiting the site's decision"} requests={awaiting} isOperator={isOperator} onChanged={reload} />
          <RequestSection title="In progress" requests={open} isOperator={isOperator} onChanged={reload} />
          <RequestSection title="Closed" requests={closed} isOperator={isOperator} onChanged={reload} />
        </>
      )}
      {requests && <LoadMore hasMore={paged.hasMore} loading={paged.loading} error={paged.error} noun="requests" onMore={paged.more} />}
    </>
  );
}

function RequestSection(props: { title: string; requests: VideoRequest[]; isOperator: boolean; onChanged: () => Promise<void> }) {
  if (props.requests.length === 0) return null;
  const id = `requests-${props.title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>
        {props.title} ({props.requests.length})
      </h2>
      <ul class="request-list">
        {props.requests.map((r) => (
          <li key={r.id}>
            <RequestCard request={r} isOperator={props.isOperator} onChanged={props.onChanged} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function RequestCard(props: { request: VideoRequest; isOperator: boolean; onChanged: () => Promise<void> }) {
  const r = props.request;
  const [busy, setBusy] = useState<"approve" | "deny">();
  const [denying, setDenying] = useState(false);
  const [approving, setApproving] = useState(false);
  const [note, setNote] = useState("");
  const [error, setError] = useState<string>();
  const headingId = `request-${r.id}`;
  const cameras = [...new Map(r.clips.map((k) => [k.camera.id, k.camera.name])).values()];

  async function decide(decision: "approve" | "deny") {
    setBusy(decision);
    setError(undefined);
    try {
      if (decision === "approve") await videoApi.approve(r.id);
      else await videoApi.deny(r.id, note.trim());
      setDenying(false);
      setApproving(false);
      await props.onChanged();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(undefined);
    }
  }

  return (
    <article class="card request-card" aria-labelledby={headingId}>
      <h3 id={headingId}>
        {props.isOperator ? `Request from ${r.requestedBy.name}` : `${r.site.name}: ${cameras.join(", ")}`}
      </h3>
      <p>
        <span class={`badge badge-request-${r.status}`} role="status">
          {REQUEST_STATUS_LABELS[r.status]}
        </span>
      </p>
      <dl class="request-facts">
        {!props.isOperator && r.case && (
          <>
            <dt>Case</dt>
            <dd>
              <a href={caseHref(r.case.id)}>
                {r.case.number}: {r.case.title}
              </a>
            </dd>
          </>
        )}
        {props.isOperator && (
          <>
            <dt>Cameras</dt>
            <dd>{cameras.join(", ")}</dd>
          </>
        )}
        <dt>Time</dt>
        <dd>{range(r)}</dd>
        <dt>Reason</dt>
        <dd class="request-reason">{r.reason}</dd>
        <dt>Requested</dt>
        <dd>
          {formatDateTime(r.createdAt)} by {r.requestedBy.name}
        </dd>
        {r.exportedAt && (
          <>
            <dt>Exported</dt>
            <dd>{formatDateTime(r.exportedAt)}</dd>
          </>
        )}
        {r.decidedBy && r.decidedAt && (
          <>
            <dt>{r.status === "denied" ? "Denied" : "Approved"}</dt>
            <dd>
              {formatDateTime(r.decidedAt)} by {r.decidedBy.name}
              {r.decisionNote ? `: “${r.decisionNote}”` : ""}
            </dd>
          </>
        )}
        {r.status === "delivered_by_upload" && r.deliveredAt && (
          <>
            <dt>Delivered by upload</dt>
            <dd>{formatDateTime(r.deliveredAt)}: the site's contact sent the footage through the request's link{r.case ? "; it waits in the case's intake" : ""}.</dd>
          </>
        )}
        {(r.status === "requested" || r.status === "exporting" || r.status === "held") && (
          <>
            <dt>Expires</dt>
            <dd>{formatDateTime(r.expiresAt)} without a decision</dd>
          </>
        )}
      </dl>
      <ul class="clip-list" aria-label="Clips">
        {r.clips.map((k) => (
          <li key={k.id}>
            {k.camera.name}, {range(k)}:{" "}
            {k.status === "unavailable"
              ? "no footage"
              : k.status === "delivered" && k.evidenceId && r.case
                ? <a href={caseHref(r.case.id, k.evidenceId)}>open the clip</a>
                : k.status === "held" || k.status === "delivered"
                  ? `${k.status}${k.durationMs !== null ? `, ${Math.round(k.durationMs / 1000)} s` : ""}`
                  : k.status}
          </li>
        ))}
      </ul>
      {!props.isOperator && <RequestLink request={r} />}
      {props.isOperator && r.status === "held" && !denying && approving && (
        <form
          class="stack"
          aria-label="Approve the request"
          onSubmit={(e) => {
            e.preventDefault();
            void decide("approve");
          }}
        >
          <p>
            Send {cameras.join(", ")}, {range(r)}, to {r.requestedBy.name}? The video leaves your site encrypted and cannot be called back.
          </p>
          <div class="actions">
            <button type="submit" class="primary" disabled={!!busy}>
              {busy === "approve" ? "Approving…" : "Yes, approve and send"}
            </button>
            <button type="button" disabled={!!busy} onClick={() => setApproving(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {props.isOperator && r.status === "held" && !denying && !approving && (
        <div class="actions">
          <button type="button" class="primary" disabled={!!busy} onClick={() => setApproving(true)}>
            Approve and send
          </button>
          <button type="button" disabled={!!busy} onClick={() => setDenying(true)}>
            Deny
          </button>
        </div>
      )}
      {props.isOperator && (r.status === "held" || r.status === "requested" || r.status === "exporting") && denying && (
        <form
          class="stack"
          aria-label="Deny the request"
          onSubmit={(e) => {
            e.preventDefault();
            void decide("deny");
          }}
        >
          <div class="field">
            <label for={`deny-note-${r.id}`}>Reason for the requester (optional)</label>
            <textarea id={`deny-note-${r.id}`} rows={2} value={note} onInput={(e: TargetedEvent<HTMLTextAreaElement>) => setNote(e.currentTarget.value)} />
          </div>
          <p class="hint">The held video and its key are deleted at your site. Nothing is sent.</p>
          <div class="actions">
            <button type="submit" class="danger" disabled={!!busy}>
              {busy === "deny" ? "Denying…" : "Deny and delete"}
            </button>
            <button type="button" disabled={!!busy} onClick={() => setDenying(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {props.isOperator && (r.status === "requested" || r.status === "exporting") && !denying && (
        <div class="actions">
          <button type="button" onClick={() => setDenying(true)}>
            Deny
          </button>
        </div>
      )}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </article>
  );
}
